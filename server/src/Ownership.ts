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
 * A trail's owner never changes once written (`trail_owners` rows are never updated or
 * deleted), so the checks keep the owners they read from the database in a bounded memory of
 * this instance: an agent writing into its own trail again (every leash and batch of a run) is
 * checked without a statement. A claim is remembered only once read back, since another
 * instance may have claimed the trail first.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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

const holderOf = (caller: Caller): Holder | undefined => (isHolder(caller) ? caller : undefined)

type Caller = { readonly role: Wire.KeyRole; readonly name: string }

/**
 * Refuses a reviewer key: v1.1, a reviewer key reads and decides, it does not `what`.
 *
 * @since 0.1.0
 * @category checks
 */
export const refuseReviewer = (caller: Caller, what: string): Effect.Effect<void, Wire.ApiError.Forbidden> =>
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

/** The claim of trails no key owned: run once the request that names them was accepted. */
type Claim = Effect.Effect<void, SqlError.SqlError>

/**
 * The checks of the agent endpoints that write records, on this instance's database.
 *
 * @since 0.1.0
 * @category tags
 */
export class Ownership extends Context.Tag("houndsight-server/Ownership")<Ownership, {
  /**
   * The checks of `POST /v1/ingest` (and OTLP traces); answers the claim of the batch's unowned
   * trails for the key, to run once the batch is stored.
   */
  readonly checkIngest: (
    caller: Caller,
    batch: Wire.IngestBatch
  ) => Effect.Effect<Claim, Wire.ApiError.Forbidden | SqlError.SqlError>
  /**
   * The checks of `POST /v1/leashes`; answers the claim of the leash's trail for the key (if no
   * key owns it), to run once the leash is created.
   */
  readonly checkLeash: (
    caller: Caller,
    request: Wire.LeashRequest
  ) => Effect.Effect<Claim, Wire.ApiError.Forbidden | SqlError.SqlError>
}>() {}

/**
 * How many trails' owners an instance remembers: past it, the first remembered is forgotten
 * (and read from the database again when next named). Each is two short strings: a few MiB in
 * all.
 *
 * @since 0.1.0
 * @category constants
 */
export const rememberedOwners = 10_000

/**
 * The checks on the database of the `SqlClient`, remembering at most `remembered` trails' owners
 * (default {@link rememberedOwners}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly remembered?: number | undefined } = {}
): Effect.Effect<Context.Tag.Service<Ownership>, never, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const remembered = options.remembered ?? rememberedOwners
    const owners = new Map<string, string>()
    const remember = (trailId: string, keyId: string) => {
      if (!owners.has(trailId) && owners.size >= remembered) owners.delete(owners.keys().next().value!)
      owners.set(trailId, keyId)
    }
    const refuseTaken = (holder: Holder, trailId: string, keyId: string) =>
      mismatch(
        `trail ${trailId} belongs to another key (${keyId}), which wrote it first: key ${holder.id} may not write into it`
      )

    /**
     * Checks that no trail of `trailIds` is another key's, and answers the effect that claims the
     * ones no key owns yet for `holder`, to run once the request was accepted (a refused request
     * writes nothing). Between the check and the claim another key could only write into a trail
     * whose id it knew before that trail was first written.
     */
    const checkTrails = (holder: Holder, trailIds: ReadonlyArray<string>): Effect.Effect<Claim, Wire.ApiError.Forbidden | SqlError.SqlError> => {
      const unknown: Array<string> = []
      for (const id of new Set(trailIds.map((id) => id.toLowerCase()))) {
        const owner = owners.get(id)
        if (owner === undefined) unknown.push(id)
        else if (owner !== holder.id) return Effect.fail(refuseTaken(holder, id, owner))
      }
      if (unknown.length === 0) return Effect.succeed(Effect.void)
      return Effect.flatMap(
        sql<{ trail_id: string; key_id: string }>`
          SELECT trail_id, key_id FROM trail_owners WHERE ${Dialect.inTexts(sql, "trail_id", unknown)}`,
        (rows) => {
          for (const row of rows) remember(row.trail_id, row.key_id)
          const taken = rows.find((row) => row.key_id !== holder.id)
          if (taken !== undefined) return Effect.fail(refuseTaken(holder, taken.trail_id, taken.key_id))
          const owned = new Set(rows.map((row) => row.trail_id))
          const unowned = unknown.filter((id) => !owned.has(id))
          return Effect.succeed(
            unowned.length === 0 ? Effect.void : Effect.asVoid(
              sql`INSERT INTO trail_owners (trail_id, key_id) SELECT j.value, ${holder.id} FROM ${
                Dialect.texts(sql, JSON.stringify(unowned))
              } WHERE true ON CONFLICT DO NOTHING`
            )
          )
        }
      )
    }

    return Ownership.of({
      checkIngest: (caller, batch) =>
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
        }),
      checkLeash: (caller, request) =>
        Effect.gen(function*() {
          yield* refuseReviewer(caller, "create leashes")
          const holder = holderOf(caller)
          if (holder === undefined) return Effect.void
          yield* checkAgent(holder, request.agent, `the leash ${request.leashId}`)
          return yield* checkTrails(holder, [request.trailId])
        })
    })
  })

/**
 * The checks, on the database of the `SqlClient` given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Ownership, never, SqlClient.SqlClient> = Layer.effect(Ownership, make())
