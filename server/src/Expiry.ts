/**
 * Deadlines and the one timer that meets them: the leash desk arms a deadline for every pending
 * leash and disarms it when the leash is decided; at each deadline, on the server's `Clock`, the
 * timer calls the owner's `onDue` once.
 *
 * One timer for every deadline, not a fiber each (a sleeping fiber holds far more memory than a
 * heap entry, and a server may hold thousands of pending leashes): a binary min-heap of
 * deadlines and one fiber that sleeps until the earliest, hands over what is due and sleeps
 * again. A deadline earlier than the one the fiber sleeps towards wakes it at once. Disarming
 * costs a map delete: a disarmed heap entry is dropped when it reaches the top, or all at once
 * when disarmed entries make up most of the heap.
 *
 * The timer fiber is forked into the Scope of whoever makes the expiry (the leash desk's
 * layer), so it ends with the server.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

/**
 * A deadline as the heap holds it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Due {
  /** Epoch milliseconds. */
  readonly at: number
  readonly key: string
}

/**
 * A binary min-heap of deadlines, earliest first (entries of equal deadlines in no set order).
 *
 * @since 0.1.0
 * @category models
 */
export class Deadlines {
  private items: Array<Due> = []

  /** How many entries the heap holds. */
  get size(): number {
    return this.items.length
  }

  /** The earliest entry, left in the heap. */
  peek(): Due | undefined {
    return this.items[0]
  }

  /** Adds an entry. */
  push(due: Due): void {
    const items = this.items
    items.push(due)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.at <= due.at) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = due
  }

  /** Removes and answers the earliest entry. */
  pop(): Due | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && items[right]!.at < items[left]!.at ? right : left
      if (items[child]!.at >= last.at) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }

  /** Keeps only `live` entries (rebuilt from them). */
  reset(live: Iterable<Due>): void {
    this.items = []
    for (const due of live) this.push(due)
  }
}

/**
 * The deadlines of one owner and their timer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Expiry {
  /**
   * Arms (or re-arms) `key` for `at` (epoch milliseconds): `onDue` runs once, at the first tick
   * of the timer on or after `at`, unless `key` is disarmed or re-armed before.
   */
  readonly arm: (key: string, at: number) => Effect.Effect<void>
  /** Disarms `key` (nothing when it is not armed): its `onDue` will not run. */
  readonly disarm: (key: string) => Effect.Effect<void>
  /** How many keys are armed, and how many entries the heap holds (disarmed ones included). */
  readonly size: Effect.Effect<{ readonly armed: number; readonly queued: number }>
}

/**
 * What an expiry does at a deadline.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Runs at `key`'s deadline `at`, `now` being the Clock's time; uninterruptible. It must not
   * fail: it handles its own failures (the timer would stop).
   */
  readonly onDue: (key: string, at: number, now: number) => Effect.Effect<void>
  /**
   * How long after a deadline the timer wakes, so the deadline has surely passed on the clock
   * (default 2 ms).
   */
  readonly slackMillis?: number | undefined
}

/** Disarmed entries are swept out at once only in a heap this large (below it they cost little). */
const compactAbove = 1024

/**
 * An expiry with no deadline armed; its timer fiber runs in the Scope and stops with it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Expiry, never, Scope.Scope> =>
  Effect.gen(function*() {
    const slack = options.slackMillis ?? 2
    /** The deadline of every key still waiting for the timer. */
    const armed = new Map<string, number>()
    const heap = new Deadlines()
    /** When the timer fiber wakes next (`Infinity`: no deadline queued). */
    let wakeAt = Infinity
    /** Completed to wake the timer fiber before `wakeAt` (a key with an earlier deadline). */
    let kick = Deferred.unsafeMake<void>(FiberId.none)

    /** The earliest deadline still armed, dropping entries of disarmed or re-armed keys. */
    const earliest = (): Due | undefined => {
      for (;;) {
        const top = heap.peek()
        if (top === undefined || armed.get(top.key) === top.at) return top
        heap.pop()
      }
    }

    const fireDue = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      for (let due = earliest(); due !== undefined && due.at <= now; due = earliest()) {
        heap.pop()
        armed.delete(due.key)
        yield* options.onDue(due.key, due.at, now)
      }
    })

    const timer = Effect.forever(Effect.gen(function*() {
      yield* Effect.uninterruptible(fireDue)
      const { delay, signal } = yield* Effect.sync(() => {
        kick = Deferred.unsafeMake<void>(FiberId.none)
        const due = earliest()
        wakeAt = due === undefined ? Infinity : due.at + slack
        return { delay: due === undefined ? undefined : due.at + slack, signal: kick }
      })
      const now = yield* Clock.currentTimeMillis
      yield* delay === undefined
        ? Deferred.await(signal)
        : Effect.raceFirst(Effect.sleep(Duration.millis(Math.max(0, delay - now))), Deferred.await(signal))
    }))

    // Interruptible whatever region the Scope's owner builds in, so closing the Scope stops the
    // timer between deadlines (a deadline's `onDue` runs to its end).
    yield* Effect.forkScoped(Effect.interruptible(timer))

    return {
      arm: (key, at) =>
        Effect.sync(() => {
          // already armed for this deadline (a poll arms its leash each time it holds)
          if (armed.get(key) === at) return
          armed.set(key, at)
          heap.push({ at, key })
          if (at + slack < wakeAt) {
            wakeAt = at + slack
            Deferred.unsafeDone(kick, Exit.void)
          }
        }),
      disarm: (key) =>
        Effect.sync(() => {
          if (!armed.delete(key)) return
          if (heap.size > compactAbove && heap.size > 2 * armed.size) {
            heap.reset(Array.from(armed, ([k, at]): Due => ({ at, key: k })))
          }
        }),
      size: Effect.sync(() => ({ armed: armed.size, queued: heap.size }))
    } satisfies Expiry
  })
