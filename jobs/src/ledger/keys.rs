//! Access keys as every authenticated request reads them, through a short-lived in-process
//! cache: a key and its grants are two queries, and a busy client would pay them on every
//! request. Keys are only ever added (`keys create`), and grants only widened, so a cached
//! key is never more permissive than the ledger; the time to live bounds how long a change
//! made by another process takes to be seen. Unknown keys are not cached (each such request
//! asks the ledger), so a key created elsewhere works at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

    /// Forgets `access_key` (its grants were just changed here).
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
}
