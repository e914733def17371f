/**
 * Two alternative ways to carry the current sniff, written only to be measured against the one
 * houndsight ships (src/internal/state.ts: a per-fiber holder in one FiberRef, swapped in place).
 * Both record the same StepState records through the same trail and recorder; only the way the
 * parent step is found and scoped differs:
 *
 * - `runStepContext`: the current step travels in the Context, like Effect's own
 *   `Tracer.ParentSpan`: `Effect.provideService(CurrentSniff, step)` around the body and
 *   `Effect.onExit` to close it (the design DESIGN.md/STYLE.md first suggested).
 * - `runStepLocally`: the current step is a FiberRef value, scoped with `Effect.locally` and
 *   closed with `Effect.onExit`.
 *
 * Not part of the SDK: bench only.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import type { StepLayer } from "../src/schema/Common.js"
import { StepState } from "../src/internal/state.js"
import { checkStep, trailOf } from "../src/internal/step.js"
import type { Trail } from "../src/services/Trail.js"

/**
 * The current step as a Context service (alternative design).
 *
 * @since 0.1.0
 * @category tags
 */
export class CurrentSniff extends Context.Tag("houndsight-bench/CurrentSniff")<CurrentSniff, StepState>() {}

/**
 * The current step as a plain FiberRef value (alternative design).
 *
 * @since 0.1.0
 * @category references
 */
export const currentSniffRef: FiberRef.FiberRef<StepState | undefined> = FiberRef.unsafeMake<StepState | undefined>(
  undefined
)

const close = (step: StepState) => (exit: Exit.Exit<unknown, unknown>) =>
  Effect.sync(() => {
    if (Exit.isSuccess(exit)) step.finish("ok", undefined)
    else step.endCause(exit.cause)
  })

const outside = (name: string) =>
  Effect.dieMessage(`bench: step ${JSON.stringify(name)} ran outside a trail. Wrap it in Trail.run(...).`)

/**
 * A sniff whose current step travels in the Context: `provideService` + `onExit`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const runStepContext = <A, E, R>(
  name: string,
  layer: StepLayer,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, CurrentSniff> | Trail> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, Exclude<R, CurrentSniff> | Trail>((fiber) => {
      const trail = trailOf(fiber)
      if (trail === undefined) return outside(name)
      const checked = checkStep(name, layer)
      const parent = fiber.currentContext.unsafeMap.get(CurrentSniff.key) as StepState | undefined
      const step = new StepState(
        trail,
        parent !== undefined && parent.trail === trail ? parent.id : null,
        checked.name,
        checked.layer
      )
      return Effect.onExit(Effect.provideService(restore(self), CurrentSniff, step), close(step))
    })
  )

/**
 * A sniff whose current step is a FiberRef value: `Effect.locally` + `onExit`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const runStepLocally = <A, E, R>(
  name: string,
  layer: StepLayer,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | Trail> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, R | Trail>((fiber) => {
      const trail = trailOf(fiber)
      if (trail === undefined) return outside(name)
      const checked = checkStep(name, layer)
      const parent = fiber.getFiberRef(currentSniffRef)
      const step = new StepState(
        trail,
        parent !== undefined && parent.trail === trail ? parent.id : null,
        checked.name,
        checked.layer
      )
      return Effect.onExit(Effect.locally(restore(self), currentSniffRef, step), close(step))
    })
  )
