/**
 * The leash: ask the gate before a sensitive action and get a `Decision` back. The error channel
 * is `never`: every completed call yields a Decision and records exactly one `review` step. If
 * the fiber is interrupted while waiting, the review step is still recorded (`interrupted`,
 * decision `timeout`, reason "interrupted") and the gate is told to cancel the leash.
 *
 * Two parts: the `Leash` tag is the gate *transport* (create, long-poll, cancel; answered by
 * `HttpGate` in production and `FakeGate` in tests), and `request` / `await` hold every rule on
 * top of it (deadline, retries, back-off, the review step), so fakes and the real gate share them.
 *
 * | number | value |
 * |---|---|
 * | `timeoutSeconds` | default 300, above 0, at most 86,400, fractions allowed |
 * | `blocking` | default `true` |
 * | back-off | 250 ms doubling to 5 s, full jitter; a `Retry-After` replaces it |
 * | one attempt (create, cancel) | at most 10 s, never past the deadline |
 * | long-poll | `wait_seconds` = min(25, whole seconds left); the attempt's own limit is that + 5 s |
 * | last call | a back-off never sleeps through the last second: the agent asks once more then |
 * | settling | a leash created > 1 s late, or whose polls lost an answer: its last second is a cancel |
 * | cancel on interruption | best effort, at most 2 s |
 * | `payload` | at most 262,144 bytes as compact UTF-8 JSON, never cut: larger is `error`, not sent |
 * | `riskSignals` | at most 16,384 bytes as JSON (snake_case keys): larger is `error`, not sent |
 * | `actionSummary` | at most 4,096 characters: longer is `error`, not sent |
 *
 * `traceLink`: the leash's dashboard page `{endpoint}/leashes/{leash_id}` once the gate answered
 * its creation with a 2xx (or a poll of `await`); the trail's page `{endpoint}/trails/{trail_id}`
 * when the SDK refused to send it, the gate refused it, or no answer came.
 *
 * Settling. The server counts a leash's `timeout_seconds` from its own creation, and expires it
 * then. When the creation was confirmed late (the gate was unreachable at first), the server
 * would keep the leash pending after the agent gave up; when a poll lost its answer (a reset, a
 * 5xx, no answer in time), the agent may have missed a decision. Either way a reviewer could see
 * an approval for an action nobody performs. So `request` stops waiting a second early and
 * cancels the leash (a compare-and-set on the server): either the cancel wins and both sides say
 * `timeout`, or a decision came first and the agent gets it. (`await` does not: the same leash
 * may be awaited again.)
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Leash } from "houndsight"
 *
 * const charge = Effect.gen(function*() {
 *   const decision = yield* Leash.request({
 *     actionName: "stripe.charge",
 *     actionSummary: "Charge cus_42 $120.00",
 *     riskSignals: { amountUsd: 120 },
 *     payload: { customer: "cus_42", amountUsd: 120 },
 *     timeoutSeconds: 600
 *   })
 *   if (!decision.approved) return yield* Effect.logWarning(`not charged: ${decision.reason} (${decision.traceLink})`)
 *   // ... charge
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { describeCauseLine, describeError } from "../internal/describe.js"
import { type Loss, toJsonSafeWhole } from "../internal/jsonSafe.js"
import { utf8Length, uuidPattern } from "../schema/Common.js"
import { newId, type StepState, type TrailState } from "../internal/state.js"
import { checkStep, openLeafStep, trailOf } from "../internal/step.js"
import {
  LeashRequest,
  maxActionSummaryChars,
  maxPayloadBytes,
  maxRiskSignalsBytes,
  maxTimeoutSeconds
} from "../schema/LeashRequest.js"
import type { GateDecision, LeashState } from "../schema/LeashState.js"
import type { RiskSignals } from "../schema/RiskSignals.js"
import * as Decision from "./Decision.js"
import type { Trail } from "./Trail.js"

// -----------------------------------------------------------------------------
// transport
// -----------------------------------------------------------------------------

/**
 * A classified failure of one gate call:
 *
 * - `Transient`: try again later (5xx, 408, 429, refused, reset, no answer in time), with the
 *   server's `Retry-After` as `retryAfterMillis` when it sent one;
 * - `Rejected`: the gate said the request is wrong (any other 4xx), with `status`;
 * - `Decode`: a 2xx answer that is not a leash state.
 *
 * `message` says what happened in words a user can act on (status, server code and message).
 *
 * @since 0.1.0
 * @category errors
 */
export class GateError extends Schema.TaggedError<GateError>("houndsight/GateError")("GateError", {
  reason: Schema.Literal("Transient", "Rejected", "Decode"),
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  retryAfterMillis: Schema.optional(Schema.Number)
}) {}

/**
 * A leash to create: the request, and its body encoded once (`POST /v1/leashes` sends exactly
 * these bytes on every retry).
 *
 * @since 0.1.0
 * @category models
 */
