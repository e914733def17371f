/**
 * Wake-ups for held long-polls. A `GET /v1/leashes/{id}?wait_seconds=N` that finds its leash
 * pending listens here *before* it reads the leash, then waits; whoever writes the leash's
 * decision (a reviewer, a cancel, the expiry timer) wakes every listener of that leash at once,
 * handing over the leash state it wrote when it knows it (so a woken poll answers without
 * reading the leash again). No polling interval sits between a decision and the waiting agent.
 * A decision written by another server instance on the same database arrives through the
 * `Notifier` and wakes the listeners here without a state: they read the leash.
 *
 * A listener is a plain object in a map, not a fiber, a scope or a `Deferred`: a server holds a
 * thousand polls at once, and each held poll costs only its own request.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Wire from "houndsight/wire"

/**
 * One held poll's subscription. Until `onWake` is set, a wake-up is kept in `woken` (and
 * `state`), so a decision written between the subscription and the read is not missed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Listener {
  /** Whether the leash was woken since the subscription. */
  readonly woken: boolean
  /** The state the waker wrote, when it handed one over (`undefined`: read the leash). */
  readonly state: Wire.LeashState | undefined
  /** Called once, at the wake-up (or at once when set after one). */
  onWake: ((state: Wire.LeashState | undefined) => void) | undefined
  /** Ends the subscription (idempotent). */
  readonly stop: () => void
}

/**
 * The wake-up registry.
 *
 * @since 0.1.0
 * @category tags
 */
export class Waiters extends Context.Tag("houndsight-server/Waiters")<Waiters, {
  /**
   * Subscribes to the next wake-up of `leashId`, synchronously (no scope: call `stop` when
   * done). Subscribe before reading the leash, so a decision written between the read and the
   * wait is not missed.
   */
  readonly unsafeListen: (leashId: string) => Listener
  /** Wakes every listener of `leashId`, handing over `state` (the state just written) when given. */
  readonly wake: (leashId: string, state?: Wire.LeashState) => Effect.Effect<void>
  /** Wakes every listener of every leash (shutdown). */
  readonly wakeAll: Effect.Effect<void>
  /** How many subscriptions are held, over all leashes (for tests and diagnostics). */
  readonly size: Effect.Effect<number>
}>() {}

class Entry implements Listener {
  woken = false
  state: Wire.LeashState | undefined = undefined
  onWake: ((state: Wire.LeashState | undefined) => void) | undefined = undefined
  constructor(
    private readonly leashId: string,
    private readonly registry: Map<string, Array<Entry>>
  ) {}
  fire(state: Wire.LeashState | undefined): void {
    if (this.woken) return
    this.woken = true
    this.state = state
    const onWake = this.onWake
    if (onWake !== undefined) {
      this.onWake = undefined
      onWake(state)
    }
  }
  readonly stop = (): void => {
    this.onWake = undefined
    const list = this.registry.get(this.leashId)
    if (list === undefined) return
    const i = list.indexOf(this)
    if (i === -1) return
    list.splice(i, 1)
    if (list.length === 0) this.registry.delete(this.leashId)
  }
}

/**
 * An empty registry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.sync(() => {
  const entries = new Map<string, Array<Entry>>()
  const wakeNow = (leashId: string, state: Wire.LeashState | undefined): void => {
    const list = entries.get(leashId)
    if (list === undefined) return
    entries.delete(leashId)
    for (const entry of list) entry.fire(state)
  }
  return Waiters.of({
    unsafeListen: (leashId) => {
      const entry = new Entry(leashId, entries)
      const list = entries.get(leashId)
      if (list === undefined) entries.set(leashId, [entry])
      else list.push(entry)
      return entry
    },
    wake: (leashId, state) => Effect.sync(() => wakeNow(leashId, state)),
    wakeAll: Effect.sync(() => {
      for (const leashId of [...entries.keys()]) wakeNow(leashId, undefined)
    }),
    size: Effect.sync(() => {
      let n = 0
      for (const list of entries.values()) n += list.length
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
