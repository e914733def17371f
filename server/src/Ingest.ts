/**
 * How an ingest batch is stored: one function per group of statements, run in this order in one
 * transaction for each slice of the batch (`ingest`).
 *
 * 1. `trails`: the batch's trail records. The first terminal record (`ok`, `error`,
 *    `interrupted`) wins; a `running` record never replaces a terminal one; anything already
 *    known counts as a duplicate.
 * 2. `steps`: the step records, by multi-row inserts. The first record of an id wins, also
 *    within a batch; steps may arrive before their trail.
 * 3. `placeholders`: one row per trail whose steps arrived before its record, sorted by its
 *    earliest step.
 * 4. `flags`: the server's incremental audit (`Audit.afterIngest`) for the steps the batch
 *    added.
 *
 * Every statement through the SQL client costs far more than SQLite's work for a row, so a
 * batch's rows go to SQLite in as few statements as possible: multi-row inserts of steps, and
 * the rest as one JSON array parameter read as rows (`Dialect.each`).
 *
 * A large batch is stored as slices (`slices`), each in its own transaction, with the event
 * loop let go between them (`ingest`): a decision or a leash that arrives meanwhile waits
 * for one slice, not for the whole batch. The contract does not make a batch atomic: a batch
 * cut by a crash is sent again by the exporter, and what was stored counts as duplicates.
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type { Audit } from "houndsight/wire"
import type * as Wire from "houndsight/wire"
import * as ServerAudit from "./Audit.js"
import * as Dialect from "./Dialect.js"
import { yieldToEventLoop } from "./EventLoop.js"
import { encodeStep, encodeTrail } from "./IngestCodec.js"

/**
 * What a group of statements counted: records stored, and records already known.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counted {
  readonly accepted: number
  readonly duplicates: number
}

/**
 * What the step inserts answer: their counts, and the steps they added.
 *
 * @since 0.1.0
 * @category models
 */
export interface StepsStored extends Counted {
  /** The steps stored by this batch, by trail id, in batch order. */
  readonly fresh: ReadonlyMap<string, ReadonlyArray<Wire.StepRecord>>
  /** The earliest `started_at` (wire form) of the steps stored, by trail id. */
  readonly firstSortKey: ReadonlyMap<string, string>
}

/** The most rows one multi-row insert carries (9 parameters a row, far below SQLite's limit). */
const maxChunk = 256

/** The columns of a step row. */
const stepColumns = 9

/**
 * The multi-row insert of `rows` steps, by size (at most 9 sizes: see `chunkSize`), for the
 * backend of `sql`. On SQLite `OR IGNORE` rather than `ON CONFLICT (id) DO NOTHING`: the same
 * for a known id (the stored record wins, RETURNING leaves it out), and the decoded rows break no
 * other constraint, but a statement that cannot abort half-way needs no statement journal, which
 * SQLite would otherwise write page by page for every multi-row insert (a large share of the
 * insert's cost). `Dialect.insertIgnoring` holds both spellings.
 */
const insertStepsSql = new Map<string, string>()
const insertSteps = (sql: SqlClient.SqlClient, rows: number): string => {
  const ignoring = Dialect.insertIgnoring(sql)
  const key = `${ignoring.head}:${rows}`
  let text = insertStepsSql.get(key)
  if (text === undefined) {
    const values: Array<string> = new Array(rows)
    for (let r = 0; r < rows; r++) {
      const row: Array<string> = new Array(stepColumns)
      for (let c = 0; c < stepColumns; c++) row[c] = Dialect.placeholder(sql, r * stepColumns + c + 1)
      values[r] = `(${row.join(", ")})`
    }
    text = `${ignoring.head} steps (id, trail_id, parent_id, seq, name, layer, status, leash, record) VALUES ${
      values.join(", ")
    } ${ignoring.tail} RETURNING id`
    insertStepsSql.set(key, text)
  }
  return text
}

/**
 * The size of the next multi-row insert for `left` rows: the largest power of two up to
 * `maxChunk`, so every batch is made of at most 9 statement shapes, each prepared once and kept
 * in the client's statement cache.
 */
const chunkSize = (left: number): number => {
  let size = maxChunk
  while (size > left) size >>= 1
  return size
}

/** What the store holds of a trail while a batch's trail records are applied: whether it has a record, and its status. */
interface TrailHeld {
  hasRecord: boolean
  status: string | null
  /** Whether the row is new in this batch (inserted), else already stored (updated). */
  readonly fresh: boolean
  /** The record to write, if this batch changes the row. */
  write: { readonly record: string; readonly status: string; readonly sortKey: string } | undefined
}