export interface NewLeash {
  readonly request: LeashRequest
  /** The JSON body, snake_case, built once per call. */
  readonly body: string
}

/**
 * The gate transport: three calls, each answering a decoded leash state or a classified
 * `GateError`. It holds no rule of its own: deadlines, retries and per-attempt limits are applied
 * by `request` and `await`, which interrupt a call that runs too long.
 *
 * @since 0.1.0
 * @category models
 */
export interface Gate {
  /** `POST /v1/leashes`: idempotent by `leash_id`. */
  readonly create: (leash: NewLeash) => Effect.Effect<LeashState, GateError>
  /** `GET /v1/leashes/{id}?wait_seconds=N`: holds up to `waitSeconds` until decided. */
  readonly poll: (leashId: string, waitSeconds: number) => Effect.Effect<LeashState, GateError>
  /** `POST /v1/leashes/{id}/cancel`: a pending leash becomes `timeout`. */
  readonly cancel: (leashId: string) => Effect.Effect<LeashState, GateError>
}

/**
 * The gate transport in the Context. `HttpGate.layer` provides it in production and
 * `HoundsightTest.layer` (with a `FakeGate`) in tests.
 *
 * @since 0.1.0
 * @category tags
 */
export class Leash extends Context.Tag("houndsight/Leash")<Leash, Gate>() {}

// -----------------------------------------------------------------------------
// numbers
// -----------------------------------------------------------------------------

/**
 * The default `timeoutSeconds`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultTimeoutSeconds = 300

/**
 * The leash limits of contract v1.1, defined once in the contract (`schema/LeashRequest.ts`) and
 * re-exported here: the largest payload (and reviewer's modified payload) and the largest risk
 * signals as compact UTF-8 JSON exactly as sent, and the longest `actionSummary` in characters.
 * A leash over one of them is not sent (a reviewer must see all of what they approve, so it is
 * never cut): the call ends in `error` naming the size and the limit.
 *
 * @since 0.1.0
 * @category constants
 */
export { maxActionSummaryChars, maxPayloadBytes, maxRiskSignalsBytes } from "../schema/LeashRequest.js"

const backoffBaseMillis = 250
const backoffCapMillis = 5_000
const minRetryAfterMillis = 50
const attemptMillis = 10_000
const longPollMaxSeconds = 25
const longPollGraceMillis = 5_000
const cancelMillis = 2_000
/**
 * A back-off never sleeps through the last second before the deadline: the agent asks once
 * more then (a long-poll held until the deadline), so a decision made while it slept, after the
 * gate came back, still reaches it in time.
 */
const lastCallMillis = 1_000
/**
 * A leash whose creation was confirmed later than this after the call started stays pending on
 * the server past the agent's deadline (the server counts `timeout_seconds` from its own
 * creation), so the agent settles it before giving up (see `settle`).
 */
const lateCreateMillis = 1_000
/** The time kept before the deadline to settle a late leash: one cancel. */
const settleMillis = 1_000

// -----------------------------------------------------------------------------
// options
// -----------------------------------------------------------------------------

/**
 * What a leash asks the gate.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions<A = unknown> {
  /** The action, such as `stripe.charge`; the review step and the audit use this name. */
  readonly actionName: string
  /** One line a reviewer reads (at most 4,096 characters; a longer one is `error`, not sent). */
  readonly actionSummary: string
  /**
   * What floor rules and reviewers judge by (required; `{}` when there is nothing to judge by);
   * every key goes out in snake_case. At most 16 KiB as JSON; more is `error`, not sent.
   */
  readonly riskSignals: RiskSignals
  /**
   * What the action will do; the reviewer sees all of it as sent (made JSON-safe, never cut). At
   * most 262,144 bytes (256 KiB) as compact UTF-8 JSON: a larger payload is not sent, and the call
   * ends in `error` naming its size and the limit.
   */
  readonly payload: A
  /** Seconds to wait for a decision: default 300, above 0, at most 86,400, fractions allowed. */
  readonly timeoutSeconds?: number | undefined
  /** `false` returns `async` at once when no decision is made yet. Default `true`. */
  readonly blocking?: boolean | undefined
}

/**
 * A leash with a payload schema: the payload is encoded with it before it is sent, and a
 * reviewer's `modifiedPayload` is decoded with it (a payload that does not decode gives `error`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptionsWithSchema<A, I> extends RequestOptions<A> {
  readonly payloadSchema: Schema.Schema<A, I, never>
}

/**
 * How long `await` waits.
 *
 * @since 0.1.0
 * @category models
 */
export interface AwaitOptions {
  /** Seconds to wait from now: default 300, above 0, at most 86,400. */
  readonly timeoutSeconds?: number | undefined
}

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

interface Outcome<P> {
  readonly decision: Decision.Decision<P>
  /** The modified payload as the gate sent it (for the review step's output). */
  readonly wirePayload?: unknown
  /** The agent stopped waiting (no decision by its deadline), while the leash may be pending. */
  readonly gaveUp?: true
}

