//! Multipart uploads on the OSS wire, through `jobs::multipart`:
//!
//! - `POST /<bucket>/<key>?uploads`: InitiateMultipartUpload (the object's metadata is taken
//!   here, as on OSS).
//! - `PUT ?partNumber=&uploadId=`: UploadPart, the body streamed to the backend; with
//!   `x-oss-copy-source` (and `x-oss-copy-source-range`), UploadPartCopy.
//! - `POST ?uploadId=`: CompleteMultipartUpload (the XML list of parts, or every part with
//!   `x-oss-complete-all: yes`).
//! - `DELETE ?uploadId=`: AbortMultipartUpload. `GET ?uploadId=`: ListParts.
//! - `GET /<bucket>/?uploads`: ListMultipartUploads.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jobs::credentials::Permission;
use jobs::error::FailureCode;
use jobs::ledger::{AccessKey, UploadsAfter};
use jobs::multipart::{self, MultipartUpload, Part};
use jobs::objects;
use jobs::Services;
use serde::Deserialize;

use super::delete::url_encode;
use super::error::{escape, OssError};
use super::meta::{content_md5, object_meta, CRC64};
use super::{read_body, xml, Target, XML_HEAD};

/// The largest CompleteMultipartUpload body taken (10,000 parts of ~100 bytes each).
const MAX_COMPLETE_BODY: usize = 2 * 1024 * 1024;
/// The most parts or uploads one listing page holds (OSS's limit and default).
const MAX_PAGE: usize = 1000;

fn iso(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
}

/// The upload `?uploadId` names, for a key that may write its bucket.
async fn named_upload(
    services: &Services,
    who: &AccessKey,
    target: &Target,
) -> Result<MultipartUpload, OssError> {
    let id = target.value("uploadId").unwrap_or_default();
    let location = (target.bucket.as_str(), target.key.as_str());
    Ok(multipart::find(services, who, location, id).await?)
}

/// InitiateMultipartUpload.
pub(super) async fn initiate(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let meta = object_meta(headers)?;
    let location = (target.bucket.as_str(), target.key.as_str());
    let upload = multipart::initiate(services, who, location, meta).await?;
    Ok(xml(format!(
        "{XML_HEAD}<InitiateMultipartUploadResult><Bucket>{}</Bucket><Key>{}</Key>\
         <UploadId>{}</UploadId></InitiateMultipartUploadResult>",
        escape(&upload.bucket),
        escape(&upload.key),
        upload.upload_id.simple(),
    )))
}

/// UploadPart, or UploadPartCopy when the request names a copy source.
pub(super) async fn upload_part(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    let upload = named_upload(services, who, target).await?;
    let number = multipart::part_number(target.value("partNumber").unwrap_or_default())?;
    if request.headers().contains_key(super::copy::COPY_SOURCE) {
        return upload_part_copy(services, who, &upload, number, request.headers()).await;
    }
    let expected_md5 = content_md5(request.headers())?;
    let limit = services.config.max_upload_bytes;
    let body = crate::body::limited(request.into_body(), limit, &upload.bucket, &upload.key);
    let part = multipart::put_part(services, &upload, number, body, expected_md5).await?;
    Ok(part_answer(&part, None))
}

/// The part's ETag and CRC in headers; a copy's answer carries its XML too.
fn part_answer(part: &Part, copy_body: Option<String>) -> Response {
    let etag = format!("\"{}\"", part.etag());
    let mut response = match copy_body {
        Some(body) => xml(body),
        None => StatusCode::OK.into_response(),
    };
    crate::set_header(response.headers_mut(), header::ETAG, &etag);
    (response.headers_mut()).insert(CRC64, HeaderValue::from(part.crc64));
    response
}

