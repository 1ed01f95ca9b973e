//! Named buckets, each backed by an `object_store` store: a folder under the data dir (the
//! embedded default), an S3-compatible service, or memory.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt, PutPayload};

use crate::config::{BucketConfig, Config};
use crate::digest::{Digester, Digests};
use crate::error::{io_kind, StoreError};
use crate::etag::qiniu_etag;
use crate::keys::{key_at, Layout};
pub use crate::keys::{validate_client_key, validate_key, RESERVED_PREFIX};

/// The Qiniu etag of `bytes` (about 2 GB/s: a large body is hashed on the blocking pool).
async fn content_hash(bytes: Bytes) -> String {
    crate::digest::off_thread(bytes, qiniu_etag).await
}

/// An S3 store: `AWS_*` variables first (credentials, web identity, container credentials,
/// region), then what the bucket's configuration sets; its requests bounded by the
/// configured timeouts and retries.
fn s3_store(bucket: &BucketConfig) -> Result<object_store::aws::AmazonS3, String> {
    let BucketConfig::S3 {
        endpoint,
        region,
        bucket,
        access_key_id,
        secret_access_key,
        virtual_hosted_style,
        allow_http,
        timeouts,
    } = bucket
    else {
        return Err("not an S3 bucket".into());
    };
    let ms = std::time::Duration::from_millis;
    let client = object_store::ClientOptions::new()
        .with_connect_timeout(ms(timeouts.connect_ms))
        .with_read_timeout(ms(timeouts.read_ms))
        .with_timeout(ms(timeouts.request_ms));
    let retry = object_store::RetryConfig {
        max_retries: timeouts.max_retries,
        retry_timeout: ms(timeouts.retry_ms),
        ..object_store::RetryConfig::default()
    };
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_client_options(client)
        .with_retry(retry);
    // Only what the configuration says overrides the environment.
    let settings = [
        (AmazonS3ConfigKey::Endpoint, endpoint),
        (AmazonS3ConfigKey::Region, region),
        (AmazonS3ConfigKey::AccessKeyId, access_key_id),
        (AmazonS3ConfigKey::SecretAccessKey, secret_access_key),
    ];
    for (key, value) in settings {
        if let Some(value) = value {
            builder = builder.with_config(key, value);
        }
    }
    if *virtual_hosted_style {
        builder = builder.with_virtual_hosted_style_request(true);
    }
    if *allow_http {
        builder = builder.with_allow_http(true);
    }
    builder.build().map_err(|error| error.to_string())
}

/// A read's failure: `NoSuchKey` for a missing object (on a folder, also a path through a
/// file: `a/b` where `a` is an object), else an I/O error.
fn read_error(bucket: &str, key: &str, source: object_store::Error) -> StoreError {
    let missing = matches!(source, object_store::Error::NotFound { .. })
        || io_kind(&source) == Some(std::io::ErrorKind::NotADirectory);
    if missing {
        return StoreError::NoSuchKey {
            bucket: bucket.into(),
            key: key.into(),
        };
    }
    StoreError::Io {
        bucket: bucket.into(),
        key: key.into(),
        source,
    }
}

/// A write's failure: `KeyConflict` where a folder cannot keep the key (a file where its
/// folder would be, or a folder where the file would be), else an I/O error.
fn write_error(bucket: &str, key: &str, source: object_store::Error) -> StoreError {
    use std::io::ErrorKind;
    match io_kind(&source) {
        Some(ErrorKind::NotADirectory | ErrorKind::IsADirectory | ErrorKind::AlreadyExists) => {
            StoreError::KeyConflict {
                bucket: bucket.into(),
                key: key.into(),
            }
        }
        _ => StoreError::Io {
            bucket: bucket.into(),
            key: key.into(),
            source,
        },
    }
}

/// An object read from a bucket.
#[derive(Debug, Clone)]
pub struct Object {
    pub bytes: Bytes,
    pub etag: String,
    /// When the object was last written, as the backend says.
    pub last_modified: DateTime<Utc>,
    /// The backend's version tag (see [`ObjectInfo::version`]).
    pub version: String,
}

/// What the backend says about an object without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub last_modified: DateTime<Utc>,
    /// The backend's version tag (S3's ETag; a local file's inode, size and time): it changes
    /// whenever the object is written again.
    pub version: String,
}

impl Object {
    /// The MIME type of the image format its first bytes announce (read from the header,
    /// never decoded), or `application/octet-stream`.
    pub fn content_type(&self) -> &'static str {
        pipeline::probe(&self.bytes)
            .map(|info| info.format.mime())
            .unwrap_or("application/octet-stream")
    }
}

/// An object as a listing names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
    /// The backend's version tag (see [`ObjectInfo::version`]).
    pub version: String,
}

/// The backend's version tag of an object: S3's ETag, a local file's inode, time and size,
/// or (for a backend with neither) its size and time.
fn version_of(meta: &object_store::ObjectMeta) -> String {
    (meta.e_tag.clone())
        .unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.timestamp_micros()))
}

