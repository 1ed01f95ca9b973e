//! Listing a bucket: the objects under a prefix, keys sharing a part up to a delimiter folded
//! into one common prefix, one page at a time after a marker. The paging is [`page`], pure;
//! the surfaces spell the pages (OSS ListObjects and ListObjectsV2).

use std::collections::HashMap;

use crate::buckets::Listed;
use crate::credentials::Permission;
use crate::error::Failure;
use crate::ledger::AccessKey;
use crate::objects::ObjectRecord;
use crate::Services;

/// One page asked for.
#[derive(Debug, Clone, Copy)]
pub struct ListRequest<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    /// Empty: no folding.
    pub delimiter: &'a str,
    /// The page starts after this key or common prefix (empty: at the start).
    pub after: &'a str,
    /// Objects and common prefixes on the page, together (at least 1).
    pub max_keys: usize,
}

/// An entry of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Object(Listed),
    /// Keys that share the prefix, a part and the delimiter, named once (ends with the
    /// delimiter).
    CommonPrefix(String),
}

impl Entry {
    pub fn name(&self) -> &str {
        match self {
            Entry::Object(object) => &object.key,
            Entry::CommonPrefix(prefix) => prefix,
        }
    }
}

/// A page, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Where the next page starts (the last entry's name) when there is more.
    pub next: Option<String>,
}

/// A page with the records of its objects.
#[derive(Debug, Clone)]
pub struct RecordedPage {
    pub page: Page,
    /// The record of each listed object that has one of the listed version (objects put by
    /// hand have none until they are read: a listing does not read every object).
    pub records: HashMap<String, ObjectRecord>,
}

/// One page of `request.bucket`, for a key that may read it.
pub async fn list(
    services: &Services,
    who: &AccessKey,
    request: &ListRequest<'_>,
) -> Result<RecordedPage, Failure> {
    who.require(request.bucket, Permission::Read)?;
    let objects = services
        .buckets
        .list(request.bucket, request.prefix)
        .await?;
    let page = page(objects, request);
    let listed: Vec<&Listed> = (page.entries.iter())
        .filter_map(|entry| match entry {
            Entry::Object(object) => Some(object),
            Entry::CommonPrefix(_) => None,
        })
        .collect();
    let keys: Vec<String> = listed.iter().map(|object| object.key.clone()).collect();
    let mut records = services
        .ledger
        .object_records(request.bucket, &keys)
        .await?;
    for object in listed {
        if records
            .get(&object.key)
            .is_some_and(|record| record.version != object.version)
        {
            records.remove(&object.key);
        }
    }
    Ok(RecordedPage { page, records })
}

/// The page of `objects` (every object under the prefix, in key order) that `request` asks for.
pub fn page(objects: Vec<Listed>, request: &ListRequest<'_>) -> Page {
    let mut entries: Vec<Entry> = Vec::new();
    for object in objects {
        if object.key.as_str() <= request.after || !object.key.starts_with(request.prefix) {
            continue;
        }
        let entry = match folded(&object.key, request) {
            Some(common) => {
                let repeated = entries.last().is_some_and(|last| last.name() == common);
                if repeated || common.as_str() <= request.after {
                    continue;
                }
                Entry::CommonPrefix(common)
            }
            None => Entry::Object(object),
        };
        if entries.len() == request.max_keys {
            let next = entries.last().map(|last| last.name().to_string());
            return Page { entries, next };
        }
        entries.push(entry);
    }
    Page {
        entries,
        next: None,
    }
}

/// The common prefix `key` folds into: the prefix, the rest of the key up to and with the
/// first delimiter after the prefix.
fn folded(key: &str, request: &ListRequest<'_>) -> Option<String> {
    if request.delimiter.is_empty() {
        return None;
    }
    let rest = &key[request.prefix.len()..];
    let end = rest.find(request.delimiter)? + request.delimiter.len();
    Some(format!("{}{}", request.prefix, &rest[..end]))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn objects(keys: &[&str]) -> Vec<Listed> {
        keys.iter()
            .map(|key| Listed {
                key: key.to_string(),
                size: 1,
                last_modified: Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
                version: "v".into(),
            })
            .collect()
    }

    fn names(page: &Page) -> Vec<&str> {
        page.entries.iter().map(Entry::name).collect()
    }

    const KEYS: [&str; 8] = ["a", "b/1", "b/2", "b/c/3", "c", "d/1", "d/2", "e"];

    /// (prefix, delimiter, after, max_keys) and the page's entries and next marker.
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        usize,
        &'a [&'a str],
        Option<&'a str>,
    );

    #[test]
    fn pages_follow_the_documented_rules() {
        let table: [Case; 9] = [
            ("", "", "", 100, &KEYS, None),
            ("", "/", "", 100, &["a", "b/", "c", "d/", "e"], None),
            ("", "/", "", 2, &["a", "b/"], Some("b/")),
            // A marker that is a common prefix skips every key under it.
            ("", "/", "b/", 2, &["c", "d/"], Some("d/")),
            ("", "/", "d/", 2, &["e"], None),
            ("b/", "/", "", 100, &["b/1", "b/2", "b/c/"], None),
            ("b/", "", "b/1", 100, &["b/2", "b/c/3"], None),
            // The page is full exactly at the end: nothing more, so no next.
            ("", "", "", 8, &KEYS, None),
            ("z", "/", "", 100, &[], None),
        ];
        for (prefix, delimiter, after, max_keys, entries, next) in table {
            let request = ListRequest {
                bucket: "b",
                prefix,
                delimiter,
                after,
                max_keys,
            };
            let page = page(objects(&KEYS), &request);
            assert_eq!(names(&page), entries, "{request:?}");
            assert_eq!(page.next.as_deref(), next, "{request:?}");
        }
    }

    #[test]
    fn a_delimiter_of_several_characters_folds_after_its_end() {
        let request = ListRequest {
            bucket: "b",
            prefix: "",
            delimiter: "--",
            after: "",
            max_keys: 10,
        };
        let page = page(objects(&["x--1", "x--2", "x-y"]), &request);
        assert_eq!(names(&page), ["x--", "x-y"]);
    }
}
