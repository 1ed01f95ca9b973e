//! Per-bucket configuration kept in the ledger: styles (named pipelines, OSS "图片样式"),
//! upload rules (uploads whose key matches start a job) and read settings. Each is checked here before it is
//! stored, so a surface only translates its wire format.
//!
//! - [`styles`]: [`save_style`], [`find_style`], [`remove_style`], and their SQL.
//! - [`rules`]: [`create_rule`], [`remove_rule`], and their SQL.
//! - [`pipelines`]: named pipelines created at run time beside the configuration's.
//! - [`settings`]: a bucket's read settings (ACL, style separators, original protection,
//!   Cache-Control, download hosts), and their SQL.

pub mod pipelines;
pub mod rules;
pub mod settings;
pub mod styles;

pub use rules::{create_rule, remove_rule, NewUploadRule, UploadRule};
pub use styles::{
    check_style_body, check_style_name, find_style, remove_style, save_style, valid_style_name,
    SavedStyle, Style, StylePut, MAX_STYLES_PER_BUCKET,
};