/// UploadPartCopy: the source's bytes (all, or `x-oss-copy-source-range: bytes=a-b`) as the
/// part, with read on the source's bucket.
async fn upload_part_copy(
    services: &Services,
    who: &AccessKey,
    upload: &MultipartUpload,
    number: u32,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let (bucket, key) = super::copy::copy_source(headers)?;
    who.require(&bucket, Permission::Read)?;
    let Some(source) = objects::describe(services, &bucket, &key).await? else {
        return Err(OssError::new(
            FailureCode::NoSuchKey,
            "The specified key does not exist.",
        ));
    };
    if let Some(refused) = super::copy::check_source_conditions(&source, headers)? {
        return Ok(refused);
    }
    let range = copy_range(headers, source.record.size)?;
    let body = source.reader.stream(Some(range));
    let part = multipart::put_part(services, upload, number, body, None).await?;
    let copied = format!(
        "{XML_HEAD}<CopyPartResult><LastModified>{}</LastModified><ETag>\"{}\"</ETag>\
         </CopyPartResult>",
        iso(part.uploaded_at),
        part.etag()
    );
    Ok(part_answer(&part, Some(copied)))
}

/// The byte range `x-oss-copy-source-range` asks for (end exclusive), the whole source
/// without one.
fn copy_range(headers: &HeaderMap, size: u64) -> Result<std::ops::Range<u64>, OssError> {
    let Some(value) = headers.get("x-oss-copy-source-range") else {
        return Ok(0..size);
    };
    let invalid = || {
        OssError::new(
            FailureCode::INVALID_ARGUMENT,
            format!("x-oss-copy-source-range: bytes=<first>-<last> within the {size} bytes"),
        )
    };
    let spec = (value.to_str().ok())
        .and_then(|text| text.trim().strip_prefix("bytes="))
        .and_then(|spec| spec.split_once('-'))
        .ok_or_else(invalid)?;
    let first: u64 = spec.0.trim().parse().map_err(|_| invalid())?;
    let last: u64 = match spec.1.trim() {
        "" => size.saturating_sub(1),
        last => last.parse().map_err(|_| invalid())?,
    };
    if first > last || last >= size {
        return Err(invalid());
    }
    Ok(first..last + 1)
}

#[derive(Debug, Deserialize)]
struct CompleteRequest {
    #[serde(rename = "Part", default)]
    parts: Vec<CompletePart>,
}

#[derive(Debug, Deserialize)]
struct CompletePart {
    #[serde(rename = "PartNumber")]
    number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

/// CompleteMultipartUpload.
pub(super) async fn complete(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    let upload = named_upload(services, who, target).await?;
    let all = (request.headers().get("x-oss-complete-all"))
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"yes"));
    let body = read_body(request, MAX_COMPLETE_BODY).await?;
    let asked = if all { None } else { Some(parts_asked(&body)?) };
    let completed = multipart::complete(services, who, &upload, asked.as_deref()).await?;
    let record = &completed.record;
    let etag = format!("\"{}\"", record.oss_etag());
    let encoded = target.value("encoding-type") == Some("url");
    let spell = |text: &str| {
        if encoded {
            url_encode(text)
        } else {
            escape(text)
        }
    };
    let mut response = xml(format!(
        "{XML_HEAD}<CompleteMultipartUploadResult>{}<Location>/{}/{}</Location>\
         <Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
        if encoded {
            "<EncodingType>url</EncodingType>"
        } else {
            ""
        },
        escape(&upload.bucket),
        spell(&upload.key),
        escape(&upload.bucket),
        spell(&upload.key),
        escape(&etag),
    ));
    let headers = response.headers_mut();
    crate::set_header(headers, header::ETAG, &etag);
    headers.insert(CRC64, HeaderValue::from(record.crc64));
    crate::set_job_id(headers, completed.job);
    Ok(response)
}

/// The parts a CompleteMultipartUpload body lists.
fn parts_asked(body: &[u8]) -> Result<Vec<(u32, String)>, OssError> {
    let asked: CompleteRequest = super::parse_xml(body)?;
    Ok(asked
        .parts
        .into_iter()
        .map(|part| (part.number, part.etag))
        .collect())
}