/// What lies along a path in a folder, as far as it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Along {
    /// Plain folders, then the file or nothing.
    Clear,
    /// A symbolic link somewhere on the way.
    Link,
    /// A file where a folder should be, or a folder where the file should be: the key
    /// cannot be written beside the objects there.
    Conflict,
}

/// What lies along `path` below the folder `root`. `checked` holds the folders already found
/// to be plain, so a listing checks each folder once.
fn walk(root: &std::path::Path, path: &Path, checked: &mut HashSet<PathBuf>) -> Along {
    let mut at = root.to_path_buf();
    let count = path.parts().count();
    for (index, part) in path.parts().enumerate() {
        at.push(part.as_ref());
        if checked.contains(&at) && index + 1 < count {
            continue;
        }
        let last = index + 1 == count;
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Along::Link,
            Ok(meta) if meta.is_dir() && last => return Along::Conflict,
            Ok(meta) if meta.is_dir() => {
                checked.insert(at.clone());
            }
            Ok(_) if last => return Along::Clear,
            Ok(_) => return Along::Conflict,
            Err(_) => return Along::Clear,
        }
    }
    Along::Clear
}

/// What a write produced.
#[derive(Debug, Clone)]
pub struct Stored {
    pub size: u64,
    /// The content hash, computed as Qiniu's `etag` (what Qiniu SDK users compare against).
    pub hash: String,
    /// Every digest of the bytes written (`hash` among them).
    pub digests: Digests,
    /// The backend's version tag of what was written (see [`ObjectInfo::version`]).
    pub version: String,
}

impl Stored {
    fn new(digests: Digests, version: String) -> Stored {
        Stored {
            size: digests.size,
            hash: digests.qiniu.clone(),
            digests,
            version,
        }
    }
}

/// The most of a streamed object held in memory: a stream that ends within it is written with
/// one put, a longer one through a multipart upload.
pub const SINGLE_PUT_BYTES: usize = 8 * 1024 * 1024;

/// Parts a multipart write keeps in flight at once.
const IN_FLIGHT_PARTS: usize = 4;

/// Hands `buffered`, then the rest of `chunks`, to a multipart `writer`, digesting the rest;
/// `io` names the object in a backend error.
async fn feed(
    writer: &mut object_store::WriteMultipart,
    buffered: object_store::PutPayloadMut,
    mut chunks: ByteStream,
    digester: &mut Digester,
    io: &(dyn Fn(object_store::Error) -> StoreError + Sync),
) -> Result<(), StoreError> {
    for chunk in buffered.freeze() {
        writer.put(chunk);
    }
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        digester.update(&chunk);
        writer
            .wait_for_capacity(IN_FLIGHT_PARTS)
            .await
            .map_err(io)?;
        writer.put(chunk);
    }
    Ok(())
}

/// `StoreError::Digest` when the client gave an MD5 and the bytes have another.
fn refuse_other_md5(
    bucket: &str,
    key: &str,
    expected_md5: Option<[u8; 16]>,
    digests: &Digests,
) -> Result<(), StoreError> {
    match expected_md5 {
        Some(expected) if expected != digests.md5 => {
            let base64 = |md5: &[u8]| base64::engine::general_purpose::STANDARD.encode(md5);
            Err(StoreError::Digest {
                bucket: bucket.to_string(),
                key: key.to_string(),
                given: base64(&expected),
                actual: base64(&digests.md5),
            })
        }
        _ => Ok(()),
    }
}

/// Where a watermark image named by `reference` is stored: `bucket:key`, or a key in the
/// source's bucket (see `pipeline::ops::watermark`). One rule for the API, which checks the
/// submitter may read that bucket, and the worker, which reads it.
pub fn asset_location<'a>(reference: &'a str, source_bucket: &'a str) -> (&'a str, &'a str) {
    match reference.split_once(':') {
        Some((bucket, key)) if validate_bucket(bucket).is_ok() => (bucket, key),
        _ => (source_bucket, reference),
    }
}

/// Checks a bucket name: letters, digits, `-`, `_`, `.`; 1 to 63 characters; no leading dot.
/// Bucket names become folder names, so nothing that could leave the data dir passes.
pub fn validate_bucket(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidBucket(name.to_string()))
    }
}

