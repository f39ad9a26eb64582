-- The foundation schema: incidents with their role history and timeline, idempotency keys for
-- Slack payloads, and the durable job table (RELIABILITY.md §1.2) that runs every Slack side
-- effect. Twinned in migrations/postgres/0001_init.sql: same tables, columns and meaning.
--
-- Times are INTEGER unix milliseconds (UTC) on both backends, so that the store's queries and row
-- mapping are one piece of code (src/store/sql.rs).

-- Gapless per-name counters. Declaring locks the 'incident_number' row, which also serialises
-- concurrent declarations across PostgreSQL replicas.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('incident_number', 0);

CREATE TABLE incidents (
    id                   INTEGER PRIMARY KEY,
    number               INTEGER NOT NULL UNIQUE,   -- shown as INC-<number>
    title                TEXT    NOT NULL,
    severity             TEXT    NOT NULL,          -- sev1, sev2, …
    status               TEXT    NOT NULL,          -- triage, investigating, …, resolved, declined
    private              BOOLEAN NOT NULL DEFAULT FALSE,
    summary              TEXT,
    channel_id           TEXT UNIQUE,               -- set once the channel exists
    channel_name         TEXT,                      -- the name last attempted (see app::steps)
    card_ts              TEXT,                      -- the pinned incident card
    announcement_channel TEXT,
    announcement_ts      TEXT,
    declared_by          TEXT    NOT NULL,
    declared_at          INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX incidents_by_status ON incidents (status);

-- Who held which role, from when to when; the current holder has to_at NULL.
CREATE TABLE role_assignments (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    role        TEXT    NOT NULL,                   -- coordinator, operator, comms
    user_id     TEXT    NOT NULL,
    assigned_by TEXT,                               -- NULL: the bot (e.g. at declaration)
    from_at     INTEGER NOT NULL,
    to_at       INTEGER
);
CREATE UNIQUE INDEX role_assignments_current ON role_assignments (incident_id, role) WHERE to_at IS NULL;

CREATE TABLE timeline_events (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    kind        TEXT    NOT NULL,                   -- domain::TimelineKind
    actor       TEXT,                               -- Slack user id; NULL for the bot itself
    at          INTEGER NOT NULL,
    data        TEXT    NOT NULL DEFAULT '{}'       -- JSON
);
CREATE INDEX timeline_events_by_incident ON timeline_events (incident_id, at);

-- One row per Slack payload already acted on (trigger_id, view id, event_id, …), written in the
-- same transaction as the change it caused. Kept at least a day (Slack retries for ~5 minutes).
CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    incident_id INTEGER REFERENCES incidents (id),
    created_at  INTEGER NOT NULL
);

-- Durable jobs: outbox steps (create_channel, invite, …) now, reminders next. Claimed with a
-- lease (lease_owner is a random per-process id); completion is fenced on lease_owner and
-- generation so a stale worker can never overwrite newer work.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER REFERENCES incidents (id),
    kind        TEXT    NOT NULL,
    key         TEXT UNIQUE,                        -- optional dedupe key (one step per incident)
    payload     TEXT    NOT NULL DEFAULT '{}',      -- JSON
    state       TEXT    NOT NULL DEFAULT 'pending', -- pending, done, failed
    run_at      INTEGER NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    generation  INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';
