/**
 * Everything the server keeps, in SQLite: trails, steps, bypass flags and leashes. Each method
 * is one statement or one transaction; the rules of the contract that need several statements
 * (ingest idempotency and flag recomputation, a decision's compare-and-set) live here so they
 * run atomically.
 *
 * - Trails: the first terminal record (`ok`, `error`, `interrupted`) wins; a `running` record
 *   never replaces a terminal one; anything already known counts as a duplicate.
 * - Steps: the first record of an id wins; steps may arrive before their trail.
 * - Flags: brought up to date by `Audit.afterIngest` (the server's incremental audit, in the same
 *   transaction) for the steps a batch adds, at a cost bounded by the batch and the flags it
 *   changes; they always equal the SDK's `Audit.flags` over the trail as the server received it
 *   (with the server's cross-check of review steps), whatever order batches arrive in.
 * - Leashes: a decision is written with `UPDATE … WHERE status = 'pending' AND expires_at > now`,
 *   so of many concurrent decisions exactly one changes the row.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Audit } from "houndsight"
import { Wire } from "houndsight"
import * as ServerAudit from "./Audit.js"
import { encodeStep, encodeTrail } from "./IngestCodec.js"

/**
 * A stored leash.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeashRow {
  readonly leashId: string
  /**
   * The request body as received: compact JSON, keys in the order the agent sent them (leashes
   * written before the server kept the order hold canonical JSON). Compare with `Canonical`.
   */
  readonly request: string
  readonly status: "pending" | "decided"
  /** Epoch milliseconds. */
  readonly createdAt: number
  /** Epoch milliseconds: `createdAt + timeout_seconds`. */
  readonly expiresAt: number
  readonly decision: Decided | undefined
}

/**
 * A decision as stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decided {
  readonly decision: Wire.GateDecision["decision"]
  readonly reason: string
  /** The modified payload as JSON text (`undefined`: none). */
  readonly modifiedPayload: string | undefined
  readonly decidedBy: string | undefined
  /** The id of the key whose holder decided (a reviewer's), when a person decided. */
  readonly decidedById?: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number
}

/**
 * A new leash to store: pending, or already decided (a floor rule fired).
 *
 * @since 0.1.0
 * @category models
 */
export interface NewLeash {
  readonly leashId: string
  readonly request: string
  readonly createdAt: number
  readonly expiresAt: number
  readonly decision: Decided | undefined
}

/**
 * The server's storage.
 *
 * @since 0.1.0
 * @category tags
 */
