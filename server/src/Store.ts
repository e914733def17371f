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
import type { Audit } from "houndsight/wire"
import * as Wire from "houndsight/wire"
import * as ServerAudit from "./Audit.js"
import { encodeStep, encodeTrail } from "./IngestCodec.js"
import * as LeashSummary from "./LeashSummary.js"

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
export interface LeashInsert {
  readonly leashId: string
  /** The request body as received: compact JSON in the agent's key order (see `LeashRow.request`). */
  readonly request: string
  /**
   * The parsed body as the agent sent it, and the request decoded from it: its summary (the
   * payload preview) is stored with it, and it is what a reviewer reads whole. Without them,
   * both are read from `request`.
   */
  readonly raw?: unknown
  readonly decoded?: Wire.LeashRequest
  readonly createdAt: number
  readonly expiresAt: number
  readonly decision: Decided | undefined
}

/**
 * A pending leash as a list shows it: its summary (request without payload, payload preview).
 *
 * @since 0.1.0
 * @category models
 */
export interface PendingRow {
  readonly leashId: string
  /** Epoch milliseconds. */
  readonly createdAt: number
  /** Epoch milliseconds. */
  readonly expiresAt: number
  readonly summary: LeashSummary.StoredSummary
}

/**
 * A page of pending leashes.
 *
 * @since 0.1.0
 * @category models
 */
export interface PendingPage {
  readonly rows: ReadonlyArray<PendingRow>
  readonly nextCursor: string | undefined
}

/**
 * The query of a trail list: its page and filters (see `Wire.Api.TrailListParams`).
 *
 * @since 0.1.0
 * @category models
 */
export type TrailQuery = typeof Wire.Api.TrailListParams.Type

/**
 * A page of a trail's steps (`limit`, and the cursor's position).
 *
 * @since 0.1.0
 * @category models
 */
