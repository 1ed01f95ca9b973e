//! Requests on a bucket itself (`/<bucket>/`, `<bucket>.<domain>/`) and on the service
//! (`GET /`, ListBuckets), sent to their command: PutBucket, DeleteBucket, GetBucketInfo and
//! ListBuckets (in `buckets`), GetBucketAcl and PutBucketAcl (`?acl`, `private` or
//! `public-read`, here), ListObjects and ListObjectsV2 (in `list`), DeleteMultipleObjects
//! (`POST ?delete`, in `delete`), ListMultipartUploads (`GET ?uploads`, in `multipart`), the
//! style API (`?style`, in `styles`). Every other bucket operation is refused
//! `NotImplemented`.

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use jobs::catalog::settings::{bucket_settings, save_acl, Acl};
use jobs::credentials::{Caller, Permission};
use jobs::error::FailureCode;
use jobs::ledger::AccessKey;
use jobs::Services;

use super::error::OssError;
use super::{auth, buckets, delete, list, multipart, styles, Target};

/// Whether the request is PutBucket: a PUT of the bucket with no sub-resource.
pub(super) fn is_create(target: &Target, method: &Method) -> bool {
    *method == Method::PUT && target.is_bucket() && bare(target)
}

/// A request on the service itself: ListBuckets.
pub(super) async fn service(
    services: &Services,
    caller: Caller,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    if request.method() != Method::GET {
        return Err(OssError::new(
            FailureCode::NOT_IMPLEMENTED,
            format!(
                "{} on the service is not supported here (only GET: ListBuckets)",
                request.method()
            ),
        ));
    }
    let who = auth::require_key(caller)?;
    buckets::list(services, &who, target, request.headers()).await
}

pub(super) async fn handle(
    services: &Services,
    caller: Caller,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    let method = request.method().clone();
    let who = auth::require_key(caller)?;
    match method {
        Method::PUT if bare(target) => {
            buckets::create(services, &who, target, request.headers()).await
        }
        Method::DELETE if bare(target) => buckets::delete(services, &who, target).await,
        Method::POST if target.has("delete") => {
            delete::delete_objects(services, &who, target, request).await
        }
        Method::GET if target.has("uploads") => {
            multipart::list_uploads(services, &who, target).await
        }
        Method::GET if target.has("bucketInfo") => {
            buckets::info(services, &who, target, request.headers()).await
        }
        _ if target.has("style") => styles::handle(services, &who, target, request).await,
        Method::GET if bare(target) => list::list(services, &who, target).await,
        _ if target.has("acl") => acl(services, &who, target, &method, request.headers()).await,
        _ => Err(OssError::new(
            FailureCode::NOT_IMPLEMENTED,
            format!(
                "{method} on a bucket with this sub-resource is not supported here (served: \
                 PUT, DELETE, listing, ?acl, ?bucketInfo, ?style, ?uploads, POST ?delete)"
            ),
        )),
    }
}

/// GetBucketAcl and PutBucketAcl.
async fn acl(
    services: &Services,
    who: &AccessKey,
    target: &Target,
    method: &Method,
    headers: &axum::http::HeaderMap,
) -> Result<Response, OssError> {
    let bucket = &target.bucket;
    match *method {
        Method::GET => {
            who.require(bucket, Permission::Read)?;
            let settings = bucket_settings(&services.ledger, bucket).await?;
            Ok(acl_document(&who.access_key, settings.acl))
        }
        Method::PUT => {
            who.require(bucket, Permission::Write)?;
            let acl = buckets::acl_header(headers)?.ok_or_else(|| {
                OssError::new(
                    FailureCode::INVALID_ARGUMENT,
                    "x-oss-acl: private or public-read",
                )
            })?;
            save_acl(&services.ledger, bucket, acl).await?;
            Ok(().into_response())
        }
        ref method => Err(OssError::new(
            FailureCode::MethodNotAllowed,
            format!("{method} is not allowed on ?acl"),
        )),
    }
}

/// The query parameters a listing may carry; a bucket GET with any other OSS sub-resource
/// (`?acl` aside) is something else, refused.
const LISTING_PARAMETERS: [&str; 10] = [
    "prefix",
    "delimiter",
    "marker",
    "max-keys",
    "encoding-type",
    "list-type",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "security-token",
];

/// Whether a bucket request names no sub-resource but a listing's own parameters and
/// credentials (a GET of it is ListObjects or ListObjectsV2, a PUT PutBucket).
fn bare(target: &Target) -> bool {
    (target.query.iter()).all(|(name, _)| {
        LISTING_PARAMETERS.contains(&name.as_str())
            || !super::auth::v1::SUB_RESOURCES.contains(&name.as_str())
    })
}

/// GetBucketAcl's answer: the owner (the asking key) and the one grant `oss2` reads.
fn acl_document(owner: &str, acl: Acl) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AccessControlPolicy><Owner><ID>{owner}</ID>\
         <DisplayName>{owner}</DisplayName></Owner><AccessControlList><Grant>{}</Grant>\
         </AccessControlList></AccessControlPolicy>",
        acl.as_str()
    );
    super::xml(body)
}
