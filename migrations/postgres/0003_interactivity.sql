-- Declaring from a modal or a message, and hearing Slack's events. Twinned in
-- migrations/sqlite/0003_interactivity.sql.

-- From the Declare modal: who or what is affected; from the "Declare incident" shortcut: the
-- message it was declared from. One message yields one incident: a second shortcut on it finds
-- the first (NULLs are distinct, so incidents declared otherwise are not constrained).
ALTER TABLE incidents ADD COLUMN impact TEXT;
ALTER TABLE incidents ADD COLUMN source_channel TEXT;
ALTER TABLE incidents ADD COLUMN source_ts TEXT;
ALTER TABLE incidents ADD COLUMN source_link TEXT;
CREATE UNIQUE INDEX incidents_by_source ON incidents (source_channel, source_ts);

-- Who joined an incident's channel (member_joined_channel): a private incident is listed to them.
CREATE TABLE participants (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    user_id     TEXT    NOT NULL,
    joined_at   BIGINT NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX participants_by_user ON participants (user_id);

-- The incident channel's pinned messages as the events told them (pin_added, pin_removed,
-- message_changed, message_deleted): a projection of the timeline's pin entries, written in the
-- same transaction, so an offline postmortem has the pins' last known text.
CREATE TABLE pins (
    incident_id  BIGINT NOT NULL REFERENCES incidents (id),
    ts           TEXT    NOT NULL,                  -- the pinned message
    author       TEXT,                              -- Slack user id; NULL for a bot
    author_label TEXT,                              -- a bot's name
    text         TEXT    NOT NULL,
    pinned_by    TEXT,
    pinned_at    BIGINT NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pinned', -- pinned, unpinned, deleted
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (incident_id, ts)
);
