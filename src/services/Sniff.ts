/**
 * A sniff records one step of an agent: its name, layer, input, output, cost, tokens, events and
 * error. Sniffs nest: a sniff started inside another records it as its parent, across
 * `Effect.all`, `Effect.forEach` with concurrency and forked fibers too.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Sniff } from "houndsight"
 *
 * const query = Effect.gen(function*() {
 *   yield* Sniff.cost(0.0001)
 *   yield* Sniff.output({ deal_count: 17 })
 *   return 17
 * }).pipe(Sniff.run("salesforce_query", { layer: "execute" }))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { StepLayer, Tokens } from "../schema/Common.js"
import { makeEvent, type StepState, type TrailState } from "../internal/state.js"
import { currentStepOf, runStep, trailOf } from "../internal/step.js"
import type { Trail } from "./Trail.js"

/**
 * How a sniff starts.
 *
 * @since 0.1.0
 * @category models
 */
export interface SniffOptions {
  /** The layer of the step: plan, retrieve, reason, execute, review or respond. */
  readonly layer: StepLayer
  /** The step's input (made JSON-safe); `Sniff.input` can set it later. */
  readonly input?: unknown
}

/**
 * Runs an effect as a step of the current trail. A failure is recorded (`status: "error"`, with
 * the error's type and message) and reaches the caller unchanged; an interruption is recorded as
 * `interrupted`. Data-first or pipeable.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Sniff } from "houndsight"
 *
 * const plan = Sniff.run("plan", { layer: "plan", input: { goal: "forecast" } }, Effect.succeed("ok"))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const run: {
  (name: string, options: SniffOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | Trail>
  <A, E, R>(name: string, options: SniffOptions, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Trail>
} = dual(
  3,
  // the effect comes last in the data-first form, so the pipeable form (effect first) is told
  // apart by which argument is the effect, as `Layer.effect` does
  <A, E, R>(a: string | Effect.Effect<A, E, R>, b: string | SniffOptions, c: SniffOptions | Effect.Effect<A, E, R>) =>
    Effect.isEffect(a)
      ? runStep(b as string, c as SniffOptions, a)
      : runStep(a, b as SniffOptions, c as Effect.Effect<A, E, R>)
)

const withStep = (
  what: string,
  f: (step: StepState, trail: TrailState) => string | undefined
): Effect.Effect<void, never, Trail> =>
  Effect.withFiberRuntime<void, never, Trail>((fiber) => {
    const trail = trailOf(fiber)
    if (trail === undefined || !trail.recording) return Effect.void
    const step = currentStepOf(fiber, trail)
    if (step === undefined) {
      return Effect.logWarning(`houndsight: ${what} was called outside Sniff.run; it was ignored. Call it inside a sniff.`)
    }
    if (step.ended) {
      return Effect.logWarning(
        `houndsight: ${what} was called after step ${JSON.stringify(step.name)} ended; it was ignored.`
      )
    }
    const problem = f(step, trail)
    return problem === undefined ? Effect.void : Effect.logWarning(`houndsight: ${what}: ${problem}; it was ignored.`)
  })

/**
 * Sets the current step's input (made JSON-safe). The last call wins.
 *
 * @since 0.1.0
 * @category recording
 */
export const input = (value: unknown): Effect.Effect<void, never, Trail> =>
  withStep("Sniff.input", (step) => {
    step.setInput(value)
    return undefined
  })

/**
 * Sets the current step's output (made JSON-safe). The last call wins.
 *
 * @since 0.1.0
 * @category recording
 */
export const output = (value: unknown): Effect.Effect<void, never, Trail> =>
  withStep("Sniff.output", (step) => {
    step.setOutput(value)
    return undefined
  })

/**
 * Adds a cost in US dollars to the current step. Calls add up; the trail's total is the sum
 * over its steps. A negative or non-finite amount is ignored with a warning.
 *
 * @since 0.1.0
 * @category recording
 */
export const cost = (usd: number): Effect.Effect<void, never, Trail> =>
  withStep("Sniff.cost", (step) => {
    if (typeof usd !== "number" || !Number.isFinite(usd) || usd < 0) {
      return `expected a finite number of US dollars, zero or more, got ${String(usd)}`
    }
    step.addCost(usd)
    return undefined
  })

/**
 * Adds token counts to the current step. Calls add up; the trail's total is the sum over its
 * steps. Counts must be whole numbers, zero or more.
 *
 * @since 0.1.0
 * @category recording
 */
export const tokens = (counts: Tokens): Effect.Effect<void, never, Trail> =>
  withStep("Sniff.tokens", (step) => {
    const ok = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 0
    if (counts === null || typeof counts !== "object" || !ok(counts.input) || !ok(counts.output)) {
      return `expected { input, output } as whole numbers, zero or more, got ${JSON.stringify(counts)}`
    }
    step.addTokens(counts)
    return undefined
  })

/**
 * Attaches an event to the current step, or to the trail when no sniff is open.
 *
 * @since 0.1.0
 * @category recording
 */
export const event = (name: string, attributes: Readonly<Record<string, unknown>> = {}): Effect.Effect<
  void,
  never,
  Trail
> => emitEvent("Sniff.event", name, attributes)

/** @internal */
export const emitEvent = (what: string, name: string, attributes: unknown): Effect.Effect<void, never, Trail> =>
  Effect.withFiberRuntime<void, never, Trail>((fiber) => {
    const trail = trailOf(fiber)
    if (trail === undefined || !trail.recording) return Effect.void
    if (typeof name !== "string" || name.length === 0 || name.length > 256) {
      return Effect.logWarning(
        `houndsight: ${what}: an event name must be a non-empty string of at most 256 characters, got ${
          JSON.stringify(name)
        }; it was ignored.`
      )
    }
    const event = makeEvent(trail, name, attributes)
    const step = currentStepOf(fiber, trail)
    if (step !== undefined && !step.ended) step.addEvent(event)
    else trail.addEvent(event)
    return Effect.void
  })
