/**
 * Reads the dashboard needs that the `Store` does not offer: the latest decisions, the counts
 * shown in the navigation, what the live view compares, who decided a page's review steps and
 * the leashes of a trail. Read-only; every write goes through the `Gate`.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Wire } from "houndsight"
import * as LeashSummary from "../LeashSummary.js"
import type { PendingRow } from "../Store.js"

/**
 * A decided leash, with what it asked (its summary: no payload).
 *
 * @since 0.1.0
 * @category models
 */
export interface DecidedLeash {
  readonly leashId: string
  readonly request: Wire.LeashRequestSummary
  readonly decision: Wire.GateDecision["decision"]
  readonly reason: string
  readonly decidedBy: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number
}

/**
 * A leash of one trail, as the page of a trail the server holds no record of lists it.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrailLeash extends PendingRow {
  readonly status: "pending" | "decided"
  readonly decision: Wire.GateDecision["decision"] | undefined
}

/**
 * Who decided a leash and when.
 *
 * @since 0.1.0
 * @category models
 */
export interface Facts {
  readonly decidedBy: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number | undefined
}

/**
 * The navigation's counts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts {
  readonly pending: number
  readonly flags: number
}

/**
 * The dashboard's reads. Each reads summaries (never a whole payload) and is bounded by its
 * limit or the ids it is given.
 *
 * @since 0.1.0
 * @category tags
 */
export class Queries extends Context.Tag("houndsight-server/DashboardQueries")<Queries, {
  /** The latest decisions, newest first. */
  readonly recentDecisions: (limit: number) => Effect.Effect<ReadonlyArray<DecidedLeash>, SqlError>
  /** The decision of one leash (none while it is pending). */
  readonly recentDecisionOf: (leashId: string) => Effect.Effect<ReadonlyArray<DecidedLeash>, SqlError>
  /** The ids of the latest decisions, newest first (what the live view compares). */
  readonly recentDecisionIds: (limit: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** Pending leashes not due at `now`, and flags. */
  readonly counts: (now: number) => Effect.Effect<Counts, SqlError>
  /** The ids of the first `limit` pending leashes not due at `now`, the closest to expiry first. */
  readonly pendingIds: (now: number, limit: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** Which of these leashes are still pending and not due at `now`. */
  readonly stillPending: (now: number, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** The summaries of these leashes, if pending and not due at `now`. */
  readonly pendingByIds: (now: number, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<PendingRow>, SqlError>
  /** Who decided these leashes, by id. */
  readonly facts: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, Facts>, SqlError>
  /** The first `limit` leashes the server holds for a trail, oldest first. */
  readonly leashesOfTrail: (trailId: string, limit: number) => Effect.Effect<ReadonlyArray<TrailLeash>, SqlError>
}>() {}

interface DecidedRow {
  readonly leash_id: string
  readonly summary: string
  readonly decision: Wire.GateDecision["decision"]
  readonly reason: string | null
  readonly decided_by: string | null
  readonly decided_at: number | null
  readonly expires_at: number
}

interface SummaryRow {
  readonly leash_id: string
  readonly created_at: number
  readonly expires_at: number
  readonly summary: string
}

const toPending = (row: SummaryRow): PendingRow => ({
  leashId: row.leash_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  summary: LeashSummary.decode(row.summary)
})

/**
 * The reads on the `SqlClient` in the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const toDecided = (row: DecidedRow): DecidedLeash => ({
    leashId: row.leash_id,
    request: LeashSummary.decode(row.summary).request,
    decision: row.decision,
    reason: row.reason ?? "",
    decidedBy: row.decided_by ?? undefined,
    decidedAt: row.decided_at ?? row.expires_at
  })

  const recentDecisions = (limit: number) =>
    Effect.map(
      sql<DecidedRow>`SELECT leash_id, summary, decision, reason, decided_by, decided_at, expires_at
        FROM leashes INDEXED BY leashes_decided_page WHERE status = 'decided' AND decision IS NOT NULL
        ORDER BY decided_at DESC, leash_id DESC LIMIT ${limit}`,
      (rows) => rows.map(toDecided)
    )

  const recentDecisionOf = (leashId: string) =>
    Effect.map(
      sql<DecidedRow>`SELECT leash_id, summary, decision, reason, decided_by, decided_at, expires_at
        FROM leashes WHERE leash_id = ${leashId} AND status = 'decided' AND decision IS NOT NULL`,
      (rows) => rows.map(toDecided)
    )

  const recentDecisionIds = (limit: number) =>
    Effect.map(
      sql<{ leash_id: string }>`SELECT leash_id FROM leashes INDEXED BY leashes_decided_page WHERE status = 'decided'
        ORDER BY decided_at DESC, leash_id DESC LIMIT ${limit}`,
      (rows) => rows.map((r) => r.leash_id)
    )

  const counts = (now: number) =>
    Effect.map(
      sql<{ pending: number; flags: number }>`SELECT
        (SELECT count(*) FROM leashes WHERE status = 'pending' AND expires_at > ${now}) AS pending,
        (SELECT count(*) FROM flags) AS flags`,
      (rows) => ({ pending: rows[0]?.pending ?? 0, flags: rows[0]?.flags ?? 0 })
    )

  const pendingIds = (now: number, limit: number) =>
    Effect.map(
      sql<{ leash_id: string }>`SELECT leash_id FROM leashes WHERE status = 'pending' AND expires_at > ${now}
        ORDER BY expires_at, leash_id LIMIT ${limit}`,
      (rows) => rows.map((r) => r.leash_id)
    )

  const stillPending = (now: number, ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.succeed([]) : Effect.map(
      sql<{ leash_id: string }>`SELECT leash_id FROM leashes
        WHERE leash_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))
          AND status = 'pending' AND expires_at > ${now}`,
      (rows) => rows.map((r) => r.leash_id)
    )

  const pendingByIds = (now: number, ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.succeed([]) : Effect.map(
      sql<SummaryRow>`SELECT leash_id, created_at, expires_at, summary FROM leashes
        WHERE leash_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))
          AND status = 'pending' AND expires_at > ${now}
        ORDER BY expires_at, leash_id`,
      (rows) => rows.map(toPending)
    )

  const facts = (ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.succeed(new Map<string, Facts>()) : Effect.map(
      sql<{ leash_id: string; decided_by: string | null; decided_at: number | null }>`SELECT leash_id, decided_by,
          decided_at FROM leashes
        WHERE leash_id IN (SELECT value FROM json_each(${JSON.stringify(ids)})) AND status = 'decided'`,
      (rows) =>
        new Map(rows.map((r) => [r.leash_id, { decidedBy: r.decided_by ?? undefined, decidedAt: r.decided_at ?? undefined }]))
    )

  const leashesOfTrail = (trailId: string, limit: number) =>
    Effect.map(
      sql<SummaryRow & { status: "pending" | "decided"; decision: Wire.GateDecision["decision"] | null }>`SELECT
          leash_id, created_at, expires_at, summary, status, decision FROM leashes
        WHERE trail_id = ${trailId} ORDER BY created_at, leash_id LIMIT ${limit}`,
      (rows) =>
        rows.map((r): TrailLeash => ({ ...toPending(r), status: r.status, decision: r.decision ?? undefined }))
    )

  return Queries.of({
    recentDecisions,
    recentDecisionOf,
    recentDecisionIds,
    counts,
    pendingIds,
    stillPending,
    pendingByIds,
    facts,
    leashesOfTrail
  })
})

/**
 * The reads as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Queries, never, SqlClient.SqlClient> = Layer.effect(Queries, make)
