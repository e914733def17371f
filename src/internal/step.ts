/**
 * The one place a step is opened and closed: used by `Sniff.run`, `collar` and the leash's
 * review step.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type * as Fiber from "effect/Fiber"
import { type StepLayer, stepLayers } from "../schema/Common.js"
import { Trail } from "./trail.js"
import { currentStep, type Holder, StepState, type TrailState, UNOWNED } from "./state.js"

const layers: ReadonlySet<string> = new Set(stepLayers)

/** The trail of a fiber, or undefined outside one (only reachable by escaping the types). */
export const trailOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): TrailState | undefined =>
  fiber.currentContext.unsafeMap.get(Trail.key) as TrailState | undefined

/**
 * The fiber's own holder, claiming a forked snapshot or installing a new holder when the one it
 * sees belongs to another fiber (a runtime captured elsewhere).
 */
export const ownHolder = (fiber: Fiber.RuntimeFiber<unknown, unknown>): { holder: Holder; install: boolean } => {
  const holder = fiber.getFiberRef(currentStep)
  const id = fiber.id().id
  if (holder.owner === id) return { holder, install: false }
  if (holder.owner === UNOWNED) {
    holder.owner = id
    return { holder, install: false }
  }
  return { holder: { owner: id, current: holder.current }, install: true }
}

/** The open step of a fiber within a trail, if any. */
export const currentStepOf = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  trail: TrailState
): StepState | undefined => {
  const step = fiber.getFiberRef(currentStep).current
  return step !== undefined && step.trail === trail ? step : undefined
}

/** Checks a step's name and layer; a problem is logged and the step still recorded, corrected. */
export const checkStep = (name: unknown, layer: unknown): { name: string; layer: StepLayer; problem?: string } => {
  let problem: string | undefined
  let n = typeof name === "string" ? name : String(name)
  if (n.length === 0) {
    n = "(unnamed)"
    problem = "a step name must be a non-empty string; recorded as \"(unnamed)\""
  } else if (n.length > 256) {
    n = n.slice(0, 256)
    problem = `the step name ${JSON.stringify(n.slice(0, 40))}… is longer than 256 characters; recorded truncated`
  }
  let l = layer as StepLayer
  if (!layers.has(layer as string)) {
    l = "execute"
    problem = `step ${JSON.stringify(n)}: layer must be one of ${stepLayers.join(", ")}, got ${
      JSON.stringify(layer)
    }; recorded as "execute"`
  }
  return problem === undefined ? { name: n, layer: l } : { name: n, layer: l, problem }
}

/** Options of the step primitive. */
export interface StepOptions {
  readonly layer: StepLayer
  readonly input?: unknown
  /** Record the effect's success value as the step's output. */
  readonly captureOutput?: boolean
  /** Called with the open step before the effect runs (the leash uses it). */
  readonly onOpen?: (step: StepState) => void
}

/**
 * Runs `self` as a step of the current trail. Opening and closing happen inside one
 * uninterruptible region, so an interrupted step is still recorded (`interrupted`).
 */
export const runStep = <A, E, R>(
  name: string,
  options: StepOptions,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R | Trail> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, R | Trail>((fiber) => {
      const trail = trailOf(fiber)
      if (trail === undefined) {
        return Effect.dieMessage(
          `houndsight: step ${JSON.stringify(name)} ran outside a trail. Wrap the agent in Trail.run(...).`
        )
      }
      if (!trail.recording) return restore(self)
      const checked = checkStep(name, options.layer)
      const { holder, install } = ownHolder(fiber)
      const parent = holder.current
      const step = new StepState(
        trail,
        parent !== undefined && parent.trail === trail ? parent.id : null,
        checked.name,
        checked.layer
      )
      if (options.input !== undefined) step.setInput(options.input)
      if (options.onOpen !== undefined) options.onOpen(step)
      holder.current = step
      const capture = options.captureOutput === true
      // with the trail's steps going as spans, the step's span is the parent of the spans inside
      const inner = step.span === undefined
        ? restore(self)
        : Effect.withParentSpan(restore(self), step.span) as Effect.Effect<A, E, R>
      let body: Effect.Effect<A, E, R> = Effect.matchCauseEffect(inner, {
        onFailure: (cause) => {
          holder.current = parent
          step.endCause(cause)
          return Effect.failCause(cause)
        },
        onSuccess: (a) => {
          holder.current = parent
          if (capture) step.setOutput(a)
          step.finish("ok", undefined)
          return Effect.succeed(a)
        }
      })
      if (install) body = Effect.zipRight(FiberRef.set(currentStep, holder), body)
      if (checked.problem !== undefined) body = Effect.zipRight(Effect.logWarning(`houndsight: ${checked.problem}`), body)
      return body
    })
  )

/**
 * Opens a leaf step of `trail` without making it current (nothing runs inside it), with the
 * fiber's current step as its parent: the leash's review step, whose id must be known before the
 * gate is asked and whose output is set before it ends. The caller ends it with `finish` (or
 * `endCause`). Returns undefined when the trail does not record; a corrected name or layer comes
 * back as `problem` for the caller to log.
 */
export const openLeafStep = (
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  trail: TrailState,
  name: string,
  layer: StepLayer,
  input: unknown
): { readonly step: StepState; readonly problem: string | undefined } | undefined => {
  if (!trail.recording) return undefined
  const checked = checkStep(name, layer)
  const parent = currentStepOf(fiber, trail)
  const step = new StepState(trail, parent !== undefined ? parent.id : null, checked.name, checked.layer)
  if (input !== undefined) step.setInput(input)
  return { step, problem: checked.problem }
}
