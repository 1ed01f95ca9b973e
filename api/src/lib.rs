//! The HTTP API: thin adapters from each surface's wire format onto `jobs` (submit, upload,
//! catalog, lookup, processed). It authenticates and translates; every rule is `jobs`'; it
//! never decodes pixels.
//!
//! One folder per surface, holding its routes, its credential scheme and its one error
//! mapping (a `jobs::error::Failure` rendered in the surface's format, its status from one
//! exhaustive `match` on `FailureCode`):
//!
//! - [`native`]: JSON under `/v1/...`, HTTP Basic. `jobs`, `objects`, `styles`, `rules`,
//!   `settings`: one file per command group; `body` (the JSON-body extractor), `auth`, `error`.
//! - [`oss`]: Aliyun OSS, path style or virtual-hosted, the router's fallback. `object`
//!   (put), `get` (GET/HEAD, processing on GET, styles by separator), `bucket` (bucket ACL),
//!   `process` (`x-oss-process` saveas, `x-oss-async-process`), `auth` (signatures V1, V2,
//!   V4, header and presigned query: `auth/{v1,v2,v4}.rs`; who the caller is), `error`
//!   (OSS's XML).
//! - [`qiniu`]: `pfop` (pfop, prefop), `upload` (form upload), `download` (download hosts and
//!   path style, fops on GET, private download URLs), `auth` (QBox, Qiniu v2, upload tokens
//!   and put policies, private download URLs), `error` (Qiniu's JSON and statuses).
//!
//! Shared: [`answer`] (an object as a GET answer: validators, 304, ranges, Cache-Control),
//! [`auth`] (`AuthError`, HMAC-SHA1/SHA-256, checking a key's secret), [`failure`] (the
//! engine codes' statuses, which native and OSS share; `Retry-After`), [`health`]
//! (`/livez`, `/readyz`, `/metrics`, and the listener a worker-only process serves them on),
//! [`telemetry`] (the Prometheus recorder, process metrics), [`access_log`] (one INFO line
//! per request), [`listen`] (the accept loop: connection limit, header and idle timeouts,
//! graceful shutdown), [`unread`] (`Connection: close` on an answer that left its request's
//! body unread).

pub mod access_log;
pub mod answer;
pub mod auth;
pub mod body;
pub mod failure;
pub mod health;
pub mod listen;
pub mod native;
pub mod oss;
pub mod qiniu;
pub mod telemetry;
pub mod unread;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use jobs::Services;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The header an upload's answer names the job it started in (native and OSS).
pub const JOB_ID: HeaderName = HeaderName::from_static("x-ferrotype-job-id");

/// The router of every surface, over one set of services.
pub fn router(services: Arc<Services>) -> Router {
    let upload_limit = usize::try_from(services.config.max_upload_bytes).unwrap_or(usize::MAX);
    let signed = Signed(qiniu::signed_router().with_state(services.clone()));
    let to_signed = signed.clone();
    let fallback = move |state: State<Arc<Services>>, request: Request| {
        dispatch(state, to_signed.clone(), request)
    };
    let root = move |state: State<Arc<Services>>, request: Request| {
        root_post(state, signed.clone(), request)
    };
    let access_log = services.config.access_log;
    let router = Router::new()
        .merge(native::router(upload_limit))
        .merge(health::router())
        .merge(qiniu::router())
        .route(
            "/",
            axum::routing::post(root)
                .fallback(fallback.clone())
                .layer(qiniu::form_body_limit(upload_limit)),
        )
        // Qiniu-signed calls, downloads and OSS addresses are whatever no route above claims.
        .fallback(fallback)
        .with_state(services)
        .layer(axum::middleware::from_fn(unread::close_when_unread))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    if access_log {
        router.layer(axum::middleware::from_fn(access_log::record))
    } else {
        router
    }
}

/// `POST /`: a Qiniu form upload (a multipart form), or an OSS request on a bucket addressed
/// by its host (`POST /?delete` with `Host: <bucket>.<domain>` or the bucket's CNAME).
async fn root_post(
    State(services): State<Arc<Services>>,
    signed: Signed,
    request: Request,
) -> Response {
    let domains = &services.config.oss_domains;
    if oss::virtual_host_bucket(request.headers(), domains).is_some() {
        return oss::dispatch(State(services), request).await;
    }
    let is_form = (request.headers().get(axum::http::header::CONTENT_TYPE))
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"));
    if is_form {
        return qiniu::form_upload(services, request).await;
    }
    dispatch(State(services), signed, request).await
}

