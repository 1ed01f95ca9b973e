//! ListObjects (`GET /<bucket>/?prefix=&delimiter=&marker=&max-keys=`) and ListObjectsV2
//! (`?list-type=2&continuation-token=&start-after=&fetch-owner=`), through `jobs::listing`,
//! with `encoding-type=url`. A V2 continuation token is the next page's marker in URL-safe
//! base64: opaque to the client, and no state kept here.

use std::collections::HashMap;

use axum::response::Response;
use base64::Engine;
use jobs::error::FailureCode;
use jobs::ledger::AccessKey;
use jobs::listing::{self, Entry, ListRequest, Page, RecordedPage};
use jobs::objects::ObjectRecord;
use jobs::Services;

use super::delete::url_encode;
use super::error::{escape, OssError};
use super::Target;

/// OSS's default page size and its largest.
const DEFAULT_MAX_KEYS: usize = 100;
const MAX_KEYS: usize = 1000;

const TOKEN: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How a page is spelt: the version asked for and whether keys are URL-encoded.
struct Spelling<'a> {
    target: &'a Target,
    /// What is recorded of the listed objects (their OSS ETag and type).
    records: &'a HashMap<String, ObjectRecord>,
    owner: &'a str,
    v2: bool,
    url_encoded: bool,
}

impl Spelling<'_> {
    fn text(&self, value: &str) -> String {
        if self.url_encoded {
            url_encode(value)
        } else {
            escape(value)
        }
    }

    fn element(&self, name: &str, value: &str) -> String {
        format!("<{name}>{}</{name}>", self.text(value))
    }
}

pub(super) async fn list(
    services: &Services,
    who: &AccessKey,
    target: &Target,
) -> Result<Response, OssError> {
    let v2 = target.value("list-type") == Some("2");
    let after = marker(target, v2)?;
    let request = ListRequest {
        bucket: &target.bucket,
        prefix: target.value("prefix").unwrap_or_default(),
        delimiter: target.value("delimiter").unwrap_or_default(),
        after: &after,
        max_keys: max_keys(target)?,
    };
    let RecordedPage { page, records } = listing::list(services, who, &request).await?;
    let spelling = Spelling {
        target,
        records: &records,
        owner: &who.access_key,
        v2,
        url_encoded: target.value("encoding-type") == Some("url"),
    };
    Ok(super::xml(document(&spelling, &request, &page)))
}

/// Where the page starts: V1's `marker`; V2's continuation token, else its `start-after`.
fn marker(target: &Target, v2: bool) -> Result<String, OssError> {
    if !v2 {
        return Ok(target.value("marker").unwrap_or_default().to_string());
    }
    match target
        .value("continuation-token")
        .filter(|token| !token.is_empty())
    {
        Some(token) => (TOKEN.decode(token).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                OssError::new(
                    FailureCode::INVALID_ARGUMENT,
                    "The continuation token provided is incorrect",
                )
            }),
        None => Ok(target.value("start-after").unwrap_or_default().to_string()),
    }
}

fn max_keys(target: &Target) -> Result<usize, OssError> {
    let Some(text) = target.value("max-keys").filter(|text| !text.is_empty()) else {
        return Ok(DEFAULT_MAX_KEYS);
    };
    match text.parse::<usize>() {
        Ok(count) if (1..=MAX_KEYS).contains(&count) => Ok(count),
        _ => Err(OssError::new(
            FailureCode::INVALID_ARGUMENT,
            format!("max-keys {text:?}: an integer from 1 to {MAX_KEYS}"),
        )),
    }
}

fn document(spelling: &Spelling<'_>, request: &ListRequest<'_>, page: &Page) -> String {
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult>");
    body.push_str(&format!("<Name>{}</Name>", escape(&spelling.target.bucket)));
    body.push_str(&spelling.element("Prefix", request.prefix));
    body.push_str(&paging(spelling, request, page));
    body.push_str(&format!("<MaxKeys>{}</MaxKeys>", request.max_keys));
    body.push_str(&spelling.element("Delimiter", request.delimiter));
    if spelling.url_encoded {
        body.push_str("<EncodingType>url</EncodingType>");
    }
    body.push_str(&format!(
        "<IsTruncated>{}</IsTruncated>",
        page.next.is_some()
    ));
    for entry in &page.entries {
        body.push_str(&spelt_entry(spelling, entry));
    }
    body.push_str("</ListBucketResult>");
    body
}

/// V1: `Marker` and `NextMarker`; V2: the tokens, `StartAfter` and `KeyCount`.
fn paging(spelling: &Spelling<'_>, request: &ListRequest<'_>, page: &Page) -> String {
    let target = spelling.target;
    if !spelling.v2 {
        let mut text = spelling.element("Marker", request.after);
        if let Some(next) = &page.next {
            text.push_str(&spelling.element("NextMarker", next));
        }
        return text;
    }
    let mut text = String::new();
    if let Some(token) = target.value("continuation-token").filter(|t| !t.is_empty()) {
        text.push_str(&spelling.element("ContinuationToken", token));
    }
    if let Some(start) = target.value("start-after").filter(|s| !s.is_empty()) {
        text.push_str(&spelling.element("StartAfter", start));
    }
    if let Some(next) = &page.next {
        text.push_str(&spelling.element("NextContinuationToken", &TOKEN.encode(next)));
    }
    text.push_str(&format!("<KeyCount>{}</KeyCount>", page.entries.len()));
    text
}

fn spelt_entry(spelling: &Spelling<'_>, entry: &Entry) -> String {
    match entry {
        Entry::CommonPrefix(prefix) => format!(
            "<CommonPrefixes>{}</CommonPrefixes>",
            spelling.element("Prefix", prefix)
        ),
        Entry::Object(object) => {
            // V2 names the owner only when asked (`fetch-owner=true`), V1 always.
            let owner = if !spelling.v2 || spelling.target.value("fetch-owner") == Some("true") {
                let owner = escape(spelling.owner);
                format!("<Owner><ID>{owner}</ID><DisplayName>{owner}</DisplayName></Owner>")
            } else {
                String::new()
            };
            // An object no one has described yet is tagged by its backend version.
            let record = spelling.records.get(&object.key);
            let etag = record.map_or_else(|| object.version.clone(), |record| record.oss_etag());
            let kind = record.map_or("Normal", |record| record.oss_object_type());
            format!(
                "<Contents>{}<LastModified>{}</LastModified><ETag>\"{}\"</ETag><Type>{kind}</Type>\
                 <Size>{}</Size><StorageClass>Standard</StorageClass>{owner}</Contents>",
                spelling.element("Key", &object.key),
                // OSS states whole seconds, and oss2 parses only that spelling.
                object.last_modified.format("%Y-%m-%dT%H:%M:%S.000Z"),
                escape(&etag),
                object.size,
            )
        }
    }
}
