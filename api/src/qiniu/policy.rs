//! The put policy an upload token carries, and its rules, pure: which key a file is stored
//! under ([`PutPolicy::resolve_key`]: the scope, `isPrefixalScope`, `saveKey`,
//! `forceSaveKey`), whether it may replace an object ([`PutPolicy::insert_only`]), and the
//! file checks (`fsizeMin`, `fsizeLimit`, `mimeLimit`).
//!
//! Qiniu's scope rules: `<bucket>` only adds (an existing key is refused with 614 unless its
//! content is the same, which succeeds); `<bucket>:<key>` may replace `<key>` and no other;
//! `<bucket>:<prefix>` with `isPrefixalScope` only adds keys under the prefix. Resumable
//! upload v1 with a `<bucket>` scope replaces unless `insertOnly` is set, as Qiniu's does.

use jobs::error::FailureCode;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::QiniuError;

/// An upload token's put policy: every field of Qiniu's document that Ferrotype acts on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutPolicy {
    pub scope: String,
    pub deadline: i64,
    #[serde(default, deserialize_with = "flag")]
    pub is_prefixal_scope: bool,
    #[serde(default, deserialize_with = "flag")]
    pub insert_only: bool,
    #[serde(default)]
    pub end_user: Option<String>,
    #[serde(default)]
    pub return_url: Option<String>,
    #[serde(default)]
    pub return_body: Option<String>,
    #[serde(default)]
    pub callback_url: Option<String>,
    #[serde(default)]
    pub callback_host: Option<String>,
    #[serde(default)]
    pub callback_body: Option<String>,
    #[serde(default)]
    pub callback_body_type: Option<String>,
    #[serde(default)]
    pub persistent_ops: Option<String>,
    #[serde(default)]
    pub persistent_notify_url: Option<String>,
    #[serde(default)]
    pub persistent_pipeline: Option<String>,
    #[serde(default)]
    pub persistent_type: Option<i64>,
    #[serde(default)]
    pub save_key: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    pub force_save_key: bool,
    #[serde(default)]
    pub fsize_min: Option<i64>,
    #[serde(default)]
    pub fsize_limit: Option<i64>,
    #[serde(default, deserialize_with = "flag")]
    pub detect_mime: bool,
    #[serde(default)]
    pub mime_limit: Option<String>,
}

/// A flag given as a number (`1`) or a boolean (`true`), as the SDKs write them.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Bool(value) => value,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !matches!(text.as_str(), "" | "0" | "false"),
        _ => false,
    })
}

/// What a scope allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// `<bucket>`: any key, only added.
    Bucket,
    /// `<bucket>:<key>`: this key only, replaced if it exists.
    Key(&'a str),
    /// `<bucket>:<prefix>` with `isPrefixalScope`: keys under the prefix, only added.
    Prefix(&'a str),
}

/// How the file arrived: resumable upload v1 keeps Qiniu's exception to the `<bucket>` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Form,
    BlocksV1,
    PartsV2,
}

fn denied(message: String) -> QiniuError {
    QiniuError::new(FailureCode::AccessDenied, message)
}

impl PutPolicy {
    pub fn bucket(&self) -> &str {
        self.scope.split_once(':').map_or(&self.scope, |(b, _)| b)
    }