interface Call {
  readonly gate: Gate
  readonly clock: Clock.Clock
  readonly leashId: string
  readonly actionName: string
  /**
   * The link every Decision of this call carries: the trail's page until the gate answered the
   * leash with a 2xx, the leash's page from then on (DESIGN.md section 1, v1.1).
   */
  traceLink: string
  /** `{endpoint}/leashes/{leash_id}`. */
  readonly leashLink: string
  readonly timeoutSeconds: number
  readonly start: number
  readonly deadline: number
  /**
   * When waiting stops: the deadline, or `settleMillis` before it once the leash is known to
   * outlive the deadline on the server (then the rest is spent on `settle`).
   */
  stopAt: number
  /**
   * Whether the agent settles the leash when it gives up (`request`: the leash is its own; not
   * `await`, which may be called again on the same leash).
   */
  readonly settles: boolean
  readonly schema: Schema.Schema<any, any, never> | undefined
}

const seconds = (millis: number): string => {
  const s = millis / 1000
  return Number.isInteger(s) ? `${s}` : s.toFixed(3).replace(/0+$/, "")
}

const now = (call: Call): number => call.clock.unsafeCurrentTimeMillis()

const fields = (call: Call, reason: string): Decision.Fields => ({
  reason,
  leashId: call.leashId,
  traceLink: call.traceLink,
  actionName: call.actionName
})

const timeoutOutcome = (call: Call, reason: string): Outcome<never> => ({
  decision: Decision.timeout(fields(call, reason))
})

const errorOutcome = (call: Call, reason: string): Outcome<never> => ({ decision: Decision.error(fields(call, reason)) })

const noDecision = (call: Call, last: string | undefined): Outcome<never> => ({
  ...timeoutOutcome(
    call,
    last === undefined
      ? `no decision in ${seconds(call.timeoutSeconds * 1000)} s`
      : `no decision in ${seconds(call.timeoutSeconds * 1000)} s; last failure: ${last}`
  ),
  gaveUp: true
})

const cutAtDeadline = "the gate did not answer before the deadline"

/**
 * The failure to name in a `timeout`'s reason: the newest, except that an attempt cut by the
 * deadline does not hide a failure the gate did answer before it (a 503 says more than the
 * last attempt running out of time).
 */
const lastFailure = (last: string | undefined, error: GateError): string =>
  error.message === cutAtDeadline && last !== undefined ? last : error.message

/**
 * Fails with a transient GateError when `self` takes longer than its own limit, or than the time
 * left before the deadline, whichever comes first.
 */
const limit = <A>(self: Effect.Effect<A, GateError>, own: number, remaining: number): Effect.Effect<A, GateError> =>
  // disconnected: the call ends at its limit even when the transport takes a while to abort the
  // request (the abort goes on in the background), so the deadline is kept to the millisecond
  Effect.timeoutFail(Effect.disconnect(self), {
    duration: Math.max(0, Math.min(own, remaining)),
    onTimeout: () =>
      new GateError({
        reason: "Transient",
        message: own <= remaining
          ? `the gate did not answer within ${seconds(own)} s`
          : cutAtDeadline
      })
  })

/**
 * A full-jitter back-off delay for the `n`-th consecutive failure (0-based), in whole
 * milliseconds (so clock arithmetic stays exact and a sleep clipped to the deadline ends on it).
 */
const backoff = (n: number): Effect.Effect<number> =>
  Effect.map(
    Random.nextRange(0, Math.min(backoffCapMillis, backoffBaseMillis * 2 ** Math.min(n, 20))),
    Math.floor
  )

/**
 * After a transient failure: sleeps the back-off (or the server's `Retry-After`), clipped to the
 * end of the wait, or says to stop when a `Retry-After` reaches the deadline. A back-off that
 * would sleep through the last second of the wait ends at its start instead, so the agent asks
 * once more before it gives up.
 */
const pause = (
  call: Call,
  retryAfterMillis: number | undefined,
  n: number,
  what: string
): Effect.Effect<Outcome<never> | undefined> =>
  Effect.suspend(() => {
    const left = call.stopAt - now(call)
    if (retryAfterMillis !== undefined) {
      if (retryAfterMillis >= call.deadline - now(call)) {
        return Effect.succeed(timeoutOutcome(
          call,
          `no decision in ${seconds(call.timeoutSeconds * 1000)} s: the gate asked to retry in ${
            seconds(retryAfterMillis)
          } s (${what}), past the deadline`
        ))
      }
      // "retry now" still waits a little, so a gate that keeps saying so cannot make a busy loop
      return Effect.as(
        Effect.sleep(Math.max(0, Math.min(Math.max(Math.ceil(retryAfterMillis), minRetryAfterMillis), left))),
        undefined
      )
    }
    return Effect.flatMap(backoff(n), (delay) => {
      const left = call.stopAt - now(call)
      const d = left > lastCallMillis && delay > left - lastCallMillis ? left - lastCallMillis : Math.min(delay, left)
      return d > 0 ? Effect.as(Effect.sleep(d), undefined) : Effect.succeed(undefined)
    })
  })

