/**
 * Yielding to Node's event loop inside a long read, so the server answers other requests (a
 * `/healthz` probe, an agent's long-poll) between the slices of the work instead of after all of
 * it. `Effect.yieldNow()` alone does not do this: Effect's default scheduler resumes a yielded
 * fiber in a microtask, before Node polls for I/O.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"

/**
 * Resumes in Node's check phase (`setImmediate`), after the I/O that is ready has been handled.
 *
 * @since 0.1.0
 * @category combinators
 */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})
