//! Object keys: which keys are valid (OSS's rules), and how a key is kept on a backend whose
//! paths cannot hold every key.
//!
//! OSS keys are flat strings: 1 to 1023 bytes of UTF-8, not starting with `/` or `\`; Qiniu
//! allows the empty key too (OSS never asks for it: an empty key addresses the bucket), kept
//! as the one empty segment, the file `%`. `a//b`,
//! `a/./b`, `../x`, `dir/` (a folder marker) and control characters are all valid keys, and
//! must come back as they went in. object_store paths have none of them: a path drops empty
//! segments, refuses `.`, `..` and control characters, and a local folder reserves file names
//! ending in `#<digits>` for its staged writes. So each `/`-separated segment of a key is
//! escaped on its way to the backend, and unescaped on its way back from a listing:
//!
//! | segment of the key            | segment on the backend |
//! |-------------------------------|------------------------|
//! | empty (`a//b`, `dir/`)        | `%`                    |
//! | `.` / `..`                    | `%2E` / `%2E%2E`       |
//! | `%`, an ASCII control char    | `%25`, `%XX`           |
//! | the `#` of `name#<digits>`    | `%23`                  |
//! | anything else (UTF-8 as is)   | itself                 |
//!
//! Everything else is kept as it is, so a folder bucket's files carry their keys' names
//! (`照片/猫.jpg` is the file `照片/猫.jpg`), and files put there by hand are objects under
//! their own names. A name a key cannot produce (`50%off.jpg`, not escaped) is left out of
//! listings, since no key reads it. No escaped segment is `.` or `..`, so no key leaves its
//! bucket, whatever it holds.

use object_store::path::Path;
use percent_encoding::percent_decode_str;

use crate::error::StoreError;

/// The longest key, in bytes (OSS's limit).
pub const MAX_KEY_BYTES: usize = 1023;

/// The key prefix Ferrotype keeps its own objects under in a bucket (GET-processed results,
/// unfinished multipart parts). Clients may read it through processing, never write it.
pub const RESERVED_PREFIX: &str = ".ferrotype/";

/// Checks an object key: at most 1023 bytes (empty allowed, as Qiniu allows it), not starting
/// with `/` or `\`. NUL is refused too: keys are kept in Postgres text, which cannot hold it.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    let ok = key.len() <= MAX_KEY_BYTES && !key.starts_with(['/', '\\']) && !key.contains('\0');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKey(key.to_string()))
    }
}

/// [`validate_key`] for a key a client writes: not under [`RESERVED_PREFIX`] either, so no
/// upload or saveas can pose as a processed result.
pub fn validate_client_key(key: &str) -> Result<(), StoreError> {
    validate_key(key)?;
    if key.starts_with(RESERVED_PREFIX) {
        return Err(StoreError::InvalidKey(key.to_string()));
    }
    Ok(())
}

/// How a backend's paths are made: a folder's file names are at most 255 bytes, so a longer
/// segment is kept as several; a flat store (S3, memory) keeps each segment whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Folder,
    Flat,
}

/// The longest part a folder keeps a segment in, in bytes: under the file system's 255, with
/// room for the `#<n>` a folder's staged write adds.
const FOLDER_PART_BYTES: usize = 240;

/// What ends a part that a long segment goes on in (escaping never makes `%+`).
const CONTINUED: &str = "%+";

/// Where `key` is kept on a backend of `layout` (also the folder that holds the keys starting
/// with `key` and a `/`).
pub fn location(key: &str, layout: Layout) -> Result<Path, StoreError> {
    validate_key(key)?;
    let parts: Vec<String> = (key.split('/'))
        .flat_map(|segment| kept_parts(escape(segment), layout))
        .collect();
    // Every part is a valid `PathPart` by construction; parsing checks it rather than trusts it.
    Path::parse(parts.join("/")).map_err(|_| StoreError::InvalidKey(key.into()))
}

/// The key kept at `location` on a backend of `layout`: `None` for a name no key is kept
/// under (not UTF-8 once unescaped, or not what the key's own escaping gives).
pub fn key_at(location: &Path, layout: Layout) -> Option<String> {
    let mut segments = Vec::new();
    let mut pending = String::new();
    for part in location.parts() {
        let part = part.as_ref();
        match part.strip_suffix(CONTINUED) {
            Some(head) if layout == Layout::Folder => pending.push_str(head),
            _ => {
                pending.push_str(part);
                segments.push(unescape(&std::mem::take(&mut pending))?);
            }
        }
    }
    if !pending.is_empty() {
        return None;
    }
    let key = segments.join("/");
    let same = self::location(&key, layout).is_ok_and(|kept| kept == *location);
    same.then_some(key)
}

/// The parts an escaped segment is kept in: itself, or on a folder, pieces of at most
/// [`FOLDER_PART_BYTES`], each but the last ending in [`CONTINUED`], never cut inside a
/// character or a `%XX`.
fn kept_parts(escaped: String, layout: Layout) -> Vec<String> {
    if layout == Layout::Flat || escaped.len() <= FOLDER_PART_BYTES {
        return vec![escaped];
    }
    let mut parts = Vec::new();
    let mut rest = escaped.as_str();
    while rest.len() > FOLDER_PART_BYTES {
        let mut cut = FOLDER_PART_BYTES - CONTINUED.len();
        let inside_escape = |cut: usize| rest.as_bytes()[cut - 2..cut].contains(&b'%');
        while !rest.is_char_boundary(cut) || inside_escape(cut) {
            cut -= 1;
        }
        parts.push(format!("{}{CONTINUED}", &rest[..cut]));
        rest = &rest[cut..];
    }
    // The last piece is a file name of its own: its `#<digits>` must not pass for a staged write.
    parts.push(escape_staged_hash(rest));
    parts
}