export class Store extends Context.Tag("houndsight-server/Store")<Store, {
  /** Stores a batch (one transaction) and brings the flags of every trail it adds steps to up to date. */
  readonly ingest: (batch: Wire.IngestBatch, rules: Audit.AuditRules) => Effect.Effect<Wire.IngestAccepted, SqlError>
  /** Recomputes the flags of every trail with the SDK's `Audit` (after the sensitive list changed). */
  readonly recomputeAllFlags: (rules: Audit.AuditRules) => Effect.Effect<number, SqlError>
  /** A server fact from the `meta` table. */
  readonly getMeta: (key: string) => Effect.Effect<Option.Option<string>, SqlError>
  readonly setMeta: (key: string, value: string) => Effect.Effect<void, SqlError>
  /** Stores a new leash; `Some(existing)` (and nothing written) when the id is already taken. */
  readonly insertLeash: (leash: NewLeash) => Effect.Effect<Option.Option<LeashRow>, SqlError>
  readonly leash: (leashId: string) => Effect.Effect<Option.Option<LeashRow>, SqlError>
  /** Compare-and-set: decides a leash that is pending and not due at `now`; `true` if this call won. */
  readonly decide: (leashId: string, decided: Decided, now: number) => Effect.Effect<boolean, SqlError>
  /** Expires a pending leash that is due at `now` (`timeout`, "expired"); `true` if it did. */
  readonly expire: (leashId: string, now: number) => Effect.Effect<boolean, SqlError>
  /** Expires every pending leash due at `now`; answers their ids. */
  readonly expireDue: (now: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** Pending leashes not due at `now`, the closest to expiry first. */
  readonly pending: (now: number, limit: number) => Effect.Effect<ReadonlyArray<LeashRow>, SqlError>
  /** Every pending leash's id and expiry (to arm the expiry timers at startup). */
  readonly pendingExpiries: Effect.Effect<ReadonlyArray<{ readonly leashId: string; readonly expiresAt: number }>, SqlError>
  readonly trails: (limit: number) => Effect.Effect<ReadonlyArray<Wire.TrailSummary>, SqlError>
  readonly trail: (id: string) => Effect.Effect<Option.Option<Wire.TrailDetail>, SqlError>
  readonly flags: (trailId: string | undefined, limit: number) => Effect.Effect<ReadonlyArray<Wire.Flag>, SqlError>
  /** What the server holds of these leashes (their trail, action and decision), by leash id. */
  readonly heldLeashes: (
    leashIds: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, ServerAudit.HeldLeash>, SqlError>
}>() {}

const decodeTrail = Schema.decodeSync(Wire.TrailRecord)
const decodeStep = Schema.decodeSync(Wire.StepRecord)

interface LeashDbRow {
  readonly leash_id: string
  readonly request: string
  readonly status: "pending" | "decided"
  readonly created_at: number
  readonly expires_at: number
  readonly decision: Wire.GateDecision["decision"] | null
  readonly reason: string | null
  readonly modified_payload: string | null
  readonly decided_by: string | null
  readonly decided_by_id?: string | null
  readonly decided_at: number | null
}

const toLeash = (row: LeashDbRow): LeashRow => ({
  leashId: row.leash_id,
  request: row.request,
  status: row.status,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  decision: row.status === "decided" && row.decision !== null
    ? {
      decision: row.decision,
      reason: row.reason ?? "",
      modifiedPayload: row.modified_payload ?? undefined,
      decidedBy: row.decided_by ?? undefined,
      ...(row.decided_by_id != null ? { decidedById: row.decided_by_id } : {}),
      decidedAt: row.decided_at ?? row.expires_at
    }
    : undefined
})

interface FlagRow {
  readonly trail_id: string
  readonly step_id: string
  readonly seq: number
  readonly kind: Wire.FlagKind
  readonly action_name: string
  readonly review_step_id: string | null
}

const toFlag = (row: FlagRow): Wire.Flag => {
  const flag = { kind: row.kind, trailId: row.trail_id, stepId: row.step_id, seq: row.seq, actionName: row.action_name }
  return row.review_step_id === null ? flag : { ...flag, reviewStepId: row.review_step_id }
}

const summary = (record: string, stepCount: number, flagCount: number): Wire.TrailSummary => {
  const trail = decodeTrail(JSON.parse(record))
  return {
    id: trail.id,
    agent: trail.agent,
    trigger: trail.trigger,
    status: trail.status,
    startedAt: trail.startedAt,
    ...(trail.endedAt !== undefined ? { endedAt: trail.endedAt } : {}),
    ...(trail.costUsd !== undefined ? { costUsd: trail.costUsd } : {}),
    ...(trail.tokens !== undefined ? { tokens: trail.tokens } : {}),
    ...(trail.tags !== undefined ? { tags: trail.tags } : {}),
    stepCount,
    flagCount
  }
}

/** The most rows one multi-row insert carries (9 parameters a row, far below SQLite's limit). */
const maxChunk = 256

/** The columns of a step row. */
const stepColumns = 9

/**
 * The multi-row insert of `rows` steps, by size (at most 9 sizes: see `chunkSize`). `OR IGNORE`
 * rather than `ON CONFLICT (id) DO NOTHING`: the same for a known id (the stored record wins,
 * RETURNING leaves it out), and the decoded rows break no other constraint, but a statement that
 * cannot abort half-way needs no statement journal, which SQLite would otherwise write page by
 * page for every multi-row insert (half the cost of the insert).
 */
const insertStepsSql = new Map<number, string>()
const insertSteps = (rows: number): string => {
  let text = insertStepsSql.get(rows)
  if (text === undefined) {
    text = `INSERT OR IGNORE INTO steps (id, trail_id, parent_id, seq, name, layer, status, leash, record) VALUES ${
      new Array(rows).fill("(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ")
    } RETURNING id`
    insertStepsSql.set(rows, text)
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

/**
 * The store on the `SqlClient` in the context (migrated by `Database.layer`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  // Every statement through the SQL client costs far more than SQLite's work for a row, so the
  // ingest path sends a batch's rows to SQLite in as few statements as it can: multi-row
  // inserts of steps, and the rest as one JSON array parameter read with `json_each`.

  const ingest = (batch: Wire.IngestBatch, rules: Audit.AuditRules) =>
    sql.withTransaction(Effect.gen(function*() {
      let accepted = 0
      let duplicates = 0
      for (const trail of batch.trails) {
        const wire = encodeTrail(trail)
        const record = JSON.stringify(wire)
        const existing = yield* sql<{ record: string | null; status: string | null }>`SELECT record, status
          FROM trails WHERE id = ${trail.id}`
        if (existing.length === 0) {
          yield* sql`INSERT INTO trails (id, record, status, sort_key)
            VALUES (${trail.id}, ${record}, ${trail.status}, ${wire.started_at})`
          accepted++
        } else if (existing[0]!.record === null || (existing[0]!.status === "running" && trail.status !== "running")) {
          yield* sql`UPDATE trails SET record = ${record}, status = ${trail.status}, sort_key = ${wire.started_at}
            WHERE id = ${trail.id}`
          accepted++
        } else {
          duplicates++
        }
      }
      // Steps go in by multi-row statements (up to `maxChunk` rows each). The first record of an
      // id wins, also within a batch; RETURNING names the new ones.
      const firstSortKey = new Map<string, string>()
      const fresh = new Map<string, Array<Wire.StepRecord>>()
      for (let from = 0; from < batch.steps.length;) {
        const size = chunkSize(batch.steps.length - from)
        const params: Array<unknown> = new Array(size * stepColumns)
        const startedAt: Array<string> = new Array(size)
        for (let i = 0, p = 0; i < size; i++) {
          const step = batch.steps[from + i]!
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
        const inserted = yield* sql.unsafe<{ id: string }>(insertSteps(size), params)
        accepted += inserted.length
        duplicates += size - inserted.length
        const ids = new Set(inserted.map((row) => row.id))
        for (let i = 0; i < size; i++) {
          const step = batch.steps[from + i]!
          if (!ids.delete(step.id)) continue
          const steps = fresh.get(step.trailId)
          if (steps === undefined) fresh.set(step.trailId, [step])
          else steps.push(step)
          const known = firstSortKey.get(step.trailId)
          if (known === undefined || startedAt[i]! < known) firstSortKey.set(step.trailId, startedAt[i]!)
        }
        from += size
      }
      // One row per trail whose steps arrived before it (its record fills it in later), sorted
      // by its earliest step.
      if (firstSortKey.size > 0) {
        yield* sql.unsafe(
          `INSERT INTO trails (id, record, status, sort_key)
            SELECT value ->> 0, NULL, NULL, value ->> 1 FROM json_each(?) WHERE true
            ON CONFLICT (id) DO UPDATE SET sort_key = min(sort_key, excluded.sort_key) WHERE trails.record IS NULL`,
          [JSON.stringify([...firstSortKey])]
        )
      }
      yield* ServerAudit.afterIngest(sql, fresh, rules)
      return { accepted, duplicates }
    }))

  const recomputeAllFlags = (rules: Audit.AuditRules) =>
    sql.withTransaction(Effect.gen(function*() {
      const ids = (yield* sql<{ trail_id: string }>`SELECT DISTINCT trail_id FROM steps`).map((row) => row.trail_id)
      for (const id of ids) yield* ServerAudit.recomputeTrail(sql, id, rules)
      return ids.length
    }))

  const getMeta = (key: string) =>
    Effect.map(
      sql<{ value: string }>`SELECT value FROM meta WHERE key = ${key}`,
      (rows) => Option.fromNullable(rows[0]?.value)
    )

  const setMeta = (key: string, value: string) =>
    Effect.asVoid(sql`INSERT INTO meta (key, value) VALUES (${key}, ${value})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`)

  const leash = (leashId: string) =>
    Effect.map(
      sql<LeashDbRow>`SELECT * FROM leashes WHERE leash_id = ${leashId}`,
      (rows) => Option.map(Option.fromNullable(rows[0]), toLeash)
    )

  // One statement, atomic on its own: no transaction (BEGIN and COMMIT cost two more statements,
  // prepared anew each time). A leash is never deleted, so the read after a conflict finds it.
  const insertLeash = (row: NewLeash) =>
    Effect.gen(function*() {
      const d = row.decision
      const inserted = yield* sql<{ leash_id: string }>`INSERT INTO leashes
        (leash_id, request, status, created_at, expires_at, decision, reason, modified_payload, decided_by, decided_at)
        VALUES (${row.leashId}, ${row.request}, ${d === undefined ? "pending" : "decided"}, ${row.createdAt},
          ${row.expiresAt}, ${d?.decision ?? null}, ${d?.reason ?? null}, ${d?.modifiedPayload ?? null},
          ${d?.decidedBy ?? null}, ${d?.decidedAt ?? null})
        ON CONFLICT (leash_id) DO NOTHING RETURNING leash_id`
      return inserted.length === 1 ? Option.none() : yield* leash(row.leashId)
    })

  const decide = (leashId: string, d: Decided, now: number) =>
    Effect.map(
      sql<{ leash_id: string }>`UPDATE leashes SET status = 'decided', decision = ${d.decision}, reason = ${d.reason},
        modified_payload = ${d.modifiedPayload ?? null}, decided_by = ${d.decidedBy ?? null},
        decided_by_id = ${d.decidedById ?? null}, decided_at = ${d.decidedAt}
        WHERE leash_id = ${leashId} AND status = 'pending' AND expires_at > ${now} RETURNING leash_id`,
      (rows) => rows.length === 1
    )

  const expire = (leashId: string, now: number) =>
    Effect.map(
      sql<{ leash_id: string }>`UPDATE leashes SET status = 'decided', decision = 'timeout', reason = 'expired',
        decided_by = 'server', decided_at = expires_at
        WHERE leash_id = ${leashId} AND status = 'pending' AND expires_at <= ${now} RETURNING leash_id`,
      (rows) => rows.length === 1
    )

  const expireDue = (now: number) =>
    Effect.map(
      sql<{ leash_id: string }>`UPDATE leashes SET status = 'decided', decision = 'timeout', reason = 'expired',
        decided_by = 'server', decided_at = expires_at
        WHERE status = 'pending' AND expires_at <= ${now} RETURNING leash_id`,
      (rows) => rows.map((r) => r.leash_id)
    )

  const pending = (now: number, limit: number) =>
    Effect.map(
      sql<LeashDbRow>`SELECT * FROM leashes WHERE status = 'pending' AND expires_at > ${now}
        ORDER BY expires_at, leash_id LIMIT ${limit}`,
      (rows) => rows.map(toLeash)
    )

  const pendingExpiries = Effect.map(
    sql<{ leash_id: string; expires_at: number }>`SELECT leash_id, expires_at FROM leashes WHERE status = 'pending'`,
    (rows) => rows.map((r) => ({ leashId: r.leash_id, expiresAt: r.expires_at }))
  )

  const trails = (limit: number) =>
    Effect.map(
      sql<{ record: string; step_count: number; flag_count: number }>`SELECT t.record,
          (SELECT count(*) FROM steps s WHERE s.trail_id = t.id) AS step_count,
          (SELECT count(*) FROM flags f WHERE f.trail_id = t.id) AS flag_count
        FROM trails t WHERE t.record IS NOT NULL ORDER BY t.sort_key DESC, t.id LIMIT ${limit}`,
      (rows) => rows.map((r) => summary(r.record, r.step_count, r.flag_count))
    )

  const trail = (id: string) =>
    Effect.gen(function*() {
      const found = yield* sql<{ record: string | null }>`SELECT record FROM trails WHERE id = ${id}`
      if (found.length === 0) return Option.none()
      const steps = yield* sql<{ record: string }>`SELECT record FROM steps WHERE trail_id = ${id} ORDER BY seq, id`
      const flags = yield* sql<FlagRow>`SELECT * FROM flags WHERE trail_id = ${id} ORDER BY seq, step_id`
      const record = found[0]!.record
      return Option.some<Wire.TrailDetail>({
        trail: record === null ? null : decodeTrail(JSON.parse(record)),
        steps: steps.map((s) => decodeStep(JSON.parse(s.record))),
        flags: flags.map(toFlag)
      })
    })

  const flags = (trailId: string | undefined, limit: number) =>
    Effect.map(
      trailId === undefined
        ? sql<FlagRow>`SELECT f.* FROM flags f JOIN trails t ON t.id = f.trail_id
            ORDER BY t.sort_key DESC, f.trail_id, f.seq LIMIT ${limit}`
        : sql<FlagRow>`SELECT * FROM flags WHERE trail_id = ${trailId} ORDER BY seq LIMIT ${limit}`,
      (rows) => rows.map(toFlag)
    )

  return Store.of({
    ingest,
    recomputeAllFlags,
    getMeta,
    setMeta,
    insertLeash,
    leash,
    decide,
    expire,
    expireDue,
    pending,
    pendingExpiries,
    trails,
    trail,
    flags,
    heldLeashes: (leashIds) => ServerAudit.heldLeashes(sql, leashIds)
  })
})

/**
 * The store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Store, never, SqlClient.SqlClient> = Layer.effect(Store, make)
