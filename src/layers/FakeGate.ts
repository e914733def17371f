/**
 * Fake gates for tests: a `Gate` (the `Leash` transport) that answers in memory, so an agent's
 * leashes run through every rule of `Leash.request` (deadline, review step, decision table)
 * without a server. A `FakeGate` here is how such a Gate decides (a name and a decide
 * function); `makeGate` and `layer` turn it into the Gate. Combine with
 * `HoundsightTest.layer({ gate })`, or provide `FakeGate.layer(gate)` yourself.
 *
 * | gate | answers |
 * |---|---|
 * | `approveAll` | `approved` |
 * | `rejectAll` | `rejected` |
 * | `block(reason?)` | `blocked`, as a floor rule would |
 * | `modify(payload)` | `modified` with `payload` (or a function of the request) |
 * | `script([...])` | the given answers, one per leash, in order |
 * | `decideWith(f)` | `f(request)`: an answer, or an Effect of one (it may sleep: decide later) |
 * | `neverAnswers` | nothing: the leash stays pending until the caller's deadline |
 * | `delayed(duration, gate)` | `gate`'s answer, `duration` after the leash was created |
 *
 * An answer that is not an Effect is given at once (the leash is `decided` when created, so
 * `blocking: false` gets it without `async`); an Effect answer is computed in the background
 * and the leash is `pending` until then. The fake does not expire leashes on its own: the
 * caller's deadline ends the wait. Unknown leash ids answer 404 (`error`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FakeGate } from "houndsight/test"
 *
 * const reviewer = FakeGate.decideWith((request) =>
 *   Number(request.riskSignals["amount_usd"] ?? 0) > 1000
 *     ? { decision: "rejected", reason: "too much" }
 *     : { decision: "approved", reason: "fine" })
 *
 * const later = FakeGate.delayed("30 seconds", FakeGate.approveAll)
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { LeashRequest } from "../schema/LeashRequest.js"
import type { GateDecision, LeashState } from "../schema/LeashState.js"
import { describeError } from "../internal/describe.js"
import { type Gate, GateError, Leash } from "../services/Leash.js"

/**
 * What a fake gate answers for one leash. `pending` means it never decides. `reason` is optional
 * (default: `"<decision> by <gate name>"`); `modified` needs the `modifiedPayload` the agent
 * receives (decoded with the request's `payloadSchema`, when it has one).
 *
 * @example
 * ```ts
 * import type { FakeGate } from "houndsight/test"
 *
 * const answers: ReadonlyArray<FakeGate.Answer> = [
 *   { decision: "approved", reason: "fine" },
 *   { decision: "modified", modifiedPayload: { customer: "cus_42", amountUsd: 100 }, reason: "capped" },
 *   { decision: "rejected", reason: "not this customer" },
 *   { decision: "blocked", reason: "over the daily limit" },
 *   { decision: "timeout", reason: "expired" },
 *   { decision: "pending" }
 * ]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Answer =
  | { readonly decision: "approved"; readonly reason?: string | undefined }
  | { readonly decision: "modified"; readonly modifiedPayload: unknown; readonly reason?: string | undefined }
  | { readonly decision: "rejected"; readonly reason?: string | undefined }
  | { readonly decision: "blocked"; readonly reason?: string | undefined }
  | { readonly decision: "timeout"; readonly reason?: string | undefined }
  | { readonly decision: "pending" }

/**
 * How a fake gate decides: from the request (with snake_case `riskSignals` and the payload as
 * sent), at once or as an Effect.
 *
 * @since 0.1.0
 * @category models
 */
export type Decide = (request: LeashRequest, index: number) => Answer | Effect.Effect<Answer>

/**
 * A fake gate: a name (for messages) and how it decides.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeGate {
  readonly name: string
  readonly decide: Decide
}

/**
 * Builds a fake gate from a decide function.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (name: string, decide: Decide): FakeGate => ({ name, decide })

/**
 * Approves every leash.
 *
 * @since 0.1.0
 * @category gates
 */
export const approveAll: FakeGate = make("FakeGate.approveAll", () => ({
  decision: "approved",
  reason: "approved by the fake gate"
}))

/**
 * Rejects every leash, as a reviewer would.
 *
 * @since 0.1.0
 * @category gates
 */
export const rejectAll: FakeGate = make("FakeGate.rejectAll", () => ({
  decision: "rejected",
  reason: "rejected by the fake gate"
}))

/**
 * Blocks every leash at once, as a firing floor rule does.
 *
 * @since 0.1.0
 * @category gates
 */
export const block = (reason = "blocked by the fake gate's floor rule"): FakeGate =>
  make("FakeGate.block", () => ({ decision: "blocked", reason }))

