//! `POST /`: the form upload. The put policy of the upload token says where the file goes
//! and what to run on it; the form is read by [`super::form`] (token first, the file spooled
//! to disk, never held in memory), then [`super::store`] applies the policy, stores the file
//! and starts the job of the policy's `persistentOps` and the bucket's matching upload rules.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::response::Response;
use jobs::Services;

use super::error::QiniuError;
use super::form::read_form;
use super::policy::Route;
use super::store::{store, Source};

pub(super) async fn form_upload(
    State(services): State<Arc<Services>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, QiniuError> {
    let multipart = multipart.map_err(|e| {
        QiniuError::bad_request(format!("expected a multipart form: {}", e.body_text()))
    })?;
    let form = read_form(&services, multipart).await?;
    let source = Source::Spooled(form.file);
    store(&services, &form.token, Route::Form, form.received, source).await
}
