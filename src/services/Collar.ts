/**
 * A collar wraps an Effect-returning function so that every call is a sniff: the arguments are
 * its input, the result its output, a failure its error.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { collar } from "houndsight"
 *
 * const search = collar("search_docs", { layer: "retrieve" }, (query: string, limit: number) =>
 *   Effect.succeed([`${query}#1`].slice(0, limit)))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { StepLayer } from "../schema/Common.js"
import { runStep } from "../internal/step.js"
import type { Trail } from "./Trail.js"

/**
 * How a collared call is recorded.
 *
 * @since 0.1.0
 * @category models
 */
export interface CollarOptions {
  readonly layer: StepLayer
}

/**
 * Wraps `fn` so each call runs as a sniff named `name`. Argument, success and error types are
 * kept; the trail is added to the requirements. A function that throws instead of returning an
 * Effect is recorded as a defect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const collar = <Args extends ReadonlyArray<unknown>, A, E, R>(
  name: string,
  options: CollarOptions,
  fn: (...args: Args) => Effect.Effect<A, E, R>
): (...args: Args) => Effect.Effect<A, E, R | Trail> =>
(...args: Args) =>
  runStep(name, { layer: options.layer, input: args, captureOutput: true }, Effect.suspend(() => fn(...args)))