/**
 * Approves every leash with edits: `payload`, or a function of the request (which sees the
 * payload as sent).
 *
 * @example
 * ```ts
 * import { FakeGate } from "houndsight/test"
 *
 * const capped = FakeGate.modify((request) => ({ ...(request.payload as object), amountUsd: 100 }), "capped")
 * ```
 *
 * @since 0.1.0
 * @category gates
 */
export const modify: {
  (edit: (request: LeashRequest) => unknown, reason?: string): FakeGate
  (payload: unknown, reason?: string): FakeGate
} = (payload: unknown, reason = "modified by the fake gate"): FakeGate =>
  make("FakeGate.modify", (request) => ({
    decision: "modified",
    modifiedPayload: typeof payload === "function" ? (payload as (r: LeashRequest) => unknown)(request) : payload,
    reason
  }))

/**
 * Answers leash number `n` (from 0, in the order they were created) with `answers[n]`: an
 * `Answer` (`{ decision: "approved" | "rejected" | "blocked" | "timeout", reason? }`,
 * `{ decision: "modified", modifiedPayload, reason? }` or `{ decision: "pending" }`), given at once,
 * or an `Effect` of one, computed in the background while the leash is pending. A leash past the
 * end of the script ends in `error`, with a reason that says the script ran out.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { FakeGate } from "houndsight/test"
 *
 * const gate = FakeGate.script([
 *   { decision: "approved" },
 *   Effect.as(Effect.sleep("30 seconds"), { decision: "rejected", reason: "too late in the day" })
 * ])
 * ```
 *
 * @since 0.1.0
 * @category gates
 */
export const script = (answers: ReadonlyArray<Answer | Effect.Effect<Answer>>): FakeGate =>
  make("FakeGate.script", (_request, index) => {
    const answer = answers[index]
    if (answer === undefined) {
      throw new ScriptExhausted(
        `FakeGate.script: the script has ${answers.length} answer(s) and leash #${index + 1} asked for one; add answers to the script`
      )
    }
    return answer
  })

class ScriptExhausted extends Error {}

/**
 * Decides with a function of the request (a `LeashRequest`: `actionName`, `actionSummary`,
 * `riskSignals` with snake_case keys, `payload` as sent, `timeoutSeconds`, `blocking`, and the
 * ids): return an `Answer` (see `script`), or an Effect of one (which may sleep, under
 * `TestClock` too, to decide later: the leash is pending until then).
 *
 * @since 0.1.0
 * @category gates
 */
export const decideWith = (decide: (request: LeashRequest) => Answer | Effect.Effect<Answer>): FakeGate =>
  make("FakeGate.decideWith", (request) => decide(request))

/**
 * Never decides: every leash stays pending until the caller's deadline (`timeout`).
 *
 * @since 0.1.0
 * @category gates
 */
export const neverAnswers: FakeGate = make("FakeGate.neverAnswers", () => ({ decision: "pending" }))

/**
 * Gives `gate`'s answer `duration` after the leash was created (pending until then).
 *
 * @since 0.1.0
 * @category combinators
 */
export const delayed = (duration: Duration.DurationInput, gate: FakeGate): FakeGate =>
  make(`${gate.name} (delayed)`, (request, index) =>
    Effect.zipRight(
      Effect.sleep(duration),
      Effect.suspend(() => {
        const answer = gate.decide(request, index)
        return Effect.isEffect(answer) ? answer : Effect.succeed(answer)
      })
    ))

/**
 * What the fake gate saw.
 *
 * @since 0.1.0
 * @category models
 */
export interface FakeGateLogShape {
  /** Every leash request created, in order (a retry of the same `leash_id` is not repeated). */
  readonly requests: Effect.Effect<ReadonlyArray<LeashRequest>>
  /** Every long-poll, in order. */
  readonly polls: Effect.Effect<ReadonlyArray<{ readonly leashId: string; readonly waitSeconds: number }>>
  /** The ids of every leash the agent asked to cancel, in order. */
  readonly cancelled: Effect.Effect<ReadonlyArray<string>>
}

/**
 * The tag of the fake gate's log.
 *
 * @since 0.1.0
 * @category tags
 */
export class FakeGateLog extends Context.Tag("houndsight/FakeGateLog")<FakeGateLog, FakeGateLogShape>() {}

interface Entry {
  readonly request: LeashRequest
  readonly decided: Deferred.Deferred<GateDecision, GateError>
}

const traceLink = (leashId: string) => `fake-gate://leashes/${leashId}`