    pub fn scope(&self) -> Scope<'_> {
        match self.scope.split_once(':') {
            Some((_, prefix)) if self.is_prefixal_scope => Scope::Prefix(prefix),
            Some((_, key)) => Scope::Key(key),
            None => Scope::Bucket,
        }
    }

    /// Whether the upload may only add a key, never replace one.
    pub fn insert_only(&self, route: Route) -> bool {
        match self.scope() {
            _ if self.insert_only => true,
            Scope::Bucket => route != Route::BlocksV1,
            Scope::Key(_) => false,
            Scope::Prefix(_) => true,
        }
    }

    /// Whether the key will be the file's hash (no key asked, no `saveKey`, a `<bucket>`
    /// scope), which must then be known before the file is stored.
    pub fn keys_by_hash(&self, asked: Option<&str>) -> bool {
        let save_key = self.save_key.as_deref().is_some_and(|k| !k.is_empty());
        asked.is_none() && !save_key && self.scope() == Scope::Bucket
    }

    /// The key the file is stored under: `saveKey` (rendered) when forced or when the client
    /// names none, else the client's, else the scope's, else the file's hash; then checked
    /// against the scope.
    pub fn resolve_key(
        &self,
        asked: Option<&str>,
        save_key: Option<String>,
        hash: Option<&str>,
    ) -> Result<String, QiniuError> {
        let save_key = save_key.filter(|key| !key.is_empty());
        let chosen = match (self.force_save_key, save_key, asked, self.scope()) {
            (true, Some(saved), _, _) => saved,
            (_, _, Some(asked), _) => asked.to_string(),
            (_, Some(saved), None, _) => saved,
            (_, None, None, Scope::Key(key)) => key.to_string(),
            (_, None, None, _) => (hash.map(str::to_string)).ok_or_else(|| {
                QiniuError::bad_request("the upload names no key and the policy gives none")
            })?,
        };
        self.check_key(&chosen)?;
        Ok(chosen)
    }

    fn check_key(&self, key: &str) -> Result<(), QiniuError> {
        match self.scope() {
            Scope::Key(scoped) if key != scoped => Err(denied(format!(
                "key doesn't match with scope: {key:?} is not {scoped:?}"
            ))),
            Scope::Prefix(prefix) if !key.starts_with(prefix) => Err(denied(format!(
                "key doesn't match with scope: {key:?} does not start with {prefix:?}"
            ))),
            _ => Ok(()),
        }
    }

    /// `fsizeMin` and `fsizeLimit`.
    pub fn check_size(&self, size: u64) -> Result<(), QiniuError> {
        let limit = self.fsize_limit.and_then(|l| u64::try_from(l).ok());
        let min = self.fsize_min.and_then(|m| u64::try_from(m).ok());
        if let Some(limit) = limit.filter(|limit| size > *limit) {
            return Err(QiniuError::new(
                FailureCode::EntityTooLarge,
                format!("the file is {size} bytes, over the policy's fsizeLimit of {limit}"),
            ));
        }
        if let Some(min) = min.filter(|min| size < *min) {
            return Err(QiniuError::new(
                FailureCode::EntityTooSmall,
                format!("the file is {size} bytes, under the policy's fsizeMin of {min}"),
            ));
        }
        Ok(())
    }

    /// `mimeLimit`: `image/*;video/mp4` allows only those, `!application/json;!text/plain`
    /// allows all but those.
    pub fn check_mime(&self, mime: &str) -> Result<(), QiniuError> {
        let Some(limit) = self.mime_limit.as_deref().filter(|l| !l.trim().is_empty()) else {
            return Ok(());
        };
        let patterns: Vec<&str> = limit.split(';').map(str::trim).collect();
        let excluding = patterns.iter().all(|p| p.starts_with('!'));
        let matched =
            (patterns.iter()).any(|pattern| mime_matches(pattern.trim_start_matches('!'), mime));
        if matched != excluding {
            return Ok(());
        }
        Err(QiniuError::new(
            FailureCode::AccessDenied,
            format!("limited mimeType: this file type ({mime}) is forbidden to upload"),
        ))
    }
}

