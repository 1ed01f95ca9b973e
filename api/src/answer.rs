//! Answering a GET or HEAD with an object's bytes, as browsers and CDNs expect of any surface:
//! `Content-Type`, `Content-Length`, `ETag`, `Last-Modified`, `Accept-Ranges`, the bucket's
//! `Cache-Control`; `If-Match` / `If-Unmodified-Since` refused 412 (`PreconditionFailed`, in
//! the surface's format), `If-None-Match` / `If-Modified-Since` answered 304, in RFC 9110's
//! order; one `Range` answered 206 (or 416 when it starts past the end; a malformed or
//! multiple range is ignored, as RFC 9110 allows, and the whole object answered); header
//! overrides (OSS `response-*`) last.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use jobs::buckets::{Object, Reader};
use jobs::error::{Failure, FailureCode};

/// What is answered about an entity, whatever its bytes are.
#[derive(Debug, Clone)]
pub struct Entity {
    pub size: u64,
    pub last_modified: DateTime<Utc>,
    /// Unquoted.
    pub etag: String,
    pub content_type: String,
    /// Further headers of the entity (its stored Content-Disposition, user metadata, digests),
    /// answered on 200, 206 and 304 alike.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Entity {
    /// The entity tag as headers carry it.
    pub fn quoted_etag(&self) -> String {
        format!("\"{}\"", self.etag)
    }

    /// Whether a list of entity tags (`"a", W/"b"` or `*`) names this entity. A tag without
    /// its quotes counts too: oss2's resumable download sends the ETag as HeadObject's result
    /// gives it, unquoted, and OSS takes it.
    fn matches(&self, tags: &str) -> bool {
        tags.split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == self.etag)
    }

    /// Whether the entity was written after `date` (to the second, as HTTP dates go); `None`
    /// when `date` is not an HTTP date.
    fn changed_since(&self, date: &str) -> Option<bool> {
        let since: DateTime<Utc> = httpdate::parse_http_date(date).ok()?.into();
        Some(self.last_modified.timestamp() > since.timestamp())
    }

    /// An object read whole, tagged by its Qiniu hash.
    pub fn of_object(object: &Object, content_type: &str) -> Entity {
        Entity {
            size: object.bytes.len() as u64,
            last_modified: object.last_modified,
            etag: object.etag.clone(),
            content_type: content_type.to_string(),
            headers: Vec::new(),
        }
    }
}

/// Where the entity's bytes come from.
#[derive(Debug, Clone)]
pub enum Content {
    /// Held (a processed result).
    Bytes(Bytes),
    /// Streamed from the backend, only the range asked for.
    Stored(Reader),
}

impl Content {
    fn body(&self, first: u64, last: u64) -> Body {
        match self {
            Content::Bytes(bytes) => {
                let (first, last) = (first as usize, (last as usize).min(bytes.len()));
                Body::from(bytes.slice(first.min(last)..last))
            }
            Content::Stored(reader) => Body::from_stream(reader.stream(Some(first..last))),
        }
    }
}

/// What to answer with.
#[derive(Debug)]
pub struct ObjectAnswer<'a> {
    pub entity: Entity,
    pub content: Content,
    /// The bucket's Cache-Control, when the entity has none of its own.
    pub cache_control: Option<&'a str>,
    /// Headers the request asked to be answered with instead (OSS `response-content-type`
    /// and the like), already checked.
    pub overrides: &'a [(HeaderName, HeaderValue)],
}

