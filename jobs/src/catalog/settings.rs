//! A bucket's read settings: who may read it (ACL), the style separators of its URLs, the
//! originals anonymous readers only get through a style (original protection), the
//! Cache-Control of what GET answers, and the download hosts that serve it at their root.
//! A bucket nobody configured is private, with no separators, protection or hosts.

use serde::{Deserialize, Serialize};

use crate::buckets::validate_bucket;
use crate::error::{CatalogError, LedgerError, SubmitError};
use crate::ledger::Ledger;

/// Who may read a bucket's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Acl {
    /// Only keys with a read grant (the default, as on both vendors).
    #[default]
    #[serde(rename = "private")]
    Private,
    /// Anyone, signed or not (OSS `public-read`, a Qiniu public space).
    #[serde(rename = "public-read")]
    PublicRead,
}

impl Acl {
    /// The OSS spelling, also what the ledger stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Acl::Private => "private",
            Acl::PublicRead => "public-read",
        }
    }

    /// The ACL named `text`; OSS's `public-read-write` is refused (Ferrotype never lets
    /// anonymous clients write).
    pub fn parse(text: &str) -> Result<Acl, SubmitError> {
        match text {
            "private" => Ok(Acl::Private),
            "public-read" => Ok(Acl::PublicRead),
            other => Err(SubmitError::BadRequest(format!(
                "ACL {other:?}: private or public-read (anonymous writes are not offered)"
            ))),
        }
    }
}

/// The characters a style separator may be (OSS 2.8: `-`, `_`, `/`, `!`; Qiniu adds `~`).
pub const SEPARATOR_CHARACTERS: &str = "-_/!~";

/// A bucket's read settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BucketSettings {
    pub acl: Acl,
    /// Each character ends an object's name and starts a style's in a GET path.
    pub style_separators: String,
    /// Suffixes (without the dot, lower case) of originals anonymous readers get only
    /// through a style.
    pub protected_suffixes: Vec<String>,
    /// The Cache-Control header of what GET answers from the bucket.
    pub cache_control: Option<String>,
    /// Hosts that serve this bucket at their root (Qiniu bound domains).
    pub download_hosts: Vec<String>,
}

impl BucketSettings {
    /// Checks every field, normalising suffixes (no dot, lower case) and hosts (lower case).
    pub fn checked(mut self) -> Result<BucketSettings, SubmitError> {
        if let Some(bad) =
            (self.style_separators.chars()).find(|c| !SEPARATOR_CHARACTERS.contains(*c))
        {
            return Err(SubmitError::BadRequest(format!(
                "style separator {bad:?}: one of {SEPARATOR_CHARACTERS}"
            )));
        }
        for suffix in &mut self.protected_suffixes {
            *suffix = suffix.trim_start_matches('.').to_ascii_lowercase();
            if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(SubmitError::BadRequest(format!(
                    "protected suffix {suffix:?}: letters and digits, like jpg"
                )));
            }
        }
        if let Some(value) = &self.cache_control {
            if value.is_empty() || !value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
                return Err(SubmitError::BadRequest(
                    "cache_control: printable ASCII, like 'public, max-age=86400'".into(),
                ));
            }
        }
        for host in &mut self.download_hosts {
            *host = host.to_ascii_lowercase();
            if !valid_host(host) {
                return Err(SubmitError::BadRequest(format!(
                    "download host {host:?}: a DNS name, optionally with :port"
                )));
            }
        }
        Ok(self)
    }

    /// Whether anonymous readers get `key` only through a style.
    pub fn protects(&self, key: &str) -> bool {
        let Some((_, suffix)) = key.rsplit_once('.') else {
            return false;
        };
        let suffix = suffix.to_ascii_lowercase();
        self.protected_suffixes.contains(&suffix)
    }
}

fn valid_host(host: &str) -> bool {
    let (name, port) = host.split_once(':').unwrap_or((host, "0"));
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
        && port.parse::<u16>().is_ok()
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    acl: String,
    style_separators: String,
    protected_suffixes: Vec<String>,
    cache_control: Option<String>,
}

/// The settings of `bucket` (the defaults when nobody set any).
pub async fn bucket_settings(ledger: &Ledger, bucket: &str) -> Result<BucketSettings, LedgerError> {
    let row: Option<SettingsRow> = sqlx::query_as(
        "SELECT acl, style_separators, protected_suffixes, cache_control \
         FROM bucket_settings WHERE bucket = $1",
    )
    .bind(bucket)
    .fetch_optional(ledger.pool())
    .await?;
    let hosts: Vec<(String,)> =
        sqlx::query_as("SELECT host FROM download_hosts WHERE bucket = $1 ORDER BY host")
            .bind(bucket)
            .fetch_all(ledger.pool())
            .await?;
    let download_hosts = hosts.into_iter().map(|(host,)| host).collect();
    Ok(match row {
        None => BucketSettings {
            download_hosts,
            ..BucketSettings::default()
        },
        Some(row) => BucketSettings {
            acl: Acl::parse(&row.acl).unwrap_or_default(),
            style_separators: row.style_separators,
            protected_suffixes: row.protected_suffixes,
            cache_control: row.cache_control,
            download_hosts,
        },
    })
}

