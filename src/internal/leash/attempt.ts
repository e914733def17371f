/**
 * The one attempt-and-retry loop of the leash, shared by create, poll and cancel: each attempt is
 * limited by its own limit and by the time left, a transient failure backs off (or follows the
 * server's `Retry-After`), and the loop stops when waiting must stop. What one attempt does and
 * how its answer is read are the caller's; when waiting stops is a value the loop carries,
 * derived from the call's fixed deadline.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Random from "effect/Random"
import type { LeashState } from "../../schema/LeashState.js"
import { type Call, errorOutcome, type LeashOutcome, noDecision, now, seconds, timeoutOutcome } from "./call.js"
import { GateError } from "./gate.js"

const backoffBaseMillis = 250
const backoffCapMillis = 5_000
const minRetryAfterMillis = 50
/**
 * A back-off never sleeps through the last second before the stop: the agent asks once more
 * then (a long-poll held until the stop), so a decision made while it slept, after the gate came
 * back, still reaches it in time.
 */
const lastCallMillis = 1_000

/** The failure message of an attempt that the deadline cut short. */
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
 * left, whichever comes first.
 */
const limit = <A>(self: Effect.Effect<A, GateError>, own: number, left: number): Effect.Effect<A, GateError> =>
  // disconnected: the call ends at its limit even when the transport takes a while to abort the
  // request (the abort goes on in the background), so the deadline is kept to the millisecond
  Effect.timeoutFail(Effect.disconnect(self), {
    duration: Math.max(0, Math.min(own, left)),
    onTimeout: () =>
      new GateError({
        reason: "Transient",
        message: own <= left
          ? `the gate did not answer within ${seconds(own)} s`
          : cutAtDeadline
      })
  })

/**
 * A full-jitter back-off delay for the `n`-th consecutive failure (0-based), in whole
 * milliseconds (so clock arithmetic stays exact and a sleep clipped to the stop ends on it).
 */
const backoff = (n: number): Effect.Effect<number> =>
  Effect.map(
    Random.nextRange(0, Math.min(backoffCapMillis, backoffBaseMillis * 2 ** Math.min(n, 20))),
    Math.floor
  )

/**
 * Between two attempts: sleeps the back-off (or the server's `Retry-After`), clipped to
 * `stopAt`, or ends the call when a `Retry-After` reaches the deadline. A back-off that would
 * sleep through the last second before `stopAt` ends at its start instead, so the agent asks
 * once more before it gives up.
 */
const pause = (
  call: Call,
  stopAt: number,
  retryAfterMillis: number | undefined,
  n: number,
  what: string
): Effect.Effect<LeashOutcome<never> | undefined> =>
  Effect.suspend(() => {
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
      const left = stopAt - now(call)
      return Effect.as(
        Effect.sleep(Math.max(0, Math.min(Math.max(Math.ceil(retryAfterMillis), minRetryAfterMillis), left))),
        undefined
      )
    }
    return Effect.flatMap(backoff(n), (delay) => {
      const left = stopAt - now(call)
      const d = left > lastCallMillis && delay > left - lastCallMillis ? left - lastCallMillis : Math.min(delay, left)
      return d > 0 ? Effect.as(Effect.sleep(d), undefined) : Effect.succeed(undefined)
    })
  })

/** One attempt: the gate call, and its own limit in milliseconds. */
export interface Attempt {
  readonly run: Effect.Effect<LeashState, GateError>
  readonly ownMillis: number
}

/** What an answer means: the loop ends with a value, asks again at once, or backs off first. */
export type Next<A> =
  | { readonly _tag: "Done"; readonly value: A }
  | { readonly _tag: "Again" }
  | { readonly _tag: "BackOff" }

/** Ends the loop with `value`. */
export const done = <A>(value: A): Next<A> => ({ _tag: "Done", value })

/** Asks again at once, with the back-off reset (the gate held a long-poll as asked). */
export const again: Next<never> = { _tag: "Again" }

/** Backs off before asking again (an answer sooner than asked must not become a busy loop). */
export const backOff: Next<never> = { _tag: "BackOff" }

/** How one phase of a call asks the gate. */
export interface Attempts<A> {
  /** When waiting stops at first: the deadline, or before it to keep time to settle the leash. */
  readonly stopAt: number
  /** One attempt, given the milliseconds left before the stop. */
  readonly attempt: (left: number) => Attempt
  /** How an answer is read; `started` is when the attempt began, `left` as given to `attempt`. */
  readonly read: (state: LeashState, started: number, left: number) => Next<A>
  /**
   * When waiting stops after a transient failure (a lost answer may move the settling
   * forward); given the stop so far. Returns it unchanged when the phase has nothing to settle.
   */
  readonly afterLoss: (stopAt: number) => number
  /** Whether a transient failure is tried again (a settling cancel is one attempt). */
  readonly retries: boolean
}

/**
 * Runs attempts until an answer ends the loop, the gate refuses (`error`), the stop is reached
 * (`timeout`, naming the last failure; marked to settle when it came before the deadline), or a
 * `Retry-After` reaches past the deadline (`timeout`).
 */
export const attempts = <A>(call: Call, spec: Attempts<A>): Effect.Effect<A | LeashOutcome<never>> =>
  Effect.gen(function*() {
    let stopAt = spec.stopAt
    let n = 0
    let last: string | undefined
    while (true) {
      const left = stopAt - now(call)
      if (left <= 0) return noDecision(call, last, stopAt < call.deadline)
      const attempt = spec.attempt(left)
      const started = now(call)
      const result = yield* Effect.either(limit(attempt.run, attempt.ownMillis, left))
      if (Either.isRight(result)) {
        const next = spec.read(result.right, started, left)
        if (next._tag === "Done") return next.value
        if (next._tag === "Again") {
          n = 0
          continue
        }
        const stop = yield* pause(call, stopAt, undefined, n++, "pending")
        if (stop !== undefined) return stop
        continue
      }
      const e = result.left
      if (e.reason !== "Transient") return errorOutcome(call, e.message)
      last = lastFailure(last, e)
      if (!spec.retries) return noDecision(call, last, false)
      stopAt = spec.afterLoss(stopAt)
      const stop = yield* pause(call, stopAt, e.retryAfterMillis, n++, e.message)
      if (stop !== undefined) return stop
    }
  })
