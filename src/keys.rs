//! `ferrotype keys create | list | grant | revoke`: access keys with per-bucket grants.

use jobs::credentials::{generate_key_pair, parse_grant};
use jobs::ledger::{AccessKey, Grant};
use jobs::Ledger;
use serde_json::json;

/// Creates the key and returns the JSON line the command prints.
pub async fn create(
    ledger: &Ledger,
    grants: &[String],
    access_key: Option<String>,
    secret_key: Option<String>,
) -> anyhow::Result<String> {
    let grants = grants
        .iter()
        .map(|g| parse_grant(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let (generated_access, generated_secret) = generate_key_pair();
    let key = AccessKey {
        access_key: access_key.unwrap_or(generated_access),
        secret_key: secret_key.unwrap_or(generated_secret),
        grants,
    };
    if key.access_key.is_empty() || key.access_key.contains(':') {
        anyhow::bail!(
            "access key {:?} must be non-empty and without ':'",
            key.access_key
        );
    }
    if key.secret_key.len() < 8 {
        anyhow::bail!("secret key must be at least 8 characters");
    }
    ledger.create_key(&key).await?;
    Ok(json!({ "access_key": key.access_key, "secret_key": key.secret_key }).to_string())
}

/// One JSON line per key, oldest first: its name, when it was made and its grants
/// (`BUCKET:r|w|rw`, as `create` takes them). Secrets are never shown again.
pub async fn list(ledger: &Ledger) -> anyhow::Result<String> {
    let keys = ledger.list_keys().await?;
    let lines: Vec<String> = keys
        .iter()
        .map(|key| {
            let grants: Vec<String> = key.grants.iter().map(grant_text).collect();
            json!({
                "access_key": key.access_key,
                "created_at": key.created_at.to_rfc3339(),
                "grants": grants,
            })
            .to_string()
        })
        .collect();
    Ok(lines.join("\n"))
}

/// Widens the key's grants (`BUCKET:PERM`, as `create` takes them); running processes see
/// them at once. An unknown key is an error.
pub async fn grant(ledger: &Ledger, access_key: &str, grants: &[String]) -> anyhow::Result<String> {
    let grants = grants
        .iter()
        .map(|g| parse_grant(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    if !ledger.grant_key(access_key, &grants).await? {
        anyhow::bail!("no access key {access_key:?}");
    }
    let granted: Vec<String> = grants.iter().map(grant_text).collect();
    Ok(json!({ "access_key": access_key, "granted": granted }).to_string())
}

/// Revokes the key: every running process refuses it at once (announced to their key
/// caches; within `jobs::ledger::keys::KEY_TTL` for one whose listener is reconnecting). An
/// unknown key is an error.
pub async fn revoke(ledger: &Ledger, access_key: &str) -> anyhow::Result<String> {
    if !ledger.revoke_key(access_key).await? {
        anyhow::bail!("no access key {access_key:?}");
    }
    Ok(json!({ "revoked": access_key }).to_string())
}

fn grant_text(grant: &Grant) -> String {
    let permission = match (grant.can_read, grant.can_write) {
        (true, true) => "rw",
        (true, false) => "r",
        (false, true) => "w",
        (false, false) => "none",
    };
    format!("{}:{permission}", grant.bucket)
}