impl ObjectAnswer<'_> {
    /// The answer to `method` (GET or HEAD) with the request's `headers`.
    pub fn respond(&self, method: &Method, headers: &HeaderMap) -> Result<Response, Failure> {
        match evaluate(&self.entity, headers, &GET_CONDITIONALS) {
            Verdict::Failed => Err(precondition_failed()),
            Verdict::NotModified => Ok(self.with_headers(
                Response::builder().status(StatusCode::NOT_MODIFIED),
                Body::empty(),
            )),
            Verdict::Proceed => Ok(self.answer(method, headers)),
        }
    }

    fn answer(&self, method: &Method, headers: &HeaderMap) -> Response {
        let head = method == Method::HEAD;
        let length = self.entity.size;
        let body = |first: u64, end: u64| {
            if head || first >= end {
                Body::empty()
            } else {
                self.content.body(first, end)
            }
        };
        match requested_range(headers, length) {
            Range::Whole => {
                let builder = Response::builder().header(header::CONTENT_LENGTH, length);
                self.with_headers(builder, body(0, length))
            }
            Range::Unsatisfiable => {
                let builder = Response::builder()
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .header(header::CONTENT_RANGE, format!("bytes */{length}"));
                self.with_headers(builder, Body::empty())
            }
            Range::Part { first, last } => {
                let builder = Response::builder()
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(
                        header::CONTENT_RANGE,
                        format!("bytes {first}-{last}/{length}"),
                    )
                    .header(header::CONTENT_LENGTH, last - first + 1);
                self.with_headers(builder, body(first, last + 1))
            }
        }
    }

    /// The quoted entity tag.
    pub fn etag(&self) -> String {
        self.entity.quoted_etag()
    }

    fn with_headers(&self, builder: axum::http::response::Builder, body: Body) -> Response {
        let modified = httpdate::fmt_http_date(self.entity.last_modified.into());
        let mut builder = builder
            .header(header::CONTENT_TYPE, &self.entity.content_type)
            .header(header::ETAG, self.etag())
            .header(header::LAST_MODIFIED, modified)
            .header(header::ACCEPT_RANGES, "bytes");
        if let Some(answer_headers) = builder.headers_mut() {
            if let Some(cache_control) = self.cache_control {
                if let Ok(value) = HeaderValue::from_str(cache_control) {
                    answer_headers.insert(header::CACHE_CONTROL, value);
                }
            }
            for (name, value) in self.entity.headers.iter().chain(self.overrides) {
                answer_headers.insert(name.clone(), value.clone());
            }
        }
        // Every header above is ASCII made here or checked when it was stored.
        builder
            .body(body)
            .unwrap_or_else(|_| Response::new(Body::empty()))
    }
}

/// The names a request gives the four conditions under: GET's own, or a copy's conditions on
/// its source (`x-oss-copy-source-if-match` ...).
#[derive(Debug, Clone)]
pub struct Conditionals {
    pub if_match: HeaderName,
    pub if_none_match: HeaderName,
    pub if_modified_since: HeaderName,
    pub if_unmodified_since: HeaderName,
}

pub const GET_CONDITIONALS: Conditionals = Conditionals {
    if_match: header::IF_MATCH,
    if_none_match: header::IF_NONE_MATCH,
    if_modified_since: header::IF_MODIFIED_SINCE,
    if_unmodified_since: header::IF_UNMODIFIED_SINCE,
};

/// What the conditions of a request say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    /// 304.
    NotModified,
    /// 412.
    Failed,
}

/// The verdict of the conditions in `headers` on `entity`, in RFC 9110's order: `If-Match`
/// (else `If-Unmodified-Since`), then `If-None-Match` (else `If-Modified-Since`).
pub fn evaluate(entity: &Entity, headers: &HeaderMap, names: &Conditionals) -> Verdict {
    let text = |name: &HeaderName| header_text(headers, name.clone());
    let holds = match text(&names.if_match) {
        Some(tags) => entity.matches(tags),
        None => {
            text(&names.if_unmodified_since).and_then(|date| entity.changed_since(date))
                != Some(true)
        }
    };
    if !holds {
        return Verdict::Failed;
    }
    let not_modified = match text(&names.if_none_match) {
        Some(tags) => entity.matches(tags),
        None => {
            text(&names.if_modified_since).and_then(|date| entity.changed_since(date))
                == Some(false)
        }
    };
    if not_modified {
        Verdict::NotModified
    } else {
        Verdict::Proceed
    }
}

/// The failure of a condition, as every surface words it.
pub fn precondition_failed() -> Failure {
    Failure::new(
        FailureCode::PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold.",
    )
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
