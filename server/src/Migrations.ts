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
 * | `leashes` | leash requests (canonical JSON), their state and decision |
 *
 * `0002_review_steps_by_trail` adds a partial index of the review steps by trail, so ingest can
 * tell which trails hold a review step without reading their other steps.
 *
 * `0003_bounded_reads` (contract v1.1: every reviewer read bounded by its page) adds what the
 * lists read instead of whole records, and an index for every page and filter:
 * - `leashes`: `trail_id`, `action_name`, `agent` (by trail: the page of a trail the server holds
 *   no record of lists its leashes), `summary` (the request without its payload, and the
 *   payload's preview: `LeashSummary`, computed once at creation), and `sent` (the request as the
 *   agent sent it, in its key order; `NULL` for leashes stored before, whose `request` is the
 *   canonical form). Existing rows are filled in, one at a time.
 * - `trails`: `agent`, `trail_trigger` and `summary` (the record without payload, output and
 *   events), and `flag_count`, kept by triggers (whatever statement writes a trail or a flag),
 *   and `trail_tags`, one row per tag, for the tag filter.
 * - indexes: pending leashes by (deadline, id), decided ones by (time, id), steps by
 *   (trail, seq, id) (the index by (trail, seq) with the id added), flags by (trail, seq, step), trails by (time, id) alone and under each
 *   filter (agent, status, trigger, flagged or not, tag).
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Wire } from "houndsight"
import * as LeashSummary from "./LeashSummary.js"

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

const decodeRequest = Schema.decodeUnknownSync(Wire.LeashRequest)

/** The trail columns a list reads, from a trail's `record` (`NULL` for a placeholder row). */
const trailColumns = (row: string) =>
  `agent = ${row}.record ->> '$.agent', trail_trigger = ${row}.record ->> '$.trigger',
    summary = json_remove(${row}.record, '$.payload', '$.output', '$.events')`

const boundedReads = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Leashes: the columns, then every existing row filled in one at a time (a row may hold a
  // request of several MiB from before v1.1's limits).
  yield* sql`ALTER TABLE leashes ADD COLUMN trail_id TEXT`
  yield* sql`ALTER TABLE leashes ADD COLUMN action_name TEXT`
  yield* sql`ALTER TABLE leashes ADD COLUMN agent TEXT`
  yield* sql`ALTER TABLE leashes ADD COLUMN summary TEXT`
  yield* sql`ALTER TABLE leashes ADD COLUMN sent TEXT`
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
  yield* sql`ALTER TABLE trails ADD COLUMN agent TEXT`
  yield* sql`ALTER TABLE trails ADD COLUMN trail_trigger TEXT`
  yield* sql`ALTER TABLE trails ADD COLUMN summary TEXT`
  yield* sql`ALTER TABLE trails ADD COLUMN flag_count INTEGER NOT NULL DEFAULT 0`
  yield* sql`CREATE TABLE trail_tags (
    trail_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    sort_key TEXT NOT NULL
  )`
  yield* sql.unsafe(`UPDATE trails SET ${trailColumns("trails")} WHERE record IS NOT NULL`)
  yield* sql`UPDATE trails SET flag_count = (SELECT count(*) FROM flags f WHERE f.trail_id = trails.id)`
  yield* sql`INSERT INTO trail_tags (trail_id, key, value, sort_key)
    SELECT t.id, j.key, j.value, t.sort_key FROM trails t, json_each(t.record, '$.tags') j
    WHERE t.record IS NOT NULL AND json_type(t.record, '$.tags') = 'object'`
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

/**
 * Every migration, by `<id>_<name>`.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrations = {
  "0001_initial": initial,
  "0002_review_steps_by_trail": reviewStepsByTrail,
  "0003_bounded_reads": boundedReads
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
