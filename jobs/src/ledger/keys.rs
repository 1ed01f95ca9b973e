//! Access keys as every authenticated request reads them, through an in-process cache: a key
//! and its grants are two queries, and a busy client would pay them on every request. A change
//! to a key (revoked with `ferrotype keys revoke`, grants widened by `keys grant`) is announced
//! on [`KEYS_CHANNEL`] in the statement that makes it; every process that caches keys listens
//! (one connection of its pool, from the first lookup) and forgets the key at once. While the
//! listener is down announcements may be missed, so entries also expire after [`KEY_TTL`], and
//! the whole cache is dropped whenever the listener reconnects. Unknown keys are not cached
//! (each such request asks the ledger), so a key created elsewhere works at once.
//!
//! Listing, granting and revoking keys (`ferrotype keys list | grant | revoke`) are here too.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{AccessKey, Grant, Ledger};
use crate::error::LedgerError;

/// How long a looked-up key is served from the cache at most: the bound on a change's delay
/// when its announcement was missed.
pub const KEY_TTL: Duration = Duration::from_secs(5);

/// The channel changes to keys are announced on; the payload is the access key.
pub const KEYS_CHANNEL: &str = "ferrotype_keys";

/// How long the listener waits before listening again after an error.
const RELISTEN_PAUSE: Duration = Duration::from_secs(1);

/// Keys cached past this count are all dropped at once (a bound, not an eviction policy:
/// deployments have a handful of keys).
const MAX_CACHED: usize = 4096;

/// The cache: access key to (key, when it was read), and whether its listener runs.
#[derive(Debug, Clone, Default)]
pub struct KeyCache {
    entries: Arc<Mutex<HashMap<String, (AccessKey, Instant)>>>,
    listening: Arc<tokio::sync::OnceCell<()>>,
}

impl KeyCache {
    fn get(&self, access_key: &str) -> Option<AccessKey> {
        let cache = self.entries.lock().ok()?;
        let (key, read_at) = cache.get(access_key)?;
        (read_at.elapsed() < KEY_TTL).then(|| key.clone())
    }

    fn put(&self, key: &AccessKey) {
        if let Ok(mut cache) = self.entries.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(key.access_key.clone(), (key.clone(), Instant::now()));
        }
    }

    /// Forgets `access_key` (it was just changed or revoked here).
    pub(super) fn forget(&self, access_key: &str) {
        if let Ok(mut cache) = self.entries.lock() {
            cache.remove(access_key);
        }
    }

    fn forget_all(&self) {
        if let Ok(mut cache) = self.entries.lock() {
            cache.clear();
        }
    }

    /// Starts the listener for announced key changes, once per process.
    async fn listen(&self, pool: &sqlx::PgPool) {
        self.listening
            .get_or_init(|| async {
                tokio::spawn(forget_announced(self.clone(), pool.clone()));
            })
            .await;
    }
}

/// Forever: forget each key announced on [`KEYS_CHANNEL`]; forget every key when the
/// listener had to reconnect (announcements may have been lost meanwhile).
async fn forget_announced(cache: KeyCache, pool: sqlx::PgPool) {
    loop {
        let error = listen_until_error(&cache, &pool).await;
        tracing::warn!(%error, "key cache: cannot listen for key changes; entries expire meanwhile");
        cache.forget_all();
        tokio::time::sleep(RELISTEN_PAUSE).await;
    }
}

/// Listens on one pooled connection and forgets what is announced, until an error.
async fn listen_until_error(cache: &KeyCache, pool: &sqlx::PgPool) -> sqlx::Error {
    let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(KEYS_CHANNEL).await {
        return error;
    }
    // Whatever was cached before listening may have changed unannounced.
    cache.forget_all();
    loop {
        match listener.try_recv().await {
            Ok(Some(announced)) => cache.forget(announced.payload()),
            // Reconnected: announcements may have been lost meanwhile.
            Ok(None) => cache.forget_all(),
            Err(error) => return error,
        }
    }
}

impl Ledger {
    /// The access key and its grants; `None` when there is no such key.
    pub async fn access_key(&self, access_key: &str) -> Result<Option<AccessKey>, LedgerError> {
        self.keys.listen(&self.pool).await;
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

    /// Deletes the key and its grants; `false` when there was no such key. Every process
    /// refuses it at once (the deletion is announced on [`KEYS_CHANNEL`]; within [`KEY_TTL`]
    /// for a process whose listener is reconnecting).
    pub async fn revoke_key(&self, access_key: &str) -> Result<bool, LedgerError> {
        let revoked = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH gone AS (DELETE FROM access_keys WHERE access_key = $1 RETURNING access_key) \
             SELECT pg_notify('{KEYS_CHANNEL}', access_key) FROM gone"
        )))
        .bind(access_key)
        .fetch_all(&self.pool)
        .await?;
        self.keys.forget(access_key);
        Ok(!revoked.is_empty())
    }
}

impl Ledger {
    /// Widens the grants of an existing key (a permission already held is kept); `false`
    /// when there is no such key. Announced, so every process sees the wider grants at once.
    pub async fn grant_key(&self, access_key: &str, grants: &[Grant]) -> Result<bool, LedgerError> {
        let mut tx = self.pool.begin().await?;
        let exists: Option<(String,)> =
            sqlx::query_as("SELECT access_key FROM access_keys WHERE access_key = $1 FOR UPDATE")
                .bind(access_key)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Ok(false);
        }
        widen_grants(&mut tx, access_key, grants).await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(KEYS_CHANNEL)
            .bind(access_key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.keys.forget(access_key);
        Ok(true)
    }
}

/// Adds `grants` to the key's, widening any it already has for the same bucket.
pub(super) async fn widen_grants(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    access_key: &str,
    grants: &[Grant],
) -> Result<(), LedgerError> {
    for grant in grants {
        sqlx::query(
            "INSERT INTO grants (access_key, bucket, can_read, can_write) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (access_key, bucket) DO UPDATE \
             SET can_read = grants.can_read OR EXCLUDED.can_read, \
                 can_write = grants.can_write OR EXCLUDED.can_write",
        )
        .bind(access_key)
        .bind(&grant.bucket)
        .bind(grant.can_read)
        .bind(grant.can_write)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// An access key as `keys list` shows it: never its secret.
#[derive(Debug, Clone)]
pub struct KeySummary {
    pub access_key: String,
    pub created_at: DateTime<Utc>,
    pub grants: Vec<Grant>,
}
