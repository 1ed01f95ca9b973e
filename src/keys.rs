//! `ferrotype keys create`: issues an access key with per-bucket grants.

use jobs::credentials::{generate_key_pair, parse_grant};
use jobs::ledger::AccessKey;
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