const checkId = (call: Call, state: LeashState): string | undefined =>
  state.leashId === call.leashId ? undefined : `the gate answered for leash ${state.leashId} when asked about ${call.leashId}: the SDK and server contracts have drifted`

const fromGate = <P>(call: Call, d: GateDecision): Outcome<P> => {
  const f = fields(call, d.reason)
  switch (d.decision) {
    case "approved":
      return { decision: Decision.approved(f) }
    case "rejected":
      return { decision: Decision.rejected(f) }
    case "blocked":
      return { decision: Decision.blocked(f) }
    case "timeout":
      return { decision: Decision.timeout(f) }
    case "modified": {
      if (d.modifiedPayload === undefined) {
        return errorOutcome(
          call,
          "the gate answered modified without a modified_payload: the SDK and server contracts have drifted"
        )
      }
      const modifiedBytes = jsonBytes(d.modifiedPayload)
      if (modifiedBytes > maxPayloadBytes) {
        return errorOutcome(
          call,
          `the reviewer's modified payload is ${count(modifiedBytes)} bytes as JSON, over the limit of ${
            count(maxPayloadBytes)
          } bytes: the SDK and server contracts have drifted`
        )
      }
      if (call.schema === undefined) {
        return { decision: Decision.modified({ ...f, modifiedPayload: d.modifiedPayload as P }), wirePayload: d.modifiedPayload }
      }
      const decoded = Schema.decodeUnknownEither(call.schema)(d.modifiedPayload)
      if (Either.isLeft(decoded)) {
        return {
          decision: Decision.error(
            fields(call, `the reviewer's modified payload does not match payloadSchema: ${decoded.left.message}`)
          ),
          wirePayload: d.modifiedPayload
        }
      }
      return { decision: Decision.modified({ ...f, modifiedPayload: decoded.right as P }), wirePayload: d.modifiedPayload }
    }
  }
}

/**
 * `POST /v1/leashes` with retries until it answers, fails for good, or the deadline. A creation
 * confirmed more than `lateCreateMillis` after the start makes the wait stop `settleMillis`
 * before the deadline, to settle the leash (the server's own expiry comes later than ours).
 */
const createPhase = (call: Call, leash: NewLeash): Effect.Effect<LeashState | Outcome<never>> =>
  Effect.gen(function*() {
    let n = 0
    let last: string | undefined
    while (true) {
      const remaining = call.deadline - now(call)
      if (remaining <= 0) return noDecision(call, last)
      const result = yield* Effect.either(limit(call.gate.create(leash), attemptMillis, remaining))
      if (Either.isRight(result)) {
        // the gate holds the leash now: its page exists
        call.traceLink = call.leashLink
        if (call.settles && now(call) - call.start > lateCreateMillis) {
          call.stopAt = Math.max(now(call), call.deadline - settleMillis)
        }
        return result.right
      }
      const e = result.left
      if (e.reason !== "Transient") return errorOutcome(call, e.message)
      last = lastFailure(last, e)
      const stop = yield* pause(call, e.retryAfterMillis, n++, e.message)
      if (stop !== undefined) return stop
    }
  })

/** Long-polls `GET /v1/leashes/{id}` until decided or the deadline. */
const pollPhase = <P>(call: Call): Effect.Effect<Outcome<P>> =>
  Effect.gen(function*() {
    let n = 0
    let last: string | undefined
    while (true) {
      const remaining = call.stopAt - now(call)
      if (remaining <= 0) return noDecision(call, last)
      const wait = Math.min(longPollMaxSeconds, Math.floor(remaining / 1000))
      const started = now(call)
      const result = yield* Effect.either(
        limit(call.gate.poll(call.leashId, wait), wait * 1000 + longPollGraceMillis, remaining)
      )
      if (Either.isRight(result)) {
        const state = result.right
        const wrong = checkId(call, state)
        if (wrong !== undefined) return errorOutcome(call, wrong)
        // the gate knows the leash (`await` of an id it had not answered for before)
        call.traceLink = call.leashLink
        if (state.status === "decided") return fromGate<P>(call, state.decision)
        if (wait > 0 && now(call) - started >= wait * 1000) {
          // the gate held the poll as asked: ask again at once
          n = 0
          continue
        }
        // pending sooner than asked (less than a second left, or a gate that does not hold):
        // back off so a fast answer cannot become a busy loop
        const stop = yield* pause(call, undefined, n++, "pending")
        if (stop !== undefined) return stop
        continue
      }
      const e = result.left
      if (e.reason !== "Transient") return errorOutcome(call, e.message)
      last = lastFailure(last, e)
      // an answer was lost: a decision may have been missed, so the leash is settled at the end
      if (call.settles) call.stopAt = Math.min(call.stopAt, Math.max(now(call), call.deadline - settleMillis))
      const stop = yield* pause(call, e.retryAfterMillis, n++, e.message)
      if (stop !== undefined) return stop
    }
  })