export type StepPage = typeof Wire.Api.TrailParams.Type

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
  readonly insertLeash: (leash: LeashInsert) => Effect.Effect<Option.Option<LeashRow>, SqlError>
  readonly leash: (leashId: string) => Effect.Effect<Option.Option<LeashRow>, SqlError>
  /** Compare-and-set: decides a leash that is pending and not due at `now`; `true` if this call won. */
  readonly decide: (leashId: string, decided: Decided, now: number) => Effect.Effect<boolean, SqlError>
  /** Expires a pending leash that is due at `now` (`timeout`, "expired"); `true` if it did. */
  readonly expire: (leashId: string, now: number) => Effect.Effect<boolean, SqlError>
  /** Expires every pending leash due at `now`; answers their ids. */
  readonly expireDue: (now: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** The request of a leash as received (JSON text in the agent's key order; canonical for leashes stored before v1.1). */
  readonly leashRequest: (leashId: string) => Effect.Effect<Option.Option<string>, SqlError>
  /** A page of pending leashes not due at `now`, the closest to expiry first (summaries only). */
  readonly pending: (
    now: number,
    limit: number,
    cursor?: readonly [number, string] | undefined
  ) => Effect.Effect<PendingPage, SqlError>
  /** Every pending leash's id and expiry (to arm the expiry timers at startup). */
  readonly pendingExpiries: Effect.Effect<ReadonlyArray<{ readonly leashId: string; readonly expiresAt: number }>, SqlError>
  /** A page of trails (with records), the newest first, filtered. */
  readonly trails: (query: TrailQuery) => Effect.Effect<Wire.TrailList, SqlError>
  /** The summaries of these trails (those with records), in no order. */
  readonly trailSummaries: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Wire.TrailSummary>, SqlError>
  /** A trail and a page of its steps, with the page's flags and the trail's counts. */
  readonly trail: (id: string, page?: StepPage) => Effect.Effect<Option.Option<Wire.TrailDetail>, SqlError>
  /** A page of flags: every trail's (the newest trail first) or one trail's, `seq` order within a trail. */
  readonly flags: (
    trailId: string | undefined,
    limit: number,
    cursor?: readonly [string, string, number, string] | undefined
  ) => Effect.Effect<Wire.FlagList, SqlError>
  /** What the server holds of these leashes (their trail, action and decision), by leash id. */
  readonly heldLeashes: (
    leashIds: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, ServerAudit.HeldLeash>, SqlError>
}>() {}

const decodeTrail = Schema.decodeSync(Wire.TrailRecord)
const decodeStep = Schema.decodeSync(Wire.StepRecord)
const decodeRequest = Schema.decodeUnknownSync(Wire.LeashRequest)

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

const decodeSummary = Schema.decodeUnknownSync(Wire.TrailSummary)

interface TrailSummaryRow {
  readonly id: string
  readonly status: string
  readonly summary: string
  readonly flag_count: number
  readonly step_count: number
  readonly sort_key: string
}

/** A trail list's line from its stored summary (the record without payload, output and events). */
const toSummary = (row: TrailSummaryRow): Wire.TrailSummary =>
  decodeSummary({
    ...(JSON.parse(row.summary) as object),
    id: row.id,
    status: row.status,
    step_count: row.step_count,
    flag_count: row.flag_count
  })

const trailSummaryColumns = `t.id, t.status, t.summary, t.flag_count, t.sort_key,
  (SELECT count(*) FROM steps s WHERE s.trail_id = t.id) AS step_count`

/** The columns of a leash row (not its list columns or summary). */
const leashColumns = `leash_id, request, status, created_at, expires_at, decision, reason, modified_payload,
  decided_by, decided_at, decided_by_id`

/**
 * The statement of a page of the trail list: one index serves each filter (the tag table by
 * `(key, value, time)` or `(key, time)`, the trails by `(agent | status | trigger, time)`,
 * flagged or not, or by time alone), walked from the cursor, newest first; one row more than
 * the page tells whether there is a next one.
 *
 * @since 0.1.0
 * @category statements
 */
export const trailListSql = (q: TrailQuery): { readonly text: string; readonly params: ReadonlyArray<unknown> } => {
  const where: Array<string> = ["t.record IS NOT NULL"]
  const params: Array<unknown> = []
  let from = "trails t"
  let key = "t.sort_key"
  let id = "t.id"
  if (q.tag !== undefined) {
    from = "trail_tags g JOIN trails t ON t.id = g.trail_id"
    key = "g.sort_key"
    id = "g.trail_id"
    where.push("g.key = ?")
    params.push(q.tag.key)
    if (q.tag.value !== undefined) {
      where.push("g.value = ?")
      params.push(q.tag.value)
    }
  }
  if (q.agent !== undefined) {
    where.push("t.agent = ?")
    params.push(q.agent)
  }
  if (q.status !== undefined) {
    where.push("t.status = ?")
    params.push(q.status)
  }
  if (q.trigger !== undefined) {
    where.push("t.trail_trigger = ?")
    params.push(q.trigger)
  }
  if (q.flagged !== undefined) where.push(q.flagged ? "t.flag_count > 0" : "t.flag_count = 0")
  if (q.from !== undefined) {
    where.push(`${key} >= ?`)
    params.push(q.from.toISOString())
  }
  if (q.to !== undefined) {
    where.push(`${key} < ?`)
    params.push(q.to.toISOString())
  }
  if (q.cursor !== undefined) {
    where.push(`(${key}, ${id}) < (?, ?)`)
    params.push(q.cursor[0], q.cursor[1])
  }
  params.push(q.limit + 1)
  return {
    text: `SELECT ${trailSummaryColumns} FROM ${from} WHERE ${where.join(" AND ")}
      ORDER BY ${key} DESC, ${id} DESC LIMIT ?`,
    params
  }
}

/**
 * The most bytes of step records one page of `GET /v1/trails/{id}` holds past its first step
 * (whole records: a page of records at the 256 KiB limit is 4 of them).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxStepPageBytes = 1024 * 1024

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
      sql.unsafe<LeashDbRow>(`SELECT ${leashColumns} FROM leashes WHERE leash_id = ?`, [leashId]),
      (rows) => Option.map(Option.fromNullable(rows[0]), toLeash)
    )

  // One statement, atomic on its own: no transaction (BEGIN and COMMIT cost two more statements,
  // prepared anew each time). A leash is never deleted, so the read after a conflict finds it.
  const insertLeash = (row: LeashInsert) =>
    Effect.gen(function*() {
      const d = row.decision
      // The list summary (payload preview) is computed here, once; `request` (as received) is
      // what the leash's own page and a reviewer's read of the leash show whole.
      const raw = row.raw ?? JSON.parse(row.request)
      const decoded = row.decoded ?? decodeRequest(raw)
      const summary = LeashSummary.summarize(decoded, raw)
      const inserted = yield* sql<{ leash_id: string }>`INSERT INTO leashes
        (leash_id, request, status, created_at, expires_at, decision, reason, modified_payload, decided_by, decided_at,
          trail_id, action_name, agent, summary)
        VALUES (${row.leashId}, ${row.request}, ${d === undefined ? "pending" : "decided"}, ${row.createdAt},
          ${row.expiresAt}, ${d?.decision ?? null}, ${d?.reason ?? null}, ${d?.modifiedPayload ?? null},
          ${d?.decidedBy ?? null}, ${d?.decidedAt ?? null}, ${decoded.trailId}, ${decoded.actionName},
          ${decoded.agent}, ${summary})
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

  const leashRequest = (leashId: string) =>
    Effect.map(
      sql<{ request: string }>`SELECT request FROM leashes WHERE leash_id = ${leashId}`,
      (rows) => Option.map(Option.fromNullable(rows[0]), (r) => r.request)
    )

  const pending = (now: number, limit: number, cursor?: readonly [number, string]) => {
    // One range of the index: after the cursor, or after `now` (nothing pending is due then).
    const [after, afterId] = cursor !== undefined && cursor[0] >= now ? cursor : [now, "\uffff"]
    return Effect.map(
      sql<{ leash_id: string; created_at: number; expires_at: number; summary: string }>`SELECT leash_id, created_at,
          expires_at, summary FROM leashes
        WHERE status = 'pending' AND (expires_at, leash_id) > (${after}, ${afterId})
        ORDER BY expires_at, leash_id LIMIT ${limit + 1}`,
      (rows): PendingPage => {
        const page = rows.slice(0, limit)
        const last = page[page.length - 1]
        return {
          rows: page.map((r) => ({
            leashId: r.leash_id,
            createdAt: r.created_at,
            expiresAt: r.expires_at,
            summary: LeashSummary.decode(r.summary)
          })),
          nextCursor: rows.length > limit && last !== undefined
            ? Wire.encodeCursor(Wire.LeashCursor, [last.expires_at, last.leash_id])
            : undefined
        }
      }
    )
  }

  const pendingExpiries = Effect.map(
    sql<{ leash_id: string; expires_at: number }>`SELECT leash_id, expires_at FROM leashes WHERE status = 'pending'`,
    (rows) => rows.map((r) => ({ leashId: r.leash_id, expiresAt: r.expires_at }))
  )

  const trails = (q: TrailQuery) =>
    Effect.gen(function*() {
      const { params, text } = trailListSql(q)
      const rows = yield* sql.unsafe<TrailSummaryRow>(text, params)
      const page = rows.slice(0, q.limit)
      const last = page[page.length - 1]
      return {
        trails: page.map(toSummary),
        ...(rows.length > q.limit && last !== undefined
          ? { nextCursor: Wire.encodeCursor(Wire.TrailCursor, [last.sort_key, last.id]) }
          : {})
      }
    })

  const trailSummaries = (ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.succeed([]) : Effect.map(
      sql.unsafe<TrailSummaryRow>(
        `SELECT ${trailSummaryColumns} FROM trails t
          WHERE t.id IN (SELECT value FROM json_each(?)) AND t.record IS NOT NULL`,
        [JSON.stringify(ids)]
      ),
      (rows) => rows.map(toSummary)
    )

  const trail = (id: string, p: StepPage = { limit: Wire.defaultListLimit }) =>
    Effect.gen(function*() {
      const found = yield* sql<{ record: string | null; flag_count: number }>`SELECT record, flag_count FROM trails
        WHERE id = ${id}`
      if (found.length === 0) return Option.none()
      // A page holds up to `limit` steps and, past the first, no more than `maxStepPageBytes` of
      // records (sizes read from the rows' headers, without the records), so a page of records
      // at the 256 KiB limit is a few of them, not 25 MB.
      const after = [p.cursor?.[0] ?? Number.MIN_SAFE_INTEGER, p.cursor?.[1] ?? ""] as const
      const sizes = yield* sql<{ bytes: number }>`SELECT octet_length(record) AS bytes FROM steps
        WHERE trail_id = ${id} AND (seq, id) > (${after[0]}, ${after[1]}) ORDER BY seq, id LIMIT ${p.limit + 1}`
      let take = 0
      for (let total = 0; take < Math.min(p.limit, sizes.length); take++) {
        total += sizes[take]!.bytes
        if (take > 0 && total > maxStepPageBytes) break
      }
      const steps = yield* sql<{ seq: number; id: string; record: string }>`SELECT seq, id, record FROM steps
        WHERE trail_id = ${id} AND (seq, id) > (${after[0]}, ${after[1]}) ORDER BY seq, id LIMIT ${take}`
      const more = sizes.length > take
      const page = steps
      const counted = yield* sql<{ n: number }>`SELECT count(*) AS n FROM steps WHERE trail_id = ${id}`
      const flags = page.length === 0 ? [] : yield* sql<FlagRow>`SELECT * FROM flags
        WHERE trail_id = ${id} AND step_id IN (SELECT value FROM json_each(${JSON.stringify(page.map((s) => s.id))}))
        ORDER BY seq, step_id`
      const record = found[0]!.record
      const last = page[page.length - 1]
      return Option.some<Wire.TrailDetail>({
        trail: record === null ? null : decodeTrail(JSON.parse(record)),
        steps: page.map((s) => decodeStep(JSON.parse(s.record))),
        flags: flags.map(toFlag),
        stepCount: counted[0]?.n ?? 0,
        flagCount: found[0]!.flag_count,
        ...(more && last !== undefined
          ? { nextCursor: Wire.encodeCursor(Wire.StepCursor, [last.seq, last.id]) }
          : {})
      })
    })

  const flags = (trailId: string | undefined, limit: number, cursor?: readonly [string, string, number, string]) =>
    Effect.gen(function*() {
      const rows: Array<FlagRow & { readonly sort_key: string }> = []
      if (trailId !== undefined || cursor !== undefined) {
        // One trail's flags (or the rest of the cursor's trail), by (seq, step).
        const one = trailId ?? cursor![1]
        const after = trailId === undefined || cursor?.[1] === trailId ? cursor : undefined
        rows.push(
          ...(yield* sql<FlagRow & { sort_key: string }>`SELECT f.*, t.sort_key FROM flags f JOIN trails t ON t.id = f.trail_id
            WHERE f.trail_id = ${one} AND (f.seq, f.step_id) > (${after?.[2] ?? Number.MIN_SAFE_INTEGER}, ${after?.[3] ?? ""})
            ORDER BY f.seq, f.step_id LIMIT ${limit + 1}`)
        )
      }
      if (trailId === undefined && rows.length <= limit) {
        // Then the next trails with flags, newest first (each has one at least, so no more
        // trails than flags are wanted), and each one's flags by (seq, step), until the page is full.
        const next = yield* sql<{ id: string; sort_key: string }>`SELECT id, sort_key FROM trails INDEXED BY trails_flagged
          WHERE flag_count > 0 AND (sort_key, id) < (${cursor?.[0] ?? "\uffff"}, ${cursor?.[1] ?? ""})
          ORDER BY sort_key DESC, id DESC LIMIT ${limit + 1 - rows.length}`
        for (const t of next) {
          if (rows.length > limit) break
          const own = yield* sql<FlagRow>`SELECT * FROM flags WHERE trail_id = ${t.id}
            ORDER BY seq, step_id LIMIT ${limit + 1 - rows.length}`
          for (const f of own) rows.push({ ...f, sort_key: t.sort_key })
        }
      }
      const page = rows.slice(0, limit)
      const last = page[page.length - 1]
      return {
        flags: page.map(toFlag),
        ...(rows.length > limit && last !== undefined
          ? { nextCursor: Wire.encodeCursor(Wire.FlagCursor, [last.sort_key, last.trail_id, last.seq, last.step_id]) }
          : {})
      }
    })

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
    leashRequest,
    pending,
    pendingExpiries,
    trails,
    trailSummaries,
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
