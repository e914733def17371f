/**
 * The database schema, created and upgraded by `@effect/sql` migrations. A migration, once
 * released, is never edited: a change to the schema is a new numbered migration.
 *
 * | table | holds |
 * |---|---|
 * | `keys` | the API keys of servers before `0005` (emptied by it) |
 * | `api_keys` | the API keys: hashed, with their holder, created, last used, revoked |
 * | `trail_owners` | the key that first wrote each trail |
 * | `meta` | server facts (`last_start`, the sensitive list the flags were computed with) |
 * | `trails` | one row per trail id: the winning trail record (`NULL` while only its steps have arrived) |
 * | `steps` | step records, first one per id wins, with the columns the audit reads |
 * | `flags` | bypass flags, recomputed per trail whenever a batch touches it |
 * | `leashes` | leash requests (as received; canonical JSON in rows written before it kept the order), their state and decision |
 * | `approval_gates`, `approvals` | leashes that need several approvals, and their approvals (`0006`) |
 * | `webhooks` | notification endpoints: URL, events, action patterns, format, signing secrets (`0007`) |
 * | `outbox_events` | events to announce, written with the change that caused them (`0007`) |
 * | `webhook_deliveries` | one per event and matching webhook: state, attempts, next attempt, last error (`0007`) |
 * | `dashboard_sessions` | the dashboard's sign-in sessions: the hash of each session id, its reviewer and key, its expiry (`0008`) |
 * | `server_instances` | the server instances running on the database, and the hash of the rules each runs (`0008`) |
 *
 * `0002_review_steps_by_trail` adds a partial index of the review steps by trail, so ingest can
 * tell which trails hold a review step without reading their other steps.
 *
 * `0003_bounded_reads` (contract v1.1: every reviewer read bounded by its page) adds what the
 * lists read instead of whole records, and an index for every page and filter:
 * - `leashes`: `trail_id`, `action_name`, `agent` (by trail: the page of a trail the server holds
 *   no record of lists its leashes), and `summary` (the request without its payload, and
 *   the payload's preview: `LeashSummary`, computed once at creation). Existing rows are filled
 *   in, one at a time. (The request as sent is `request` itself, stored as received.)
 * - `trails`: `agent`, `trail_trigger` and `summary` (the record without payload, output and
 *   events), and `flag_count`, kept by triggers (whatever statement writes a trail or a flag),
 *   and `trail_tags`, one row per tag, for the tag filter.
 * - indexes: pending leashes by (deadline, id), decided ones by (time, id), steps by
 *   (trail, seq, id) (the index by (trail, seq) with the id added), flags by (trail, seq, step), trails by (time, id) alone and under each
 *   filter (agent, status, trigger, flagged or not, tag).
 *
 * `0006_two_person_approval` adds the approvals of leashes an approval rule made need several
 * reviewers (`Approvals.ts` describes them): `approval_gates`, one row per such leash (how many it
 * needs, the payload under review and its approvals so far: the row every approval compares and
 * sets), and `approvals`, one row per approval (who, how, when, of which payload).
 *
 * `0004_server_audit` adds what the incremental bypass audit keeps (`Audit.ts` describes its
 * tables): each leash's trail and action (filled by a trigger when a leash is stored, and from
 * the stored requests), the review steps' cross-checks, wrappers, waiting wrapper walks, the
 * user of each approval, and indexes of the steps by trail, name and `seq`. It judges the review
 * steps already stored against the leashes as they stand, and drops the remembered sensitive
 * list so the server recomputes every trail's flags at its next start.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Crypto from "node:crypto"
import * as Audit from "./Audit.js"
import * as Dialect from "./Dialect.js"
import * as LeashSummary from "./LeashSummary.js"
import * as Outbox from "./Outbox.js"

/**
 * What a migration does differently on the two backends, in one place: `sqlite` on SQLite,
 * `postgres` on PostgreSQL.
 */
const byBackend = <A, E, R>(
  sql: SqlClient.SqlClient,
  options: { readonly sqlite: Effect.Effect<A, E, R>; readonly postgres: Effect.Effect<A, E, R> }
): Effect.Effect<A, E, R> => sql.onDialectOrElse({ pg: () => options.postgres, orElse: () => options.sqlite })

