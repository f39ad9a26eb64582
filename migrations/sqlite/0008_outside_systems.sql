-- Outside systems (PagerDuty, Statuspage). Twinned in migrations/postgres/0008_outside_systems.sql.

-- What a job learned about an object in an outside system, one row per object: the incident it
-- belongs to, the system (`pagerduty`, `statuspage`), the kind of object (`page`,
-- `status_incident`), which one of that kind (`name`: the PagerDuty service; empty when an
-- incident has one), the system's own reference (the dedup key, the status-page incident id),
-- where people see it (`url`) and what the system last told us (`state`, `detail`: acknowledged,
-- by whom). Written through one path (src/store/refs.rs); a new system adds rows, not columns.
CREATE TABLE external_refs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    system      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    reference   TEXT    NOT NULL,
    url         TEXT,
    state       TEXT,
    detail      TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (incident_id, system, kind, name)
);
-- Inbound news (a PagerDuty webhook) names the object by the system's reference.
CREATE INDEX external_refs_by_reference ON external_refs (system, reference);

-- Work done once per incident for good (a rule's action): enqueued only if no job ever had the
-- key, which needs the key findable in every state, not only among pending jobs.
CREATE INDEX jobs_key ON jobs (key);
