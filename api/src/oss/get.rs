//! GetObject and HeadObject, with processing on GET (`?x-oss-process=image/...`,
//! `style/<name>`, `video/snapshot,...`, `image/info`, the old `@` API) and the bucket's style
//! separators (`photo.jpg!small`, `photo.jpg@!small`, `photo.jpg@100w.jpg`). Anonymous readers
//! are served from public-read buckets, within original protection.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;
use jobs::catalog::settings::{bucket_settings, BucketSettings};
use jobs::credentials::{Caller, ReadVia};
use jobs::error::FailureCode;
use jobs::model::Dialect;
use jobs::processed::{processed, GetProcess};
use jobs::submit::CommandText;
use jobs::Services;
use pipeline::ops::info::RequestMember;

use jobs::objects::{self, Described};

use super::error::OssError;
use super::meta;
use super::process::PROCESS;
use super::Target;
use crate::answer::{Content, Entity, ObjectAnswer};

/// What a GET asks for.
enum Asked {
    /// The object's own bytes.
    Original,
    /// The object `key`, processed by `command`.
    Processed {
        key: String,
        command: CommandText,
        via: ReadVia,
    },
}

/// One GET or HEAD: who asks, for what, and the request's id (some answers carry it).
pub(super) struct GetRequest<'a> {
    pub caller: &'a Caller,
    pub target: &'a Target,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub request_id: &'a str,
}

pub(super) async fn get(services: &Services, get: &GetRequest<'_>) -> Result<Response, OssError> {
    let (caller, target, method, headers) = (get.caller, get.target, get.method, get.headers);
    let overrides = response_overrides(caller, target)?;
    let settings = bucket_settings(&services.ledger, &target.bucket).await?;
    let cache_control = settings.cache_control.as_deref();
    match asked(services, caller, target, &settings).await? {
        Asked::Original => {
            let described = original(services, caller, target, &settings).await?;
            let answer = ObjectAnswer {
                entity: meta::entity(&described),
                content: Content::Stored(described.reader),
                cache_control,
                overrides: &overrides,
            };
            Ok(answer.respond(method, headers)?)
        }
        Asked::Processed { key, command, via } => {
            let request = GetProcess {
                bucket: &target.bucket,
                key: &key,
                command: &command,
                via,
                caller,
                settings: &settings,
            };
            let mut served = processed(services, &request).await?;
            if let Some(document) = served.document {
                let about = AboutRequest {
                    request_id: get.request_id,
                    bucket: &target.bucket,
                    key: &key,
                };
                stamp_request_members(&mut served.object, document.request_members(), &about);
            }
            let answer = ObjectAnswer {
                entity: Entity::of_object(&served.object, served.content_type),
                content: Content::Bytes(served.object.bytes),
                cache_control,
                overrides: &overrides,
            };
            Ok(answer.respond(method, headers)?)
        }
    }
}

/// What a document's request members say.
struct AboutRequest<'a> {
    request_id: &'a str,
    bucket: &'a str,
    key: &'a str,
}

/// Adds `members` to a JSON document's top level (IMM's answers carry `RequestId`, some also
/// `ImageUri`, `httpStatusCode` and `success`; the stored document serves many requests).
/// The entity tag stays the stored result's: the body differs from one answer to the next
/// only by the request id.
fn stamp_request_members(
    object: &mut jobs::buckets::Object,
    members: &[RequestMember],
    about: &AboutRequest<'_>,
) {
    if members.is_empty() {
        return;
    }
    let Ok(serde_json::Value::Object(mut document)) = serde_json::from_slice(&object.bytes) else {
        return;
    };
    for member in members {
        let (name, value) = match member {
            RequestMember::RequestId => ("RequestId", about.request_id.into()),
            RequestMember::ImageUri => (
                "ImageUri",
                format!("oss://{}/{}", about.bucket, about.key).into(),
            ),
            RequestMember::HttpStatusCode => ("httpStatusCode", 200.into()),
            RequestMember::Success => ("success", true.into()),
        };
        document.insert(name.into(), value);
    }
    if let Ok(bytes) = serde_json::to_vec(&document) {
        object.bytes = bytes.into();
    }
}

/// The `response-*` query parameters of GetObject and the headers they replace.
const RESPONSE_OVERRIDES: [(&str, HeaderName); 6] = [
    ("response-content-type", header::CONTENT_TYPE),
    ("response-content-language", header::CONTENT_LANGUAGE),
    ("response-expires", header::EXPIRES),
    ("response-cache-control", header::CACHE_CONTROL),
    ("response-content-disposition", header::CONTENT_DISPOSITION),
    ("response-content-encoding", header::CONTENT_ENCODING),
];

/// Whether `name` is one of GetObject's `response-*` parameters.
pub(super) fn is_response_override(name: &str) -> bool {
    RESPONSE_OVERRIDES
        .iter()
        .any(|(parameter, _)| *parameter == name)
}

/// The headers the request's `response-*` parameters ask for. Only a signed request may
/// ask (as on OSS): otherwise anyone could make a public object answer as another type.
fn response_overrides(
    caller: &Caller,
    target: &Target,
) -> Result<Vec<(HeaderName, HeaderValue)>, OssError> {
    let mut overrides = Vec::new();
    for (parameter, name) in RESPONSE_OVERRIDES {
        let Some(value) = target.value(parameter) else {
            continue;
        };
        if matches!(caller, Caller::Anonymous) {
            return Err(OssError::new(
                FailureCode::AccessDenied,
                format!("{parameter} needs a signed request"),
            ));
        }
        let value = HeaderValue::from_str(value).map_err(|_| {
            OssError::new(
                FailureCode::INVALID_ARGUMENT,
                format!("{parameter}: not a header value"),
            )
        })?;
        overrides.push((name, value));
    }
    Ok(overrides)
}

