-- Running an incident from its channel. Twinned in migrations/postgres/0002_run_incidents.sql.
--
-- incidents: `version` is bumped by every recorded change, and a change is stored only against
-- the version it was decided on (two replicas, two quick commands: the second is re-decided);
-- `last_update_at` (the declaration counts as the first update) and `resolved_at`.
ALTER TABLE incidents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN last_update_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN resolved_at INTEGER;
UPDATE incidents SET last_update_at = declared_at;

-- jobs: a key names the cause of a job and is unique only among PENDING jobs, so a job that
-- "brings X up to date" can be re-armed while it waits (its generation is bumped) and a later
-- change can enqueue it again once it ran. `lane` orders jobs that must not overtake each other
-- (posts to one channel): only the oldest pending job of a lane may run, and `lanes.free_at`
-- spaces them (Slack allows about one message a second per channel).
-- SQLite cannot drop the inline UNIQUE of 0001's `key`, so the table is rebuilt.
CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER REFERENCES incidents (id),
    kind        TEXT    NOT NULL,
    key         TEXT,                               -- the cause; unique among pending jobs
    lane        TEXT,                               -- jobs of one lane run one at a time, in order
    payload     TEXT    NOT NULL DEFAULT '{}',      -- JSON
    state       TEXT    NOT NULL DEFAULT 'pending', -- pending, done, failed, cancelled
    run_at      INTEGER NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    generation  INTEGER NOT NULL DEFAULT 0,         -- bumped when a pending job is re-armed
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
INSERT INTO jobs_new (id, incident_id, kind, key, payload, state, run_at, attempt, lease_owner,
                      lease_until, generation, last_error, created_at, updated_at)
    SELECT id, incident_id, kind, key, payload, state, run_at, attempt, lease_owner,
           lease_until, generation, last_error, created_at, updated_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';
CREATE UNIQUE INDEX jobs_pending_key ON jobs (key) WHERE state = 'pending';
CREATE INDEX jobs_lane ON jobs (lane, id) WHERE state = 'pending';

-- When each lane may run its next job.
CREATE TABLE lanes (
    name    TEXT PRIMARY KEY,
    free_at INTEGER NOT NULL
);