/// AbortMultipartUpload.
pub(super) async fn abort(
    services: &Services,
    who: &AccessKey,
    target: &Target,
) -> Result<Response, OssError> {
    let upload = named_upload(services, who, target).await?;
    multipart::abort(services, &upload).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A page size parameter: 1 to 1000, 1000 when absent.
fn page_size(target: &Target, name: &str) -> Result<usize, OssError> {
    match target.value(name).filter(|value| !value.is_empty()) {
        None => Ok(MAX_PAGE),
        Some(text) => match text.parse::<usize>() {
            Ok(size) if (1..=MAX_PAGE).contains(&size) => Ok(size),
            _ => Err(OssError::new(
                FailureCode::INVALID_ARGUMENT,
                format!("{name}: a number from 1 to {MAX_PAGE}"),
            )),
        },
    }
}

/// ListParts (`?part-number-marker=&max-parts=`).
pub(super) async fn list_parts(
    services: &Services,
    who: &AccessKey,
    target: &Target,
) -> Result<Response, OssError> {
    let upload = named_upload(services, who, target).await?;
    let marker: u32 = target
        .value("part-number-marker")
        .filter(|value| !value.is_empty())
        .map_or(Ok(0), str::parse)
        .map_err(|_| OssError::new(FailureCode::INVALID_ARGUMENT, "part-number-marker"))?;
    let max = page_size(target, "max-parts")?;
    let parts = services.ledger.parts(upload.upload_id).await?;
    let after: Vec<&Part> = parts.iter().filter(|part| part.number > marker).collect();
    let page = &after[..after.len().min(max)];
    let truncated = after.len() > page.len();
    let next = page.last().map_or(marker, |part| part.number);
    let mut body = format!(
        "{XML_HEAD}<ListPartsResult><Bucket>{}</Bucket><Key>{}</Key><UploadId>{}</UploadId>\
         <PartNumberMarker>{marker}</PartNumberMarker><NextPartNumberMarker>{next}\
         </NextPartNumberMarker><MaxParts>{max}</MaxParts><IsTruncated>{truncated}</IsTruncated>",
        escape(&upload.bucket),
        escape(&upload.key),
        upload.upload_id.simple(),
    );
    for part in page {
        body.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><LastModified>{}</LastModified>\
             <ETag>\"{}\"</ETag><HashCrc64ecma>{}</HashCrc64ecma><Size>{}</Size></Part>",
            part.number,
            iso(part.uploaded_at),
            part.etag(),
            part.crc64,
            part.size
        ));
    }
    body.push_str("</ListPartsResult>");
    Ok(xml(body))
}

/// ListMultipartUploads (`GET /<bucket>/?uploads&prefix=&delimiter=&key-marker=
/// &upload-id-marker=&max-uploads=&encoding-type=`).
pub(super) async fn list_uploads(
    services: &Services,
    who: &AccessKey,
    target: &Target,
) -> Result<Response, OssError> {
    who.require(&target.bucket, Permission::Write)?;
    let prefix = target.value("prefix").unwrap_or_default();
    let delimiter = target.value("delimiter").unwrap_or_default();
    let key_marker = target.value("key-marker").unwrap_or_default();
    let id_marker = target.value("upload-id-marker").unwrap_or_default();
    let max = page_size(target, "max-uploads")?;
    let after = UploadsAfter {
        key: key_marker.to_string(),
        upload_id: uuid::Uuid::parse_str(id_marker).ok(),
    };
    let limit = i64::try_from(max + 1).unwrap_or(i64::MAX);
    let uploads = (services.ledger)
        .uploads(&target.bucket, prefix, &after, limit)
        .await?;
    let page = UploadsPage::of(uploads, prefix, delimiter, max);
    let encoded = target.value("encoding-type") == Some("url");
    Ok(xml(page.document(target, encoded, (key_marker, id_marker))))
}

