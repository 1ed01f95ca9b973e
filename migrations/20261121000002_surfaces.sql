-- The vendor surfaces: how a job's callback is written, the request that made it, what
-- `force`/`returnOld` compare, styles and upload rules.

-- native | qiniu: the body the notify callback carries (the surface the job came through).
ALTER TABLE jobs ADD COLUMN notify_format TEXT NOT NULL DEFAULT 'native';
-- The request id the submitting surface answered with (Qiniu's `reqid`).
ALTER TABLE jobs ADD COLUMN request_id TEXT;

-- The command's canonical form (the parsed pipeline written back), and the source's content
-- hash when the item ran: an identical command on identical bytes to the same target is
-- not redone unless `force` (Qiniu `returnOld`).
ALTER TABLE job_items ADD COLUMN canonical TEXT;
ALTER TABLE job_items ADD COLUMN source_hash TEXT;
CREATE INDEX job_items_reuse ON job_items (target_bucket, target_key, canonical, source_hash)
    WHERE status = 0;

-- Named pipelines per bucket (OSS "图片样式"): `style/<name>`.
CREATE TABLE styles (
    bucket      TEXT NOT NULL,
    name        TEXT NOT NULL,
    -- The processing string in the OSS language (`image/...`).
    body        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, name)
);

-- Uploads whose key matches start a job.
CREATE TABLE upload_rules (
    id          UUID PRIMARY KEY,
    bucket      TEXT NOT NULL,
    prefix      TEXT NOT NULL DEFAULT '',
    suffix      TEXT NOT NULL DEFAULT '',
    -- The commands, one per item, in `dialect`.
    commands    TEXT[] NOT NULL,
    dialect     TEXT NOT NULL,
    notify_url  TEXT,
    created_by  TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX upload_rules_bucket ON upload_rules (bucket);