/**
 * The agent gives up on a leash it cannot be sure of: one the server would keep pending past the
 * agent's deadline (it was created late), or one whose answers were lost on the way (a decision
 * may have been missed). It cancels it, a compare-and-set on the server, within the time left.
 * Then the server agrees with the agent: either the cancel wins (the leash ends `timeout` on
 * both sides), or a decision came first, and the agent gets that decision. A cancel that fails
 * leaves the `timeout` as it was.
 */
const settle = <P>(call: Call, outcome: Outcome<P>): Effect.Effect<Outcome<P>> => {
  if (outcome.gaveUp !== true || call.stopAt >= call.deadline) return Effect.succeed(outcome)
  return Effect.suspend(() => limit(call.gate.cancel(call.leashId), settleMillis, call.deadline - now(call))).pipe(
    Effect.map((state): Outcome<P> => {
      if (checkId(call, state) !== undefined || state.status !== "decided") return outcome
      return state.decision.decision === "timeout" ? outcome : fromGate<P>(call, state.decision)
    }),
    Effect.orElseSucceed(() => outcome)
  )
}

/** Turns anything unexpected (a defect of a transport) into an `error` outcome; keeps interruption. */
const total = <P>(call: Call, self: Effect.Effect<Outcome<P>>): Effect.Effect<Outcome<P>> =>
  Effect.catchAllCause(self, (cause) =>
    Cause.isInterrupted(cause)
      ? Effect.failCause(cause)
      : Effect.succeed(errorOutcome(call, `the leash failed unexpectedly: ${describeCauseLine(cause)}`)))

const summary = (decision: Decision.Decision<unknown>) => ({
  leashId: decision.leashId,
  actionName: decision.actionName,
  decision: decision.decision,
  approved: decision.approved,
  reason: decision.reason
})

/** Ends the review step with the outcome. */
const record = (step: StepState | undefined, outcome: Outcome<unknown>, status: "ok" | "interrupted"): void => {
  if (step === undefined) return
  step.setOutput(Decision.toWire(outcome.decision, outcome.wirePayload))
  step.leash = summary(outcome.decision)
  step.finish(status, undefined)
}

const checkTimeout = (value: unknown, what: string): string | undefined =>
  value === undefined ||
    (typeof value === "number" && Number.isFinite(value) && value > 0 && value <= maxTimeoutSeconds)
    ? undefined
    : `${what}: timeoutSeconds must be a number above 0 and at most ${maxTimeoutSeconds}, got ${String(value)}`

const clockOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Clock.Clock =>
  Context.get(fiber.currentDefaultServices, Clock.Clock)

/**
 * Runs one leash call: opens the review step, runs `body` (interruptible), records the step with
 * its outcome, and on interruption records it `interrupted` and sends a bounded, best-effort cancel.
 */
const runCall = <P>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  trail: TrailState,
  gate: Gate,
  options: {
    readonly leashId: string
    readonly actionName: string
    readonly timeoutSeconds: number
    readonly schema: Schema.Schema<any, any, never> | undefined
    readonly input: unknown
    readonly settles: boolean
    /** The gate has answered for this leash already (`await` of an `async` Decision). */
    readonly known: boolean
  },
  restore: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  body: (call: Call, step: StepState | undefined) => {
    readonly run: Effect.Effect<Outcome<P>>
    readonly cancelOnInterrupt: () => boolean
  }
): Effect.Effect<Decision.Decision<P>> => {
  const clock = clockOf(fiber)
  // the name as recorded (a corrected one when it is empty or too long: the record must stay valid)
  const recordedName = checkStep(options.actionName, "review").name
  const opened = openLeafStep(fiber, trail, options.actionName, "review", options.input)
  const step = opened?.step
  const start = clock.unsafeCurrentTimeMillis()
  const leashLink = `${trail.recorder.endpoint}/leashes/${options.leashId}`
  const call: Call = {
    gate,
    clock,
    leashId: options.leashId,
    actionName: recordedName,
    traceLink: options.known ? leashLink : trail.link,
    leashLink,
    timeoutSeconds: options.timeoutSeconds,
    start,
    deadline: start + Math.max(1, Math.round(options.timeoutSeconds * 1000)),
    stopAt: start + Math.max(1, Math.round(options.timeoutSeconds * 1000)),
    settles: options.settles,
    schema: options.schema
  }
  let made: ReturnType<typeof body>
  try {
    made = body(call, step)
  } catch (e) {
    // a user schema that throws while encoding the payload: still one Decision, one review step
    const reason = `the leash could not be built, so the gate was not asked: ${describeError(e).message}`
    made = { run: Effect.succeed(errorOutcome(call, reason)), cancelOnInterrupt: () => false }
  }
  const { cancelOnInterrupt, run } = made
  const warn = opened?.problem === undefined ? Effect.void : Effect.logWarning(`houndsight: ${opened.problem}`)
  return warn.pipe(
    Effect.zipRight(Effect.exit(restore(total(call, run)))),
    Effect.flatMap((exit): Effect.Effect<Decision.Decision<P>> => {
      if (exit._tag === "Success") {
        const outcome = exit.value
        record(step, outcome, "ok")
        const decision = outcome.decision
        return decision.decision === "error"
          ? Effect.as(
            Effect.logWarning(
              `houndsight: leash ${JSON.stringify(call.actionName)} ended in error: ${decision.reason} (${decision.traceLink})`
            ),
            decision
          )
          : Effect.succeed(decision)
      }
      // interrupted while waiting: the fiber is gone, the review step is still written
      record(step, timeoutOutcome(call, "interrupted"), "interrupted")
      if (!cancelOnInterrupt()) return Effect.failCause(exit.cause)
      return Effect.interruptible(gate.cancel(call.leashId)).pipe(
        Effect.timeoutOption(cancelMillis),
        Effect.catchAllCause(() => Effect.void),
        Effect.zipRight(Effect.failCause(exit.cause))
      )
    })
  )
}


