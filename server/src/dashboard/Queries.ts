/**
 * Reads the dashboard needs that the `Store` does not offer: the latest decisions, and the
 * counts shown in the navigation. Read-only; every write goes through the `Gate`.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { Wire } from "houndsight"

/**
 * A decided leash, with what it asked.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecidedLeash {
  readonly leashId: string
  readonly request: Wire.LeashRequest
  readonly decision: Wire.GateDecision["decision"]
  readonly reason: string
  readonly decidedBy: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number
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
 * The dashboard's reads.
 *
 * @since 0.1.0
 * @category tags
 */
export class Queries extends Context.Tag("houndsight-server/DashboardQueries")<Queries, {
  /** The latest decisions, newest first. */
  readonly recentDecisions: (limit: number) => Effect.Effect<ReadonlyArray<DecidedLeash>, SqlError>
  /** Pending leashes not due at `now`, and flags. */
  readonly counts: (now: number) => Effect.Effect<Counts, SqlError>
}>() {}

const decodeRequest = Schema.decodeUnknownEither(Wire.LeashRequest)

interface DecidedRow {
  readonly leash_id: string
  readonly request: string
  readonly decision: Wire.GateDecision["decision"]
  readonly reason: string | null
  readonly decided_by: string | null
  readonly decided_at: number | null
  readonly expires_at: number
}

/**
 * The reads on the `SqlClient` in the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const recentDecisions = (limit: number) =>
    Effect.map(
      sql<DecidedRow>`SELECT leash_id, request, decision, reason, decided_by, decided_at, expires_at
        FROM leashes WHERE status = 'decided' AND decision IS NOT NULL
        ORDER BY coalesce(decided_at, expires_at) DESC, leash_id LIMIT ${limit}`,
      (rows) =>
        rows.flatMap((row): Array<DecidedLeash> => {
          let parsed: unknown
          try {
            parsed = JSON.parse(row.request)
          } catch {
            return []
          }
          const request = decodeRequest(parsed)
          if (request._tag === "Left") return []
          return [{
            leashId: row.leash_id,
            request: request.right,
            decision: row.decision,
            reason: row.reason ?? "",
            decidedBy: row.decided_by ?? undefined,
            decidedAt: row.decided_at ?? row.expires_at
          }]
        })
    )

  const counts = (now: number) =>
    Effect.map(
      sql<{ pending: number; flags: number }>`SELECT
        (SELECT count(*) FROM leashes WHERE status = 'pending' AND expires_at > ${now}) AS pending,
        (SELECT count(*) FROM flags) AS flags`,
      (rows) => ({ pending: rows[0]?.pending ?? 0, flags: rows[0]?.flags ?? 0 })
    )

  return Queries.of({ recentDecisions, counts })
})

/**
 * The reads as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Queries, never, SqlClient.SqlClient> = Layer.effect(Queries, make)
