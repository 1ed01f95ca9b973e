//! The Aliyun OSS surface, path style, for the unmodified `oss2` SDK. One file per command
//! group:
//!
//! - [`object`]: `PUT /<bucket>/<key>` (PutObject: answers `ETag`; an upload rule's job id
//!   comes back in `x-ferrotype-job-id`), `GET`/`HEAD /<bucket>/<key>` (GetObject).
//! - [`process`]: `POST /<bucket>/<key>?x-oss-process` (process and save, synchronously: the
//!   job is submitted and waited for, at most `oss_process_timeout_ms`, then answered with
//!   `{"bucket","fileSize","object","status":"OK"}` or the failing item's XML error), and
//!   `POST /<bucket>/<key>?x-oss-async-process` (`{"EventId","RequestId","TaskId"}`, the task
//!   being the job).
//!
//! [`auth`] verifies signatures V1, V2 and V4 (header and presigned query) and says who the
//! caller is; [`error`] is the one error mapping (OSS's XML).
//!
//! [`dispatch`] is the router's fallback: a request that no other route (`/v1/...`,
//! `/healthz`, `/metrics`, `/pfop`, `/status/get/prefop`, `POST /`) claims lands here. Keys
//! arrive percent-encoded (`%2F` for `/`) and are decoded. Buckets named `v1`, `pfop`,
//! `status`, `healthz` or `metrics` are therefore not reachable path-style, nor the keys
//! `v2/query`, `v3/query`, `v4/query` (Qiniu's region queries). A request signed the Qiniu
//! way never reaches this surface (see `crate::qiniu`).

pub mod auth;
mod bucket;
mod buckets;
mod copy;
mod delete;
pub mod error;
mod get;
mod list;
mod meta;
mod multipart;
mod object;
mod process;
mod styles;

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use jobs::error::FailureCode;
use jobs::Services;
use percent_encoding::percent_decode_str;

use self::auth::Caller;
use self::error::OssError;

const XML_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-oss-request-id");

/// OSS requests: what the crate's fallback does not hand to a Qiniu router.
pub async fn dispatch(State(services): State<Arc<Services>>, request: Request) -> Response {
    dispatch_on(&services, request, None).await
}

/// Whether a request on a bucket's own host (a CNAME, `oss2.Bucket(..., is_cname=True)`) is
/// OSS's rather than a Qiniu download: it writes, is signed the OSS way, or processes with
/// `x-oss-process`.
pub fn is_oss_request(request: &axum::http::request::Parts) -> bool {
    let writes = !matches!(request.method, Method::GET | Method::HEAD);
    let signed = (request.headers.get(header::AUTHORIZATION))
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("OSS"));
    let query = request.uri.query().unwrap_or_default();
    let oss_query = query.split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        name == process::PROCESS || auth::is_query_credential(name)
    });
    writes || signed || oss_query
}

/// Serves an OSS request; `cname` is the bucket when the request came on the bucket's own
/// host (the whole path is then the key).
pub async fn dispatch_on(services: &Services, request: Request, cname: Option<String>) -> Response {
    let request_id = crate::new_request_id();
    let mut response = match handle(services, request, cname, &request_id).await {
        Ok(response) => response,
        Err(error) => error.into_response_with(&request_id),
    };
    crate::set_header(response.headers_mut(), REQUEST_ID, &request_id);
    response
}

/// The request's target, decoded.
struct Target {
    bucket: String,
    key: String,
    query: Vec<(String, String)>,
}

fn decode(text: &str) -> Result<String, OssError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| OssError::new(FailureCode::InvalidObjectName, "the key is not UTF-8"))
}

impl Target {
    /// The bucket and key a request addresses: virtual-hosted (`Host: <bucket>.<domain>` for a
    /// configured domain, the key the whole path) or path style (`/<bucket>/<key>`). An empty
    /// key addresses the bucket itself.
    fn of(request: &Request, domains: &[String], cname: Option<&str>) -> Result<Target, OssError> {
        // One `/` only: the rest is the key's, and a key may not start with `/` (refused later).
        let path = request.uri().path().strip_prefix('/').unwrap_or_default();
        let hosted = cname.or_else(|| virtual_host_bucket(request.headers(), domains));
        let (bucket, key) = match hosted {
            Some(bucket) => (bucket, path),
            None => path.split_once('/').unwrap_or((path, "")),
        };
        let mut query = Vec::new();
        for pair in request.uri().query().unwrap_or_default().split('&') {
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            // Form encoding: the SDK's HTTP client (requests) sends a space as `+`, and signs
            // the space.
            let form = |text: &str| decode(&text.replace('+', " "));
            query.push((form(name)?, form(value)?));
        }
        Ok(Target {
            bucket: decode(bucket)?,
            key: decode(key)?,
            query,
        })
    }

    /// Whether the request addresses the bucket itself (`/<bucket>/`, `/<bucket>?acl`).
    fn is_bucket(&self) -> bool {
        self.key.is_empty()
    }

    fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(n, _)| n == name)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The bucket a virtual-hosted request names: the `Host` header's first label, when the rest
/// (without the port) is one of `domains`.
pub(crate) fn virtual_host_bucket<'h>(
    headers: &'h HeaderMap,
    domains: &[String],
) -> Option<&'h str> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let (bucket, domain) = name.split_once('.')?;
    domains
        .iter()
        .any(|known| known.eq_ignore_ascii_case(domain))
        .then_some(bucket)
}

