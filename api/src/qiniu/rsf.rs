//! Listing (rsf), through `jobs::listing`:
//!
//! - `GET`/`POST /list?bucket=&prefix=&marker=&limit=&delimiter=` (v1): one page of at most
//!   `limit` (1..1000, default 1000) entries, `{"marker","commonPrefixes","items"}`; the marker
//!   is absent on the last page.
//! - `POST /v2/list?...` (v2): every entry (or `limit` of them) as JSON lines
//!   `{"item","marker","dir"}`, one page of the listing read at a time.
//!
//! The marker is Qiniu's shape, URL-safe base64 of `{"c":0,"k":"<last name>"}`; an object
//! without a record (put on the folder by hand) is described, and so recorded, when listed.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use futures::StreamExt;
use jobs::ledger::AccessKey;
use jobs::listing::{self, Entry, ListRequest};
use jobs::objects;
use jobs::Services;
use serde_json::{json, Value};

use super::error::QiniuError;
use super::rs::{answer_value, authenticated, check_bucket, put_time};
use super::REQID;

/// The most entries of one page (Qiniu's limit and v1's default).
const MAX_LIMIT: usize = 1000;

/// A listing's parameters.
#[derive(Debug, Default, PartialEq, Eq)]
struct Listing {
    bucket: String,
    prefix: String,
    delimiter: String,
    /// The name the listing goes on after (decoded from the marker).
    after: String,
    /// 0: no limit given.
    limit: usize,
}

fn encode_marker(name: &str) -> String {
    let json = json!({ "c": 0, "k": name }).to_string();
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

fn decode_marker(marker: &str) -> Result<String, QiniuError> {
    if marker.is_empty() {
        return Ok(String::new());
    }
    let invalid = || QiniuError::bad_request(format!("invalid marker {marker:?}"));
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT
        .decode(marker)
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&json).map_err(|_| invalid())?;
    value["k"].as_str().map(str::to_string).ok_or_else(invalid)
}

impl Listing {
    fn of_query(query: &str) -> Result<Listing, QiniuError> {
        let mut listing = Listing::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "bucket" => listing.bucket = value.into_owned(),
                "prefix" => listing.prefix = value.into_owned(),
                "delimiter" => listing.delimiter = value.into_owned(),
                "marker" => listing.after = decode_marker(&value)?,
                "limit" if !value.is_empty() => {
                    listing.limit = value
                        .parse()
                        .map_err(|_| QiniuError::bad_request(format!("invalid limit {value:?}")))?;
                }
                _ => {}
            }
        }
        if listing.bucket.is_empty() {
            return Err(QiniuError::bad_request("bucket is required"));
        }
        Ok(listing)
    }

    fn request<'a>(&'a self, after: &'a str, max_keys: usize) -> ListRequest<'a> {
        ListRequest {
            bucket: &self.bucket,
            prefix: &self.prefix,
            delimiter: &self.delimiter,
            after,
            max_keys,
        }
    }
}

/// One page: its objects as Qiniu's items (records derived where missing), its common
/// prefixes, and the next marker's name.
struct QiniuPage {
    entries: Vec<(String, Option<Value>)>,
    next: Option<String>,
}

async fn page(
    services: &Services,
    who: &AccessKey,
    request: &ListRequest<'_>,
) -> Result<QiniuPage, QiniuError> {
    let listed = listing::list(services, who, request).await?;
    let mut entries = Vec::with_capacity(listed.page.entries.len());
    for entry in &listed.page.entries {
        let Entry::Object(object) = entry else {
            entries.push((entry.name().to_string(), None));
            continue;
        };
        let record = match listed.records.get(&object.key) {
            Some(record) => Some(record.clone()),
            None => objects::describe(services, request.bucket, &object.key)
                .await?
                .map(|described| described.record),
        };
        // Deleted between the listing and its description: left out.
        let Some(record) = record else { continue };
        let item = json!({
            "key": object.key,
            "hash": record.qiniu_hash,
            "fsize": record.size,
            "mimeType": record.content_type,
            "putTime": put_time(object.last_modified),
            "type": 0,
            "status": 0,
            "md5": hex::encode(record.etag_md5),
        });
        entries.push((object.key.clone(), Some(item)));
    }
    Ok(QiniuPage {
        entries,
        next: listed.page.next,
    })
}

/// The listing a request asks for, and its signer (a bucket that does not exist is 631).
async fn authorized_listing(
    services: &Services,
    request: Request,
) -> Result<(Listing, AccessKey), QiniuError> {
    let listing = Listing::of_query(request.uri().query().unwrap_or_default())?;
    let (who, _) = authenticated(services, request).await?;
    check_bucket(services, &listing.bucket)?;
    Ok((listing, who))
}