/// One segment of a key as the backend keeps it (see the table above).
fn escape(segment: &str) -> String {
    match segment {
        "" => return "%".into(),
        "." => return "%2E".into(),
        ".." => return "%2E%2E".into(),
        _ => {}
    }
    let mut escaped = String::with_capacity(segment.len());
    for ch in segment.chars() {
        if ch == '%' || ch.is_ascii_control() {
            escaped.push_str(&format!("%{:02X}", ch as u32));
        } else {
            escaped.push(ch);
        }
    }
    escape_staged_hash(&escaped)
}

/// `name` with the `#` of a `name#<digits>` escaped: a folder keeps its staged writes under
/// such names and leaves them out of listings.
fn escape_staged_hash(name: &str) -> String {
    match name.split_once('#') {
        Some((head, digits))
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("{head}%23{digits}")
        }
        _ => name.to_string(),
    }
}

/// The key segment a backend segment keeps; `None` when it is not UTF-8 once unescaped.
fn unescape(part: &str) -> Option<String> {
    if part == "%" {
        return Some(String::new());
    }
    (percent_decode_str(part).decode_utf8().ok()).map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oss_keys_are_valid_and_the_others_are_not() {
        let long = "k".repeat(MAX_KEY_BYTES);
        for good in [
            "a",
            "a/b.jpg",
            "dir/",
            "a//b",
            "a/./b",
            "a/../b",
            "..",
            ".",
            "a\u{7}b",
            "é/ü.jpg",
            "a b/c#d",
            "x/",
            &long,
        ] {
            assert!(validate_key(good).is_ok(), "{good:?}");
        }
        let too_long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(validate_key("").is_ok(), "Qiniu's empty key");
        for bad in ["/", "/a", "\\a", "a\0b", &too_long] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_client_key(".ferrotype/processed/x").is_err());
        assert!(validate_client_key(".ferrotype").is_ok());
    }

    #[test]
    fn every_key_is_kept_under_a_path_that_gives_it_back() {
        let cases = [
            ("a/b.jpg", "a/b.jpg"),
            ("", "%"),
            ("dir/", "dir/%"),
            ("a//b", "a/%/b"),
            ("a/./b", "a/%2E/b"),
            ("../x", "%2E%2E/x"),
            ("..", "%2E%2E"),
            ("50%/x", "50%25/x"),
            ("%", "%25"),
            ("a\u{1}\n", "a%01%0A"),
            ("clip#12", "clip%2312"),
            ("a#b#1", "a#b#1"),
            ("tag#x", "tag#x"),
            ("照片/猫.jpg", "照片/猫.jpg"),
            ("a b/c~d<e>|f", "a b/c~d<e>|f"),
            ("x\\y", "x\\y"),
            ("d//", "d/%/%"),
        ];
        for (key, kept) in cases {
            for layout in [Layout::Folder, Layout::Flat] {
                let path = location(key, layout).expect("a valid key");
                assert_eq!(path.as_ref(), kept, "{key:?}");
                assert_eq!(key_at(&path, layout).as_deref(), Some(key), "{key:?}");
            }
        }
    }

    #[test]
    fn a_folder_keeps_a_long_segment_in_parts_of_at_most_240_bytes() {
        let cases = [
            "k".repeat(MAX_KEY_BYTES),
            format!("a/{}", "猫".repeat(300)),
            format!("{}#12", "x".repeat(700)),
            format!("{}/b", "\u{1}%".repeat(200)),
            format!("{}#1#2", "y".repeat(237)),
        ];
        for key in &cases {
            let path = location(key, Layout::Folder).expect("a valid key");
            for part in path.parts() {
                assert!(part.as_ref().len() <= FOLDER_PART_BYTES, "{part:?}");
            }
            let name = path.filename().unwrap_or_default();
            let staged = name
                .split_once('#')
                .is_some_and(|(_, rest)| rest.bytes().all(|b| b.is_ascii_digit()));
            assert!(!staged, "{name}");
            assert_eq!(key_at(&path, Layout::Folder).as_deref(), Some(key.as_str()));
            let flat = location(key, Layout::Flat).expect("a valid key");
            assert_eq!(flat.parts().count(), key.split('/').count());
            assert_eq!(key_at(&flat, Layout::Flat).as_deref(), Some(key.as_str()));
        }
    }

    #[test]
    fn names_no_key_is_kept_under_are_not_keys() {
        for name in [
            "50%off.jpg",
            "%E7%85%A7.jpg",
            "a/%2F",
            "%FF",
            "a%+",
            "a%+/b",
        ] {
            let path = Path::parse(name).expect("a path");
            assert_eq!(key_at(&path, Layout::Folder), None, "{name:?}");
        }
    }
}
