//! Answers that leave part of their request's body unread close the connection, and say so.
//!
//! A handler that refuses a request before reading its body (a bad signature, an unknown
//! upload id, a part too large) hands hyper a connection with the body's bytes still in it.
//! hyper then closes the connection after the answer, without a `Connection: close` header
//! when the rest of the body has not arrived yet, so a keep-alive client may send its next
//! request on a socket that is already closing and see it dropped unanswered (oss2 does not
//! retry a POST after that). Saying `Connection: close` makes the client open a new one.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};

/// The middleware: runs the request with its body watched, and marks the answer
/// `Connection: close` when the body was not read to its end.
pub async fn close_when_unread(request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let watched = finished.clone();
    let request = request.map(|body| {
        Body::new(Watched {
            body,
            finished: watched,
        })
    });
    let mut response = next.run(request).await;
    if !finished.load(Ordering::Acquire) {
        (response.headers_mut()).insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that records when it has been read to its end.
struct Watched {
    body: Body,
    finished: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || this.body.is_end_stream() {
            this.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route("/ignore", post(|| async { "refused early" }))
            .route(
                "/read",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .layer(axum::middleware::from_fn(close_when_unread))
    }

    async fn connection_header(path: &str, body: &'static str) -> Option<String> {
        let request = Request::post(path).body(Body::from(body)).ok()?;
        let response = app().oneshot(request).await.ok()?;
        (response.headers().get(header::CONNECTION))
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    }

    #[tokio::test]
    async fn a_body_left_unread_closes_the_connection() {
        assert_eq!(
            connection_header("/ignore", "late").await.as_deref(),
            Some("close")
        );
    }

    #[tokio::test]
    async fn a_body_read_whole_or_no_body_keeps_it() {
        assert_eq!(connection_header("/read", "late").await, None);
        assert_eq!(connection_header("/ignore", "").await, None);
    }
}
