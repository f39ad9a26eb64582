-- Update reminders, the coordinator nudge and the digest. Twinned in
-- migrations/postgres/0005_reminders.sql.
-- (0004 is the alert intake's.)

-- reminder_ms: NULL follows the configured intervals, 0 is off (/inc remind off), otherwise this
-- incident's own interval in milliseconds (/inc remind 15m). last_reminded_at: the reminder's
-- cadence restarts from the last one, so downtime never causes a burst. snoozed_until: "Snooze
-- 30m" defers the next reminder.
ALTER TABLE incidents ADD COLUMN reminder_ms INTEGER;
ALTER TABLE incidents ADD COLUMN last_reminded_at INTEGER;
ALTER TABLE incidents ADD COLUMN snoozed_until INTEGER;

-- The digest lists resolved incidents whose postmortem is still to be written.
CREATE INDEX incidents_by_resolution ON incidents (status, resolved_at);
