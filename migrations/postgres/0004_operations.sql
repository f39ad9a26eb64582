-- Operations: alert intake and `/inc stats`. Twinned in migrations/sqlite/0004_operations.sql.
-- (0003 is the interactivity migration.)
--
-- incidents.alert_key: what identifies the alert that opened the incident (`generic:<fingerprint>`
-- or `alertmanager:<groupKey>`); NULL for incidents people declared. An alert whose key matches an
-- OPEN incident adds a timeline entry instead of opening another; the store serialises alerts on
-- the counters row, as declarations do, so a burst of identical alerts opens one incident. Not
-- unique: a reopened incident may share its key with one opened while it was closed.
ALTER TABLE incidents ADD COLUMN alert_key TEXT;
CREATE INDEX incidents_by_alert_key ON incidents (alert_key) WHERE alert_key IS NOT NULL;

-- `/inc stats` reads a period by declaration time, then the period's role stretches (time to the
-- first coordinator) and timeline kinds (postmortem exported) in one query each.
CREATE INDEX incidents_by_declared_at ON incidents (declared_at);
CREATE INDEX role_assignments_by_incident ON role_assignments (incident_id, role, from_at);
CREATE INDEX timeline_events_by_kind ON timeline_events (kind, incident_id);