/// The configured buckets, and the folders of the data dir for all others.
pub struct Buckets {
    data_dir: PathBuf,
    configured: HashMap<String, Arc<dyn ObjectStore>>,
    /// The roots of the configured buckets that are folders (every bucket not configured is
    /// a folder of the data dir).
    configured_folders: HashMap<String, PathBuf>,
    local: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl Buckets {
    pub fn from_config(config: &Config) -> Result<Buckets, StoreError> {
        let mut configured: HashMap<String, Arc<dyn ObjectStore>> = HashMap::new();
        let mut configured_folders = HashMap::new();
        for (name, bucket) in &config.buckets {
            validate_bucket(name)?;
            let backend = |message: String| StoreError::Backend {
                bucket: name.clone(),
                message,
            };
            let store: Arc<dyn ObjectStore> = match bucket {
                BucketConfig::Memory => Arc::new(InMemory::new()),
                BucketConfig::Local { path } => {
                    let path = path.clone().unwrap_or_else(|| config.data_dir.join(name));
                    std::fs::create_dir_all(&path).map_err(|e| backend(e.to_string()))?;
                    configured_folders.insert(name.clone(), path.clone());
                    Arc::new(
                        LocalFileSystem::new_with_prefix(&path)
                            .map_err(|e| backend(e.to_string()))?,
                    )
                }
                BucketConfig::S3 { .. } => Arc::new(s3_store(bucket).map_err(backend)?),
            };
            configured.insert(name.clone(), store);
        }
        Ok(Buckets {
            data_dir: config.data_dir.clone(),
            configured,
            configured_folders,
            local: RwLock::new(HashMap::new()),
        })
    }

    /// The data dir is usable: it exists (or can be made) and is a directory.
    pub fn check_data_dir(&self) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.data_dir).map_err(|e| StoreError::Backend {
            bucket: self.data_dir.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Whether `bucket` exists: configured, or a folder of the data dir.
    pub fn bucket_exists(&self, bucket: &str) -> bool {
        validate_bucket(bucket).is_ok()
            && (self.configured.contains_key(bucket) || self.data_dir.join(bucket).is_dir())
    }

    /// Every bucket, in name order: the configured ones and the data dir's folders (those
    /// whose names a bucket may have).
    pub fn bucket_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.configured.keys().cloned().collect();
        if let Ok(entries) = std::fs::read_dir(&self.data_dir) {
            let folders = (entries.flatten())
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                .filter_map(|entry| entry.file_name().into_string().ok())
                .filter(|name| validate_bucket(name).is_ok());
            names.extend(folders);
        }
        names.sort();
        names.dedup();
        names
    }

    /// When a folder bucket was made (its folder's time); `None` for a configured one.
    pub fn bucket_created(&self, bucket: &str) -> Option<DateTime<Utc>> {
        if self.configured.contains_key(bucket) {
            return None;
        }
        let meta = std::fs::metadata(self.data_dir.join(bucket)).ok()?;
        meta.created()
            .or_else(|_| meta.modified())
            .ok()
            .map(Into::into)
    }

    /// Makes a folder bucket; `false` when the bucket existed already.
    pub fn create_bucket(&self, bucket: &str) -> Result<bool, StoreError> {
        if self.bucket_exists(bucket) {
            return Ok(false);
        }
        self.store(bucket, true)?;
        Ok(true)
    }

    /// Deletes a folder bucket that holds no object (what it holds in the reserved
    /// namespace, processed results and unfinished parts, goes with it). A configured bucket
    /// is the configuration's to remove.
    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), StoreError> {
        if self.configured.contains_key(bucket) {
            return Err(StoreError::Configured(bucket.to_string()));
        }
        let store = self.store(bucket, false)?;
        let mut listing = store.list(None);
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|source| StoreError::Io {
                bucket: bucket.into(),
                key: String::new(),
                source,
            })?;
            if key_at(&meta.location, self.layout(bucket))
                .is_none_or(|key| !key.starts_with(RESERVED_PREFIX))
            {
                return Err(StoreError::BucketNotEmpty(bucket.to_string()));
            }
        }
        if let Ok(mut map) = self.local.write() {
            map.remove(bucket);
        }
        std::fs::remove_dir_all(self.data_dir.join(bucket)).map_err(|e| StoreError::Backend {
            bucket: bucket.to_string(),
            message: e.to_string(),
        })
    }

    /// The folder `bucket` keeps its objects in; `None` for a flat store (S3, memory).
    fn folder_root(&self, bucket: &str) -> Option<PathBuf> {
        match self.configured.contains_key(bucket) {
            true => self.configured_folders.get(bucket).cloned(),
            false => Some(self.data_dir.join(bucket)),
        }
    }

    /// How `bucket`'s backend makes paths.
    fn layout(&self, bucket: &str) -> Layout {
        match self.folder_root(bucket) {
            Some(_) => Layout::Folder,
            None => Layout::Flat,
        }
    }

    /// Where `key` is kept in `bucket` (see [`crate::keys`]). On a folder, a path through a
    /// symbolic link is refused: the link may lead anywhere on the machine, and object_store's
    /// local store follows links.
    fn location(&self, bucket: &str, key: &str) -> Result<Path, StoreError> {
        self.checked_location(bucket, key, false)
    }

    /// [`Buckets::location`] for a write: on a folder, a key that cannot be a file there (a
    /// file on its way, a folder at its place) is refused before anything is written.
    fn write_location(&self, bucket: &str, key: &str) -> Result<Path, StoreError> {
        self.checked_location(bucket, key, true)
    }

    fn checked_location(&self, bucket: &str, key: &str, write: bool) -> Result<Path, StoreError> {
        let path = crate::keys::location(key, self.layout(bucket))?;
        let Some(root) = self.folder_root(bucket) else {
            return Ok(path);
        };
        let (bucket, key) = (bucket.to_string(), key.to_string());
        match walk(&root, &path, &mut HashSet::new()) {
            Along::Link => Err(StoreError::Link { bucket, key }),
            Along::Conflict if write => Err(StoreError::KeyConflict { bucket, key }),
            Along::Conflict | Along::Clear => Ok(path),
        }
    }

    /// The store behind `bucket`. A folder bucket that does not exist yet is created only
    /// when `create` is set (writes), so reads of unknown buckets leave no trace.
    fn store(&self, bucket: &str, create: bool) -> Result<Arc<dyn ObjectStore>, StoreError> {
        validate_bucket(bucket)?;
        if let Some(store) = self.configured.get(bucket) {
            return Ok(store.clone());
        }
        if let Some(store) = self.local.read().ok().and_then(|m| m.get(bucket).cloned()) {
            return Ok(store);
        }
        let folder = self.data_dir.join(bucket);
        if !folder.is_dir() {
            if !create {
                return Err(StoreError::NoSuchBucket(bucket.to_string()));
            }
            std::fs::create_dir_all(&folder).map_err(|e| StoreError::Backend {
                bucket: bucket.to_string(),
                message: e.to_string(),
            })?;
        }
        let store: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(&folder).map_err(|e| {
                StoreError::Backend {
                    bucket: bucket.to_string(),
                    message: e.to_string(),
                }
            })?);
        if let Ok(mut map) = self.local.write() {
            map.insert(bucket.to_string(), store.clone());
        }
        Ok(store)
    }

    /// Reads a whole object, refusing (before reading the body when the size is known, and
    /// while streaming otherwise) anything over `limit` bytes.
    pub async fn get(&self, bucket: &str, key: &str, limit: u64) -> Result<Object, StoreError> {
        let path = self.location(bucket, key)?;
        let store = match self.store(bucket, false) {
            Err(StoreError::NoSuchBucket(_)) => {
                return Err(StoreError::NoSuchKey {
                    bucket: bucket.into(),
                    key: key.into(),
                })
            }
            other => other?,
        };
        let io = |source| read_error(bucket, key, source);
        let too_large = |size: u64| StoreError::TooLarge {
            bucket: bucket.into(),
            key: key.into(),
            size,
            limit,
        };
        let result = store.get(&path).await.map_err(io)?;
        let last_modified = result.meta.last_modified;
        let version = version_of(&result.meta);
        if result.meta.size > limit {
            return Err(too_large(result.meta.size));
        }
        let bytes = if matches!(result.payload, GetResultPayload::File(..)) {
            // A local file is read in one blocking call of exactly the size checked above.
            // Its stream would hop to the blocking pool once per 8 KiB chunk: some 500 thread
            // hand-offs for a 4 MB photo, which cost more CPU than the read itself.
            result.bytes().await.map_err(io)?
        } else {
            // A remote body is counted as it arrives: its announced size is not trusted.
            let mut body = Vec::with_capacity(result.meta.size as usize);
            let mut stream = result.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(io)?;
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(too_large((body.len() + chunk.len()) as u64));
                }
                body.extend_from_slice(&chunk);
            }
            Bytes::from(body)
        };
        let etag = content_hash(bytes.clone()).await;
        Ok(Object {
            bytes,
            etag,
            last_modified,
            version,
        })
    }

    /// Whether the object exists (a missing bucket holds nothing).
    pub async fn exists(&self, bucket: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.size(bucket, key).await?.is_some())
    }

    /// The object's size in bytes, or `None` when it does not exist. Reads only metadata.
    pub async fn size(&self, bucket: &str, key: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.head(bucket, key).await?.map(|info| info.size))
    }

    /// What the backend says about the object, or `None` when it does not exist.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let path = self.location(bucket, key)?;
        let store = match self.store(bucket, false) {
            Err(StoreError::NoSuchBucket(_)) => return Ok(None),
            other => other?,
        };
        match store.head(&path).await {
            Ok(meta) => Ok(Some(ObjectInfo {
                version: version_of(&meta),
                size: meta.size,
                last_modified: meta.last_modified,
            })),
            Err(source) => match read_error(bucket, key, source) {
                StoreError::NoSuchKey { .. } => Ok(None),
                error => Err(error),
            },
        }
    }

    /// Every object whose key starts with `prefix`, in key (byte) order, the reserved
    /// namespace left out. Reads every key under the prefix's folder: a local folder keeps no
    /// order, so one page costs a walk of that folder.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, StoreError> {
        let store = self.store(bucket, false)?;
        let folder = prefix.rfind('/').map_or("", |end| &prefix[..end]);
        let path = match folder {
            "" => None,
            // No key lies under a folder no key can name.
            folder => match self.location(bucket, folder) {
                Ok(path) => Some(path),
                Err(_) => return Ok(Vec::new()),
            },
        };
        let mut stream = store.list(path.as_ref());
        let mut listed = Vec::new();
        let (root, mut plain) = (self.folder_root(bucket), HashSet::new());
        while let Some(meta) = stream.next().await {
            let meta = match meta {
                Ok(meta) => meta,
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(source) => {
                    return Err(StoreError::Io {
                        bucket: bucket.into(),
                        key: prefix.into(),
                        source,
                    })
                }
            };
            let Some(key) = key_at(&meta.location, self.layout(bucket)) else {
                continue;
            };
            if (root.as_ref())
                .is_some_and(|root| walk(root, &meta.location, &mut plain) == Along::Link)
            {
                continue;
            }
            if key.starts_with(prefix) && !key.starts_with(RESERVED_PREFIX) {
                listed.push(Listed {
                    key,
                    version: version_of(&meta),
                    size: meta.size,
                    last_modified: meta.last_modified,
                });
            }
        }
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listed)
    }

    /// Deletes an object. Deleting a key that does not exist succeeds, as on OSS and S3; a
    /// bucket that does not exist is `NoSuchBucket`.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        let path = self.location(bucket, key)?;
        let store = self.store(bucket, false)?;
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(StoreError::Io {
                bucket: bucket.into(),
                key: key.into(),
                source,
            }),
        }
    }

    /// Deletes the objects directly in `folder` (not those in its subfolders), returning how
    /// many went. A folder or bucket that does not exist holds nothing.
    pub async fn delete_folder_files(
        &self,
        bucket: &str,
        folder: &str,
    ) -> Result<usize, StoreError> {
        let path = self.location(bucket, folder)?;
        let store = match self.store(bucket, false) {
            Err(StoreError::NoSuchBucket(_)) => return Ok(0),
            other => other?,
        };
        let io = |source| StoreError::Io {
            bucket: bucket.into(),
            key: folder.into(),
            source,
        };
        let listing = match store.list_with_delimiter(Some(&path)).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(0),
            Err(source) => return Err(io(source)),
        };
        for object in &listing.objects {
            match store.delete(&object.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => return Err(io(source)),
            }
        }
        Ok(listing.objects.len())
    }

    /// Writes an object whole, whose digests are `digests` (computed here, while the bytes are
    /// written, when `None`). The backends write atomically (a temporary file renamed into
    /// place, or a single PUT), so a reader never sees a half-written target.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        bytes: Bytes,
        digests: Option<Digests>,
    ) -> Result<Stored, StoreError> {
        let path = self.write_location(bucket, key)?;
        let store = self.store(bucket, true)?;
        let digested = async {
            match digests {
                Some(digests) => digests,
                None => Digests::of(bytes.clone()).await,
            }
        };
        let write = store.put(&path, PutPayload::from_bytes(bytes.clone()));
        let (digests, written) = futures::join!(digested, write);
        let written = written.map_err(|source| write_error(bucket, key, source))?;
        let version = self.version_written(bucket, key, written.e_tag).await?;
        Ok(Stored::new(digests, version))
    }

    /// Writes an object from a stream of chunks, never holding more than
    /// [`SINGLE_PUT_BYTES`] of it: a stream that ends within them is written with one put (as
    /// [`Buckets::put`]), a longer one through the backend's multipart upload (staged and
    /// renamed into place on a folder, S3's multipart on S3), digested on the way. A failing
    /// stream, or one whose MD5 is not `expected_md5`, abandons the write before the object
    /// becomes visible: nothing is left at `key`, an earlier object there stays.
    ///
    /// (object_store's `BufWriter` makes the same choice, but its `AsyncWrite` shutdown drops
    /// the backend's ETag, which the version of the object is read from.)
    pub async fn put_stream(
        &self,
        bucket: &str,
        key: &str,
        mut chunks: ByteStream,
        expected_md5: Option<[u8; 16]>,
    ) -> Result<Stored, StoreError> {
        let path = self.write_location(bucket, key)?;
        let store = self.store(bucket, true)?;
        let io = |source| write_error(bucket, key, source);
        let mut digester = Digester::new();
        let mut buffered = object_store::PutPayloadMut::new();
        let mut overflow = None;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            digester.update(&chunk);
            if buffered.content_length() + chunk.len() > SINGLE_PUT_BYTES {
                overflow = Some(chunk);
                break;
            }
            buffered.push(chunk);
        }
        let written = match overflow {
            None => {
                let digests = digester.finish();
                refuse_other_md5(bucket, key, expected_md5, &digests)?;
                let written = store.put(&path, buffered.freeze()).await.map_err(io)?;
                (written.e_tag, digests)
            }
            Some(first) => {
                buffered.push(first);
                let upload = store.put_multipart(&path).await.map_err(io)?;
                let mut writer = object_store::WriteMultipart::new(upload);
                let fed = feed(&mut writer, buffered, chunks, &mut digester, &io).await;
                let digests = digester.finish();
                let checked =
                    fed.and_then(|()| refuse_other_md5(bucket, key, expected_md5, &digests));
                if let Err(error) = checked {
                    let _ = writer.abort().await;
                    return Err(error);
                }
                (writer.finish().await.map_err(io)?.e_tag, digests)
            }
        };
        let (e_tag, digests) = written;
        let version = self.version_written(bucket, key, e_tag).await?;
        Ok(Stored::new(digests, version))
    }

    /// Copies `from` to `to` within `bucket` on the backend (a file copy, S3's server-side
    /// copy), returning the copy's version tag.
    pub async fn copy_within(
        &self,
        bucket: &str,
        from: &str,
        to: &str,
    ) -> Result<String, StoreError> {
        let store = self.store(bucket, false)?;
        let (source, target) = (
            self.location(bucket, from)?,
            self.write_location(bucket, to)?,
        );
        store.copy(&source, &target).await.map_err(|source| {
            match read_error(bucket, from, source) {
                StoreError::Io { source, .. } => write_error(bucket, to, source),
                missing => missing,
            }
        })?;
        self.version_written(bucket, to, None).await
    }

    /// The version tag of what was just written: the backend's answer, else its listing's.
    async fn version_written(
        &self,
        bucket: &str,
        key: &str,
        tag: Option<String>,
    ) -> Result<String, StoreError> {
        match tag {
            Some(tag) => Ok(tag),
            None => Ok(self
                .head(bucket, key)
                .await?
                .map(|info| info.version)
                .unwrap_or_default()),
        }
    }

    /// A reader of the object as it is now: its description, and its bytes (all, or a range)
    /// streamed from the backend on demand, never held whole.
    pub async fn open(&self, bucket: &str, key: &str) -> Result<Option<Reader>, StoreError> {
        let path = self.location(bucket, key)?;
        let store = match self.store(bucket, false) {
            Err(StoreError::NoSuchBucket(_)) => return Ok(None),
            other => other?,
        };
        let Some(info) = self.head(bucket, key).await? else {
            return Ok(None);
        };
        Ok(Some(Reader {
            store,
            path,
            info,
            bucket: bucket.to_string(),
            key: key.to_string(),
        }))
    }
}

