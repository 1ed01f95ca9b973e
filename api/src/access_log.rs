//! The access log: one INFO line per request (target `ferrotype::access`) with its method,
//! its path without the query (where signatures, tokens and presigned credentials travel),
//! the status, the time to the answer's head, and the request id the answer carries (the
//! vendors' `x-oss-request-id` / `X-Reqid`, else an `x-request-id` given here).

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::Response;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const VENDOR_IDS: [&str; 2] = ["x-oss-request-id", "x-reqid"];

/// The middleware: answers the request, then logs it.
pub async fn record(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let mut response = next.run(request).await;
    let request_id = match vendor_id(response.headers()) {
        Some(id) => id,
        None => {
            let id = crate::new_request_id();
            crate::set_header(response.headers_mut(), REQUEST_ID, &id);
            id
        }
    };
    let elapsed = started.elapsed();
    tracing::info!(
        target: "ferrotype::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %request_id,
        "request"
    );
    response
}

fn vendor_id(headers: &HeaderMap) -> Option<String> {
    VENDOR_IDS
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::to_string)
}
