/**
 * The leash: ask the gate before a sensitive action and get a `Decision` back. The error channel
 * is `never`: every completed call yields a Decision and records exactly one `review` step. If
 * the fiber is interrupted while waiting, the review step is still recorded (`interrupted`,
 * decision `timeout`, reason "interrupted") and the gate is told to cancel the leash.
 *
 * Two parts: the `Leash` tag holds a `Gate`, the transport (create, long-poll, cancel; `HttpGate`
 * in production and `FakeGate` in tests are Gates), and `request` / `await` hold every rule on
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
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { LooseOptions } from "../internal/leash/build.js"
import * as engine from "../internal/leash/engine.js"
import type * as gate from "../internal/leash/gate.js"
import type { RiskSignals } from "../schema/RiskSignals.js"
import type * as Decision from "./Decision.js"
import type { Trail } from "./Trail.js"

// -----------------------------------------------------------------------------
// transport
// -----------------------------------------------------------------------------

export {
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
  GateError
} from "../internal/leash/gate.js"

/**
 * A leash to create, as a `Gate` receives it: the request, and its body encoded once
 * (`POST /v1/leashes` sends exactly these bytes on every retry). The SDK's side of a creation;
 * `LeashRequest` is the record on the wire.
 *
 * @since 0.1.0
 * @category models
 */
export interface NewLeash extends gate.NewLeash {}

/**
 * The gate transport: three calls, each answering a decoded leash state or a classified
 * `GateError`. `HttpGate` and `FakeGate` are Gates. It holds no rule of its own: deadlines,
 * retries and per-attempt limits are applied by `request` and `await`, which interrupt a call
 * that runs too long.
 *
 * @since 0.1.0
 * @category models
 */
export interface Gate extends gate.Gate {}

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

export {
  /**
   * The default `timeoutSeconds`: 300.
   *
   * @since 0.1.0
   * @category constants
   */
  defaultTimeoutSeconds
} from "../internal/leash/call.js"

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
} = ((options: LooseOptions) => engine.request(Leash, options)) as any

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
} = ((leash: string | Decision.Decision<unknown>, options?: engine.AwaitOptions<unknown>) =>
  engine.awaitDecision(Leash, leash, options)) as any

export {
  /**
   * Waits for the decision of an existing leash: see `await_`.
   *
   * @since 0.1.0
   * @category leash
   */
  await_ as await
}

