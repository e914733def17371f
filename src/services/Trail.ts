/**
 * A trail groups one agent run end to end: its trigger, payload, output, status and totals.
 * Everything that records (sniffs, collars, barks, leashes) needs the current trail in its
 * requirements, so using it outside `Trail.run` is a type error.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Sniff, Trail } from "houndsight"
 *
 * const agent = Effect.gen(function*() {
 *   const deals = yield* Sniff.run("salesforce_query", { layer: "execute" }, Effect.succeed(17))
 *   yield* Trail.setOutput(`Posted forecast of ${deals} deals`)
 * })
 *
 * const program = Trail.run({ trigger: "user_message", payload: { text: "Q2 forecast" } }, agent)
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Tracer from "effect/Tracer"
import { currentStep, type Holder, TrailState } from "../internal/state.js"
import { Trail } from "../internal/trail.js"
import { stepSpansOf } from "../internal/tracer.js"
import { Recorder } from "./Recorder.js"

export {
  /**
   * What user code can read of the current trail.
   *
   * @since 0.1.0
   * @category models
   */
  type CurrentTrail,
  /**
   * The current trail: a Context requirement of everything that records.
   *
   * @since 0.1.0
   * @category tags
   */
  Trail
} from "../internal/trail.js"

/**
 * How a trail starts.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrailOptions {
  /** What started the run (`user_message`, `cron`, `webhook` …). */
  readonly trigger: string
  /** The input of the run; made JSON-safe. */
  readonly payload: unknown
  /** String tags to search trails by. */
  readonly tags?: Readonly<Record<string, string>> | undefined
}

const checkOptions = (options: TrailOptions): string | undefined => {
  if (options === null || typeof options !== "object") return "Trail.run needs options { trigger, payload, tags? }"
  if (typeof options.trigger !== "string" || options.trigger.length === 0 || options.trigger.length > 256) {
    return `Trail.run: trigger must be a non-empty string of at most 256 characters, got ${
      JSON.stringify(options.trigger)
    }`
  }
  if (options.tags !== undefined) {
    if (options.tags === null || typeof options.tags !== "object") {
      return "Trail.run: tags must be an object of string values"
    }
    for (const [k, v] of Object.entries(options.tags)) {
      if (typeof v !== "string") return `Trail.run: tag ${JSON.stringify(k)} must be a string, got ${typeof v}`
    }
  }
  return undefined
}

const runImpl = <A, E, R>(
  options: TrailOptions,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Trail> | Recorder> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, Exclude<R, Trail> | Recorder>((fiber) => {
      const problem = checkOptions(options)
      if (problem !== undefined) return Effect.dieMessage(problem)
      const recorder = Context.unsafeGet(fiber.currentContext as Context.Context<Recorder>, Recorder)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const state = new TrailState(recorder, clock, options.trigger, options.payload, options.tags)
      const holder: Holder = { owner: fiber.id().id, current: undefined }
      // with HoundsightTracer's `steps` on, the trail and its steps go to the user's tracer as spans
      const stepSpans = recorder.enabled
        ? stepSpansOf(Context.get(fiber.currentDefaultServices, Tracer.Tracer))
        : undefined
      let inner = restore(self)
      if (stepSpans !== undefined) {
        state.stepSpans = stepSpans
        stepSpans.openTrail(state)
        inner = Effect.withParentSpan(inner, state.span!) as Effect.Effect<A, E, R>
      }
      const body = inner.pipe(
        Effect.provideService(Trail, state),
        Effect.locally(currentStep, holder)
      ) as Effect.Effect<A, E, Exclude<R, Trail>>
      if (!recorder.enabled) return body
      recorder.offerTrail(state.record("running"))
      return Effect.onExit(body, (exit) => Effect.sync(() => state.end(exit)))
    })
  )

/**
 * Runs an effect as one trail: the trail is recorded as `running` when it opens, and again when
 * it ends (`ok`, `error` or `interrupted`) with its output and the totals of its steps. The
 * effect's result and failure pass through unchanged. Data-first or pipeable.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Trail } from "houndsight"
 *
 * const run = Effect.succeed("done").pipe(Trail.run({ trigger: "cron", payload: {} }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const run: {
  (options: TrailOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, Exclude<R, Trail> | Recorder>
  <A, E, R>(options: TrailOptions, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Trail> | Recorder>
} = dual(
  2,
  // the effect comes last in the data-first form, so the pipeable form (effect first) is told
  // apart by which argument is the effect, as `Layer.effect` does
  <A, E, R>(a: TrailOptions | Effect.Effect<A, E, R>, b: TrailOptions | Effect.Effect<A, E, R>) =>
    Effect.isEffect(a)
      ? runImpl(b as TrailOptions, a as Effect.Effect<A, E, R>)
      : runImpl(a, b as Effect.Effect<A, E, R>)
)

/**
 * Sets the trail's output (made JSON-safe). The last call wins.
 *
 * @example
 * ```ts
 * import { Trail } from "houndsight"
 *
 * const done = Trail.setOutput("Posted forecast")
 * ```
 *
 * @since 0.1.0
 * @category recording
 */
export const setOutput = (value: unknown): Effect.Effect<void, never, Trail> =>
  Effect.map(Trail, (trail) => {
    if ((trail as TrailState).recording) (trail as TrailState).setOutput(value)
  })

/**
 * The current trail's id.
 *
 * @since 0.1.0
 * @category accessors
 */
export const id: Effect.Effect<string, never, Trail> = Effect.map(Trail, (trail) => trail.id)

/**
 * The current trail's dashboard link, `{endpoint}/trails/{id}`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const link: Effect.Effect<string, never, Trail> = Effect.map(Trail, (trail) => trail.link)
