//! The effective configuration as TOML (`ferrotype config print`), with every secret masked:
//! the passwords in the database and broker addresses and the buckets' secret keys. The
//! output is itself a valid configuration file, once the masks are replaced.

use super::{BucketConfig, Config};
use crate::error::ConfigError;

/// What a secret is printed as.
pub const MASK: &str = "********";

/// `config` as TOML, secrets masked.
pub fn render(config: &Config) -> Result<String, ConfigError> {
    let mut shown = config.clone();
    shown.database_url = mask_password(&shown.database_url);
    shown.amqp_url = mask_password(&shown.amqp_url);
    for bucket in shown.buckets.values_mut() {
        if let BucketConfig::S3 {
            secret_access_key: Some(secret),
            ..
        } = bucket
        {
            *secret = MASK.to_string();
        }
    }
    toml::to_string(&shown).map_err(|error| ConfigError::Layers(error.to_string()))
}

/// `address` with its password (if any) replaced by [`MASK`]; a text that is not a URL is
/// masked whole when it could hold one (it has an `@`).
fn mask_password(address: &str) -> String {
    match url::Url::parse(address) {
        Ok(mut url) if url.password().is_some() => match url.set_password(Some(MASK)) {
            Ok(()) => url.to_string(),
            Err(()) => MASK.to_string(),
        },
        Ok(_) => address.to_string(),
        Err(_) if address.contains('@') => MASK.to_string(),
        Err(_) => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::layers;

    #[test]
    fn secrets_are_masked_and_the_rest_reads_back() {
        let vars = [
            ("DATABASE_URL", "postgres://app:s3cret@db:5432/ferrotype"),
            ("AMQP_URL", "amqp://guest:guest@mq:5672/%2f"),
            ("FERROTYPE_BUCKETS__PHOTOS__KIND", "s3"),
            ("FERROTYPE_BUCKETS__PHOTOS__BUCKET", "photos"),
            ("FERROTYPE_BUCKETS__PHOTOS__ACCESS_KEY_ID", "AKID"),
            (
                "FERROTYPE_BUCKETS__PHOTOS__SECRET_ACCESS_KEY",
                "very-secret",
            ),
        ];
        let vars = vars.map(|(name, value)| (name.to_string(), value.to_string()));
        let config = layers::load(None, vars).expect("valid");
        let text = render(&config).expect("renders");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains("very-secret"), "{text}");
        assert!(!text.contains("guest:guest"), "{text}");
        assert!(
            text.contains("postgres://app:********@db:5432/ferrotype"),
            "{text}"
        );
        assert!(text.contains("AKID"), "{text}");
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), &text).expect("written");
        let again = layers::load(Some(file.path()), Vec::new()).expect("the output loads");
        assert_eq!(again.buckets.len(), 1);
        assert_eq!(again.workers, config.workers);
    }

    #[test]
    fn addresses_without_passwords_are_kept() {
        let address = "postgres://postgres@127.0.0.1:5432/ferrotype";
        assert_eq!(mask_password(address), address);
        assert_eq!(mask_password("not a url"), "not a url");
    }
}
