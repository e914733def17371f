/**
 * A page of pending leashes read a slice at a time: a page of 100 summaries at the v1.1 limits
 * (16 KiB of risk signals and a 4 KiB preview each) is megabytes to read and decode, which in
 * one synchronous piece holds every other request back (a `/healthz` probe, an agent's
 * long-poll). Read here `slice` leashes at a time with a yield to the event loop between the
 * slices, it answers the page one read of `limit` answers: the same items in the same order, and
 * the same `next_cursor`.
 *
 * @since 0.1.0
 */
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type * as Wire from "houndsight/wire"
import { yieldToEventLoop } from "./EventLoop.js"
import type { LeashDesk } from "./LeashDesk.js"

/**
 * How many leashes one slice reads.
 *
 * @since 0.1.0
 * @category constants
 */
export const slice = 10

/**
 * The page of at most `limit` pending leashes after `cursor`, as `desk.pending(limit, cursor)`
 * answers it, read `slice` leashes at a time.
 *
 * @since 0.1.0
 * @category reads
 */
export const read = (
  desk: LeashDesk["Type"],
  limit: number,
  cursor?: readonly [number, string] | undefined
): Effect.Effect<Wire.PendingLeashList, SqlError> =>
  Effect.gen(function*() {
    const leashes: Array<Wire.PendingLeashItem> = []
    let after = cursor
    for (;;) {
      const page = yield* desk.pending(Math.min(slice, limit - leashes.length), after)
      for (const item of page.leashes) leashes.push(item)
      if (page.nextCursor === undefined) return { leashes }
      if (leashes.length >= limit) return { leashes, nextCursor: page.nextCursor }
      const last = leashes[leashes.length - 1]!
      // the order of the list: by deadline, then id (the cursor a read of this slice would give)
      after = [last.expiresAt.getTime(), last.leashId]
      yield* yieldToEventLoop
    }
  })
