/**
 * Step helpers of `houndsight/ai`: run an effect with a chosen step as the current one (so the
 * tool calls a model makes are its children, whichever fiber resolves them), and what a tool
 * call's execute step records.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { currentStep, type StepState } from "../internal/state.js"
import { ownHolder } from "../internal/step.js"

/**
 * Runs `self` with `step` as the fiber's current step (the parent of the steps opened inside),
 * then puts the previous one back.
 */
export const withParent = <A, E, R>(step: StepState | undefined, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  step === undefined ? self : Effect.withFiberRuntime<A, E, R>((fiber) => {
    const { holder, install } = ownHolder(fiber)
    const previous = holder.current
    holder.current = step
    const body = Effect.ensuring(
      self,
      Effect.sync(() => {
        holder.current = previous
      })
    )
    return install ? Effect.zipRight(FiberRef.set(currentStep, holder), body) : body
  })

/** The result of a toolkit's `handle`, as @effect/ai 0.37 returns it. */
export interface HandlerResult {
  readonly isFailure: boolean
  readonly result: unknown
  readonly encodedResult: unknown
}

/**
 * Records a tool's answer on its execute step: `{ result }`, or `{ failure }` for a failure the
 * tool returns to the model (the step then ends `error`, so the bypass audit does not count an
 * approval as used by a failed action).
 */
export const recordToolResult = (step: StepState | undefined, name: string, r: HandlerResult): void => {
  if (step === undefined) return
  if (r.isFailure) {
    step.setOutput({ failure: r.encodedResult })
    const failure = r.result as { _tag?: unknown; message?: unknown } | null
    const type = failure !== null && typeof failure === "object" && typeof failure._tag === "string"
      ? failure._tag
      : "ToolFailure"
    const message = failure !== null && typeof failure === "object" && typeof failure.message === "string"
      ? failure.message
      : `the tool ${name} returned a failure to the model`
    step.finish("error", { type, message })
  } else {
    step.setOutput({ result: r.encodedResult })
  }
}
