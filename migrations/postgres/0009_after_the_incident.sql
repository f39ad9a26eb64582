-- After the incident: the postmortem's owner, deadline and final document, the channel's
-- archiving; drills and duplicates, which the reports leave out. Twinned in migrations/sqlite/0009_after_the_incident.sql.
--
-- postmortem_owner is a Slack user id (set at resolution: the coordinator, unless someone was
-- named); postmortem_due_at and postmortem_done_at are unix milliseconds, postmortem_link where
-- the final document lives (`/inc postmortem done <link>`). archived_at is when the bot archived
-- the channel; keep_channel is `/inc keep`: never archive it. drill marks an exercise (paged to
-- nobody, out of the stats); duplicate_of is the incident this one was closed as a duplicate of.
-- impact_started_at and impact_ended_at bound the customers' impact (`/inc impact`), in unix ms.
ALTER TABLE incidents ADD COLUMN postmortem_owner TEXT;
ALTER TABLE incidents ADD COLUMN postmortem_due_at BIGINT;
ALTER TABLE incidents ADD COLUMN postmortem_done_at BIGINT;
ALTER TABLE incidents ADD COLUMN postmortem_link TEXT;
ALTER TABLE incidents ADD COLUMN archived_at BIGINT;
ALTER TABLE incidents ADD COLUMN keep_channel BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE incidents ADD COLUMN drill BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE incidents ADD COLUMN duplicate_of BIGINT REFERENCES incidents (id);
ALTER TABLE incidents ADD COLUMN impact_started_at BIGINT;
ALTER TABLE incidents ADD COLUMN impact_ended_at BIGINT;
