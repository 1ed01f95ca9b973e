//! Access keys as every authenticated request reads them, through a short-lived in-process
//! cache: a key and its grants are two queries, and a busy client would pay them on every
//! request. The time to live bounds how long a change made by another process (a key revoked
//! with `ferrotype keys revoke`, grants widened) takes to be seen: at most [`KEY_TTL`]; the
//! process that makes the change forgets the key at once. Unknown keys are not cached (each
//! such request asks the ledger), so a key created elsewhere works at once.
//!
//! Listing and revoking keys (`ferrotype keys list`, `keys revoke`) are here too.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{AccessKey, Grant, Ledger};
use crate::error::LedgerError;

/// How long a looked-up key is served from the cache.
pub const KEY_TTL: Duration = Duration::from_secs(5);

/// Keys cached past this count are all dropped at once (a bound, not an eviction policy:
/// deployments have a handful of keys).
const MAX_CACHED: usize = 4096;

/// The cache: access key to (key, when it was read).
#[derive(Debug, Clone, Default)]
pub struct KeyCache(Arc<Mutex<HashMap<String, (AccessKey, Instant)>>>);

impl KeyCache {
    fn get(&self, access_key: &str) -> Option<AccessKey> {
        let cache = self.0.lock().ok()?;
        let (key, read_at) = cache.get(access_key)?;
        (read_at.elapsed() < KEY_TTL).then(|| key.clone())
    }

    fn put(&self, key: &AccessKey) {
        if let Ok(mut cache) = self.0.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(key.access_key.clone(), (key.clone(), Instant::now()));
        }
    }

    /// Forgets `access_key` (it was just changed or revoked here).
    pub(super) fn forget(&self, access_key: &str) {
        if let Ok(mut cache) = self.0.lock() {
            cache.remove(access_key);
        }
    }
}

impl Ledger {
    /// The access key and its grants; `None` when there is no such key.
    pub async fn access_key(&self, access_key: &str) -> Result<Option<AccessKey>, LedgerError> {
        if let Some(key) = self.keys.get(access_key) {
            return Ok(Some(key));
        }
        let key = self.read_access_key(access_key).await?;
        if let Some(key) = &key {
            self.keys.put(key);
        }
        Ok(key)
    }

    async fn read_access_key(&self, access_key: &str) -> Result<Option<AccessKey>, LedgerError> {
        let secret: Option<(String,)> =
            sqlx::query_as("SELECT secret_key FROM access_keys WHERE access_key = $1")
                .bind(access_key)
                .fetch_optional(&self.pool)
                .await?;
        let Some((secret_key,)) = secret else {
            return Ok(None);
        };
        let grants: Vec<Grant> = sqlx::query_as(
            "SELECT bucket, can_read, can_write FROM grants WHERE access_key = $1 ORDER BY bucket",
        )
        .bind(access_key)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(AccessKey {
            access_key: access_key.to_string(),
            secret_key,
            grants,
        }))
    }

    /// Every access key with its grants, oldest first; secrets are not read.
    pub async fn list_keys(&self) -> Result<Vec<KeySummary>, LedgerError> {
        let keys: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT access_key, created_at FROM access_keys ORDER BY created_at, access_key",
        )
        .fetch_all(&self.pool)
        .await?;
        let grants: Vec<(String, String, bool, bool)> = sqlx::query_as(
            "SELECT access_key, bucket, can_read, can_write FROM grants ORDER BY access_key, bucket",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_key: HashMap<String, Vec<Grant>> = HashMap::new();
        for (access_key, bucket, can_read, can_write) in grants {
            let grant = Grant {
                bucket,
                can_read,
                can_write,
            };
            by_key.entry(access_key).or_default().push(grant);
        }
        Ok(keys
            .into_iter()
            .map(|(access_key, created_at)| KeySummary {
                grants: by_key.remove(&access_key).unwrap_or_default(),
                access_key,
                created_at,
            })
            .collect())
    }

    /// Deletes the key and its grants; `false` when there was no such key. Requests signed
    /// with it are refused at once by this process, and within [`KEY_TTL`] by every other.
    pub async fn revoke_key(&self, access_key: &str) -> Result<bool, LedgerError> {
        let deleted = sqlx::query("DELETE FROM access_keys WHERE access_key = $1")
            .bind(access_key)
            .execute(&self.pool)
            .await?;
        self.keys.forget(access_key);
        Ok(deleted.rows_affected() == 1)
    }
}

/// An access key as `keys list` shows it: never its secret.
#[derive(Debug, Clone)]
pub struct KeySummary {
    pub access_key: String,
    pub created_at: DateTime<Utc>,
    pub grants: Vec<Grant>,
}
