-- Many workspaces, one deployment: the installations Slack's OAuth flow made, and every incident
-- belonging to one workspace. Twinned in migrations/postgres/0010_workspaces.sql.
--
-- An installation is the app added to a workspace (team_id T…) or, installed org-wide on
-- Enterprise Grid, to an organisation (team_id is then the organisation's E…, and
-- is_enterprise_install is true). Its tokens are sealed with TOKEN_ENCRYPTION_KEY
-- (XChaCha20-Poly1305, src/tokens.rs): the columns hold `v1.<key id>.<nonce and ciphertext>`,
-- never a token, so a dump of this table cannot call Slack. uninstalled_at is set by
-- app_uninstalled or tokens_revoked; the row stays (its incidents keep their history).
-- settings is the workspace's own configuration (`/inc config`), JSON; unset keys fall back to
-- the environment's.
CREATE TABLE installations (
    team_id               TEXT PRIMARY KEY,
    enterprise_id         TEXT,
    is_enterprise_install BOOLEAN NOT NULL DEFAULT FALSE,
    team_name             TEXT    NOT NULL DEFAULT '',
    bot_user_id           TEXT    NOT NULL,
    scopes                TEXT    NOT NULL DEFAULT '',
    installer             TEXT,
    bot_token             TEXT    NOT NULL,
    refresh_token         TEXT,
    token_expires_at      INTEGER,
    installed_at          INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    uninstalled_at        INTEGER,
    settings              TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX installations_by_enterprise ON installations (enterprise_id);

-- The workspace an incident belongs to: '' is the deployment's own (SLACK_BOT_TOKEN's), so every
-- earlier incident stays where it was. Incidents are numbered per workspace: team_number is the
-- n of INC-n, counted by the counter row `incident_number:<workspace>` (the deployment's own:
-- `incident_number:`, which carries on from the old count). `number` keeps its UNIQUE of 0001
-- (SQLite cannot drop it without rebuilding the table) and is no longer shown: it takes the
-- value of the `incident_number` row, which every declaration in any workspace still locks and
-- counts, so it never collides.
ALTER TABLE incidents ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN team_number INTEGER;
UPDATE incidents SET team_number = number;
CREATE UNIQUE INDEX incidents_by_team_number ON incidents (team_id, team_number);
CREATE INDEX incidents_by_team_status ON incidents (team_id, status);
INSERT INTO counters (name, value) SELECT 'incident_number:', value FROM counters
    WHERE name = 'incident_number';
