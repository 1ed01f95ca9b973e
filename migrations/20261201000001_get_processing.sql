-- Reading objects and processed results on GET: who may read a bucket, how its URLs name
-- styles, which originals anonymous readers only get through a style, which hosts serve it,
-- and which results are made or being made.

CREATE TABLE bucket_settings (
    bucket              TEXT PRIMARY KEY,
    -- private | public-read (OSS x-oss-acl; a Qiniu public or private space).
    acl                 TEXT NOT NULL DEFAULT 'private' CHECK (acl IN ('private', 'public-read')),
    -- Characters that end an object's name and start a style's in a GET path
    -- (`photo.jpg!small`: OSS 2.8 分隔符, Qiniu 样式分隔符). Empty: none.
    style_separators    TEXT NOT NULL DEFAULT '',
    -- Suffixes (`jpg`, `png`) of originals anonymous readers get only through a style
    -- (OSS 2.9 原图保护).
    protected_suffixes  TEXT[] NOT NULL DEFAULT '{}',
    -- The Cache-Control of what GET answers from this bucket; NULL: none.
    cache_control       TEXT,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Hosts that serve one bucket at their root (Qiniu bound download domains):
-- `GET http://<host>/<key>?<fop>`.
CREATE TABLE download_hosts (
    host        TEXT PRIMARY KEY,
    bucket      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX download_hosts_bucket ON download_hosts (bucket);

-- Results of processing on GET: where each is stored, and the job that makes (or made) it.
-- The key is derived from the canonical pipeline and the source's version, so one row per
-- result; concurrent requests for the same result find the one job in flight here.
CREATE TABLE derived_results (
    bucket      TEXT NOT NULL,
    result_key  TEXT NOT NULL,
    job_id      UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, result_key)
);