/// The object with its record, if the caller may read it.
async fn original(
    services: &Services,
    caller: &Caller,
    target: &Target,
    settings: &BucketSettings,
) -> Result<Described, OssError> {
    let (bucket, key) = (&target.bucket, &target.key);
    caller.check_read(bucket, key, settings, ReadVia::Original)?;
    match objects::describe(services, bucket, key).await? {
        Some(described) => Ok(described),
        None => Err(OssError::new(
            FailureCode::NoSuchKey,
            "The specified key does not exist.",
        )),
    }
}

/// `x-oss-process` when given; else the object itself when it exists; else a style named
/// after one of the bucket's separators, or an old-API string after the last `@`.
async fn asked(
    services: &Services,
    caller: &Caller,
    target: &Target,
    settings: &BucketSettings,
) -> Result<Asked, OssError> {
    if let Some(process) = target.value(PROCESS) {
        return Ok(processed_by(&target.key, process));
    }
    // A key may itself contain a separator: an object of that exact name is served as it is.
    // Only a caller who may read the bucket learns whether it exists.
    let readable = caller.check_read(&target.bucket, &target.key, settings, ReadVia::Original);
    if readable.is_err() || services.buckets.exists(&target.bucket, &target.key).await? {
        return Ok(Asked::Original);
    }
    for candidate in style_candidates(&target.key, &settings.style_separators) {
        // The part before the separator must be an object: otherwise the key does not exist.
        if let Asked::Processed { key, .. } = &candidate {
            if services.buckets.exists(&target.bucket, key).await? {
                return Ok(candidate);
            }
        }
    }
    Ok(Asked::Original)
}

/// `key` processed by the `x-oss-process` value `process`.
fn processed_by(key: &str, process: &str) -> Asked {
    Asked::Processed {
        key: key.to_string(),
        via: if names_a_style(process) {
            ReadVia::Style
        } else {
            ReadVia::Parameters
        },
        command: CommandText {
            text: process.to_string(),
            dialect: Dialect::Oss,
        },
    }
}

/// `style/<name>` alone, or the old API's `@!<name>`: a style of the bucket, which original
/// protection lets anonymous readers through.
fn names_a_style(process: &str) -> bool {
    let name = process
        .strip_prefix("style/")
        .or_else(|| process.strip_prefix("@!"));
    name.is_some_and(|name| !name.is_empty() && !name.contains(['/', '|', '@']))
}

/// The readings of a key that names no object: `<object><separator><style>` at the last of
/// the bucket's separators in it, then `<object>@<old API>` at the last `@` (`@!<style>` being
/// a style).
fn style_candidates(key: &str, separators: &str) -> Vec<Asked> {
    let by_separator = key
        .char_indices()
        .rev()
        .find(|(_, c)| separators.contains(*c))
        .map(|(at, c)| (&key[..at], format!("style/{}", &key[at + c.len_utf8()..])));
    let by_old_api = key.rfind('@').map(|at| (&key[..at], key[at..].to_string()));
    [by_separator, by_old_api]
        .into_iter()
        .flatten()
        .filter(|(object, process)| !object.is_empty() && !process.ends_with('/') && process != "@")
        .map(|(object, process)| processed_by(object, &process))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(key: &str, separators: &str) -> Option<(String, String, ReadVia)> {
        match style_candidates(key, separators).into_iter().next()? {
            Asked::Processed { key, command, via } => Some((key, command.text, via)),
            Asked::Original => None,
        }
    }

    #[test]
    fn styles_are_found_after_the_last_separator_or_at() {
        let style = |object: &str, text: &str| Some((object.into(), text.into(), ReadVia::Style));
        assert_eq!(
            split("a/b.jpg!small", "!-"),
            style("a/b.jpg", "style/small")
        );
        assert_eq!(split("a-b.jpg-small", "-"), style("a-b.jpg", "style/small"));
        assert_eq!(split("b.jpg@!small", ""), style("b.jpg", "@!small"));
        assert_eq!(
            split("b.jpg@100w_100h.png", ""),
            Some(("b.jpg".into(), "@100w_100h.png".into(), ReadVia::Parameters))
        );
        assert_eq!(split("b.jpg!small", ""), None);
        assert_eq!(split("!small", "!"), None);
        assert_eq!(split("b.jpg!", "!"), None);
        assert_eq!(split("b.jpg@", ""), None);
        // Both readings, the separator's first.
        let both = style_candidates("o.jpg@!small", "!");
        assert_eq!(both.len(), 2);
        assert!(matches!(&both[1], Asked::Processed { key, .. } if key == "o.jpg"));
    }

    #[test]
    fn only_a_bare_style_counts_as_one() {
        assert!(names_a_style("style/small"));
        assert!(names_a_style("@!small"));
        assert!(!names_a_style("style/"));
        assert!(!names_a_style("style/small/resize,w_1"));
        assert!(!names_a_style("image/resize,w_10"));
        assert!(!names_a_style("style/a|sys/saveas,o_eA"));
    }
}
