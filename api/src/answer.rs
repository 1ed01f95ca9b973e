//! Answering a GET or HEAD with an object's bytes, as browsers and CDNs expect of any surface:
//! `Content-Type`, `Content-Length`, `ETag`, `Last-Modified`, `Accept-Ranges`, the bucket's
//! `Cache-Control`; `If-Match` / `If-Unmodified-Since` refused 412 (`PreconditionFailed`, in
//! the surface's format), `If-None-Match` / `If-Modified-Since` answered 304, in RFC 9110's
//! order; one `Range` answered 206 (or 416 when it starts past the end; a malformed or
//! multiple range is ignored, as RFC 9110 allows, and the whole object answered); header
//! overrides (OSS `response-*`) last.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use jobs::buckets::Object;
use jobs::error::{Failure, FailureCode};

/// What to answer with.
#[derive(Debug)]
pub struct ObjectAnswer<'a> {
    pub object: &'a Object,
    pub content_type: &'a str,
    pub cache_control: Option<&'a str>,
    /// Headers the request asked to be answered with instead (OSS `response-content-type`
    /// and the like), already checked.
    pub overrides: &'a [(HeaderName, HeaderValue)],
}

impl ObjectAnswer<'_> {
    /// The answer to `method` (GET or HEAD) with the request's `headers`.
    pub fn respond(&self, method: &Method, headers: &HeaderMap) -> Result<Response, Failure> {
        if !self.preconditions_hold(headers) {
            return Err(Failure::new(
                FailureCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold.",
            ));
        }
        Ok(self.answer(method, headers))
    }

    fn answer(&self, method: &Method, headers: &HeaderMap) -> Response {
        let head = method == Method::HEAD;
        if self.not_modified(headers) {
            return self.with_headers(
                Response::builder().status(StatusCode::NOT_MODIFIED),
                Body::empty(),
            );
        }
        let bytes = &self.object.bytes;
        let length = bytes.len() as u64;
        let builder = match requested_range(headers, length) {
            Range::Whole => {
                let body = if head {
                    Body::empty()
                } else {
                    Body::from(bytes.clone())
                };
                let builder = Response::builder().header(header::CONTENT_LENGTH, length);
                return self.with_headers(builder, body);
            }
            Range::Unsatisfiable => Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{length}")),
            Range::Part { first, last } => {
                let part = bytes.slice(first as usize..=last as usize);
                let builder = Response::builder()
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(
                        header::CONTENT_RANGE,
                        format!("bytes {first}-{last}/{length}"),
                    )
                    .header(header::CONTENT_LENGTH, part.len());
                let body = if head {
                    Body::empty()
                } else {
                    Body::from(part)
                };
                return self.with_headers(builder, body);
            }
        };
        self.with_headers(builder, Body::empty())
    }

    /// The quoted entity tag (the object's content hash).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.object.etag)
    }

    /// `If-Match` when given (one of its tags, or `*`), else `If-Unmodified-Since`.
    fn preconditions_hold(&self, headers: &HeaderMap) -> bool {
        if let Some(tags) = header_text(headers, header::IF_MATCH) {
            return self.matches(tags);
        }
        self.changed_since(headers, header::IF_UNMODIFIED_SINCE) != Some(true)
    }

    /// Whether the object was written after the date in header `name` (to the second, as
    /// HTTP dates go); `None` without a valid date.
    fn changed_since(&self, headers: &HeaderMap, name: HeaderName) -> Option<bool> {
        let since = httpdate::parse_http_date(header_text(headers, name)?).ok()?;
        let since: DateTime<Utc> = since.into();
        Some(self.object.last_modified.timestamp() > since.timestamp())
    }

    /// Whether a list of entity tags (`"a", W/"b"` or `*`) names this object.
    fn matches(&self, tags: &str) -> bool {
        let etag = self.etag();
        tags.split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
    }

    /// `If-None-Match` when given (a tag or `*`), else `If-Modified-Since`.
    fn not_modified(&self, headers: &HeaderMap) -> bool {
        if let Some(tags) = header_text(headers, header::IF_NONE_MATCH) {
            return self.matches(tags);
        }
        self.changed_since(headers, header::IF_MODIFIED_SINCE) == Some(false)
    }

    fn with_headers(&self, builder: axum::http::response::Builder, body: Body) -> Response {
        let modified = httpdate::fmt_http_date(self.object.last_modified.into());
        let mut builder = builder
            .header(header::CONTENT_TYPE, self.content_type)
            .header(header::ETAG, self.etag())
            .header(header::LAST_MODIFIED, modified)
            .header(header::ACCEPT_RANGES, "bytes");
        if let Some(cache_control) = self.cache_control {
            builder = builder.header(header::CACHE_CONTROL, cache_control);
        }
        if let Some(answer_headers) = builder.headers_mut() {
            for (name, value) in self.overrides {
                answer_headers.insert(name.clone(), value.clone());
            }
        }
        // Every header above is ASCII made here or checked when it was stored.
        builder
            .body(body)
            .unwrap_or_else(|_| Response::new(Body::empty()))
    }
}

fn header_text(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// What a `Range` header asks of an object of `length` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Whole,
    Part { first: u64, last: u64 },
    Unsatisfiable,
}

fn requested_range(headers: &HeaderMap, length: u64) -> Range {
    let Some(spec) = (headers.get(header::RANGE))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Range::Whole;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Range::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = |text: &str| text.parse::<u64>().ok();
    match (first.is_empty(), last.is_empty()) {
        // `-n`: the last n bytes.
        (true, false) => match parsed(last) {
            Some(0) => Range::Unsatisfiable,
            Some(n) if length > 0 => Range::Part {
                first: length.saturating_sub(n),
                last: length - 1,
            },
            Some(_) => Range::Unsatisfiable,
            None => Range::Whole,
        },
        (false, _) => match (
            parsed(first),
            if last.is_empty() {
                Some(u64::MAX)
            } else {
                parsed(last)
            },
        ) {
            (Some(first), Some(last)) if first <= last => {
                if first >= length {
                    Range::Unsatisfiable
                } else {
                    Range::Part {
                        first,
                        last: last.min(length - 1),
                    }
                }
            }
            _ => Range::Whole,
        },
        (true, true) => Range::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &str, length: u64) -> Range {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        requested_range(&headers, length)
    }

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        let part = |first, last| Range::Part { first, last };
        assert_eq!(range("bytes=0-9", 100), part(0, 9));
        assert_eq!(range("bytes=90-", 100), part(90, 99));
        assert_eq!(range("bytes=90-500", 100), part(90, 99));
        assert_eq!(range("bytes=-10", 100), part(90, 99));
        assert_eq!(range("bytes=-500", 100), part(0, 99));
        assert_eq!(range("bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), Range::Unsatisfiable);
        assert_eq!(range("bytes=5-1", 100), Range::Whole);
        assert_eq!(range("bytes=0-1,5-6", 100), Range::Whole);
        assert_eq!(range("items=0-1", 100), Range::Whole);
        assert_eq!(range("bytes=x-1", 100), Range::Whole);
        assert_eq!(requested_range(&HeaderMap::new(), 100), Range::Whole);
    }
}
