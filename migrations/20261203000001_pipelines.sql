-- Named pipelines (queues) created through the native API, besides those the configuration
-- lists: a job naming one (Qiniu `pipeline=`, `persistentPipeline`) goes to its own queue,
-- which every worker consumes once it has seen the row.
CREATE TABLE pipelines (
    name        TEXT PRIMARY KEY,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
