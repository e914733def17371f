/**
 * The exporter's flushes: who waits for which records to be settled (exported or dropped), and
 * how far each lane is settled. A flush waits for every record its lanes had taken when it was
 * asked; the worker settles a batch's records when the batch is settled.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { Backlog } from "./backlog.js"

interface Waiter {
  readonly audit: number
  readonly ordinary: number
  readonly deferred: Deferred.Deferred<void>
}

/** The flushes waiting and the lanes' settled marks. */
export class Flushes {
  private waiters: Array<Waiter> = []
  /** Per lane, how many of its records are settled. */
  private settledAudit = 0
  private settledOrdinary = 0

  constructor(private readonly backlog: Backlog) {}

  /** Whether a flush waits. */
  get waiting(): boolean {
    return this.waiters.length > 0
  }

  /** The lanes are settled up to these marks; releases the flushes that waited for them. */
  settle(auditMark: number, ordinaryMark: number): void {
    this.settledAudit = auditMark
    this.settledOrdinary = ordinaryMark
    this.resolve()
  }

  /** Everything taken from the lanes is settled (they are empty, or cleared at the close). */
  settleTaken(): void {
    this.settle(this.backlog.audit.taken, this.backlog.ordinary.taken)
  }

  /** Releases the flushes whose records are settled, and every flush once the backlog is closed. */
  private resolve(): void {
    if (this.waiters.length === 0) return
    const closed = this.backlog.closed
    const remaining: Array<Waiter> = []
    for (const w of this.waiters) {
      if (closed || (this.settledAudit >= w.audit && this.settledOrdinary >= w.ordinary)) {
        Deferred.unsafeDone(w.deferred, Exit.void)
      } else remaining.push(w)
    }
    this.waiters = remaining
  }

  /**
   * Waits until every record the lanes hold now is settled; `wake` tells the worker to send at
   * once. Returns at once when they are, or when the exporter is closed.
   */
  flush(wake: () => void): Effect.Effect<void> {
    if (this.backlog.closed) return Effect.void
    const target = { audit: this.backlog.audit.pushed, ordinary: this.backlog.ordinary.pushed }
    if (this.settledAudit >= target.audit && this.settledOrdinary >= target.ordinary) return Effect.void
    return Effect.flatMap(Deferred.make<void>(), (deferred) => {
      this.waiters.push({ ...target, deferred })
      wake()
      return Deferred.await(deferred)
    })
  }
}