fn mime_matches(pattern: &str, mime: &str) -> bool {
    let mime = mime.split(';').next().unwrap_or_default().trim();
    match pattern.strip_suffix("/*") {
        Some(kind) => mime
            .split('/')
            .next()
            .is_some_and(|m| m.eq_ignore_ascii_case(kind)),
        None => pattern.eq_ignore_ascii_case(mime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> PutPolicy {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn scopes_decide_keys_and_replacement() {
        let bucket = policy(r#"{"scope":"b","deadline":1}"#);
        let key = policy(r#"{"scope":"b:k.jpg","deadline":1}"#);
        let prefix = policy(r#"{"scope":"b:up/","deadline":1,"isPrefixalScope":1}"#);
        let resolve = |p: &PutPolicy, asked: Option<&str>| p.resolve_key(asked, None, Some("Fh"));
        assert_eq!(resolve(&bucket, Some("x")).unwrap(), "x");
        assert_eq!(resolve(&bucket, None).unwrap(), "Fh");
        assert_eq!(resolve(&key, None).unwrap(), "k.jpg");
        assert_eq!(resolve(&key, Some("k.jpg")).unwrap(), "k.jpg");
        assert!(resolve(&key, Some("other")).is_err());
        assert_eq!(resolve(&prefix, Some("up/a")).unwrap(), "up/a");
        assert!(resolve(&prefix, Some("down/a")).is_err());
        assert!(
            resolve(&prefix, None).is_err(),
            "a hash is not under the prefix"
        );
        assert!(bucket.insert_only(Route::Form) && bucket.insert_only(Route::PartsV2));
        assert!(!bucket.insert_only(Route::BlocksV1));
        assert!(!key.insert_only(Route::Form));
        assert!(prefix.insert_only(Route::BlocksV1));
        let insert = policy(r#"{"scope":"b:k","deadline":1,"insertOnly":1}"#);
        assert!(insert.insert_only(Route::BlocksV1));
        assert!(bucket.keys_by_hash(None) && !bucket.keys_by_hash(Some("a")));
        assert!(!key.keys_by_hash(None));
    }

    #[test]
    fn save_key_applies_when_forced_or_when_no_key_is_asked() {
        let save = policy(r#"{"scope":"b","deadline":1,"saveKey":"s/$(etag)"}"#);
        let forced = policy(r#"{"scope":"b","deadline":1,"saveKey":"x","forceSaveKey":true}"#);
        let saved = || Some("s/Fh".to_string());
        assert_eq!(save.resolve_key(None, saved(), None).unwrap(), "s/Fh");
        assert_eq!(
            save.resolve_key(Some("mine"), saved(), None).unwrap(),
            "mine"
        );
        assert_eq!(
            forced.resolve_key(Some("mine"), saved(), None).unwrap(),
            "s/Fh"
        );
        assert!(!save.keys_by_hash(None));
        // A forced saveKey must still be in a key scope.
        let scoped = policy(r#"{"scope":"b:k","deadline":1,"saveKey":"s","forceSaveKey":1}"#);
        assert!(scoped.resolve_key(None, Some("s".into()), None).is_err());
    }

    #[test]
    fn sizes_and_types_are_limited_as_the_policy_says() {
        let p = policy(r#"{"scope":"b","deadline":1,"fsizeMin":10,"fsizeLimit":20}"#);
        assert!(p.check_size(10).is_ok() && p.check_size(20).is_ok());
        assert_eq!(
            p.check_size(21).unwrap_err().0.code,
            FailureCode::EntityTooLarge
        );
        assert_eq!(
            p.check_size(9).unwrap_err().0.code,
            FailureCode::EntityTooSmall
        );
        let only = policy(r#"{"scope":"b","deadline":1,"mimeLimit":"image/*;video/mp4"}"#);
        assert!(only.check_mime("image/jpeg").is_ok());
        assert!(only.check_mime("video/mp4").is_ok());
        assert!(only.check_mime("text/plain").is_err());
        let not = policy(r#"{"scope":"b","deadline":1,"mimeLimit":"!text/plain;!application/*"}"#);
        assert!(not.check_mime("image/png").is_ok());
        assert!(not.check_mime("text/plain").is_err());
        assert!(not.check_mime("application/json").is_err());
    }

    #[test]
    fn flags_are_numbers_or_booleans() {
        for (json, expected) in [("1", true), ("0", false), ("true", true), ("false", false)] {
            let p = policy(&format!(
                r#"{{"scope":"b","deadline":1,"detectMime":{json}}}"#
            ));
            assert_eq!(p.detect_mime, expected, "{json}");
        }
    }
}