/// One page of uploads, keys with the delimiter after the prefix folded into common prefixes.
struct UploadsPage<'a> {
    uploads: Vec<MultipartUpload>,
    prefixes: Vec<String>,
    truncated: bool,
    prefix: &'a str,
    delimiter: &'a str,
    max: usize,
}

impl<'a> UploadsPage<'a> {
    fn of(all: Vec<MultipartUpload>, prefix: &'a str, delimiter: &'a str, max: usize) -> Self {
        let truncated = all.len() > max;
        let mut uploads = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        for upload in all.into_iter().take(max) {
            let rest = &upload.key[prefix.len().min(upload.key.len())..];
            match rest.find(delimiter).filter(|_| !delimiter.is_empty()) {
                Some(at) => {
                    let common = format!("{prefix}{}", &rest[..at + delimiter.len()]);
                    if prefixes.last() != Some(&common) {
                        prefixes.push(common);
                    }
                }
                None => uploads.push(upload),
            }
        }
        UploadsPage {
            uploads,
            prefixes,
            truncated,
            prefix,
            delimiter,
            max,
        }
    }

    fn document(&self, target: &Target, encoded: bool, markers: (&str, &str)) -> String {
        let spell = |text: &str| {
            if encoded {
                url_encode(text)
            } else {
                escape(text)
            }
        };
        let last = self.uploads.last();
        let next_key = last.map_or(String::new(), |upload| upload.key.clone());
        let next_id = last.map_or(String::new(), |upload| {
            upload.upload_id.simple().to_string()
        });
        let mut body =
            format!(
            "{XML_HEAD}<ListMultipartUploadsResult><Bucket>{}</Bucket>{}<KeyMarker>{}</KeyMarker>\
             <UploadIdMarker>{}</UploadIdMarker><NextKeyMarker>{}</NextKeyMarker>\
             <NextUploadIdMarker>{}</NextUploadIdMarker><Delimiter>{}</Delimiter>\
             <Prefix>{}</Prefix><MaxUploads>{}</MaxUploads><IsTruncated>{}</IsTruncated>",
            escape(&target.bucket),
            if encoded { "<EncodingType>url</EncodingType>" } else { "" },
            spell(markers.0),
            escape(markers.1),
            spell(&next_key),
            next_id,
            spell(self.delimiter),
            spell(self.prefix),
            self.max,
            self.truncated,
        );
        for upload in &self.uploads {
            body.push_str(&format!(
                "<Upload><Key>{}</Key><UploadId>{}</UploadId><Initiated>{}</Initiated></Upload>",
                spell(&upload.key),
                upload.upload_id.simple(),
                iso(upload.initiated_at)
            ));
        }
        for prefix in &self.prefixes {
            body.push_str(&format!(
                "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                spell(prefix)
            ));
        }
        body.push_str("</ListMultipartUploadsResult>");
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges_are_inclusive_and_within_the_source() {
        let range = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                "x-oss-copy-source-range",
                HeaderValue::from_str(value).unwrap(),
            );
            copy_range(&headers, 100)
        };
        assert_eq!(range("bytes=0-9").unwrap(), 0..10);
        assert_eq!(range("bytes=90-").unwrap(), 90..100);
        assert_eq!(copy_range(&HeaderMap::new(), 100).unwrap(), 0..100);
        for bad in [
            "bytes=5-1",
            "bytes=0-100",
            "bytes=-5",
            "items=0-1",
            "bytes=a-b",
        ] {
            assert!(range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn completion_bodies_list_numbers_and_etags() {
        let body = br#"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"AB"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"CD"</ETag></Part></CompleteMultipartUpload>"#;
        assert_eq!(
            parts_asked(body).unwrap(),
            vec![(1, "\"AB\"".to_string()), (2, "\"CD\"".to_string())]
        );
        let malformed = parts_asked(b"<CompleteMultipartUpload><Part>").unwrap_err();
        assert_eq!(malformed.0.code, FailureCode::MalformedXML);
    }
}
