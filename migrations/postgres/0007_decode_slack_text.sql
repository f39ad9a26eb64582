-- Text people typed, as they typed it. Twinned in migrations/sqlite/0007_decode_slack_text.sql.
--
-- Slack escapes `&`, `<` and `>` (`&amp;`, `&lt;`, `&gt;`) in everything typed into a message or
-- a slash command; what a person picks from its pop-ups stays a token (`<@U1|bob>`, `<#C1|ops>`,
-- `<https://x?a=1&amp;b=2|label>`, `<!here>`). Versions up to 0006 stored such text as Slack sent
-- it; this version decodes it once where it enters (domain::mrkdwn::from_slack: entities decoded
-- outside `<…>` sequences, the sequences kept verbatim) and escapes once on the way out, so an old
-- row would show `R&amp;amp;D`. This migration gives old rows the form the code now writes.
--
-- Decoded — text that came from Slack escaped:
--   incidents.title and its `declared` entry's title, unless the incident was opened by an alert
--     (alert_key set: the monitor's JSON) or declared from a message (source_ts set: the Declare
--     modal's title was prefilled with the message as plain text, already decoded). That leaves
--     `/inc declare <sev> <title>` — and the Declare modal opened by `/inc declare <title>`
--     without a severity, which prefilled the title with the command's escaped text; a title
--     typed into an empty Declare modal cannot be told from it, and a literal `&amp;` typed there
--     is far rarer than an `&` prefilled from the command, so those are decoded too.
--   incidents.summary, when the incident has a `summary_set` entry: it was last set by
--     `/inc summary` or by the Update modal, whose summary field was prefilled with the summary
--     as stored (escaped when a command had set it) — the two cannot be told apart, so both are
--     decoded. Without one, the summary is the Declare modal's (typed, or prefilled as plain
--     text) or the alert's, and stays.
--   timeline entries: `update` text from `/inc update` (not from the Update modal, below);
--     `summary_set`, `note`, `follow_up` text, `escalated` message, `resolved` text, `declined`
--     reason (slash commands); `source_message`, `pinned`, `pin_edited` text (messages read from
--     events and the Web API, with their attachments and block texts).
--   pins.text (the pin events' message text).
-- Left as stored:
--   `update` entries recorded with a `view:` idempotency key (the same incident, the same
--     millisecond): the Update modal's update field starts empty and arrives as typed.
--   incidents.impact (the Declare modal's field, which starts empty), alert titles, summaries and
--     `alert_received`/`alert_resolved` entries (JSON from monitors), channel names (Slack already
--     has them), bots' author labels, permalinks, step errors, and everything the bot composed.
--   jobs.payload: a pending post already holds the message as the old version rendered it;
--     decoding rendered mrkdwn would turn an escaped `&lt;!here&gt;` into a ping.
--   postmortems.markdown: a draft is what was uploaded then; exporting again writes a new one.
--   The second copy in an old message text: that code appended a message's block texts to its
--     text, so a typed message also kept its rich_text words (`R&D <beta>` after
--     `R&amp;D &lt;beta&gt;`); they cannot be told from text the message really repeated.
--
-- Exactly once: sqlx records the migration in the transaction that applies it (on PostgreSQL
-- under its advisory lock, so replicas starting together apply it once) — which is why this is
-- SQL and not a Rust step after the migrations, which would need a marker and a lock of its own
-- and would meet whatever schema later migrations leave. Only outside tokens:
-- plain REPLACE over a whole text would also decode a token's inside, which the code keeps in
-- Slack's form, so each text is cut at every `<` (a recursive query) and each piece after one is
-- read as from_slack reads it: a token when a `>` closes it before any `<` or line break, kept as
-- it is; otherwise a lone `<`. Between tokens, REPLACE `&lt;`, then `&gt;`, then `&amp;` undoes
-- one level exactly (Slack escapes `&` first; no entity overlaps another). tests/it/upgrade.rs
-- checks this against from_slack itself, on both backends. Rows without an `&` are not touched.
-- (PostgreSQL: the entry's JSON is read and rewritten through jsonb, so a rewritten row's JSON has
-- jsonb's spacing and key order; every reader parses it. A text holding `\u0000`, which jsonb
-- refuses, is left as it is rather than failing the upgrade.)

-- Each text to decode: which row and field it is, and what it says.
CREATE TABLE decode_0007 (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT,                -- incidents.title/summary, pins
    event_id    BIGINT,                -- timeline_events
    pin_ts      TEXT,                  -- pins
    field       TEXT    NOT NULL,      -- 'title', 'summary', 'pin', or the entry's JSON key
    src         TEXT    NOT NULL,
    out         TEXT
);

INSERT INTO decode_0007 (incident_id, field, src)
    SELECT id, 'title', title FROM incidents
    WHERE title LIKE '%&%' AND alert_key IS NULL AND source_ts IS NULL;

INSERT INTO decode_0007 (incident_id, field, src)
    SELECT i.id, 'summary', i.summary FROM incidents i
    WHERE i.summary LIKE '%&%'
      AND EXISTS (SELECT 1 FROM timeline_events e
                  WHERE e.incident_id = i.id AND e.kind = 'summary_set');

-- An entry's JSON is read only when its text has an `&` and nothing jsonb refuses.
CREATE TABLE decode_0007_entry AS
    SELECT e.id, e.incident_id, e.kind, e.at, e.data::jsonb AS data
    FROM timeline_events e
    WHERE e.kind IN ('declared', 'update', 'summary_set', 'note', 'follow_up', 'escalated',
                     'resolved', 'declined', 'source_message', 'pinned', 'pin_edited')
      AND strpos(e.data, '&') > 0 AND strpos(e.data, '\u0000') = 0;

INSERT INTO decode_0007 (event_id, field, src)
    SELECT e.id, 'title', e.data ->> 'title'
    FROM decode_0007_entry e JOIN incidents i ON i.id = e.incident_id
    WHERE e.kind = 'declared' AND e.data ->> 'title' LIKE '%&%'
      AND i.alert_key IS NULL AND i.source_ts IS NULL;

INSERT INTO decode_0007 (event_id, field, src)
    SELECT e.id, 'text', e.data ->> 'text' FROM decode_0007_entry e
    WHERE e.kind = 'update' AND e.data ->> 'text' LIKE '%&%'
      AND NOT EXISTS (SELECT 1 FROM idempotency_keys k
                      WHERE k.incident_id = e.incident_id AND k.created_at = e.at
                        AND k.key LIKE 'view:%');

INSERT INTO decode_0007 (event_id, field, src)
    SELECT id, 'text', data ->> 'text' FROM decode_0007_entry
    WHERE kind IN ('summary_set', 'note', 'follow_up', 'resolved', 'source_message', 'pinned',
                   'pin_edited')
      AND data ->> 'text' LIKE '%&%';

INSERT INTO decode_0007 (event_id, field, src)
    SELECT id, 'message', data ->> 'message' FROM decode_0007_entry
    WHERE kind = 'escalated' AND data ->> 'message' LIKE '%&%';

INSERT INTO decode_0007 (event_id, field, src)
    SELECT id, 'reason', data ->> 'reason' FROM decode_0007_entry
    WHERE kind = 'declined' AND data ->> 'reason' LIKE '%&%';

INSERT INTO decode_0007 (incident_id, pin_ts, field, src)
    SELECT incident_id, ts, 'pin', text FROM pins WHERE text LIKE '%&%';

CREATE INDEX decode_0007_by_incident ON decode_0007 (incident_id, field);
CREATE INDEX decode_0007_by_event ON decode_0007 (event_id);

-- Each text in pieces: piece 0 is what precedes its first `<`; piece n > 0 follows its n-th `<`
-- up to the next one. A piece after a `<` is a token up to its first `>` when no line break
-- comes first (from_slack's rule; the piece holds no `<`).
CREATE TABLE decode_0007_piece (
    id  BIGINT  NOT NULL,
    seq INTEGER NOT NULL,
    out TEXT    NOT NULL,
    PRIMARY KEY (id, seq)
);

WITH RECURSIVE split (id, seq, piece, rest) AS (
    SELECT id, 0,
           CASE WHEN strpos(src, '<') = 0 THEN src ELSE substr(src, 1, strpos(src, '<') - 1) END,
           CASE WHEN strpos(src, '<') = 0 THEN NULL ELSE substr(src, strpos(src, '<') + 1) END
    FROM decode_0007
    UNION ALL
    SELECT id, seq + 1,
           CASE WHEN strpos(rest, '<') = 0 THEN rest ELSE substr(rest, 1, strpos(rest, '<') - 1) END,
           CASE WHEN strpos(rest, '<') = 0 THEN NULL ELSE substr(rest, strpos(rest, '<') + 1) END
    FROM split WHERE rest IS NOT NULL
)
INSERT INTO decode_0007_piece (id, seq, out)
    SELECT id, seq,
           CASE WHEN seq > 0 AND gt > 0 AND (nl = 0 OR gt < nl)
                THEN '<' || substr(piece, 1, gt)
                     || replace(replace(replace(substr(piece, gt + 1),
                                                '&lt;', '<'), '&gt;', '>'), '&amp;', '&')
                ELSE CASE WHEN seq > 0 THEN '<' ELSE '' END
                     || replace(replace(replace(piece, '&lt;', '<'), '&gt;', '>'), '&amp;', '&')
           END
    FROM (SELECT id, seq, piece, strpos(piece, '>') AS gt, strpos(piece, chr(10)) AS nl
          FROM split) AS pieces;

UPDATE decode_0007 SET out = (
    SELECT string_agg(p.out, '' ORDER BY p.seq) FROM decode_0007_piece p
    WHERE p.id = decode_0007.id
);

-- Written back where decoding changed something.
UPDATE incidents SET title = w.out FROM decode_0007 w
WHERE w.incident_id = incidents.id AND w.field = 'title' AND w.out <> w.src;

UPDATE incidents SET summary = w.out FROM decode_0007 w
WHERE w.incident_id = incidents.id AND w.field = 'summary' AND w.out <> w.src;

UPDATE timeline_events SET data = jsonb_set(e.data, ARRAY[w.field], to_jsonb(w.out))::text
FROM decode_0007 w JOIN decode_0007_entry e ON e.id = w.event_id
WHERE w.event_id = timeline_events.id AND w.out <> w.src;

UPDATE pins SET text = w.out FROM decode_0007 w
WHERE w.incident_id = pins.incident_id AND w.field = 'pin' AND w.pin_ts = pins.ts
  AND w.out <> w.src;

DROP TABLE decode_0007_piece;
DROP TABLE decode_0007_entry;
DROP TABLE decode_0007;
