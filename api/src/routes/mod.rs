//! One module per HTTP surface; each owns its wire format, and its errors are mapped in its
//! one `*_error` module.

pub mod health;
pub mod native;
pub mod oss;
pub mod oss_error;
pub mod qiniu;
pub mod qiniu_error;

/// A fresh request id (32 hex digits), for the vendors' `X-Reqid` / `x-oss-request-id`.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
