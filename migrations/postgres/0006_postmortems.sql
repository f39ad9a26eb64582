-- Postmortem drafts. Twinned in migrations/sqlite/0006_postmortems.sql.

-- Every draft exported, kept so the CLI can print it even when its upload to Slack failed
-- (`incident-commander postmortem INC-n`). version counts from 1 per incident; job_key is the
-- export job's key, so a retried job saves over its own draft instead of adding a version.
CREATE TABLE postmortems (
    incident_id  BIGINT NOT NULL REFERENCES incidents (id),
    version      BIGINT NOT NULL,
    job_key      TEXT    NOT NULL UNIQUE,
    markdown     TEXT    NOT NULL,
    requested_by TEXT,
    generated_at BIGINT NOT NULL,
    PRIMARY KEY (incident_id, version)
);