/// One object's bytes on its backend (see [`Buckets::open`]).
#[derive(Debug, Clone)]
pub struct Reader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    pub info: ObjectInfo,
    bucket: String,
    key: String,
}

/// The bytes `range` of a local file, read 1 MiB at a time on the blocking pool. object_store's
/// own stream of a file hops to the blocking pool once per 8 KiB, which held a 50 MiB GET to
/// a tenth of the disk's speed.
fn file_stream(
    file: std::fs::File,
    range: std::ops::Range<u64>,
    io: impl Fn(object_store::Error) -> StoreError + Send + Sync + 'static,
) -> ByteStream {
    let io = Arc::new(io);
    futures::stream::try_unfold((file, range), move |(file, range)| {
        let io = io.clone();
        async move {
            if range.start >= range.end {
                return Ok(None);
            }
            match tokio::task::spawn_blocking(move || read_at(file, range)).await {
                Ok(Ok((bytes, file, rest))) => Ok(Some((bytes, (file, rest)))),
                Ok(Err(error)) => Err(io(local_error(error.to_string()))),
                Err(error) => Err(io(local_error(error.to_string()))),
            }
        }
    })
    .boxed()
}

/// Up to 1 MiB of `file` from the start of `range`, and the rest of the range.
fn read_at(
    mut file: std::fs::File,
    range: std::ops::Range<u64>,
) -> std::io::Result<(Bytes, std::fs::File, std::ops::Range<u64>)> {
    use std::io::{Read, Seek, SeekFrom};
    const READ: u64 = 1024 * 1024;
    let want = (range.end - range.start).min(READ);
    let mut buffer = vec![0; usize::try_from(want).unwrap_or(0)];
    file.seek(SeekFrom::Start(range.start))?;
    file.read_exact(&mut buffer)?;
    Ok((Bytes::from(buffer), file, range.start + want..range.end))
}