/// `/list` (v1).
pub(super) async fn list(
    State(services): State<Arc<Services>>,
    request: Request,
) -> Result<Response, QiniuError> {
    let (listing, who) = authorized_listing(&services, request).await?;
    let limit = match listing.limit {
        0 => MAX_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    let page = page(&services, &who, &listing.request(&listing.after, limit)).await?;
    let mut items = Vec::new();
    let mut prefixes = Vec::new();
    for (name, item) in page.entries {
        match item {
            Some(item) => items.push(item),
            None => prefixes.push(Value::String(name)),
        }
    }
    let mut body = json!({ "items": items });
    if !listing.delimiter.is_empty() {
        body["commonPrefixes"] = Value::Array(prefixes);
    }
    if let Some(next) = page.next {
        body["marker"] = json!(encode_marker(&next));
    }
    Ok(answer_value(&crate::new_request_id(), body))
}

/// The JSON lines of one page, and where the next starts.
fn lines(page: QiniuPage) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::new();
    for (name, item) in page.entries {
        let line = match item {
            Some(item) => json!({ "item": item, "marker": encode_marker(&name), "dir": "" }),
            None => json!({ "item": null, "marker": encode_marker(&name), "dir": name }),
        };
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    (out, page.next)
}

/// `/v2/list`: the whole listing (or `limit` entries), streamed a page at a time.
pub(super) async fn list_v2(
    State(services): State<Arc<Services>>,
    request: Request,
) -> Result<Response, QiniuError> {
    let (listing, who) = authorized_listing(&services, request).await?;
    let first = page(&services, &who, &listing.request(&listing.after, MAX_LIMIT)).await?;
    let remaining = match listing.limit {
        0 => usize::MAX,
        n => n,
    };
    let state = (Some(first), remaining, services, who, listing);
    let body = futures::stream::unfold(state, |(first, remaining, services, who, listing)| {
        v2_step(first, remaining, services, who, listing)
    });
    let mut response = Response::new(Body::from_stream(body.boxed()));
    crate::set_header(response.headers_mut(), REQID, &crate::new_request_id());
    crate::set_header(
        response.headers_mut(),
        axum::http::header::CONTENT_TYPE,
        "application/json",
    );
    Ok(response)
}

type V2State = (Option<QiniuPage>, usize, Arc<Services>, AccessKey, Listing);

/// The next chunk of a v2 listing: the page in hand, cut to what remains of the limit.
async fn v2_step(
    page_in_hand: Option<QiniuPage>,
    remaining: usize,
    services: Arc<Services>,
    who: AccessKey,
    mut listing: Listing,
) -> Option<(Result<Vec<u8>, std::io::Error>, V2State)> {
    let mut page = page_in_hand?;
    if remaining == 0 {
        return None;
    }
    page.entries.truncate(remaining);
    let taken = page.entries.len();
    let cut = taken == remaining;
    let (chunk, next) = lines(page);
    let next_page = match next.filter(|_| !cut) {
        Some(after) => {
            listing.after = after;
            let request = listing.request(&listing.after, MAX_LIMIT);
            match self::page(&services, &who, &request).await {
                Ok(page) => Some(page),
                Err(error) => {
                    let (_, message) = error.status_and_message();
                    tracing::warn!(%message, "a v2 listing stopped early");
                    None
                }
            }
        }
        None => None,
    };
    let state = (next_page, remaining - taken, services, who, listing);
    Some((Ok(chunk), state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_in_qiniu_shape() {
        let marker = encode_marker("a/b.jpg");
        let json = base64::engine::general_purpose::URL_SAFE
            .decode(&marker)
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&json).unwrap(),
            json!({"c": 0, "k": "a/b.jpg"})
        );
        assert_eq!(decode_marker(&marker).unwrap(), "a/b.jpg");
        assert_eq!(decode_marker("").unwrap(), "");
        assert!(decode_marker("!!").is_err());
    }

    #[test]
    fn listing_parameters_are_read_from_the_query() {
        let marker = encode_marker("p/3");
        let query = format!("bucket=b&prefix=p%2F&delimiter=%2F&limit=10&marker={marker}");
        assert_eq!(
            Listing::of_query(&query).unwrap(),
            Listing {
                bucket: "b".into(),
                prefix: "p/".into(),
                delimiter: "/".into(),
                after: "p/3".into(),
                limit: 10,
            }
        );
        assert!(Listing::of_query("prefix=a").is_err());
        assert!(Listing::of_query("bucket=b&limit=x").is_err());
    }
}
