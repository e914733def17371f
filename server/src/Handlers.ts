/**
 * The handler of every endpoint of `Wire.Api.HoundsightApi`, by group and name. Decoding,
 * auth, status codes and error answers are done by `Http`; these only do the work.
 *
 * @since 0.1.0
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import { LeashDesk } from "./LeashDesk.js"
import type * as Http from "./Http.js"
import { isHolder } from "./Keys.js"
import { Notifier } from "./Notifier.js"
import * as Ownership from "./Ownership.js"
import * as PendingSlices from "./PendingSlices.js"
import { Rules } from "./Rules.js"
import { chainMessage } from "./ServerError.js"
import { Store } from "./Store.js"

/**
 * The groups of the contract's API description.
 *
 * @since 0.1.0
 * @category models
 */
export type Groups = typeof Wire.Api.HoundsightApi extends HttpApi.HttpApi<any, infer G, any, any> ? G : never

const decodeRequest = Schema.decodeUnknownSync(Wire.LeashRequest)

/**
 * Builds the handlers on the gate, the store and the rules.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Http.Handlers<Groups, never>, never, LeashDesk | Store | Rules | Notifier | Ownership.Ownership | SqlClient.SqlClient> = Effect
  .gen(function*() {
  const desk = yield* LeashDesk
  const sql = yield* SqlClient.SqlClient
  const ownership = yield* Ownership.Ownership
  const store = yield* Store
  const rules = yield* Rules
  const notifier = yield* Notifier
  /** The trails a batch wrote to, told to the other instances (their dashboards). */
  const announceTrails = (batch: Wire.IngestBatch) =>
    notifier.announce("trails", [...new Set([...batch.trails.map((t) => t.id), ...batch.steps.map((s) => s.trailId)])])

  return {
    health: {
      // ready when the database answers: a proxy's health check takes an instance out while it does not
      healthz: () =>
        sql`SELECT 1`.pipe(
          Effect.as({ status: "ok" as const }),
          Effect.mapError((cause) =>
            new Wire.ApiError.ServiceUnavailable({
              message: `not ready: the database does not answer (${chainMessage(cause)}); try again in a moment`
            })
          )
        )
    },
    agent: {
      ingest: ({ payload }) =>
        Effect.flatMap(Wire.Api.Caller, (caller) =>
          Effect.flatMap(ownership.checkIngest(caller, payload), (claim) =>
            Effect.tap(store.ingest(payload, rules.file), () => Effect.zipRight(claim, announceTrails(payload))))),
      createLeash: ({ payload, rawPayload }) =>
        Effect.flatMap(Wire.Api.Caller, (caller) =>
          Effect.flatMap(ownership.checkLeash(caller, payload), (claim) =>
            Effect.tap(desk.create(payload, rawPayload), () => claim))),
      getLeash: ({ path, urlParams }) =>
        Effect.gen(function*() {
          const state = yield* desk.get(path.leashId, urlParams.waitSeconds ?? 0)
          const caller = yield* Wire.Api.Caller
          if (!Wire.canReview(caller.role)) return state
          // v1.1: a reviewer reads the whole request here, the only place it is read whole.
          const received = yield* store.leashRequest(path.leashId)
          return Option.match(received, {
            onNone: () => state,
            onSome: (text): Wire.LeashState => ({ ...state, request: decodeRequest(JSON.parse(text)) })
          })
        }),
      cancelLeash: ({ path }) =>
        Effect.flatMap(Wire.Api.Caller, (caller) =>
          Effect.zipRight(Ownership.refuseReviewer(caller, "cancel leashes"), desk.cancel(path.leashId, caller.name)))
    },
    reviewer: {
      decideLeash: ({ path, payload }) =>
        Effect.flatMap(Wire.Api.Caller, (caller) =>
          desk.decide(path.leashId, payload, isHolder(caller) ? { id: caller.id, name: caller.name } : caller.name)),
      listTrails: ({ urlParams }) => store.trails(urlParams),
      getTrail: ({ path, urlParams }) =>
        Effect.flatMap(store.trail(path.id, urlParams), (detail) =>
          Option.match(detail, {
            onNone: () =>
              Effect.fail(new Wire.ApiError.NotFound({ message: `no trail ${path.id}: no record or step of it has arrived` })),
            onSome: Effect.succeed
          })),
      listLeashes: ({ urlParams }) => PendingSlices.read(desk, urlParams.limit, urlParams.cursor),
      listFlags: ({ urlParams }) => store.flags(urlParams.trailId, urlParams.limit, urlParams.cursor)
    }
  }
})
