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
 * The service is the front: the leash statements are here, a batch's statements in `Ingest`,
 * the reads of trails, steps and flags in `TrailReads`, and rows are read back by `Rows`.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Audit } from "houndsight/wire"
import * as Wire from "houndsight/wire"
import * as ServerAudit from "./Audit.js"
import * as Dialect from "./Dialect.js"
import * as Ingest from "./Ingest.js"
import * as LeashSummary from "./LeashSummary.js"
import * as Rows from "./Rows.js"
import type { Decided, LeashRow, PendingRow } from "./Rows.js"
import * as TrailReads from "./TrailReads.js"
import type { StepPage, TrailQuery } from "./TrailReads.js"

/**
 * A stored leash, its decision, and a pending list's row (read back by `Rows`).
 *
 * @since 0.1.0
 * @category models
 */
export type { Decided, LeashRow, PendingRow } from "./Rows.js"

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
 * The query of a trail list, and a page of a trail's steps (`TrailReads`).
 *
 * @since 0.1.0
 * @category models
 */
export type { StepPage, TrailQuery } from "./TrailReads.js"

/**
 * The statement of a page of the trail list, and the most bytes of step records one page holds
 * past its first step (`TrailReads`).
 *
 * @since 0.1.0
 * @category statements
 */
export { maxStepPageBytes, trailListSql } from "./TrailReads.js"

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
  /**
   * The time that decides (creation, deadlines, `decided_at`), in epoch milliseconds: the
   * database's clock on PostgreSQL, so instances whose clocks differ agree; the Effect `Clock`
   * on SQLite (the database lives in this process).
   */
  readonly now: Effect.Effect<number, SqlError>
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

const decodeRequest = Schema.decodeUnknownSync(Wire.LeashRequest)

/** The columns of a leash row (not its list columns or summary). */
const leashColumns = `leash_id, request, status, created_at, expires_at, decision, reason, modified_payload,
  decided_by, decided_at, decided_by_id`

/**
 * The store on the `SqlClient` in the context (migrated by `Database.layer`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const ingest = (batch: Wire.IngestBatch, rules: Audit.AuditRules) => Ingest.ingest(sql, batch, rules)

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

  const now = sql.onDialectOrElse({
    pg: () => Effect.map(sql<{ now: number }>`SELECT ${Dialect.nowMillis(sql)} AS now`, (rows) => rows[0]!.now),
    orElse: () => Clock.currentTimeMillis
  })

  const leash = (leashId: string) =>
    Effect.map(
      sql<Rows.LeashColumns>`SELECT ${sql.literal(leashColumns)} FROM leashes WHERE leash_id = ${leashId}`,
      (rows) => Option.map(Option.fromNullable(rows[0]), Rows.toLeash)
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
          rows: Rows.decodePending(page),
          nextCursor: rows.length > limit && last !== undefined
            ? Wire.encodeCursor(Wire.LeashCursor, [last.expires_at, last.leash_id])
            : undefined
        }
      }
    )
  }

  const pendingExpiries = Effect.map(
    sql<{ leash_id: string; expires_at: number }>`SELECT leash_id, expires_at FROM leashes WHERE status = 'pending'`,
    Rows.decodeExpiries
  )

  return Store.of({
    now,
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
    trails: (query) => TrailReads.trails(sql, query),
    trailSummaries: (ids) => TrailReads.trailSummaries(sql, ids),
    trail: (id, page) => TrailReads.trail(sql, id, page),
    flags: (trailId, limit, cursor) => TrailReads.flags(sql, trailId, limit, cursor),
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