/**
 * Fills rows written before a migration: SQLite only. A PostgreSQL database is created by this
 * server, with every migration through `0005` run at once on empty tables: nothing to fill.
 */
const backfill = <E, R>(sql: SqlClient.SqlClient, fill: Effect.Effect<unknown, E, R>): Effect.Effect<void, E, R> =>
  byBackend(sql, { sqlite: Effect.asVoid(fill), postgres: Effect.void })

/** A table's DDL, with the column types of the backend (`Dialect.ddl`). */
const table = (sql: SqlClient.SqlClient, text: string) => sql.unsafe(Dialect.ddl(sql, text))

const initial = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* table(sql, `CREATE TABLE keys (
    key TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'reviewer')),
    created_at TEXT NOT NULL
  )`)
  yield* table(sql, `CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
  )`)
  yield* table(sql, `CREATE TABLE trails (
    id TEXT PRIMARY KEY NOT NULL,
    record TEXT,
    status TEXT,
    sort_key TEXT NOT NULL
  )`)
  yield* sql`CREATE INDEX trails_by_sort_key ON trails (sort_key DESC, id)`
  yield* table(sql, `CREATE TABLE steps (
    id TEXT PRIMARY KEY NOT NULL,
    trail_id TEXT NOT NULL,
    parent_id TEXT,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    layer TEXT NOT NULL,
    status TEXT NOT NULL,
    leash TEXT,
    record TEXT NOT NULL
  )`)
  yield* sql`CREATE INDEX steps_by_trail ON steps (trail_id, seq)`
  yield* table(sql, `CREATE TABLE flags (
    trail_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    action_name TEXT NOT NULL,
    review_step_id TEXT,
    PRIMARY KEY (trail_id, step_id)
  )`)
  yield* table(sql, `CREATE TABLE leashes (
    leash_id TEXT PRIMARY KEY NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'decided')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    decision TEXT,
    reason TEXT,
    modified_payload TEXT,
    decided_by TEXT,
    decided_at INTEGER
  )`)
  yield* sql`CREATE INDEX leashes_by_status ON leashes (status, expires_at)`
})

