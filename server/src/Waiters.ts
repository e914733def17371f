/**
 * Wake-ups for held long-polls. A `GET /v1/leashes/{id}?wait_seconds=N` that finds its leash
 * pending subscribes here *before* it reads the leash, then waits; whoever writes the leash's
 * decision (a reviewer, a cancel, the expiry timer) wakes every subscriber of that leash at once.
 * No polling interval sits between a decision and the waiting agent.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"

interface Entry {
  readonly signal: Deferred.Deferred<void>
  count: number
}

/**
 * The wake-up registry.
 *
 * @since 0.1.0
 * @category tags
 */
export class Waiters extends Context.Tag("houndsight-server/Waiters")<Waiters, {
  /**
   * A signal that completes when `leashId` is next woken; released with the scope. Subscribe
   * before reading the leash, so a decision written between the read and the wait is not missed.
   */
  readonly subscribe: (leashId: string) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
  /** Wakes every subscriber of `leashId`. */
  readonly wake: (leashId: string) => Effect.Effect<void>
  /** Wakes every subscriber of every leash (shutdown). */
  readonly wakeAll: Effect.Effect<void>
  /** How many subscriptions are held, over all leashes (for tests and diagnostics). */
  readonly size: Effect.Effect<number>
}>() {}

/**
 * An empty registry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.sync(() => {
  const entries = new Map<string, Entry>()
  const acquire = (leashId: string) =>
    Effect.sync(() => {
      let entry = entries.get(leashId)
      if (entry === undefined) {
        entry = { signal: Deferred.unsafeMake<void>(FiberId.none), count: 0 }
        entries.set(leashId, entry)
      }
      entry.count++
      return entry
    })
  const release = (leashId: string, entry: Entry) =>
    Effect.sync(() => {
      entry.count--
      if (entry.count === 0 && entries.get(leashId) === entry) entries.delete(leashId)
    })
  const wake = (leashId: string) =>
    Effect.suspend(() => {
      const entry = entries.get(leashId)
      if (entry === undefined) return Effect.void
      entries.delete(leashId)
      return Deferred.succeed(entry.signal, undefined)
    })
  return Waiters.of({
    subscribe: (leashId) =>
      Effect.map(
        Effect.acquireRelease(acquire(leashId), (entry) => release(leashId, entry)),
        (entry) => Deferred.await(entry.signal)
      ),
    wake: (leashId) => Effect.asVoid(wake(leashId)),
    wakeAll: Effect.suspend(() => Effect.forEach([...entries.keys()], wake, { discard: true })),
    size: Effect.sync(() => {
      let n = 0
      for (const entry of entries.values()) n += entry.count
      return n
    })
  })
})

/**
 * The registry as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Waiters> = Layer.effect(Waiters, make)