/**
 * Builds a fake gate transport and its log; background decisions run in `scope`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeGate = (
  gate: FakeGate,
  scope: Scope.Scope
): Effect.Effect<{ readonly gate: Gate; readonly log: FakeGateLogShape }> =>
  Effect.sync(() => {
    const leashes = new Map<string, Entry>()
    const requests: Array<LeashRequest> = []
    const polls: Array<{ leashId: string; waitSeconds: number }> = []
    const cancelled: Array<string> = []

    const decidedWith = (answer: Answer): Effect.Effect<GateDecision | undefined> =>
      answer.decision === "pending"
        ? Effect.succeed(undefined)
        : Effect.map(Clock.currentTimeMillis, (now): GateDecision => {
          const base = {
            reason: answer.reason ?? `${answer.decision} by ${gate.name}`,
            decidedBy: gate.name,
            decidedAt: new Date(now),
            traceLink: ""
          }
          return answer.decision === "modified"
            ? { ...base, decision: "modified", modifiedPayload: answer.modifiedPayload }
            : { ...base, decision: answer.decision }
        })

    const failed = (e: unknown) =>
      new GateError({
        reason: "Rejected",
        message: e instanceof ScriptExhausted ? e.message : `${gate.name}: its decide function failed: ${describeError(e).message}`
      })

    const state = (leashId: string, entry: Entry): Effect.Effect<LeashState, GateError> =>
      Effect.flatMap(Deferred.poll(entry.decided), (polled) =>
        Option.isNone(polled)
          ? Effect.succeed<LeashState>({ leashId, status: "pending", traceLink: traceLink(leashId) })
          : Effect.map(polled.value, (decision): LeashState => ({
            leashId,
            status: "decided",
            decision: { ...decision, traceLink: traceLink(leashId) }
          })))

    const find = (leashId: string): Effect.Effect<Entry, GateError> => {
      const entry = leashes.get(leashId)
      return entry === undefined
        ? Effect.fail(
          new GateError({
            reason: "Rejected",
            status: 404,
            message: `the gate answered 404 not_found: no leash ${leashId} (${gate.name})`
          })
        )
        : Effect.succeed(entry)
    }

    const transport: Gate = {
      create: ({ request }) =>
        Effect.suspend(() => {
          const existing = leashes.get(request.leashId)
          if (existing !== undefined) return state(request.leashId, existing)
          const index = requests.length
          requests.push(request)
          return Effect.flatMap(Deferred.make<GateDecision, GateError>(), (decided) => {
            leashes.set(request.leashId, { request, decided })
            let answer: Answer | Effect.Effect<Answer>
            try {
              answer = gate.decide(request, index)
            } catch (e) {
              return Effect.zipRight(Deferred.fail(decided, failed(e)), state(request.leashId, { request, decided }))
            }
            const settle = (a: Answer) =>
              Effect.flatMap(decidedWith(a), (d) => (d === undefined ? Effect.void : Deferred.succeed(decided, d)))
            const run = Effect.isEffect(answer)
              ? Effect.forkIn(
                answer.pipe(
                  Effect.flatMap(settle),
                  Effect.catchAllCause((cause) => Deferred.fail(decided, failed(Cause.squash(cause))))
                ),
                scope
              )
              : settle(answer)
            return Effect.zipRight(run, state(request.leashId, { request, decided }))
          })
        }),
      poll: (leashId, waitSeconds) =>
        Effect.suspend(() => {
          polls.push({ leashId, waitSeconds })
          return Effect.flatMap(find(leashId), (entry) =>
            Deferred.await(entry.decided).pipe(
              Effect.timeoutOption(Duration.seconds(Math.max(0, waitSeconds))),
              Effect.flatMap(() => state(leashId, entry))
            ))
        }),
      cancel: (leashId) =>
        Effect.suspend(() => {
          cancelled.push(leashId)
          return Effect.flatMap(find(leashId), (entry) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Deferred.succeed(entry.decided, {
                decision: "timeout",
                reason: "cancelled by the agent",
                decidedAt: new Date(now),
                traceLink: ""
              })).pipe(Effect.zipRight(state(leashId, entry))))
        })
    }

    const log: FakeGateLogShape = {
      requests: Effect.sync(() => requests.slice()),
      polls: Effect.sync(() => polls.slice()),
      cancelled: Effect.sync(() => cancelled.slice())
    }
    return { gate: transport, log }
  })

/**
 * A layer providing a fake gate as the `Leash` transport, and its `FakeGateLog`.
 *
 * @example
 * ```ts
 * import { FakeGate } from "houndsight/test"
 *
 * const gate = FakeGate.layer(FakeGate.rejectAll)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (gate: FakeGate): Layer.Layer<Leash | FakeGateLog> =>
  Layer.scopedContext(
    Effect.flatMap(Effect.scope, (scope) =>
      Effect.map(makeGate(gate, scope), ({ gate, log }) => Context.make(Leash, gate).pipe(Context.add(FakeGateLog, log))))
  )