const getGate = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Gate =>
  Context.unsafeGet(fiber.currentContext as Context.Context<Leash>, Leash)

const getTrail = (fiber: Fiber.RuntimeFiber<unknown, unknown>): TrailState => {
  const trail = trailOf(fiber)
  if (trail === undefined) {
    throw new Error("houndsight: a leash needs a current trail. Run it inside Trail.run({ trigger, payload }, effect).")
  }
  return trail
}

/** The options as they may arrive from untyped callers: every field is checked. */
interface LooseOptions {
  readonly actionName?: unknown
  readonly actionSummary?: unknown
  readonly riskSignals?: unknown
  readonly payload?: unknown
  readonly payloadSchema?: Schema.Schema<any, any, never> | undefined
  readonly timeoutSeconds?: unknown
  readonly blocking?: unknown
}

const requestImpl = <P>(options: LooseOptions): Effect.Effect<Decision.Decision<P>, never, Trail | Leash> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<Decision.Decision<P>, never, Trail | Leash>((fiber) => {
      const trail = getTrail(fiber)
      const gate = getGate(fiber)
      const o: LooseOptions = options !== null && typeof options === "object" ? options : {}
      const actionName = typeof o.actionName === "string" ? o.actionName : String(o.actionName)
      const leashId = newId(trail.now())
      const timeoutProblem = checkTimeout(o.timeoutSeconds, "Leash.request")
      const timeoutSeconds = timeoutProblem === undefined
        ? (o.timeoutSeconds as number | undefined) ?? defaultTimeoutSeconds
        : defaultTimeoutSeconds
      const blocking = o.blocking === undefined ? true : o.blocking
      const schema = o.payloadSchema
      return runCall<P>(
        fiber,
        trail,
        gate,
        { leashId, actionName, timeoutSeconds, schema, input: undefined, settles: true, known: false },
        restore,
        (call, step) => {
          let created = false
          const stepId = step?.id ?? newId(trail.now())
          // build the body once: every retry sends exactly these bytes
          const built = build(call, trail, stepId, actionName, o, blocking, timeoutProblem)
          if (step !== undefined) step.setInput(built.input)
          if ("problem" in built) {
            return { run: Effect.succeed(errorOutcome(call, built.problem)), cancelOnInterrupt: () => false }
          }
          const run = Effect.suspend(() => {
            created = true
            return createPhase(call, built.leash)
          }).pipe(
            Effect.flatMap((state): Effect.Effect<Outcome<P>> => {
              if (!("status" in state)) return Effect.succeed(state)
              const wrong = checkId(call, state)
              if (wrong !== undefined) return Effect.succeed(errorOutcome(call, wrong))
              if (state.status === "decided") return Effect.succeed(fromGate<P>(call, state.decision))
              if (!blocking) {
                return Effect.succeed({
                  decision: Decision.async(
                    fields(call, `waiting for a reviewer; call Leash.await with this decision to wait for it`)
                  )
                })
              }
              return Effect.flatMap(pollPhase<P>(call), (outcome) => settle(call, outcome))
            })
          )
          return { run, cancelOnInterrupt: () => created }
        }
      )
    })
  )

const count = (n: number): string => n.toLocaleString("en-US")

/** The size of a value as compact UTF-8 JSON, exactly as it is sent (0 when it is left out). */
const jsonBytes = (value: unknown): number => {
  const json = JSON.stringify(value)
  return json === undefined ? 0 : utf8Length(json)
}

