//! The dialect parsers, each producing the same [`crate::ast::Command`]s, and the reader of
//! the canonical form. Syntax lives here and nowhere else: a vendor's in its folder, the
//! canonical form's with the operations it describes.
//!
//! * [`oss`]: Aliyun OSS `x-oss-process` strings (`image/...`, `video/snapshot`,
//!   `style/<name>`, `|sys/saveas,...`), with the old image-service API (`@100w_100h_90Q.jpg`,
//!   `@!<style>`) in [`oss::legacy`].
//! * [`qiniu`]: Qiniu `fops` / `persistentOps` strings (`imageMogr2/...|saveas/...;...`).
//! * [`parse_canonical`]: the canonical form (see [`crate::ast`]); it splits the text into
//!   actions and hands each to the reader next to the operation or setting it describes.
//! * `lex`: the one argument reader all of them use (`k_v` and `<v><k>` parameters taken one
//!   by one, whole numbers with ranges, percent-decoding, URL-safe base64 text).
//!
//! Shared here: style lookup for OSS `style/<name>` (which Qiniu commands may name too).

mod canonical;
pub(crate) mod lex;
pub mod oss;
pub mod qiniu;

pub use canonical::parse_canonical;

use std::collections::HashMap;
use std::hash::BuildHasher;

/// Finds the processing string saved under a style name (OSS `style/<name>`, a bucket's
/// "图片样式"). The parser stays pure: where styles are stored is the caller's business.
pub trait StyleLookup {
    /// The style's processing string (`image/...`), or `None` if there is no such style.
    fn style(&self, name: &str) -> Option<String>;
}

/// A lookup with no styles at all: every `style/<name>` is `NoSuchStyle`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoStyles;

impl StyleLookup for NoStyles {
    fn style(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Styles held in memory, name to processing string.
impl<S: BuildHasher> StyleLookup for HashMap<String, String, S> {
    fn style(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_come_from_the_lookup() {
        let mut styles = HashMap::new();
        styles.insert("thumb".to_string(), "image/resize,w_100".to_string());
        assert_eq!(styles.style("thumb").as_deref(), Some("image/resize,w_100"));
        assert_eq!(styles.style("other"), None);
        assert_eq!(NoStyles.style("thumb"), None);
    }
}
