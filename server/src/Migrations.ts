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
import * as Crypto from "node:crypto"
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
  yield* sql`CREATE TABLE api_keys (
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
  )`
  yield* sql`CREATE TABLE trail_owners (
    trail_id TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL
  ) WITHOUT ROWID`
  yield* sql`ALTER TABLE leashes ADD COLUMN decided_by_id TEXT`
  const old = yield* sql<{ key: string; role: "agent" | "reviewer"; created_at: string }>`
    SELECT key, role, created_at FROM keys ORDER BY created_at, key`
  for (const row of old) {
    const hash = Crypto.createHash("sha256").update(row.key).digest("hex")
    const id = `key_${Crypto.randomBytes(6).toString("hex")}`
    yield* sql`INSERT OR IGNORE INTO api_keys (id, kind, hash, agent, person, development, created_at)
      VALUES (${id}, ${row.role}, ${hash}, NULL, ${row.role === "reviewer" ? `reviewer:${hash.slice(0, 8)}` : null},
        ${row.role === "agent" ? 1 : 0}, ${row.created_at})`
  }
  yield* sql`DELETE FROM keys`
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
  "0004_server_audit": serverAudit,
  "0005_keys_by_holder": keysByHolder
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