const reviewStepsByTrail = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX steps_reviews_by_trail ON steps (trail_id) WHERE layer = 'review'`
})

const decodeRequest = Schema.decodeUnknownSync(Wire.LeashRequest)

/** The trail columns a list reads, from a trail's `record` (`NULL` for a placeholder row). */
const trailColumns = (row: string) =>
  `agent = ${row}.record ->> '$.agent', trail_trigger = ${row}.record ->> '$.trigger',
    summary = json_remove(${row}.record, '$.payload', '$.output', '$.events')`

/** The triggers of `0003` on SQLite. */
const sqliteListedTriggers = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // A trail's row may be written after flags of its steps (whatever order a batch is stored
  // in): its count starts from the flags already there.
  yield* sql`CREATE TRIGGER trails_counted_insert AFTER INSERT ON trails BEGIN
    UPDATE trails SET flag_count = (SELECT count(*) FROM flags f WHERE f.trail_id = new.id) WHERE id = new.id;
  END`
  yield* sql.unsafe(`CREATE TRIGGER trails_listed_insert AFTER INSERT ON trails WHEN new.record IS NOT NULL BEGIN
    UPDATE trails SET ${trailColumns("new")} WHERE id = new.id;
    INSERT INTO trail_tags (trail_id, key, value, sort_key)
      SELECT new.id, j.key, j.value, new.sort_key FROM json_each(new.record, '$.tags') j
      WHERE json_type(new.record, '$.tags') = 'object';
  END`)
  yield* sql.unsafe(`CREATE TRIGGER trails_listed_update AFTER UPDATE OF record, sort_key ON trails BEGIN
    UPDATE trails SET ${trailColumns("new")} WHERE id = new.id;
    DELETE FROM trail_tags WHERE trail_id = new.id;
    INSERT INTO trail_tags (trail_id, key, value, sort_key)
      SELECT new.id, j.key, j.value, new.sort_key FROM json_each(new.record, '$.tags') j
      WHERE new.record IS NOT NULL AND json_type(new.record, '$.tags') = 'object';
  END`)
  yield* sql`CREATE TRIGGER flags_counted_insert AFTER INSERT ON flags BEGIN
    UPDATE trails SET flag_count = flag_count + 1 WHERE id = new.trail_id;
  END`
  yield* sql`CREATE TRIGGER flags_counted_delete AFTER DELETE ON flags BEGIN
    UPDATE trails SET flag_count = flag_count - 1 WHERE id = old.trail_id;
  END`
})

/**
 * The triggers of `0003` on PostgreSQL (its triggers call functions): a trail's list columns and
 * its flag count (from the flags already there) set before its row is written, its tags after,
 * the flag count kept as flags come and go.
 */
const postgresListedTriggers = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`CREATE FUNCTION houndsight_trail_columns() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      NEW.flag_count := (SELECT count(*) FROM flags f WHERE f.trail_id = NEW.id);
    END IF;
    IF NEW.record IS NULL THEN
      NEW.agent := NULL; NEW.trail_trigger := NULL; NEW.summary := NULL;
    ELSE
      NEW.agent := NEW.record::jsonb ->> 'agent';
      NEW.trail_trigger := NEW.record::jsonb ->> 'trigger';
      NEW.summary := (NEW.record::jsonb - 'payload' - 'output' - 'events')::text;
    END IF;
    RETURN NEW;
  END $$`)
  yield* sql.unsafe(`CREATE TRIGGER trails_columns BEFORE INSERT OR UPDATE OF record ON trails
    FOR EACH ROW EXECUTE FUNCTION houndsight_trail_columns()`)
  yield* sql.unsafe(`CREATE FUNCTION houndsight_trail_tags() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      DELETE FROM trail_tags WHERE trail_id = NEW.id;
    END IF;
    IF NEW.record IS NOT NULL AND jsonb_typeof(NEW.record::jsonb -> 'tags') = 'object' THEN
      INSERT INTO trail_tags (trail_id, key, value, sort_key)
        SELECT NEW.id, j.key, j.value, NEW.sort_key FROM jsonb_each_text(NEW.record::jsonb -> 'tags') j;
    END IF;
    RETURN NULL;
  END $$`)
  yield* sql.unsafe(`CREATE TRIGGER trails_listed AFTER INSERT OR UPDATE OF record, sort_key ON trails
    FOR EACH ROW EXECUTE FUNCTION houndsight_trail_tags()`)
  yield* sql.unsafe(`CREATE FUNCTION houndsight_flags_counted() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      UPDATE trails SET flag_count = flag_count + 1 WHERE id = NEW.trail_id;
    ELSE
      UPDATE trails SET flag_count = flag_count - 1 WHERE id = OLD.trail_id;
    END IF;
    RETURN NULL;
  END $$`)
  yield* sql.unsafe(`CREATE TRIGGER flags_counted AFTER INSERT OR DELETE ON flags
    FOR EACH ROW EXECUTE FUNCTION houndsight_flags_counted()`)
})

const boundedReads = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Leashes: the columns, then every existing row filled in one at a time (a row may hold a
  // request of several MiB from before v1.1's limits).
  yield* table(sql, `ALTER TABLE leashes ADD COLUMN trail_id TEXT`)
  yield* table(sql, `ALTER TABLE leashes ADD COLUMN action_name TEXT`)
  yield* table(sql, `ALTER TABLE leashes ADD COLUMN agent TEXT`)
  yield* table(sql, `ALTER TABLE leashes ADD COLUMN summary TEXT`)
  yield* backfill(
    sql,
    Effect.gen(function*() {
      let after = -1
      for (;;) {
        const rows = yield* sql<{ rowid: number; request: string }>`SELECT rowid, request FROM leashes
          WHERE rowid > ${after} ORDER BY rowid LIMIT 1`
        const row = rows[0]
        if (row === undefined) break
        after = row.rowid
        const raw = JSON.parse(row.request) as unknown
        const request = decodeRequest(raw)
        yield* sql`UPDATE leashes SET trail_id = ${request.trailId}, action_name = ${request.actionName},
          agent = ${request.agent}, summary = ${LeashSummary.summarize(request, raw)} WHERE rowid = ${row.rowid}`
      }
    })
  )
  yield* sql`CREATE INDEX leashes_by_trail ON leashes (trail_id, created_at, leash_id)`
  // The index by (status, deadline) takes the id as its last column: the pending list's page order.
  yield* sql`DROP INDEX leashes_by_status`
  yield* sql`CREATE INDEX leashes_by_status ON leashes (status, expires_at, leash_id)`
  yield* sql`CREATE INDEX leashes_decided_page ON leashes (decided_at, leash_id) WHERE status = 'decided'`

  // Steps and flags in page order.
  // The steps' index by trail takes the id as its last column (the same index, one more column,
  // rather than a second index that every ingested step would pay for).
  yield* sql`DROP INDEX steps_by_trail`
  yield* sql`CREATE INDEX steps_by_trail ON steps (trail_id, seq, id)`
  yield* sql`CREATE INDEX flags_page ON flags (trail_id, seq, step_id)`

  // Trails: summary columns, flag counts and tags, kept by triggers.
  yield* table(sql, `ALTER TABLE trails ADD COLUMN agent TEXT`)
  yield* table(sql, `ALTER TABLE trails ADD COLUMN trail_trigger TEXT`)
  yield* table(sql, `ALTER TABLE trails ADD COLUMN summary TEXT`)
  yield* table(sql, `ALTER TABLE trails ADD COLUMN flag_count INTEGER NOT NULL DEFAULT 0`)
  yield* table(sql, `CREATE TABLE trail_tags (
    trail_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    sort_key TEXT NOT NULL
  )`)
  yield* backfill(
    sql,
    Effect.all([
      sql.unsafe(`UPDATE trails SET ${trailColumns("trails")} WHERE record IS NOT NULL`),
      sql`UPDATE trails SET flag_count = (SELECT count(*) FROM flags f WHERE f.trail_id = trails.id)`,
      sql`INSERT INTO trail_tags (trail_id, key, value, sort_key)
        SELECT t.id, j.key, j.value, t.sort_key FROM trails t, json_each(t.record, '$.tags') j
        WHERE t.record IS NOT NULL AND json_type(t.record, '$.tags') = 'object'`
    ], { discard: true })
  )
  yield* byBackend(sql, { sqlite: sqliteListedTriggers, postgres: postgresListedTriggers })
  yield* sql`CREATE INDEX trail_tags_by_trail ON trail_tags (trail_id)`
  yield* sql`CREATE INDEX trail_tags_by_key ON trail_tags (key, sort_key, trail_id)`
  yield* sql`CREATE INDEX trail_tags_by_value ON trail_tags (key, value, sort_key, trail_id)`
  yield* sql`CREATE INDEX trails_listed ON trails (sort_key, id) WHERE record IS NOT NULL`
  yield* sql`CREATE INDEX trails_flagged ON trails (sort_key, id) WHERE flag_count > 0`
  yield* sql`CREATE INDEX trails_unflagged ON trails (sort_key, id) WHERE record IS NOT NULL AND flag_count = 0`
  yield* sql`CREATE INDEX trails_by_agent ON trails (agent, sort_key, id)`
  yield* sql`CREATE INDEX trails_by_status ON trails (status, sort_key, id)`
  yield* sql`CREATE INDEX trails_by_trigger ON trails (trail_trigger, sort_key, id)`
})

const serverAudit = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* table(sql, `CREATE TABLE leash_bindings (
    leash_id TEXT PRIMARY KEY NOT NULL,
    trail_id TEXT NOT NULL,
    action_name TEXT NOT NULL
  )`)
  yield* byBackend(sql, {
    sqlite: sql`CREATE TRIGGER leash_bindings_on_insert AFTER INSERT ON leashes BEGIN
    INSERT OR IGNORE INTO leash_bindings (leash_id, trail_id, action_name)
      SELECT new.leash_id, lower(new.request ->> '$.trail_id'), new.request ->> '$.action_name'
      WHERE json_valid(new.request) AND (new.request ->> '$.trail_id') IS NOT NULL
        AND (new.request ->> '$.action_name') IS NOT NULL;
  END`,
    // A stored request is the JSON text the server decoded: no validity test needed.
    postgres: Effect.andThen(
      sql.unsafe(`CREATE FUNCTION houndsight_leash_binding() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE r jsonb := NEW.request::jsonb;
      BEGIN
        IF jsonb_typeof(r) = 'object' AND (r ->> 'trail_id') IS NOT NULL AND (r ->> 'action_name') IS NOT NULL THEN
          INSERT INTO leash_bindings (leash_id, trail_id, action_name)
            VALUES (NEW.leash_id, lower(r ->> 'trail_id'), r ->> 'action_name') ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
      END $$`),
      sql.unsafe(`CREATE TRIGGER leash_bindings_on_insert AFTER INSERT ON leashes
        FOR EACH ROW EXECUTE FUNCTION houndsight_leash_binding()`)
    )
  })
  yield* backfill(
    sql,
    sql`INSERT OR IGNORE INTO leash_bindings (leash_id, trail_id, action_name)
    SELECT leash_id, lower(request ->> '$.trail_id'), request ->> '$.action_name' FROM leashes
    WHERE json_valid(request) AND (request ->> '$.trail_id') IS NOT NULL AND (request ->> '$.action_name') IS NOT NULL`
  )
  yield* table(sql, `CREATE TABLE review_checks (
    step_id TEXT PRIMARY KEY NOT NULL,
    trail_id TEXT NOT NULL,
    name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    leash_id TEXT,
    found INTEGER NOT NULL,
    leash_trail_id TEXT,
    leash_action TEXT,
    leash_decision TEXT,
    approving INTEGER NOT NULL,
    held INTEGER NOT NULL
  )`)
  yield* sql`CREATE INDEX review_checks_by_leash ON review_checks (trail_id, name, leash_id, seq, step_id)
    WHERE approving = 1`
  yield* sql`CREATE INDEX review_checks_by_trail ON review_checks (trail_id)`
  yield* table(sql, `CREATE TABLE audit_wrappers (step_id TEXT PRIMARY KEY NOT NULL)`)
  yield* table(sql, `CREATE TABLE audit_waiting (
    trail_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    name TEXT NOT NULL,
    levels INTEGER NOT NULL,
    PRIMARY KEY (step_id, trail_id, name)
  )`)
  yield* table(sql, `CREATE TABLE audit_uses (
    trail_id TEXT NOT NULL,
    name TEXT NOT NULL,
    leash_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (trail_id, name, leash_id)
  )`)
  yield* sql`CREATE INDEX steps_by_name ON steps (trail_id, name, seq)`
  yield* sql`CREATE INDEX steps_reviews_by_name ON steps (trail_id, name, seq, id) WHERE layer = 'review'`
  yield* backfill(sql, Audit.rebuild(sql))
  yield* sql`DELETE FROM meta WHERE key = 'sensitive'`
})

/**
 * `0005_keys_by_holder`: keys that say who holds them. `api_keys` stores each key's SHA-256 only,
 * with an id, its kind, the agent name an agent key is bound to (none: a development key), a
 * reviewer's name and email, and when it was created, last used and revoked. `trail_owners`
 * records the key that first wrote each trail. `leashes.decided_by_id` is the id of the key whose
 * holder decided. The keys of the old `keys` table (stored in clear) are carried over hashed, as
 * development agent keys and reviewers named by their fingerprint (`reviewer:3f9a1c2e`, their
 * `decided_by` so far), and deleted from it.
 */
const keysByHolder = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* table(sql, `CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('agent', 'reviewer')),
    hash TEXT NOT NULL UNIQUE,
    agent TEXT,
    person TEXT,
    email TEXT,
    development INTEGER NOT NULL DEFAULT 0 CHECK (development IN (0, 1)),
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
  )`)
  yield* table(sql, `CREATE TABLE trail_owners (
    trail_id TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL
  ) WITHOUT ROWID`)
  yield* table(sql, `ALTER TABLE leashes ADD COLUMN decided_by_id TEXT`)
  const old = yield* sql<{ key: string; role: "agent" | "reviewer"; created_at: string }>`
    SELECT key, role, created_at FROM keys ORDER BY created_at, key`
  for (const row of old) {
    const hash = Crypto.createHash("sha256").update(row.key).digest("hex")
    const id = `key_${Crypto.randomBytes(6).toString("hex")}`
    yield* sql`INSERT INTO api_keys (id, kind, hash, agent, person, development, created_at)
      VALUES (${id}, ${row.role}, ${hash}, NULL, ${row.role === "reviewer" ? `reviewer:${hash.slice(0, 8)}` : null},
        ${row.role === "agent" ? 1 : 0}, ${row.created_at}) ON CONFLICT DO NOTHING`
  }
  yield* sql`DELETE FROM keys`
})

/** `0006_two_person_approval` (see the module's description and `Approvals.ts`). Portable SQL. */
const twoPersonApproval = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* table(sql, `CREATE TABLE approval_gates (
    leash_id TEXT PRIMARY KEY NOT NULL,
    required INTEGER NOT NULL CHECK (required >= 2),
    payload_round INTEGER NOT NULL DEFAULT 0,
    approval_count INTEGER NOT NULL DEFAULT 0,
    payload TEXT
  )`)
  yield* table(sql, `CREATE TABLE approvals (
    leash_id TEXT NOT NULL,
    payload_round INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    reviewer_id TEXT NOT NULL,
    person TEXT NOT NULL,
    person_key TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'modified')),
    approved_at TEXT NOT NULL,
    PRIMARY KEY (leash_id, payload_round, seq),
    UNIQUE (leash_id, payload_round, reviewer_id),
    UNIQUE (leash_id, payload_round, person_key)
  )`)
})

/**
 * `0007_webhooks`: notifications (see `Webhooks`, `Outbox`, `Delivery`). `webhooks` holds each
 * endpoint (URL, events, action patterns, format, its signing secret and, for a grace period after
 * a rotation, the previous one). `outbox_events` holds each event, written in the transaction of
 * the change that caused it; `dedupe_key` makes an event that must happen once (a reminder, a
 * flag's first raising) unique. `webhook_deliveries` holds one row per (event, matching webhook):
 * its state, attempts, next attempt, claim and last error. The flags already stored count as
 * announced (a key each), so upgrading announces none of them.
 */
const webhooks = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* table(sql, `CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    actions TEXT NOT NULL,
    format TEXT NOT NULL,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_until TEXT,
    created_at TEXT NOT NULL
  )`)
  yield* table(sql, `CREATE TABLE outbox_events (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    action_name TEXT,
    data TEXT,
    dedupe_key TEXT UNIQUE,
    created_at TEXT NOT NULL,
    fanned_out INTEGER NOT NULL DEFAULT 0
  )`)
  yield* sql`CREATE INDEX outbox_events_unsent ON outbox_events (fanned_out, created_at)`
  yield* table(sql, `CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    claimed_until TEXT,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    done_at TEXT,
    UNIQUE (event_id, webhook_id)
  )`)
  yield* sql`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at)`
  const now = new Date().toISOString()
  yield* sql`INSERT INTO outbox_events (id, type, subject, action_name, data, dedupe_key, created_at, fanned_out)
    SELECT 'seed:' || trail_id || ':' || step_id, 'flag.raised', trail_id, action_name, NULL,
      'flag:' || trail_id || ':' || step_id, ${now}, 1 FROM flags WHERE true
    ON CONFLICT (dedupe_key) DO NOTHING`
})

/**
 * `0008_instances`: what several server instances on one database share.
 * - `dashboard_sessions`: the dashboard's sign-in sessions, known to every instance and kept
 *   across restarts. A row holds the SHA-256 of the session id (never the id itself, which only
 *   the reviewer's cookie holds), the reviewer and the id of their key, and when it was created
 *   and expires (ISO-8601 text, compared as text: always the same width).
 * - `server_instances`: the instances running, each with the hash of its rules (`Instances`).
 */
const instances = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* table(sql, `CREATE TABLE dashboard_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    reviewer TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  )`)
  yield* sql`CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at)`
  yield* table(sql, `CREATE TABLE server_instances (
    id TEXT PRIMARY KEY NOT NULL,
    rules_hash TEXT NOT NULL,
    rules_path TEXT,
    started_at TEXT NOT NULL,
    seen_at TEXT NOT NULL
  )`)
})

/**
 * `0009_leash_events`: a new leash's event (`leash.pending`, or `leash.decided` for a leash a
 * floor rule decided at creation) is written by a trigger on `leashes`, in the insert's own
 * statement: atomic with the leash without a transaction of its own (a BEGIN and a COMMIT,
 * through the SQL client, were half of a floor-rule leash's server time). The event's fields are
 * those `Outbox.leashEvent` writes: a random UUID (v4) for its id, the key
 * `pending:{leash}`/`decided:{leash}`, and the leash's `created_at` as ISO-8601 with milliseconds
 * (integer arithmetic: no rounding of a fraction of a second). As there, the event is written
 * only while some webhook exists: a webhook receives the events of changes stored after it was
 * added, and a server without webhooks writes no events.
 *
 * It also drops `leash_bindings` and its trigger (`0004`): the audit reads a leash's trail and
 * action from the leash's own columns (`0003`), written from the same decoded request in the
 * same insert; the copy cost each leash a second table write.
 */
const leashEvents = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* byBackend(sql, {
    sqlite: sql`DROP TRIGGER IF EXISTS leash_bindings_on_insert`,
    postgres: Effect.andThen(
      sql`DROP TRIGGER IF EXISTS leash_bindings_on_insert ON leashes`,
      sql`DROP FUNCTION IF EXISTS houndsight_leash_binding()`
    )
  })
  yield* sql`DROP TABLE IF EXISTS leash_bindings`
  yield* byBackend(sql, {
    sqlite: sql`CREATE TRIGGER leash_events_on_insert AFTER INSERT ON leashes BEGIN
    INSERT OR IGNORE INTO outbox_events (id, type, subject, action_name, data, dedupe_key, created_at)
      SELECT
        lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
          || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
        CASE WHEN new.status = 'pending' THEN 'leash.pending' ELSE 'leash.decided' END,
        new.leash_id, new.action_name, NULL,
        CASE WHEN new.status = 'pending' THEN 'pending:' ELSE 'decided:' END || new.leash_id,
        strftime('%Y-%m-%dT%H:%M:%S', new.created_at / 1000, 'unixepoch') || printf('.%03dZ', new.created_at % 1000)
      WHERE EXISTS (SELECT 1 FROM webhooks);
  END`,
    postgres: Effect.andThen(
      sql.unsafe(`CREATE FUNCTION houndsight_leash_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM webhooks) THEN
          INSERT INTO outbox_events (id, type, subject, action_name, data, dedupe_key, created_at)
            VALUES (
              gen_random_uuid()::text,
              CASE WHEN NEW.status = 'pending' THEN 'leash.pending' ELSE 'leash.decided' END,
              NEW.leash_id, NEW.action_name, NULL,
              CASE WHEN NEW.status = 'pending' THEN 'pending:' ELSE 'decided:' END || NEW.leash_id,
              to_char(to_timestamp(NEW.created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                || '.' || lpad((NEW.created_at % 1000)::text, 3, '0') || 'Z')
            ON CONFLICT (dedupe_key) DO NOTHING;
        END IF;
        RETURN NULL;
      END $$`),
      sql.unsafe(`CREATE TRIGGER leash_events_on_insert AFTER INSERT ON leashes
        FOR EACH ROW EXECUTE FUNCTION houndsight_leash_event()`)
    )
  })
})

/**
 * Every migration, by `<id>_<name>`.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrations = {
  "0001_initial": initial,
  "0002_review_steps_by_trail": reviewStepsByTrail,
  "0003_bounded_reads": boundedReads,
  "0004_server_audit": serverAudit,
  "0005_keys_by_holder": keysByHolder,
  "0006_two_person_approval": twoPersonApproval,
  "0007_webhooks": webhooks,
  "0008_instances": instances,
  "0009_leash_events": leashEvents
}

/**
 * Brings the database up to the latest migration.
 *
 * @since 0.1.0
 * @category migrations
 */
export const run = Migrator.make({})({
  loader: Migrator.fromRecord(migrations),
  table: "houndsight_migrations"
}).pipe(Effect.locally(Outbox.announcingFlags, false))
