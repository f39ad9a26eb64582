-- Running an incident from its channel. Twinned in migrations/sqlite/0002_run_incidents.sql.
--
-- incidents: `version` is bumped by every recorded change, and a change is stored only against
-- the version it was decided on (two replicas, two quick commands: the second is re-decided);
-- `last_update_at` (the declaration counts as the first update) and `resolved_at`.
ALTER TABLE incidents ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN last_update_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN resolved_at BIGINT;
UPDATE incidents SET last_update_at = declared_at;

-- jobs: a key names the cause of a job and is unique only among PENDING jobs, so a job that
-- "brings X up to date" can be re-armed while it waits (its generation is bumped) and a later
-- change can enqueue it again once it ran. `lane` orders jobs that must not overtake each other
-- (posts to one channel): only the oldest pending job of a lane may run, and `lanes.free_at`
-- spaces them (Slack allows about one message a second per channel).
ALTER TABLE jobs DROP CONSTRAINT jobs_key_key;
ALTER TABLE jobs ADD COLUMN lane TEXT;
CREATE UNIQUE INDEX jobs_pending_key ON jobs (key) WHERE state = 'pending';
CREATE INDEX jobs_lane ON jobs (lane, id) WHERE state = 'pending';

-- When each lane may run its next job.
CREATE TABLE lanes (
    name    TEXT PRIMARY KEY,
    free_at BIGINT NOT NULL
);