fn local_error(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: message.into(),
    }
}

/// A stream of an object's bytes.
pub type ByteStream = futures::stream::BoxStream<'static, Result<Bytes, StoreError>>;

impl Reader {
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// The bytes in `range` (a byte range, end exclusive; `None`: all), of the version
    /// described: an object written again meanwhile fails the stream rather than mixing.
    pub fn stream(&self, range: Option<std::ops::Range<u64>>) -> ByteStream {
        let reader = self.clone();
        let opened = async move {
            let options = object_store::GetOptions {
                range: range.map(object_store::GetRange::Bounded),
                // Every backend here tags its objects (a local file by inode, time and size).
                if_match: Some(reader.info.version.clone()),
                ..Default::default()
            };
            let (bucket, key) = (reader.bucket.clone(), reader.key.clone());
            let io = move |source| StoreError::Io {
                bucket: bucket.clone(),
                key: key.clone(),
                source,
            };
            match reader.store.get_opts(&reader.path, options).await {
                Ok(result) => match result.payload {
                    GetResultPayload::File(file, _) => file_stream(file, result.range, io),
                    GetResultPayload::Stream(_) => result
                        .into_stream()
                        .map(move |chunk| chunk.map_err(&io))
                        .boxed(),
                },
                Err(source) => futures::stream::once(async move { Err(io(source)) }).boxed(),
            }
        };
        futures::stream::once(opened).flatten().boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buckets with `folder` under a fresh data dir (to remove) and `mem` in memory.
    fn folder_and_memory() -> (Buckets, PathBuf) {
        let data_dir =
            std::env::temp_dir().join(format!("ferrotype-buckets-{}", uuid::Uuid::new_v4()));
        let mut config = Config {
            data_dir: data_dir.clone(),
            ..Config::default()
        };
        config.buckets.insert("mem".into(), BucketConfig::Memory);
        (Buckets::from_config(&config).expect("buckets"), data_dir)
    }

    #[tokio::test]
    async fn folder_markers_and_dot_and_empty_segments_are_stored_listed_and_deleted_as_keys() {
        let (buckets, data_dir) = folder_and_memory();
        for bucket in ["folder", "mem"] {
            buckets
                .put(bucket, "d/", Bytes::new(), None)
                .await
                .expect("put");
            buckets
                .put(bucket, "d/x.txt", Bytes::from_static(b"x"), None)
                .await
                .expect("put");
            let keys: Vec<String> = (buckets.list(bucket, "d/").await.expect("list"))
                .into_iter()
                .map(|listed| listed.key)
                .collect();
            assert_eq!(keys, ["d/", "d/x.txt"], "{bucket}");
            for key in ["d/a//y", "d/../z", "d/./w", "d/\u{1}#1"] {
                let body = Bytes::from(key.as_bytes().to_vec());
                buckets
                    .put(bucket, key, body.clone(), None)
                    .await
                    .expect("put");
                let object = buckets.get(bucket, key, 1024).await.expect("get");
                assert_eq!(object.bytes, body, "{bucket} {key:?}");
            }
            let keys: Vec<String> = (buckets.list(bucket, "d/").await.expect("list"))
                .into_iter()
                .map(|listed| listed.key)
                .collect();
            assert_eq!(
                keys,
                ["d/", "d/\u{1}#1", "d/../z", "d/./w", "d/a//y", "d/x.txt"],
                "{bucket}"
            );
            let under: Vec<String> = (buckets.list(bucket, "d/a//").await.expect("list"))
                .into_iter()
                .map(|listed| listed.key)
                .collect();
            assert_eq!(under, ["d/a//y"], "{bucket}");
            assert!(buckets.exists(bucket, "d/").await.expect("exists"));
            buckets.delete(bucket, "d/").await.expect("delete");
            assert!(!buckets.exists(bucket, "d/").await.expect("exists"));
            assert!(buckets.exists(bucket, "d/x.txt").await.expect("exists"));
        }
        let _ = std::fs::remove_dir_all(data_dir);
    }

    #[tokio::test]
    async fn a_folder_refuses_a_key_that_would_be_a_file_and_a_folder_and_keeps_both() {
        let (buckets, data_dir) = folder_and_memory();
        let body = || Bytes::from_static(b"kept");
        for (first, second) in [("c", "c/d"), ("e/f", "e"), ("g/", "g//h")] {
            for bucket in ["folder", "mem"] {
                buckets.put(bucket, first, body(), None).await.expect("put");
                let second_put = buckets.put(bucket, second, body(), None).await;
                if bucket == "mem" {
                    assert!(second_put.is_ok(), "{second}: {second_put:?}");
                    continue;
                }
                assert!(
                    matches!(second_put, Err(StoreError::KeyConflict { .. })),
                    "{second}: {second_put:?}"
                );
                let chunks = futures::stream::iter([Ok(body())]).boxed();
                let streamed = buckets.put_stream(bucket, second, chunks, None).await;
                assert!(
                    matches!(streamed, Err(StoreError::KeyConflict { .. })),
                    "{second}: {streamed:?}"
                );
                let read = buckets.get(bucket, first, 16).await.expect("get");
                assert_eq!(read.bytes, body());
                assert_eq!(buckets.head(bucket, second).await.expect("head"), None);
            }
        }
        let missing = buckets.get("folder", "c/d/e", 16).await;
        assert!(
            matches!(missing, Err(StoreError::NoSuchKey { .. })),
            "{missing:?}"
        );
        let _ = std::fs::remove_dir_all(data_dir);
    }

    #[tokio::test]
    async fn a_folder_never_follows_a_symbolic_link_out_of_it() {
        let (buckets, data_dir) = folder_and_memory();
        let outside = data_dir.join("outside");
        std::fs::create_dir_all(&outside).expect("outside");
        std::fs::write(outside.join("secret"), b"secret").expect("secret");
        buckets
            .put("folder", "plain.txt", Bytes::from_static(b"plain"), None)
            .await
            .expect("put");
        let bucket = data_dir.join("folder");
        std::os::unix::fs::symlink(outside.join("secret"), bucket.join("file-link")).expect("ln");
        std::os::unix::fs::symlink(&outside, bucket.join("dir-link")).expect("ln");
        let linked =
            |result: &Result<_, StoreError>| matches!(result, Err(StoreError::Link { .. }));
        for key in ["file-link", "dir-link/secret"] {
            assert!(
                linked(&buckets.get("folder", key, 64).await.map(|_| ())),
                "{key}"
            );
            assert!(
                linked(&buckets.head("folder", key).await.map(|_| ())),
                "{key}"
            );
            assert!(linked(&buckets.delete("folder", key).await), "{key}");
        }
        let write = buckets
            .put("folder", "dir-link/new", Bytes::from_static(b"x"), None)
            .await;
        assert!(linked(&write.map(|_| ())));
        let copy = buckets
            .copy_within("folder", "plain.txt", "dir-link/copy")
            .await;
        assert!(linked(&copy.map(|_| ())));
        assert_eq!(std::fs::read_dir(&outside).expect("outside").count(), 1);
        assert_eq!(
            std::fs::read(outside.join("secret")).expect("secret"),
            b"secret"
        );
        let keys: Vec<String> = (buckets.list("folder", "").await.expect("list"))
            .into_iter()
            .map(|listed| listed.key)
            .collect();
        assert_eq!(keys, ["plain.txt"]);
        let _ = std::fs::remove_dir_all(data_dir);
    }

    async fn collect(stream: ByteStream) -> Vec<u8> {
        let chunks: Vec<Bytes> = stream.map(|chunk| chunk.expect("chunk")).collect().await;
        chunks.concat()
    }

    #[tokio::test]
    async fn streamed_writes_ranged_reads_and_copies_on_a_folder_and_in_memory() {
        let (buckets, data_dir) = folder_and_memory();
        let body = large_body();
        for bucket in ["folder", "mem"] {
            let chunks: Vec<Result<Bytes, StoreError>> = (body.chunks(1_000_003))
                .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
                .collect();
            let stored = buckets
                .put_stream(
                    bucket,
                    "s/t.bin",
                    futures::stream::iter(chunks).boxed(),
                    None,
                )
                .await
                .expect("put_stream");
            assert_eq!(stored.digests, Digests::of(Bytes::from(body.clone())).await);
            let reader = buckets
                .open(bucket, "s/t.bin")
                .await
                .expect("open")
                .expect("some");
            assert_eq!(reader.info.version, stored.version, "{bucket}");
            assert_eq!(
                collect(reader.stream(Some(10..20))).await,
                body[10..20].to_vec()
            );
            assert!(collect(reader.stream(None)).await == body, "{bucket}");
            let version = buckets
                .copy_within(bucket, "s/t.bin", "s/u.bin")
                .await
                .expect("copy");
            let copy = buckets
                .open(bucket, "s/u.bin")
                .await
                .expect("open")
                .expect("some");
            assert_eq!(copy.info.version, version);
            assert_eq!(copy.info.size, body.len() as u64);
            // A stream that fails leaves nothing behind.
            let failing = futures::stream::iter([
                Ok(Bytes::from_static(b"half")),
                Err(StoreError::InvalidKey("broken".into())),
            ]);
            let failed = buckets
                .put_stream(bucket, "s/v.bin", failing.boxed(), None)
                .await;
            assert!(failed.is_err());
            assert!(
                !buckets.exists(bucket, "s/v.bin").await.expect("exists"),
                "{bucket}"
            );
        }
        let _ = std::fs::remove_dir_all(data_dir);
    }

    /// Over the inline-hash threshold and over one 4 MiB Qiniu etag block, so both the
    /// blocking-pool hash and the two-level etag are exercised; not a multiple of anything.
    fn large_body() -> Vec<u8> {
        (0..5 * 1024 * 1024 + 3)
            .map(|i| (i * 7 % 251) as u8)
            .collect()
    }

    #[tokio::test]
    async fn a_large_object_reads_back_whole_with_its_hash_from_a_folder_and_from_memory() {
        let (buckets, data_dir) = folder_and_memory();
        let body = large_body();
        for bucket in ["folder", "mem"] {
            let bytes = Bytes::from(body.clone());
            let stored = buckets
                .put(bucket, "a/b.bin", bytes, None)
                .await
                .expect("put");
            assert_eq!(stored.hash, qiniu_etag(&body), "{bucket}");
            assert_eq!(stored.size, body.len() as u64);
            let object = buckets
                .get(bucket, "a/b.bin", 10 * 1024 * 1024)
                .await
                .expect("get");
            assert!(
                object.bytes.as_ref() == body.as_slice(),
                "{bucket}: body differs"
            );
            assert_eq!(object.etag, stored.hash, "{bucket}");
            let refused = buckets.get(bucket, "a/b.bin", 1024 * 1024).await;
            assert!(
                matches!(refused, Err(StoreError::TooLarge { .. })),
                "{bucket}: {refused:?}"
            );
        }
        let _ = std::fs::remove_dir_all(data_dir);
    }
}
