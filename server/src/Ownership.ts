/**
 * Who may write what: the checks of the agent endpoints that create records, made before
 * anything is stored.
 *
 * - A reviewer key reads and decides; it never ingests records or creates leashes, so nobody can
 *   create a leash and approve it themselves: `403 forbidden`.
 * - An agent key bound to an agent name (`keys create --agent billing-bot`) writes trail records
 *   and leashes of that agent only.
 * - A trail belongs to the key that first wrote it (a trail record, a step, or a leash naming
 *   it): steps, trail records and leashes into a trail another key owns are refused, whatever
 *   the key, so one agent cannot write into another's trails.
 *
 * Both refusals of an agent key are `403 agent_mismatch`, and refuse the whole request: nothing
 * of it is stored. A trail is claimed once the request that names it was accepted.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Wire from "houndsight/wire"
import { type Holder, isHolder } from "./Keys.js"
import * as Dialect from "./Dialect.js"

/**
 * The error code of a write refused because it names another agent or another key's trail.
 *
 * @since 0.1.0
 * @category constants
 */
export const agentMismatch = "agent_mismatch"

const mismatch = (message: string) => new Wire.ApiError.Forbidden({ code: agentMismatch, message })

const holderOf = (caller: Context): Holder | undefined => (isHolder(caller) ? caller : undefined)

type Context = { readonly role: Wire.KeyRole; readonly name: string }

/**
 * Refuses a reviewer key: v1.1, a reviewer key reads and decides, it does not `what`.
 *
 * @since 0.1.0
 * @category checks
 */
export const refuseReviewer = (caller: Context, what: string): Effect.Effect<void, Wire.ApiError.Forbidden> =>
  caller.role === "reviewer"
    ? Effect.fail(
      new Wire.ApiError.Forbidden({
        message: `a reviewer key may read and decide, not ${what}, so no one can approve a leash they created: ` +
          "give the agent an agent key (houndsight-server keys create --agent NAME)"
      })
    )
    : Effect.void

const checkAgent = (holder: Holder, agent: string, where: string): Effect.Effect<void, Wire.ApiError.Forbidden> =>
  holder.agent !== undefined && holder.agent !== agent
    ? Effect.fail(
      mismatch(
        `${where} names agent ${JSON.stringify(agent)}, but key ${holder.id} is bound to agent ${
          JSON.stringify(holder.agent)
        }: send it with that agent's own key (houndsight-server keys create --agent ${JSON.stringify(agent)})`
      )
    )
    : Effect.void

/**
 * Checks that no trail of `trailIds` is another key's, and answers the effect that claims the
 * ones no key owns yet for `holder`, to run once the request was accepted (a refused request
 * writes nothing). Between the check and the claim another key could only write into a trail
 * whose id it knew before that trail was first written.
 */
const checkTrails = (
  holder: Holder,
  trailIds: ReadonlyArray<string>
): Effect.Effect<Effect.Effect<void, SqlError.SqlError>, Wire.ApiError.Forbidden | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    if (trailIds.length === 0) return Effect.void
    const sql = yield* SqlClient.SqlClient
    const ids = [...new Set(trailIds.map((id) => id.toLowerCase()))]
    const owners = yield* sql<{ trail_id: string; key_id: string }>`
      SELECT trail_id, key_id FROM trail_owners WHERE ${Dialect.inTexts(sql, "trail_id", ids)}`
    const taken = owners.find((o) => o.key_id !== holder.id)
    if (taken !== undefined) {
      return yield* mismatch(
        `trail ${taken.trail_id} belongs to another key (${taken.key_id}), which wrote it first: ` +
          `key ${holder.id} may not write into it`
      )
    }
    const owned = new Set(owners.map((o) => o.trail_id))
    const unowned = ids.filter((id) => !owned.has(id))
    if (unowned.length === 0) return Effect.void
    return Effect.asVoid(
      sql`INSERT INTO trail_owners (trail_id, key_id) SELECT j.value, ${holder.id} FROM ${
        Dialect.texts(sql, JSON.stringify(unowned))
      } WHERE true ON CONFLICT DO NOTHING`
    )
  })

/**
 * The checks of `POST /v1/ingest`; answers the claim of the batch's unowned trails for the key,
 * to run once the batch is stored.
 *
 * @since 0.1.0
 * @category checks
 */
export const checkIngest = (
  caller: Context,
  batch: Wire.IngestBatch
): Effect.Effect<Effect.Effect<void, SqlError.SqlError>, Wire.ApiError.Forbidden | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    yield* refuseReviewer(caller, "ingest records")
    const holder = holderOf(caller)
    if (holder === undefined) return Effect.void
    for (let i = 0; i < batch.trails.length; i++) {
      yield* checkAgent(holder, batch.trails[i]!.agent, `trails[${i}] (trail ${batch.trails[i]!.id})`)
    }
    const trailIds: Array<string> = []
    for (const trail of batch.trails) trailIds.push(trail.id)
    for (const step of batch.steps) trailIds.push(step.trailId)
    return yield* checkTrails(holder, trailIds)
  })

/**
 * The checks of `POST /v1/leashes`; answers the claim of the leash's trail for the key (if no key
 * owns it), to run once the leash is created.
 *
 * @since 0.1.0
 * @category checks
 */
export const checkLeash = (
  caller: Context,
  request: Wire.LeashRequest
): Effect.Effect<Effect.Effect<void, SqlError.SqlError>, Wire.ApiError.Forbidden | SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    yield* refuseReviewer(caller, "create leashes")
    const holder = holderOf(caller)
    if (holder === undefined) return Effect.void
    yield* checkAgent(holder, request.agent, `the leash ${request.leashId}`)
    return yield* checkTrails(holder, [request.trailId])
  })
