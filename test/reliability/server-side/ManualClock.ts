/**
 * A clock the test moves by hand, for running the real server in-process with time under the
 * test's control. The server reads time only through Effect's `Clock` (a leash's creation,
 * deadline and decision times; its expiry timers sleep on it), so a server built under
 * `Effect.withClock(clock)` expires leashes exactly when `advance` passes their deadline, while
 * its sockets, SQLite and everything else run for real.
 *
 * Unlike `TestClock`, it starts at a real instant and is independent of the test's own fiber: the
 * test itself keeps the live clock, so real timeouts in the test still work.
 */
import { Clock, Duration, Effect } from "effect"

interface Sleeper {
  readonly until: number
  readonly wake: () => void
}

/** A clock moved by `advance`. */
export interface ManualClock extends Clock.Clock {
  /** The clock's time, epoch milliseconds. */
  readonly now: () => number
  /** Moves time forward and wakes every sleeper whose time has come. */
  readonly advance: (millis: number) => void
  /** How many sleeps are waiting (the server's expiry timers and held long-polls). */
  readonly sleepers: () => number
}

/** A manual clock starting at `start` (epoch milliseconds; a whole second by default). */
export const make = (start: number = Math.floor(Date.now() / 1000) * 1000): ManualClock => {
  let now = start
  const sleepers = new Set<Sleeper>()
  const currentTimeMillis = Effect.sync(() => now)
  const currentTimeNanos = Effect.sync(() => BigInt(now) * 1_000_000n)
  const sleep = (duration: Duration.DurationInput): Effect.Effect<void> =>
    Effect.async<void>((resume) => {
      const until = now + Duration.toMillis(duration)
      if (until <= now) {
        resume(Effect.void)
        return
      }
      const sleeper: Sleeper = {
        until,
        wake: () => {
          sleepers.delete(sleeper)
          resume(Effect.void)
        }
      }
      sleepers.add(sleeper)
      return Effect.sync(() => {
        sleepers.delete(sleeper)
      })
    })
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeMillis,
    currentTimeNanos,
    sleep,
    now: () => now,
    advance: (millis) => {
      now += millis
      for (const sleeper of [...sleepers]) if (sleeper.until <= now) sleeper.wake()
    },
    sleepers: () => sleepers.size
  }
}
