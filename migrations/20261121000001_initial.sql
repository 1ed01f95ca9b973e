-- The job ledger: Postgres is the truth about every job. RabbitMQ only carries job ids.

CREATE TABLE access_keys (
    access_key  TEXT PRIMARY KEY,
    -- Stored as issued: the vendor signature schemes (HMAC-SHA1 over the request) need the
    -- plaintext secret on the server side, exactly as the vendors' own services keep it.
    secret_key  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE grants (
    access_key  TEXT NOT NULL REFERENCES access_keys (access_key) ON DELETE CASCADE,
    bucket      TEXT NOT NULL,
    can_read    BOOLEAN NOT NULL,
    can_write   BOOLEAN NOT NULL,
    PRIMARY KEY (access_key, bucket)
);

CREATE TABLE jobs (
    id                  UUID PRIMARY KEY,
    -- 0 success, 1 waiting, 2 processing, 3 failed, 4 callback failed (the vendors' codes).
    status              SMALLINT NOT NULL DEFAULT 1 CHECK (status BETWEEN 0 AND 4),
    input_bucket        TEXT NOT NULL,
    input_key           TEXT NOT NULL,
    pipeline            TEXT NOT NULL,
    -- 0 normal, 1 idle-time (low priority) as Qiniu's `type`.
    job_type            SMALLINT NOT NULL DEFAULT 0,
    force               BOOLEAN NOT NULL DEFAULT FALSE,
    submitted_by        TEXT,
    notify_url          TEXT,
    -- Set when the broker confirmed the message; NULL means the sweeper must (re)publish.
    published_at        TIMESTAMPTZ,
    -- The sweeper will not touch the job before this instant (publish grace, retry backoff).
    sweep_after         TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_owner         TEXT,
    lease_expires_at    TIMESTAMPTZ,
    attempts            INTEGER NOT NULL DEFAULT 0,
    last_error          TEXT,
    -- none | pending | delivered | failed
    notify_state        TEXT NOT NULL DEFAULT 'none',
    notify_attempts     INTEGER NOT NULL DEFAULT 0,
    notify_next_at      TIMESTAMPTZ,
    notify_error        TEXT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at         TIMESTAMPTZ
);

CREATE INDEX jobs_unpublished ON jobs (sweep_after) WHERE status IN (1, 2);
CREATE INDEX jobs_notify_due ON jobs (notify_next_at) WHERE notify_state = 'pending';

CREATE TABLE job_items (
    job_id          UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,
    cmd             TEXT NOT NULL,
    -- Which language `cmd` is written in: oss | qiniu. The worker parses it again.
    dialect         TEXT NOT NULL,
    target_bucket   TEXT NOT NULL,
    target_key      TEXT NOT NULL,
    status          SMALLINT NOT NULL DEFAULT 1 CHECK (status IN (0, 1, 2, 3)),
    size            BIGINT,
    hash            TEXT,
    width           INTEGER,
    height          INTEGER,
    format          TEXT,
    error_code      TEXT,
    error           TEXT,
    error_index     INTEGER,
    return_old      BOOLEAN NOT NULL DEFAULT FALSE,
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    PRIMARY KEY (job_id, idx)
);
