-- Multipart uploads in progress (OSS InitiateMultipartUpload ... CompleteMultipartUpload).
-- The parts' bytes are objects on the bucket's own backend, under the reserved namespace
-- (`.ferrotype/uploads/<upload_id>/<part_number>`); these rows say which parts exist and
-- what their digests are, so that a completion is checked without reading them again.
CREATE TABLE multipart_uploads (
    upload_id     UUID PRIMARY KEY,
    bucket        TEXT NOT NULL,
    key           TEXT NOT NULL,
    -- The metadata given at initiation, stored with the object on completion:
    -- {"content_type": ..., "headers": {...}, "user_meta": {...}}.
    meta          JSONB NOT NULL,
    initiated_by  TEXT NOT NULL,
    initiated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX multipart_uploads_bucket_key ON multipart_uploads (bucket, key, upload_id);

CREATE TABLE multipart_parts (
    upload_id     UUID NOT NULL REFERENCES multipart_uploads (upload_id) ON DELETE CASCADE,
    part_number   INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    size          BIGINT NOT NULL,
    md5           BYTEA NOT NULL,
    -- CRC-64/ECMA-182, decimal (see object_records.crc64).
    crc64         TEXT NOT NULL,
    uploaded_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (upload_id, part_number)
);
