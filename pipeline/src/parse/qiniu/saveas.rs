//! Qiniu `saveas/<EncodedEntryURI>`: URL-safe base64 of `bucket:key` (padding optional); a
//! bare `bucket` means the caller generates the key.

use crate::ast::SaveAs;
use crate::error::PipelineError;
use crate::parse::lex::decode_base64_text;

/// Decodes `saveas/<EncodedEntryURI>`: URL-safe base64 of `bucket:key` or `bucket`.
pub fn decode_entry_uri(encoded: &str) -> Result<SaveAs, PipelineError> {
    if encoded.is_empty() {
        return Err(PipelineError::missing_argument(
            "saveas: the EncodedEntryURI is required (saveas/<EncodedEntryURI>)",
        ));
    }
    let entry = decode_base64_text("saveas", "EncodedEntryURI", encoded)?;
    let (bucket, key) = match entry.split_once(':') {
        Some((bucket, key)) => (bucket, (!key.is_empty()).then(|| key.to_string())),
        None => (entry.as_str(), None),
    };
    if bucket.is_empty() {
        return Err(PipelineError::invalid_argument(format!(
            "saveas: '{entry}' names no bucket (expected bucket:key)"
        )));
    }
    Ok(SaveAs {
        bucket: Some(bucket.to_string()),
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_uris_with_and_without_padding_or_key() {
        let table = [
            ("b3V0OmEuanBn", Some("out"), Some("a.jpg")),
            ("b3V0OmEuanBn", Some("out"), Some("a.jpg")),
            ("b3V0", Some("out"), None),
            ("b3V0Og==", Some("out"), None),
            ("b3V0Og", Some("out"), None),
            ("b3V0Og%3D%3D", Some("out"), None),
            // A key may hold ':' itself: only the first one separates.
            ("b3V0OmE6Yg", Some("out"), Some("a:b")),
        ];
        for (encoded, bucket, key) in table {
            let save_as = decode_entry_uri(encoded).unwrap();
            assert_eq!(
                (save_as.bucket.as_deref(), save_as.key.as_deref()),
                (bucket, key),
                "{encoded}"
            );
        }
    }
}
