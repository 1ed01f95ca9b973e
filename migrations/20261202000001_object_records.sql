-- What Ferrotype knows about an object beyond its bytes: the metadata its uploader gave and
-- the digests the surfaces answer with. The bytes stay on the bucket's backend; this row is
-- trusted only while the backend's version tag of the object is still `version` (a file
-- replaced by hand, or by another writer of an S3 bucket, gets a new tag, and its row is then
-- derived again from its bytes).
CREATE TABLE object_records (
    bucket        TEXT NOT NULL,
    key           TEXT NOT NULL,
    version       TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content_type  TEXT NOT NULL,
    -- Content-Disposition, Content-Encoding, Content-Language, Cache-Control, Expires:
    -- lower-case header name to value.
    headers       JSONB NOT NULL DEFAULT '{}',
    -- The user's metadata (OSS x-oss-meta-*, Qiniu x-qn-meta-*): lower-case name, without
    -- the prefix, to value.
    user_meta     JSONB NOT NULL DEFAULT '{}',
    md5           BYTEA NOT NULL,
    -- CRC-64/ECMA-182 as OSS answers it; a u64 does not fit BIGINT, so its decimal text.
    crc64         TEXT NOT NULL,
    qiniu_hash    TEXT NOT NULL,
    -- The number of parts of an object completed from a multipart upload, else NULL.
    parts         INTEGER,
    written_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, key)
);
