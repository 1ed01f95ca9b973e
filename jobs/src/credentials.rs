//! Access keys and their per-bucket grants: who may read which bucket and write which. A
//! grant names one bucket (`photos`) or every bucket whose name starts with a prefix
//! (`app-*`; `*` alone: every bucket), which also lets the key create such buckets.

use rand::RngExt;

use crate::catalog::settings::{Acl, BucketSettings};
use crate::error::{Denied, ReadRefused};
use crate::ledger::{AccessKey, Grant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Read,
    Write,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
        }
    }
}

impl Grant {
    /// Whether the grant is for `bucket`: its name, or a pattern (`app-*`) it matches.
    pub fn covers(&self, bucket: &str) -> bool {
        match self.bucket.strip_suffix('*') {
            Some(prefix) => bucket.starts_with(prefix),
            None => self.bucket == bucket,
        }
    }
}

impl AccessKey {
    pub fn allows(&self, bucket: &str, permission: Permission) -> bool {
        self.grants.iter().any(|grant| {
            grant.covers(bucket)
                && match permission {
                    Permission::Read => grant.can_read,
                    Permission::Write => grant.can_write,
                }
        })
    }

    /// `Ok` when the key holds `permission` on `bucket`.
    pub fn require(&self, bucket: &str, permission: Permission) -> Result<(), Denied> {
        if self.allows(bucket, permission) {
            Ok(())
        } else {
            Err(Denied {
                access_key: self.access_key.clone(),
                bucket: bucket.to_string(),
                permission: permission.as_str(),
            })
        }
    }
}

/// Who asks: a verified key, or nobody (a request with no credentials at all).
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    Key(AccessKey),
}

/// How an object is asked for, which original protection tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadVia {
    /// The object's own bytes.
    Original,
    /// Processed by parameters the request spells out (`image/...`, a fop).
    Parameters,
    /// Processed by one of the bucket's styles.
    Style,
}

impl Caller {
    /// The key, if the request was signed.
    pub fn key(&self) -> Option<&AccessKey> {
        match self {
            Caller::Anonymous => None,
            Caller::Key(key) => Some(key),
        }
    }

    /// Whether the caller may read `bucket`: a key with a read grant always; anyone when the
    /// bucket is public-read, except originals under protection asked for other than by a
    /// style (OSS 2.9: the protection binds only readers without a grant).
    pub fn check_read(
        &self,
        bucket: &str,
        key: &str,
        settings: &BucketSettings,
        via: ReadVia,
    ) -> Result<(), ReadRefused> {
        if self
            .key()
            .is_some_and(|k| k.allows(bucket, Permission::Read))
        {
            return Ok(());
        }
        if settings.acl != Acl::PublicRead {
            return Err(match self.key() {
                Some(k) => ReadRefused::Denied(Denied {
                    access_key: k.access_key.clone(),
                    bucket: bucket.to_string(),
                    permission: Permission::Read.as_str(),
                }),
                None => ReadRefused::Private(bucket.to_string()),
            });
        }
        if via != ReadVia::Style && settings.protects(key) {
            return Err(ReadRefused::Protected(key.to_string()));
        }
        Ok(())
    }
}

/// Parses `BUCKET:PERM` with PERM one of `r`, `w`, `rw`, as `keys create --grant` takes it.
pub fn parse_grant(text: &str) -> Result<Grant, String> {
    let (bucket, perm) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("grant {text:?} is not BUCKET:PERM"))?;
    match bucket.strip_suffix('*') {
        // A pattern's prefix needs only the characters a bucket name may have.
        Some(prefix) if !prefix.contains('*') => {
            let sample = format!("{prefix}x");
            crate::buckets::validate_bucket(&sample)
                .map_err(|_| format!("grant {text:?}: {prefix:?} cannot start a bucket name"))?;
        }
        _ => crate::buckets::validate_bucket(bucket).map_err(|e| e.to_string())?,
    }
    let (can_read, can_write) = match perm {
        "r" => (true, false),
        "w" => (false, true),
        "rw" | "wr" => (true, true),
        other => return Err(format!("permission {other:?} is not r, w or rw")),
    };
    Ok(Grant {
        bucket: bucket.to_string(),
        can_read,
        can_write,
    })
}

/// A fresh random credential: a 20-character access key and a 40-character secret, of the
/// alphabets the vendors use (so the keys look familiar to their SDKs' users).
pub fn generate_key_pair() -> (String, String) {
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const MIXED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut pick = |alphabet: &[u8], n: usize| -> String {
        (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
            .collect()
    };
    let access = format!("FT{}", pick(UPPER, 18));
    let secret = pick(MIXED, 40);
    (access, secret)
}

/// Compares secrets in constant time, so response timing reveals nothing about them.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse() {
        assert_eq!(
            parse_grant("photos:rw"),
            Ok(Grant {
                bucket: "photos".into(),
                can_read: true,
                can_write: true
            })
        );
        assert!(parse_grant("photos:x").is_err());
        assert!(parse_grant("photos").is_err());
        assert!(parse_grant("../etc:r").is_err());
        assert!(parse_grant("app-*:rw").is_ok());
        assert!(parse_grant("*:r").is_ok());
        assert!(parse_grant("a*b:r").is_err());
        assert!(parse_grant("a**:r").is_err());
        assert!(parse_grant(".a*:r").is_err());
    }

    #[test]
    fn a_pattern_grant_covers_the_buckets_it_starts() {
        let grant = |bucket: &str| parse_grant(&format!("{bucket}:rw")).expect("grant");
        assert!(grant("app-*").covers("app-"));
        assert!(grant("app-*").covers("app-photos"));
        assert!(!grant("app-*").covers("apps"));
        assert!(grant("*").covers("anything"));
        assert!(grant("photos").covers("photos"));
        assert!(!grant("photos").covers("photos2"));
    }

    #[test]
    fn generated_keys_differ_and_have_the_right_length() {
        let (a1, s1) = generate_key_pair();
        let (a2, _) = generate_key_pair();
        assert_ne!(a1, a2);
        assert_eq!(a1.len(), 20);
        assert_eq!(s1.len(), 40);
    }

    #[test]
    fn secrets_compare() {
        assert!(secrets_equal("abc", "abc"));
        assert!(!secrets_equal("abc", "abd"));
        assert!(!secrets_equal("abc", "abcd"));
    }
}
