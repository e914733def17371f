/**
 * What the leash engine and every gate transport share: the `Gate` interface (the three calls
 * a transport answers), the leash to create, and the classified failure of one call. Defined
 * below both the engine and the public `Leash` module, which re-exports them.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { LeashRequest } from "../../schema/LeashRequest.js"
import type { LeashState } from "../../schema/LeashState.js"

/**
 * A classified failure of one gate call: `Transient` (try again later, with the server's
 * `Retry-After` when it sent one), `Rejected` (the gate said the request is wrong) or `Decode`
 * (a 2xx answer that is not a leash state). Documented where it is exported, `Leash.GateError`.
 */
export class GateError extends Schema.TaggedError<GateError>("houndsight/GateError")("GateError", {
  reason: Schema.Literal("Transient", "Rejected", "Decode"),
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  retryAfterMillis: Schema.optional(Schema.Number)
}) {}

/** A leash to create: the request, and its body encoded once (see `Leash.NewLeash`). */
export interface NewLeash {
  readonly request: LeashRequest
  /** The JSON body, snake_case, built once per call. */
  readonly body: string
}

/** The gate transport: create, long-poll, cancel (see `Leash.Gate`). */
export interface Gate {
  /** `POST /v1/leashes`: idempotent by `leash_id`. */
  readonly create: (leash: NewLeash) => Effect.Effect<LeashState, GateError>
  /** `GET /v1/leashes/{id}?wait_seconds=N`: holds up to `waitSeconds` until decided. */
  readonly poll: (leashId: string, waitSeconds: number) => Effect.Effect<LeashState, GateError>
  /** `POST /v1/leashes/{id}/cancel`: a pending leash becomes `timeout`. */
  readonly cancel: (leashId: string) => Effect.Effect<LeashState, GateError>
}