/// Checks and stores the settings of `bucket`, replacing its download hosts. A host another
/// bucket already has is refused.
pub async fn save_bucket_settings(
    ledger: &Ledger,
    bucket: &str,
    settings: BucketSettings,
) -> Result<BucketSettings, CatalogError> {
    validate_bucket(bucket).map_err(SubmitError::from)?;
    let settings = settings.checked()?;
    let mut tx = ledger.pool().begin().await.map_err(LedgerError::from)?;
    sqlx::query(
        "INSERT INTO bucket_settings (bucket, acl, style_separators, protected_suffixes, cache_control) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (bucket) DO UPDATE SET acl = EXCLUDED.acl, \
         style_separators = EXCLUDED.style_separators, \
         protected_suffixes = EXCLUDED.protected_suffixes, \
         cache_control = EXCLUDED.cache_control, updated_at = now()",
    )
    .bind(bucket)
    .bind(settings.acl.as_str())
    .bind(&settings.style_separators)
    .bind(&settings.protected_suffixes)
    .bind(&settings.cache_control)
    .execute(&mut *tx)
    .await
    .map_err(LedgerError::from)?;
    replace_hosts(&mut tx, bucket, &settings.download_hosts).await?;
    tx.commit().await.map_err(LedgerError::from)?;
    Ok(settings)
}

async fn replace_hosts(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    bucket: &str,
    hosts: &[String],
) -> Result<(), CatalogError> {
    sqlx::query("DELETE FROM download_hosts WHERE bucket = $1")
        .bind(bucket)
        .execute(&mut **tx)
        .await
        .map_err(LedgerError::from)?;
    for host in hosts {
        let inserted = sqlx::query(
            "INSERT INTO download_hosts (host, bucket) VALUES ($1, $2) ON CONFLICT (host) DO NOTHING",
        )
        .bind(host)
        .bind(bucket)
        .execute(&mut **tx)
        .await
        .map_err(LedgerError::from)?;
        if inserted.rows_affected() == 0 {
            return Err(CatalogError::Invalid(SubmitError::BadRequest(format!(
                "download host {host} already serves another bucket"
            ))));
        }
    }
    Ok(())
}

/// Sets only the ACL of `bucket` (OSS PutBucketAcl), keeping its other settings.
pub async fn save_acl(ledger: &Ledger, bucket: &str, acl: Acl) -> Result<(), CatalogError> {
    validate_bucket(bucket).map_err(SubmitError::from)?;
    sqlx::query(
        "INSERT INTO bucket_settings (bucket, acl) VALUES ($1, $2) \
         ON CONFLICT (bucket) DO UPDATE SET acl = EXCLUDED.acl, updated_at = now()",
    )
    .bind(bucket)
    .bind(acl.as_str())
    .execute(ledger.pool())
    .await
    .map_err(LedgerError::from)?;
    Ok(())
}

/// The bucket a download host serves, if any.
pub async fn bucket_of_host(ledger: &Ledger, host: &str) -> Result<Option<String>, LedgerError> {
    let host = host.to_ascii_lowercase();
    // A host configured with its port matches only that port; one without, any port.
    let name = host
        .rsplit_once(':')
        .map_or(host.as_str(), |(name, _)| name);
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT bucket FROM download_hosts WHERE host = $1 OR host = $2 \
         ORDER BY host = $1 DESC LIMIT 1",
    )
    .bind(&host)
    .bind(name)
    .fetch_optional(ledger.pool())
    .await?;
    Ok(row.map(|(bucket,)| bucket))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_normalised() {
        let settings = BucketSettings {
            acl: Acl::PublicRead,
            style_separators: "!-".into(),
            protected_suffixes: vec![".JPG".into(), "png".into()],
            cache_control: Some("public, max-age=60".into()),
            download_hosts: vec!["Img.Example.com:8080".into()],
        }
        .checked()
        .unwrap();
        assert_eq!(settings.protected_suffixes, ["jpg", "png"]);
        assert_eq!(settings.download_hosts, ["img.example.com:8080"]);
        assert!(settings.protects("a/b.Jpg"));
        assert!(!settings.protects("a/b.gif"));
        assert!(!settings.protects("noext"));
        for bad in [
            BucketSettings {
                style_separators: "@".into(),
                ..BucketSettings::default()
            },
            BucketSettings {
                protected_suffixes: vec!["j/pg".into()],
                ..BucketSettings::default()
            },
            BucketSettings {
                cache_control: Some("a\nb".into()),
                ..BucketSettings::default()
            },
            BucketSettings {
                download_hosts: vec!["bad host".into()],
                ..BucketSettings::default()
            },
        ] {
            assert!(bad.checked().is_err());
        }
        assert_eq!(Acl::parse("public-read").unwrap(), Acl::PublicRead);
        assert!(Acl::parse("public-read-write").is_err());
    }
}
