/**
 * The database schema, created and upgraded by `@effect/sql` migrations. A migration, once
 * released, is never edited: a change to the schema is a new numbered migration.
 *
 * | table | holds |
 * |---|---|
 * | `keys` | the API keys the server generated, with their role |
 * | `meta` | server facts (`last_start`, the sensitive list the flags were computed with) |
 * | `trails` | one row per trail id: the winning trail record (`NULL` while only its steps have arrived) |
 * | `steps` | step records, first one per id wins, with the columns the audit reads |
 * | `flags` | bypass flags, recomputed per trail whenever a batch touches it |
 * | `leashes` | leash requests (as received; canonical JSON in rows written before it kept the order), their state and decision |
 *
 * `0002_review_steps_by_trail` adds a partial index of the review steps by trail, so ingest can
 * tell which trails hold a review step without reading their other steps.
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
import * as Audit from "./Audit.js"

const initial = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE keys (
    key TEXT PRIMARY KEY NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'reviewer')),
    created_at TEXT NOT NULL
  )`
  yield* sql`CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
  )`
  yield* sql`CREATE TABLE trails (
    id TEXT PRIMARY KEY NOT NULL,
    record TEXT,
    status TEXT,
    sort_key TEXT NOT NULL
  )`
  yield* sql`CREATE INDEX trails_by_sort_key ON trails (sort_key DESC, id)`
  yield* sql`CREATE TABLE steps (
    id TEXT PRIMARY KEY NOT NULL,
    trail_id TEXT NOT NULL,
    parent_id TEXT,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    layer TEXT NOT NULL,
    status TEXT NOT NULL,
    leash TEXT,
    record TEXT NOT NULL
  )`
  yield* sql`CREATE INDEX steps_by_trail ON steps (trail_id, seq)`
  yield* sql`CREATE TABLE flags (
    trail_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    action_name TEXT NOT NULL,
    review_step_id TEXT,
    PRIMARY KEY (trail_id, step_id)
  )`
  yield* sql`CREATE TABLE leashes (
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
  )`
  yield* sql`CREATE INDEX leashes_by_status ON leashes (status, expires_at)`
})

const reviewStepsByTrail = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX steps_reviews_by_trail ON steps (trail_id) WHERE layer = 'review'`
})

const serverAudit = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE leash_bindings (
    leash_id TEXT PRIMARY KEY NOT NULL,
    trail_id TEXT NOT NULL,
    action_name TEXT NOT NULL
  )`
  yield* sql`CREATE TRIGGER leash_bindings_on_insert AFTER INSERT ON leashes BEGIN
    INSERT OR IGNORE INTO leash_bindings (leash_id, trail_id, action_name)
      SELECT new.leash_id, lower(new.request ->> '$.trail_id'), new.request ->> '$.action_name'
      WHERE json_valid(new.request) AND (new.request ->> '$.trail_id') IS NOT NULL
        AND (new.request ->> '$.action_name') IS NOT NULL;
  END`
  yield* sql`INSERT OR IGNORE INTO leash_bindings (leash_id, trail_id, action_name)
    SELECT leash_id, lower(request ->> '$.trail_id'), request ->> '$.action_name' FROM leashes
    WHERE json_valid(request) AND (request ->> '$.trail_id') IS NOT NULL AND (request ->> '$.action_name') IS NOT NULL`
  yield* sql`CREATE TABLE review_checks (
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
  )`
  yield* sql`CREATE INDEX review_checks_by_leash ON review_checks (trail_id, name, leash_id, seq, step_id)
    WHERE approving = 1`
  yield* sql`CREATE INDEX review_checks_by_trail ON review_checks (trail_id)`
  yield* sql`CREATE TABLE audit_wrappers (step_id TEXT PRIMARY KEY NOT NULL)`
  yield* sql`CREATE TABLE audit_waiting (
    trail_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    name TEXT NOT NULL,
    levels INTEGER NOT NULL,
    PRIMARY KEY (step_id, trail_id, name)
  )`
  yield* sql`CREATE TABLE audit_uses (
    trail_id TEXT NOT NULL,
    name TEXT NOT NULL,
    leash_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (trail_id, name, leash_id)
  )`
  yield* sql`CREATE INDEX steps_by_name ON steps (trail_id, name, seq)`
  yield* sql`CREATE INDEX steps_reviews_by_name ON steps (trail_id, name, seq, id) WHERE layer = 'review'`
  yield* Audit.rebuild(sql)
  yield* sql`DELETE FROM meta WHERE key = 'sensitive'`
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
  "0004_server_audit": serverAudit
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
})