/// Authenticates, then hands the request to its command group by method and query.
async fn handle(
    services: &Services,
    request: Request,
    cname: Option<String>,
    request_id: &str,
) -> Result<Response, OssError> {
    let target = Target::of(&request, &services.config.oss_domains, cname.as_deref())?;
    let method = request.method().clone();
    let caller = authenticate(services, &method, request.headers(), &target).await?;
    if target.bucket.is_empty() {
        return bucket::service(services, caller, &target, request).await;
    }
    // A bucket that does not exist is said so before any grant is looked at (OSS's order).
    let creates = bucket::is_create(&target, &method);
    if !creates && !services.buckets.bucket_exists(&target.bucket) {
        return Err(OssError::new(
            FailureCode::NoSuchBucket,
            "The specified bucket does not exist.",
        ));
    }
    if target.is_bucket() {
        return bucket::handle(services, caller, &target, request).await;
    }
    refuse_unserved(&target, &method)?;
    if is_multipart(&target, &method) {
        let who = auth::require_key(caller)?;
        return multipart_call(services, &who, &target, request).await;
    }
    match method {
        // Reads may be anonymous (public-read buckets); the read rule decides.
        Method::GET | Method::HEAD => {
            let get = get::GetRequest {
                caller: &caller,
                target: &target,
                method: &method,
                headers: request.headers(),
                request_id,
            };
            get::get(services, &get).await
        }
        Method::PUT if request.headers().contains_key(copy::COPY_SOURCE) => {
            let who = auth::require_key(caller)?;
            copy::copy(services, &who, &target, request.headers()).await
        }
        Method::PUT => object::put(services, &auth::require_key(caller)?, &target, request).await,
        Method::DELETE => {
            delete::delete_object(services, &auth::require_key(caller)?, &target).await
        }
        Method::POST if process::is_process(&target) => {
            let who = auth::require_key(caller)?;
            process::post(services, &who, &target, request, request_id).await
        }
        _ => Err(OssError::new(
            FailureCode::NOT_IMPLEMENTED,
            format!("{method} on an object is not supported here"),
        )),
    }
}

/// Whether the request is one of a multipart upload's calls on its object.
fn is_multipart(target: &Target, method: &Method) -> bool {
    match *method {
        Method::POST => target.has("uploads") || target.has("uploadId"),
        Method::PUT | Method::GET | Method::DELETE => target.has("uploadId"),
        _ => false,
    }
}

async fn multipart_call(
    services: &Services,
    who: &jobs::ledger::AccessKey,
    target: &Target,
    request: Request,
) -> Result<Response, OssError> {
    match *request.method() {
        Method::POST if target.has("uploads") => {
            multipart::initiate(services, who, target, request.headers()).await
        }
        Method::POST => multipart::complete(services, who, target, request).await,
        Method::PUT => multipart::upload_part(services, who, target, request).await,
        Method::GET => multipart::list_parts(services, who, target).await,
        _ => multipart::abort(services, who, target).await,
    }
}

/// Whether the routes below serve the object sub-resource `name` on `method`; every other
/// one OSS defines (`?acl`, `?tagging`, `?symlink`, `?uploads`, `?append`, ...) is refused,
/// never taken for a plain read or write of the object.
fn serves(method: &Method, name: &str) -> bool {
    match *method {
        // ListParts (`?uploadId`).
        Method::GET => {
            name == process::PROCESS || get::is_response_override(name) || name == "uploadId"
        }
        // GetObjectMeta (`object_exists`, `get_object_meta`) is a HEAD of the object.
        Method::HEAD => {
            name == process::PROCESS || get::is_response_override(name) || name == "objectMeta"
        }
        // Initiate, complete.
        Method::POST => [
            process::PROCESS,
            process::ASYNC_PROCESS,
            "uploads",
            "uploadId",
        ]
        .contains(&name),
        // UploadPart, UploadPartCopy.
        Method::PUT => name == "partNumber" || name == "uploadId",
        // AbortMultipartUpload.
        Method::DELETE => name == "uploadId",
        _ => false,
    }
}

/// Refuses, with 501 `NotImplemented`, an object request that is something else than the
/// plain read, write, copy or process the routes serve: a write taken for a plain PUT would
/// replace the object (an append's or a part's body would replace it whole).
fn refuse_unserved(target: &Target, method: &Method) -> Result<(), OssError> {
    let unserved = (target.query.iter().map(|(name, _)| name.as_str()))
        .filter(|name| auth::v1::SUB_RESOURCES.contains(name) && !serves(method, name))
        // An STS token is a credential, not a sub-resource.
        .find(|name| *name != "security-token");
    match unserved {
        Some(name) => Err(OssError::new(
            FailureCode::NOT_IMPLEMENTED,
            format!("{method} on an object with ?{name} is not supported yet"),
        )),
        None => Ok(()),
    }
}

async fn authenticate(
    services: &Services,
    method: &Method,
    headers: &HeaderMap,
    target: &Target,
) -> Result<Caller, OssError> {
    let request = auth::SignedRequest {
        method: method.as_str(),
        headers,
        bucket: &target.bucket,
        key: &target.key,
        query: &target.query,
    };
    let region = &services.config.oss_region;
    Ok(auth::authenticate(&services.ledger, &request, SystemTime::now(), region).await?)
}

/// An XML answer.
fn xml(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

/// OSS's `MalformedXML`, with what was wrong.
fn malformed_xml(detail: impl std::fmt::Display) -> OssError {
    OssError::new(
        FailureCode::MalformedXML,
        format!("The XML you provided was not well-formed or did not validate: {detail}"),
    )
}

/// A request body as the XML document `T`.
fn parse_xml<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, OssError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed_xml("not UTF-8"))?;
    quick_xml::de::from_str(text).map_err(malformed_xml)
}

/// The whole body, refused over `limit` bytes.
async fn read_body(request: Request, limit: usize) -> Result<Bytes, OssError> {
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            OssError::new(
                FailureCode::EntityTooLarge,
                format!("the body is over the limit of {limit} bytes"),
            )
        })
}
