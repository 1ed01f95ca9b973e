//! Requests on a bucket itself (`/<bucket>/`, `<bucket>.<domain>/`): GetBucketAcl and
//! PutBucketAcl (`?acl`, `private` or `public-read`), ListObjects and ListObjectsV2 (in
//! `list`), DeleteMultipleObjects (`POST ?delete`, in `delete`). Every other bucket operation is refused `NotImplemented`.

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use jobs::catalog::settings::{bucket_settings, save_acl, Acl};
use jobs::credentials::{Caller, Permission};
use jobs::error::FailureCode;
use jobs::Services;

use super::error::OssError;
use super::{auth, delete, list, multipart, Target};

/// The header PutBucketAcl carries the ACL in.
const ACL_HEADER: &str = "x-oss-acl";

pub(super) async fn handle(
    services: &Services,
    caller: Caller,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    let method = request.method().clone();
    if method == Method::POST && target.has("delete") {
        let who = auth::require_key(caller)?;
        return delete::delete_objects(services, &who, target, request).await;
    }
    if method == Method::GET && target.has("uploads") {
        let who = auth::require_key(caller)?;
        return multipart::list_uploads(services, &who, target).await;
    }
    if method == Method::GET && lists(target) {
        let who = auth::require_key(caller)?;
        return list::list(services, &who, target).await;
    }
    if !target.has("acl") {
        return Err(OssError::new(
            FailureCode::NOT_IMPLEMENTED,
            format!(
                "{method} on a bucket is not supported here \
                 (only ?acl, listing and POST ?delete)"
            ),
        ));
    }
    let who = auth::require_key(caller)?;
    let bucket = &target.bucket;
    let headers = request.headers();
    match method {
        Method::GET => {
            who.require(bucket, Permission::Read)?;
            let settings = bucket_settings(&services.ledger, bucket).await?;
            Ok(acl_document(&who.access_key, settings.acl))
        }
        Method::PUT => {
            who.require(bucket, Permission::Write)?;
            let text = (headers.get(ACL_HEADER))
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            let acl = Acl::parse(text)
                .map_err(|error| OssError::new(FailureCode::INVALID_ARGUMENT, error.to_string()))?;
            save_acl(&services.ledger, bucket, acl).await?;
            Ok(().into_response())
        }
        _ => Err(OssError::new(
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

/// Whether a bucket GET is a listing (ListObjects, ListObjectsV2): no sub-resource but the
/// listing's own parameters and credentials.
fn lists(target: &Target) -> bool {
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
