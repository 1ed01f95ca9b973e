//! The buckets themselves: PutBucket (`PUT /<bucket>/`, a folder under the data dir, for a key
//! whose grant covers the name), DeleteBucket (`DELETE /<bucket>/`, only when it holds no
//! object: `BucketNotEmpty`), GetBucketInfo (`GET ?bucketInfo`) and ListBuckets (`GET /` on
//! the service: the buckets the key holds a grant on).

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use jobs::catalog::settings::{bucket_settings, save_acl, Acl};
use jobs::credentials::Permission;
use jobs::error::FailureCode;
use jobs::ledger::AccessKey;
use jobs::Services;

use super::error::{escape, OssError};
use super::{xml, Target, XML_HEAD};

/// The header PutBucket and PutBucketAcl carry the ACL in.
pub(super) const ACL_HEADER: &str = "x-oss-acl";

/// OSS's rule for a new bucket's name: 3 to 63 lower-case letters, digits and hyphens, not
/// starting or ending with a hyphen.
pub(super) fn valid_new_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && (name.bytes()).all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The `x-oss-acl` a request sets, if any.
pub(super) fn acl_header(headers: &HeaderMap) -> Result<Option<Acl>, OssError> {
    let Some(value) = headers.get(ACL_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    Acl::parse(text)
        .map(Some)
        .map_err(|error| OssError::new(FailureCode::INVALID_ARGUMENT, error.to_string()))
}

/// PutBucket. A bucket the key may write that exists already answers 200 again, as OSS
/// answers its owner.
pub(super) async fn create(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let bucket = &target.bucket;
    who.require(bucket, Permission::Write)?;
    let acl = acl_header(headers)?;
    if !services.buckets.bucket_exists(bucket) && !valid_new_name(bucket) {
        return Err(OssError::new(
            FailureCode::InvalidBucketName,
            "The specified bucket is not valid: 3 to 63 lower-case letters, digits and \
             hyphens, not starting or ending with a hyphen.",
        ));
    }
    services.buckets.create_bucket(bucket)?;
    if let Some(acl) = acl {
        save_acl(&services.ledger, bucket, acl).await?;
    }
    Ok(StatusCode::OK.into_response())
}

/// DeleteBucket.
pub(super) async fn delete(
    services: &Services,
    who: &AccessKey,
    target: &Target,
) -> Result<Response, OssError> {
    who.require(&target.bucket, Permission::Write)?;
    services.buckets.delete_bucket(&target.bucket).await?;
    services.ledger.forget_bucket(&target.bucket).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn iso(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
}

/// What ListBuckets and GetBucketInfo say of a bucket's place: this service's own host.
struct Place<'a> {
    host: &'a str,
    region: &'a str,
}

impl Place<'_> {
    fn elements(&self) -> String {
        format!(
            "<ExtranetEndpoint>{}</ExtranetEndpoint><IntranetEndpoint>{}</IntranetEndpoint>\
             <Location>oss-{}</Location><Region>{}</Region><StorageClass>Standard</StorageClass>",
            escape(self.host),
            escape(self.host),
            escape(self.region),
            escape(self.region),
        )
    }
}

fn host(headers: &HeaderMap) -> &str {
    (headers.get(axum::http::header::HOST))
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// GetBucketInfo.
pub(super) async fn info(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let bucket = &target.bucket;
    who.require(bucket, Permission::Read)?;
    let settings = bucket_settings(&services.ledger, bucket).await?;
    let created = services
        .buckets
        .bucket_created(bucket)
        .unwrap_or_else(Utc::now);
    let owner = escape(&who.access_key);
    let place = Place {
        host: host(headers),
        region: &services.config.oss_region,
    };
    Ok(xml(format!(
        "{XML_HEAD}<BucketInfo><Bucket><CreationDate>{}</CreationDate>{}<Name>{}</Name>\
         <Owner><DisplayName>{owner}</DisplayName><ID>{owner}</ID></Owner>\
         <AccessControlList><Grant>{}</Grant></AccessControlList></Bucket></BucketInfo>",
        iso(created),
        place.elements(),
        escape(bucket),
        settings.acl.as_str(),
    )))
}

/// ListBuckets (`?prefix=&marker=&max-keys=`, at most 1000 a page, 100 by default).
pub(super) async fn list(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Response, OssError> {
    let prefix = target.value("prefix").unwrap_or_default();
    let marker = target.value("marker").unwrap_or_default();
    let max = match target.value("max-keys").filter(|value| !value.is_empty()) {
        None => 100,
        Some(text) => match text.parse::<usize>() {
            Ok(max) if (1..=1000).contains(&max) => max,
            _ => {
                return Err(OssError::new(
                    FailureCode::INVALID_ARGUMENT,
                    "max-keys: 1 to 1000",
                ))
            }
        },
    };
    let visible: Vec<String> = (services.buckets.bucket_names().into_iter())
        .filter(|name| name.starts_with(prefix) && name.as_str() > marker)
        .filter(|name| who.allows(name, Permission::Read) || who.allows(name, Permission::Write))
        .collect();
    let page = &visible[..visible.len().min(max)];
    let truncated = visible.len() > page.len();
    let owner = escape(&who.access_key);
    let place = Place {
        host: host(headers),
        region: &services.config.oss_region,
    };
    let mut body = format!(
        "{XML_HEAD}<ListAllMyBucketsResult><Prefix>{}</Prefix><Marker>{}</Marker>\
         <MaxKeys>{max}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        escape(prefix),
        escape(marker),
    );
    if let Some(last) = page.last().filter(|_| truncated) {
        body.push_str(&format!("<NextMarker>{}</NextMarker>", escape(last)));
    }
    body.push_str(&format!(
        "<Owner><ID>{owner}</ID><DisplayName>{owner}</DisplayName></Owner><Buckets>"
    ));
    for name in page {
        let created = services
            .buckets
            .bucket_created(name)
            .unwrap_or_else(Utc::now);
        body.push_str(&format!(
            "<Bucket><CreationDate>{}</CreationDate>{}<Name>{}</Name></Bucket>",
            iso(created),
            place.elements(),
            escape(name),
        ));
    }
    body.push_str("</Buckets></ListAllMyBucketsResult>");
    Ok(xml(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_bucket_names_follow_oss() {
        for good in ["abc", "app-photos", "a1-b2", &"a".repeat(63)] {
            assert!(valid_new_name(good), "{good}");
        }
        for bad in ["ab", "-abc", "abc-", "ABC", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!valid_new_name(bad), "{bad}");
        }
    }
}