const notWhole = (loss: Loss): string =>
  `Leash.request: ${loss.path} cannot be sent whole, so the gate was not asked: ${loss.what}. A reviewer must see all of what they approve, so nothing in a leash is cut or replaced`

type Built =
  | { readonly leash: NewLeash; readonly input: unknown }
  | { readonly problem: string; readonly input: unknown }

const build = (
  call: Call,
  trail: TrailState,
  stepId: string,
  actionName: string,
  o: LooseOptions,
  blocking: unknown,
  timeoutProblem: string | undefined
): Built => {
  const rawInput = { action_summary: o.actionSummary, risk_signals: o.riskSignals, payload: o.payload }
  if (timeoutProblem !== undefined) return { problem: timeoutProblem, input: rawInput }
  if (typeof blocking !== "boolean") {
    return { problem: `Leash.request: blocking must be true or false, got ${String(blocking)}`, input: rawInput }
  }
  if (typeof o.actionSummary === "string" && o.actionSummary.length > maxActionSummaryChars) {
    return {
      problem: `Leash.request: actionSummary is ${count(o.actionSummary.length)} characters, over the limit of ${
        count(maxActionSummaryChars)
      }, so the gate was not asked: keep it to one line a reviewer reads; details belong in the payload`,
      input: rawInput
    }
  }
  let payload: unknown = o.payload
  if (o.payloadSchema !== undefined) {
    const encoded = Schema.encodeEither(o.payloadSchema)(o.payload)
    if (Either.isLeft(encoded)) {
      return {
        problem: `Leash.request: the payload does not match payloadSchema, so the gate was not asked: ${encoded.left.message}`,
        input: rawInput
      }
    }
    payload = encoded.right
  }
  // a reviewer must see all of what they approve: the payload and the signals are never cut
  const safePayload = toJsonSafeWhole(payload, "payload")
  if (safePayload.loss !== undefined) return { problem: notWhole(safePayload.loss), input: rawInput }
  const payloadBytes = jsonBytes(safePayload.value)
  if (payloadBytes > maxPayloadBytes) {
    return {
      problem: `Leash.request: the payload is ${count(payloadBytes)} bytes as JSON, over the limit of ${
        count(maxPayloadBytes)
      } bytes (256 KiB), so the gate was not asked. A reviewer must see all of what they approve, so a payload is never cut: send less (an id or a link to the document, with its hash) and keep the rest out of the leash`,
      input: rawInput
    }
  }
  const safeSignals = toJsonSafeWhole(o.riskSignals ?? {}, "riskSignals")
  if (safeSignals.loss !== undefined) return { problem: notWhole(safeSignals.loss), input: rawInput }
  const request = {
    leashId: call.leashId,
    trailId: trail.id,
    stepId,
    agent: trail.agent,
    actionName,
    actionSummary: o.actionSummary as string,
    riskSignals: safeSignals.value as Record<string, unknown>,
    payload: safePayload.value,
    timeoutSeconds: call.timeoutSeconds,
    blocking
  }
  const wire = Schema.encodeEither(LeashRequest)(request)
  if (Either.isLeft(wire)) {
    return {
      problem: `Leash.request: the request is invalid, so the gate was not asked: ${wire.left.message}`,
      input: rawInput
    }
  }
  const signalBytes = jsonBytes(wire.right.risk_signals)
  if (signalBytes > maxRiskSignalsBytes) {
    return {
      problem: `Leash.request: riskSignals are ${count(signalBytes)} bytes as JSON, over the limit of ${
        count(maxRiskSignalsBytes)
      } bytes (16 KiB), so the gate was not asked: keep to the few values floor rules and reviewers judge by, and put the rest in the payload`,
      input: rawInput
    }
  }
  return {
    // what the gate sees: risk signals with their snake_case wire keys
    leash: { request: { ...request, riskSignals: wire.right.risk_signals }, body: JSON.stringify(wire.right) },
    input: {
      action_summary: wire.right.action_summary,
      risk_signals: wire.right.risk_signals,
      payload: wire.right.payload
    }
  }
}

