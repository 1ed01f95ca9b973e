//! Downloads, and processing on GET: `GET /<key>?<fop>` on a bucket's download host (a
//! `Host` the bucket's settings name, as Qiniu's bound domains), and path style
//! `/<bucket>/<key>?<fop>`; private URLs `...?<fop>&e=<deadline>&token=<ak>:<sign>`
//! (`Auth.private_download_url`), public buckets without a token. The fops are those of
//! persistent processing (`imageView2`, `imageMogr2`, `imageInfo`, `exif`, `watermark`,
//! `vframe`, `|`-chained); `<key><separator><style>` names a style of the bucket.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap, Method};
use axum::response::Response;
use jobs::catalog::settings::bucket_settings;
use jobs::credentials::{Caller, ReadVia};
use jobs::model::Dialect;
use jobs::processed::{processed, GetProcess};
use jobs::submit::CommandText;
use jobs::Services;
use percent_encoding::percent_decode_str;

use super::error::QiniuError;
use crate::answer::{Content, Entity, ObjectAnswer};
use crate::auth::AuthError;
use jobs::error::StoreError;
use jobs::objects;

/// Commands a download URL's query may start with.
const FOPS: [&str; 7] = [
    "imageView2",
    "imageMogr2",
    "imageInfo",
    "imageinfo",
    "exif",
    "watermark",
    "vframe",
];

/// A download request, as the router found it.
#[derive(Debug)]
pub struct Download<'a> {
    pub bucket: &'a str,
    /// The key as it stands in the path (percent-encoded).
    pub raw_key: &'a str,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The path and query as requested: what a private URL's token signs.
    pub path_and_query: &'a str,
}

/// Whether a path-style request's query is a Qiniu download's (a fop, or a private URL's
/// `e` and `token`), which tells it apart from an OSS request on the same path.
pub fn is_qiniu_query(query: &str) -> bool {
    let first = query.split('&').next().unwrap_or_default();
    // A command's name ends at its first argument or at the next command of a chain, either
    // of them maybe percent-encoded.
    let name = first.split(['/', '|', '%']).next().unwrap_or_default();
    FOPS.contains(&name) || query.split('&').any(|part| part.starts_with("token="))
}

/// Answers a download.
pub async fn download(services: &Services, request: Download<'_>) -> Result<Response, QiniuError> {
    let caller = caller(services, &request).await?;
    let key = decode(request.raw_key)?;
    let settings = bucket_settings(&services.ledger, request.bucket).await?;
    let query = request
        .path_and_query
        .split_once('?')
        .map_or("", |(_, q)| q);
    let fop = query
        .split('&')
        .find(|part| !part.is_empty() && !part.starts_with("e=") && !part.starts_with("token="));
    let (key, command, via) = match fop {
        // The query is URL text: a client may have encoded the fop's `|` or `=` (`%7C`).
        Some(fop) => {
            let fop = percent_decode_str(fop).decode_utf8_lossy();
            (key, command(&fop, Dialect::Qiniu), ReadVia::Parameters)
        }
        None => match styled(services, request.bucket, &key, &settings.style_separators).await? {
            Some((object, style)) => (
                object,
                command(&format!("style/{style}"), Dialect::Oss),
                ReadVia::Style,
            ),
            None => return original(services, &request, &caller, &key, &settings).await,
        },
    };
    let get = GetProcess {
        bucket: request.bucket,
        key: &key,
        command: &command,
        via,
        caller: &caller,
        settings: &settings,
    };
    let served = processed(services, &get).await?;
    let answer = ObjectAnswer {
        entity: Entity::of_object(&served.object, served.content_type),
        content: Content::Bytes(served.object.bytes),
        cache_control: settings.cache_control.as_deref(),
        overrides: &[],
    };
    Ok(answer.respond(request.method, request.headers)?)
}

/// The object's own bytes.
async fn original(
    services: &Services,
    request: &Download<'_>,
    caller: &Caller,
    key: &str,
    settings: &jobs::catalog::settings::BucketSettings,
) -> Result<Response, QiniuError> {
    caller.check_read(request.bucket, key, settings, ReadVia::Original)?;
    let Some(described) = objects::describe(services, request.bucket, key).await? else {
        return Err(QiniuError::from(StoreError::NoSuchKey {
            bucket: request.bucket.to_string(),
            key: key.to_string(),
        }));
    };
    let record = &described.record;
    let entity = Entity {
        size: record.size,
        last_modified: described.reader.info.last_modified,
        etag: record.qiniu_hash.clone(),
        content_type: record.content_type.clone(),
        headers: Vec::new(),
    };
    let answer = ObjectAnswer {
        entity,
        content: Content::Stored(described.reader),
        cache_control: settings.cache_control.as_deref(),
        overrides: &[],
    };
    Ok(answer.respond(request.method, request.headers)?)
}

/// A private URL's key (`token`), or nobody.
async fn caller(services: &Services, request: &Download<'_>) -> Result<Caller, QiniuError> {
    if !request.path_and_query.contains("token=") {
        return Ok(Caller::Anonymous);
    }
    let host = (request.headers.get(header::HOST))
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let ledger = &services.ledger;
    let signed = request.path_and_query;
    match super::auth::authenticate_download_request(ledger, host, signed, now).await {
        Ok(key) => Ok(Caller::Key(key)),
        // The SDK signs the URL as the application wrote it; an HTTP client may have
        // percent-encoded the fop's `|`, `!` or `=` on the way.
        Err(AuthError::BadSignature) => {
            let decoded = percent_decode_str(signed).decode_utf8_lossy();
            let key = super::auth::authenticate_download_request(ledger, host, &decoded, now);
            Ok(Caller::Key(key.await?))
        }
        Err(error) => Err(error.into()),
    }
}

/// `<object><separator><style>`, when the key names no object itself but the part before its
/// last separator does.
async fn styled(
    services: &Services,
    bucket: &str,
    key: &str,
    separators: &str,
) -> Result<Option<(String, String)>, QiniuError> {
    let Some((at, separator)) = key
        .char_indices()
        .rev()
        .find(|(_, c)| separators.contains(*c))
    else {
        return Ok(None);
    };
    let (object, style) = (&key[..at], &key[at + separator.len_utf8()..]);
    if object.is_empty() || style.is_empty() || services.buckets.exists(bucket, key).await? {
        return Ok(None);
    }
    if !services.buckets.exists(bucket, object).await? {
        return Ok(None);
    }
    Ok(Some((object.to_string(), style.to_string())))
}

fn command(text: &str, dialect: Dialect) -> CommandText {
    CommandText {
        text: text.to_string(),
        dialect,
    }
}

fn decode(raw: &str) -> Result<String, QiniuError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|_| QiniuError::bad_request("the key is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qiniu_queries_are_told_from_oss_ones() {
        assert!(is_qiniu_query("imageView2/2/w/100"));
        assert!(is_qiniu_query("imageMogr2/thumbnail/100x&e=1&token=a:b"));
        assert!(is_qiniu_query("imageInfo"));
        assert!(is_qiniu_query("e=1700000000&token=ak:sig"));
        assert!(!is_qiniu_query("x-oss-process=image/resize,w_10"));
        assert!(!is_qiniu_query("acl"));
        assert!(!is_qiniu_query(""));
        assert!(!is_qiniu_query("imageInfoX"));
        assert!(!is_qiniu_query("exifdata"));
        assert!(is_qiniu_query("imageInfo|imageView2/2/w/10"));
        assert!(is_qiniu_query("imageView2%2F2%2Fw%2F10"));
    }
}
