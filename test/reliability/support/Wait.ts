/**
 * Waiting for something to become true in a live test, with a bound and a message that says
 * what never happened.
 */
import { Effect } from "effect"

/**
 * Runs `check` every `everyMillis` (default 10) until it answers `true`; fails with `what` after
 * `withinMillis` (default 20 s).
 */
export const until = <E, R>(
  what: string,
  check: Effect.Effect<boolean, E, R>,
  options: { readonly withinMillis?: number; readonly everyMillis?: number } = {}
): Effect.Effect<void, E | Error, R> => {
  const within = options.withinMillis ?? 20_000
  const every = options.everyMillis ?? 10
  const loop: Effect.Effect<void, E, R> = Effect.flatMap(check, (ok) =>
    ok ? Effect.void : Effect.zipRight(Effect.sleep(every), loop))
  return loop.pipe(
    Effect.timeoutFail({ duration: within, onTimeout: () => new Error(`waited ${within} ms for ${what}; it never happened`) })
  )
}