/// The router's fallback: a Qiniu-signed call (resumable upload, rs, rsf), a Qiniu download
/// (a bucket's download host, or a path-style request whose query is a fop or a private URL's
/// token), else an OSS request.
///
/// The router of Qiniu-signed requests, ready to serve.
#[derive(Clone)]
struct Signed(Router);

async fn dispatch(
    State(services): State<Arc<Services>>,
    signed: Signed,
    request: Request,
) -> Response {
    if qiniu::is_signed(request.headers()) {
        return match tower::ServiceExt::oneshot(signed.0, request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    // The body is not `Sync`: only the head is looked at across the awaits below.
    let (head, body) = request.into_parts();
    let host_bucket = match download_host(&head.headers) {
        Some(host) => match jobs::catalog::settings::bucket_of_host(&services.ledger, host).await {
            Ok(bucket) => bucket,
            Err(error) => {
                let error = qiniu::error::QiniuError::from(error);
                return qiniu::with_new_reqid(error.into_response());
            }
        },
        None => None,
    };
    // A bucket's own host serves both vendors: an OSS request on it is OSS's CNAME access.
    if let Some(bucket) = host_bucket.as_ref().filter(|_| oss::is_oss_request(&head)) {
        let cname = Some(bucket.clone());
        return oss::dispatch_on(&services, Request::from_parts(head, body), cname).await;
    }
    match qiniu_download(&services, &head, host_bucket.as_deref()).await {
        Ok(Some(response)) => response,
        Ok(None) => oss::dispatch_on(&services, Request::from_parts(head, body), None).await,
        Err(error) => qiniu::with_new_reqid(error.into_download_response()),
    }
}

/// Answers the request if it is a Qiniu download (on the bucket's download host
/// `host_bucket`, or path style with a fop or a token); `None` when it is not.
async fn qiniu_download(
    services: &Services,
    request: &axum::http::request::Parts,
    host_bucket: Option<&str>,
) -> Result<Option<Response>, qiniu::error::QiniuError> {
    let path_and_query = request.uri.path_and_query().map_or("/", |p| p.as_str());
    let path = request.uri.path().trim_start_matches('/');
    let (bucket, raw_key) = match host_bucket {
        Some(bucket) => (bucket, path),
        None if qiniu::download::is_qiniu_query(request.uri.query().unwrap_or_default()) => {
            match path.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => (bucket, key),
                _ => return Ok(None),
            }
        }
        None => return Ok(None),
    };
    let download = qiniu::download::Download {
        bucket,
        raw_key,
        method: &request.method,
        headers: &request.headers,
        path_and_query,
    };
    let response = qiniu::download::download(services, download).await?;
    Ok(Some(qiniu::with_new_reqid(response)))
}

/// The request's host when it could be a bucket's download host: a DNS name, not an address
/// or `localhost` (which spares every request to the API's own address a ledger lookup).
fn download_host(headers: &HeaderMap) -> Option<&str> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let is_address = name.parse::<std::net::IpAddr>().is_ok() || name.starts_with('[');
    (!is_address && name != "localhost").then_some(host)
}

/// Serves until `shutdown` is cancelled, then finishes the requests in flight.
pub async fn serve(
    services: Arc<Services>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    telemetry::install_recorder();
    tracing::info!(address = %listener.local_addr()?, "API listening");
    let config = &services.config;
    let limits = listen::Limits {
        max_connections: config.max_connections(),
        header_timeout: config.header_timeout(),
        idle_timeout: config.idle_timeout(),
    };
    tracing::info!(?limits, "connection limits");
    listen::serve(listener, router(services.clone()), limits, shutdown).await
}

/// A fresh request id (32 hex digits), for the vendors' `X-Reqid` / `x-oss-request-id`.
pub fn new_request_id() -> String {
    Uuid::new_v4().simple().to_string()
}

/// Sets `header` to `value`; a value that cannot be a header (never the case for the ids and
/// hashes set here) is left out rather than failing the answer.
fn set_header(headers: &mut HeaderMap, header: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(header, value);
    }
}

/// Names the job an upload started, if it started one.
fn set_job_id(headers: &mut HeaderMap, job: Option<Uuid>) {
    if let Some(id) = job {
        set_header(headers, JOB_ID, &id.to_string());
    }
}