/**
 * Stores the batch's trail records in three statements whatever their number: one read of the
 * rows already stored, one multi-row insert of the new trails, and an update only of each stored
 * trail the batch changes (a placeholder filled in, a `running` record replaced by a terminal
 * one). The rules are applied here, record by record in batch order, to what the read found and
 * what the records before changed, so the counts are those of applying the records one at a time
 * (an exporter sends a trail's `running` and terminal records in one batch when the trail is
 * short: it is inserted once, with the terminal record). Runs under the trails' locks, in the
 * batch's transaction, so nothing else writes these rows between the read and the writes.
 *
 * @since 0.1.0
 * @category statements
 */
export const trails: (
  sql: SqlClient.SqlClient,
  records: ReadonlyArray<Wire.TrailRecord>
) => Effect.Effect<Counted, SqlError> = Effect.fnUntraced(function*(sql, records) {
  if (records.length === 0) return { accepted: 0, duplicates: 0 }
  const ids = [...new Set(records.map((trail) => trail.id))]
  const stored = yield* sql<{ id: string; has_record: number | boolean; status: string | null }>`SELECT id,
    record IS NOT NULL AS has_record, status FROM trails WHERE id IN (SELECT value FROM ${
    Dialect.texts(sql, JSON.stringify(ids))
  })`
  const held = new Map<string, TrailHeld>()
  for (const row of stored) {
    held.set(row.id, { hasRecord: Boolean(row.has_record), status: row.status, fresh: false, write: undefined })
  }
  let accepted = 0
  let duplicates = 0
  for (const trail of records) {
    const now = held.get(trail.id)
    if (now !== undefined && now.hasRecord && !(now.status === "running" && trail.status !== "running")) {
      duplicates++
      continue
    }
    const wire = encodeTrail(trail)
    const write = { record: JSON.stringify(wire), status: trail.status, sortKey: wire.started_at }
    if (now === undefined) held.set(trail.id, { hasRecord: true, status: trail.status, fresh: true, write })
    else {
      now.hasRecord = true
      now.status = trail.status
      now.write = write
    }
    accepted++
  }
  const inserts: Array<readonly [string, string, string, string]> = []
  for (const [id, row] of held) {
    if (row.write === undefined) continue
    if (row.fresh) inserts.push([id, row.write.record, row.write.status, row.write.sortKey])
    else {
      yield* sql`UPDATE trails SET record = ${row.write.record}, status = ${row.write.status},
        sort_key = ${row.write.sortKey} WHERE id = ${id}`
    }
  }
  if (inserts.length > 0) {
    yield* sql`INSERT INTO trails (id, record, status, sort_key)
      SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3 FROM ${
      Dialect.each(sql, JSON.stringify(inserts))
    }`
  }
  return { accepted, duplicates }
})

/**
 * Stores the batch's step records by multi-row statements (up to `maxChunk` rows each); RETURNING
 * names the new ones.
 *
 * @since 0.1.0
 * @category statements
 */
export const steps: (
  sql: SqlClient.SqlClient,
  records: ReadonlyArray<Wire.StepRecord>
) => Effect.Effect<StepsStored, SqlError> = Effect.fnUntraced(function*(sql, records) {
  let accepted = 0
  let duplicates = 0
  const firstSortKey = new Map<string, string>()
  const fresh = new Map<string, Array<Wire.StepRecord>>()
  for (let from = 0; from < records.length;) {
    const size = chunkSize(records.length - from)
    const params: Array<unknown> = new Array(size * stepColumns)
    const startedAt: Array<string> = new Array(size)
    for (let i = 0, p = 0; i < size; i++) {
      const step = records[from + i]!
      const wire = encodeStep(step)
      startedAt[i] = wire.started_at
      params[p++] = step.id
      params[p++] = step.trailId
      params[p++] = step.parentId
      params[p++] = step.seq
      params[p++] = step.name
      params[p++] = step.layer
      params[p++] = step.status
      params[p++] = step.leash === undefined ? null : JSON.stringify(step.leash)
      params[p++] = JSON.stringify(wire)
    }
    const inserted = yield* sql.unsafe<{ id: string }>(insertSteps(sql, size), params)
    accepted += inserted.length
    duplicates += size - inserted.length
    const ids = new Set(inserted.map((row) => row.id))
    for (let i = 0; i < size; i++) {
      const step = records[from + i]!
      if (!ids.delete(step.id)) continue
      const steps = fresh.get(step.trailId)
      if (steps === undefined) fresh.set(step.trailId, [step])
      else steps.push(step)
      const known = firstSortKey.get(step.trailId)
      if (known === undefined || startedAt[i]! < known) firstSortKey.set(step.trailId, startedAt[i]!)
    }
    from += size
  }
  return { accepted, duplicates, fresh, firstSortKey }
})