const awaitImpl = <P>(
  leash: string | Decision.Decision<unknown>,
  options: (AwaitOptions & {
    readonly actionName?: string | undefined
    readonly payloadSchema?: Schema.Schema<P, any, never> | undefined
  }) | undefined
): Effect.Effect<Decision.Decision<P>, never, Trail | Leash> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<Decision.Decision<P>, never, Trail | Leash>((fiber) => {
      const trail = getTrail(fiber)
      const gate = getGate(fiber)
      const o = options ?? {}
      const fromDecision = leash !== null && typeof leash === "object"
      const given = fromDecision ? String(leash.leashId) : String(leash)
      const validId = uuidPattern.test(given)
      // a record's leash id must be a UUID: a bad one is named in the reason, not recorded
      const leashId = validId ? given : newId(trail.now())
      const actionName = fromDecision ? String(leash.actionName) : o.actionName
      const timeoutProblem = checkTimeout(o.timeoutSeconds, "Leash.await")
      const timeoutSeconds = timeoutProblem === undefined ? o.timeoutSeconds ?? defaultTimeoutSeconds : defaultTimeoutSeconds
      const problem = timeoutProblem ??
        (typeof actionName === "string" && actionName.length > 0
          ? validId
            ? undefined
            : `Leash.await: ${JSON.stringify(given)} is not a leash id (a UUID); pass the Decision of the request or its leashId`
          : "Leash.await: pass the Decision of the request, or the leash id with { actionName }, so the review step is named after the action")
      return runCall<P>(
        fiber,
        trail,
        gate,
        {
          leashId,
          actionName: actionName ?? "(unnamed)",
          timeoutSeconds,
          schema: o.payloadSchema,
          input: { leash_id: given },
          settles: false,
          // an `async` Decision comes from a creation the gate answered: its leash page exists
          known: fromDecision && validId && leash.decision === "async"
        },
        restore,
        (call) =>
          problem === undefined
            ? { run: pollPhase<P>(call), cancelOnInterrupt: () => true }
            : { run: Effect.succeed(errorOutcome(call, problem)), cancelOnInterrupt: () => false }
      )
    })
  )

// -----------------------------------------------------------------------------
// api
// -----------------------------------------------------------------------------

/**
 * Asks the gate before a sensitive action and waits for its Decision. Never fails: every way
 * it can end is a Decision (see the `Decision` module's table), and each call records exactly
 * one `review` step named after the action. With `payloadSchema`, the payload is encoded with it
 * and a reviewer's `modifiedPayload` is decoded with it and typed after it.
 *
 * Needs the current trail (`Trail.run`) and a gate (`HttpGate.layer`, or `HoundsightTest.layer`
 * in tests). With tracing disabled it still asks the gate.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Decision, Leash } from "houndsight"
 *
 * const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number })
 *
 * const charge = Effect.gen(function*() {
 *   const payload = { customer: "cus_42", amountUsd: 120 }
 *   const decision = yield* Leash.request({
 *     actionName: "stripe.charge",
 *     actionSummary: "Charge cus_42 $120.00",
 *     riskSignals: { amountUsd: 120 },
 *     payload,
 *     payloadSchema: Charge
 *   })
 *   if (Decision.isApproved(decision)) {
 *     const final = Decision.payloadOr(decision, payload) // typed { customer, amountUsd }
 *     yield* Effect.log(`charging ${final.amountUsd}`)
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 * @category leash
 */
export const request: {
  <A, I>(options: RequestOptionsWithSchema<A, I>): Effect.Effect<Decision.Decision<A>, never, Trail | Leash>
  (options: RequestOptions): Effect.Effect<Decision.Decision<unknown>, never, Trail | Leash>
} = requestImpl as any

/**
 * Waits for the decision of an existing leash (after a `blocking: false` request answered
 * `async`): long-polls until decided or `timeoutSeconds` from now, by the same rules as
 * `request`, and records its own `review` step named after the action. Pass the `async`
 * Decision, or the leash id with `{ actionName }` (the review step, and so the bypass audit,
 * needs the action's name).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Leash } from "houndsight"
 *
 * const later = Effect.gen(function*() {
 *   const pending = yield* Leash.request({
 *     actionName: "email.send",
 *     actionSummary: "Send the Q2 report to the board",
 *     riskSignals: { dataCategories: ["financial"] },
 *     payload: { to: "board@example.com" },
 *     blocking: false
 *   })
 *   // ... other work ...
 *   const decision = pending.decision === "async" ? yield* Leash.await(pending, { timeoutSeconds: 600 }) : pending
 *   return decision.approved
 * })
 * ```
 *
 * @since 0.1.0
 * @category leash
 */
const await_: {
  <A, I>(
    decision: Decision.Decision<unknown>,
    options: AwaitOptions & { readonly payloadSchema: Schema.Schema<A, I, never> }
  ): Effect.Effect<Decision.Decision<A>, never, Trail | Leash>
  (decision: Decision.Decision<unknown>, options?: AwaitOptions): Effect.Effect<Decision.Decision<unknown>, never, Trail | Leash>
  <A, I>(
    leashId: string,
    options: AwaitOptions & { readonly actionName: string; readonly payloadSchema: Schema.Schema<A, I, never> }
  ): Effect.Effect<Decision.Decision<A>, never, Trail | Leash>
  (
    leashId: string,
    options: AwaitOptions & { readonly actionName: string }
  ): Effect.Effect<Decision.Decision<unknown>, never, Trail | Leash>
} = awaitImpl as any

export {
  /**
   * Waits for the decision of an existing leash: see `await_`.
   *
   * @since 0.1.0
   * @category leash
   */
  await_ as await
}