/**
 * One row per trail whose steps arrived before its record (the record fills it in later), sorted
 * by its earliest step; a placeholder already there keeps the earliest, and is written only when
 * a step earlier than its key arrives (a write of the row, even of the same key, runs the trail
 * list's update trigger: its derived columns and tags rewritten). One statement.
 *
 * @since 0.1.0
 * @category statements
 */
export const placeholders = (
  sql: SqlClient.SqlClient,
  firstSortKey: ReadonlyMap<string, string>
): Effect.Effect<void, SqlError> =>
  firstSortKey.size === 0 ? Effect.void : Effect.asVoid(sql`INSERT INTO trails (id, record, status, sort_key)
    SELECT j.value ->> 0, NULL, NULL, j.value ->> 1 FROM ${Dialect.each(sql, JSON.stringify([...firstSortKey]))} WHERE true
    ON CONFLICT (id) DO UPDATE SET sort_key = excluded.sort_key
      WHERE trails.record IS NULL AND excluded.sort_key < trails.sort_key`)

/**
 * Brings the flags of every trail the batch added steps to up to date (the server's incremental
 * audit, in the same transaction).
 *
 * @since 0.1.0
 * @category statements
 */
export const flags = (
  sql: SqlClient.SqlClient,
  fresh: ReadonlyMap<string, ReadonlyArray<Wire.StepRecord>>,
  rules: Audit.AuditRules
): Effect.Effect<void, SqlError> => ServerAudit.afterIngest(sql, fresh, rules)

/**
 * What one slice of a batch may hold, in records, a trail record counting as two (its read and
 * its write weigh more than a step's share of a multi-row insert): about as much work as the
 * server does for a few leashes, so a request that arrives meanwhile waits that long at most.
 */
const sliceUnits = 128

/**
 * A batch cut into slices of at most `sliceUnits` (see the module's note), its trail records
 * first, then its steps, each in batch order; a batch that fits is its own one slice.
 *
 * @since 0.1.0
 * @category slicing
 */
export const slices = (batch: Wire.IngestBatch): ReadonlyArray<Wire.IngestBatch> => {
  if (batch.trails.length * 2 + batch.steps.length <= sliceUnits) return [batch]
  const out: Array<Wire.IngestBatch> = []
  let trails: Array<Wire.TrailRecord> = []
  let steps: Array<Wire.StepRecord> = []
  let units = 0
  const cut = () => {
    out.push({ trails, steps })
    trails = []
    steps = []
    units = 0
  }
  for (const trail of batch.trails) {
    if (units + 2 > sliceUnits) cut()
    trails.push(trail)
    units += 2
  }
  for (const step of batch.steps) {
    if (units + 1 > sliceUnits) cut()
    steps.push(step)
    units += 1
  }
  if (units > 0) cut()
  return out
}

/** The ids of the trails a batch writes to: its trail records' and its steps'. */
const trailIdsOf = (batch: Wire.IngestBatch): ReadonlyArray<string> => {
  const ids = new Set<string>()
  for (const trail of batch.trails) ids.add(trail.id)
  for (const step of batch.steps) ids.add(step.trailId)
  return [...ids]
}

/** Stores one slice: the four groups of statements in order, in one transaction, under the locks of its trails (`Dialect.lockTrails`). */
const storeSlice = (
  sql: SqlClient.SqlClient,
  batch: Wire.IngestBatch,
  rules: Audit.AuditRules
): Effect.Effect<Wire.IngestAccepted, SqlError> =>
  sql.withTransaction(Effect.gen(function*() {
    // the batch's trails are written (and their flags recomputed) one instance at a time
    yield* Dialect.lockTrails(sql, trailIdsOf(batch))
    const t = yield* trails(sql, batch.trails)
    const s = yield* steps(sql, batch.steps)
    yield* placeholders(sql, s.firstSortKey)
    yield* flags(sql, s.fresh, rules)
    return { accepted: t.accepted + s.accepted, duplicates: t.duplicates + s.duplicates }
  }))

/**
 * Stores a batch, slice by slice (`slices`), each slice in its own transaction; between two
 * slices the requests that arrived meanwhile are answered. Answers the counts of the whole batch.
 *
 * @since 0.1.0
 * @category statements
 */
export const ingest = (
  sql: SqlClient.SqlClient,
  batch: Wire.IngestBatch,
  rules: Audit.AuditRules
): Effect.Effect<Wire.IngestAccepted, SqlError> => {
  const parts = slices(batch)
  if (parts.length === 1) return storeSlice(sql, batch, rules)
  return Effect.gen(function*() {
    let accepted = 0
    let duplicates = 0
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) yield* yieldToEventLoop
      const stored = yield* storeSlice(sql, parts[i]!, rules)
      accepted += stored.accepted
      duplicates += stored.duplicates
    }
    return { accepted, duplicates }
  })
}
