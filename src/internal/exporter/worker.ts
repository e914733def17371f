/**
 * The exporter's two fibers and its close.
 *
 * - The **worker** waits for its latch or the flush interval, takes the next batch (the prepared
 *   one, else one assembled now), delivers it, and settles its records for the flushes waiting.
 *   A batch goes as soon as it is full, a flush asks, or the close comes; else when its oldest
 *   record has waited `flushIntervalMillis`.
 * - The **compactor** assembles the next full batch while a request is in flight, and encodes
 *   the records still raw then (`lane.ts`: a step is kept as its parts, a trail as its JSON, a
 *   record that does not encode is dropped, counted and logged); the offer itself compacts every
 *   few dozen records (`Backlog`), so queued records stay small.
 * - The **close** (`shutdown`) drains the lanes within `shutdownTimeoutMillis`, then counts what
 *   was not sent (`shutdown`) and what was sent without an answer (`unconfirmed`), and says so.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { Accounting } from "./accounting.js"
import type { Backlog } from "./backlog.js"
import type { Delivery } from "./delivery.js"
import type { Flushes } from "./flushes.js"
import type { ExporterSettings } from "./model.js"
import { formatMillis } from "./text.js"

/** Records compacted in one go before the compactor lets other fibers run. */
const compactBudget = 512

/**
 * Resumes in a later task of the event loop, after what is waiting on I/O, whatever the Clock (no
 * Effect `sleep`): `setImmediate` where there is one (Node, Bun, Deno), else a timer.
 */
const nextMacrotask: Effect.Effect<void> = typeof globalThis.setImmediate === "function"
  ? Effect.async<void>((resume) => {
    const immediate = globalThis.setImmediate(() => resume(Effect.void))
    return Effect.sync(() => globalThis.clearImmediate(immediate))
  })
  : Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), 0)
    return Effect.sync(() => clearTimeout(timer))
  })

const EXIT = -2
const WAIT = -1
const SEND = 0

/** The worker's state (when the oldest waiting record arrived, whether the close asked to drain) and its fibers' bodies. */
export class Worker {
  /** When the records now waiting started to wait for the flush interval. */
  private timerStart: number | undefined = undefined
  /** Set by the close: send what is queued without waiting, then end. */
  private closing = false

  constructor(
    private readonly settings: Pick<
      ExporterSettings,
      "endpoint" | "maxBatchRecords" | "flushIntervalMillis" | "shutdownTimeoutMillis"
    >,
    private readonly clock: Clock.Clock,
    private readonly accounting: Accounting,
    private readonly backlog: Backlog,
    private readonly flushes: Flushes,
    private readonly delivery: Delivery
  ) {}

  private readonly sendNext: Effect.Effect<void> = Effect.suspend(() => {
    const { accounting, backlog, flushes } = this
    this.timerStart = this.clock.unsafeCurrentTimeMillis()
    const batch = backlog.next()
    accounting.inFlight = batch.count
    const send = batch.count === 0 ? Effect.void : this.delivery.deliver(batch, 0, batch.count)
    return accounting.logInvalid.pipe(
      Effect.zipRight(send),
      Effect.zipRight(Effect.sync(() => {
        accounting.inFlight = 0
        flushes.settle(batch.auditMark, batch.ordinaryMark)
      }))
    )
  })

  /** What the worker does next: exit, wait for the latch, wait at most N ms, or send. */
  private decide(): number {
    const { backlog, settings } = this
    backlog.workerLatch.unsafeClose()
    if (backlog.queued() === 0) {
      // only tombstones may be left: they are settled (dropped) already
      backlog.clear()
      this.flushes.settleTaken()
      this.timerStart = undefined
      return this.closing ? EXIT : WAIT
    }
    if (this.closing || this.flushes.waiting || backlog.queued() >= settings.maxBatchRecords) return SEND
    const now = this.clock.unsafeCurrentTimeMillis()
    if (this.timerStart === undefined) this.timerStart = now
    const remaining = this.timerStart + settings.flushIntervalMillis - now
    return remaining <= 0 ? SEND : remaining
  }

  /** The worker fiber: runs until the close has drained the lanes. */
  readonly worker: Effect.Effect<void> = Effect.gen(this, function*() {
    const latch = this.backlog.workerLatch
    while (true) {
      const next = this.decide()
      if (next === EXIT) return
      if (next === WAIT) yield* latch.await
      else if (next === SEND) yield* this.sendNext
      else yield* Effect.timeoutOption(latch.await, next)
    }
  })

  /**
   * The compactor fiber: woken by an offer that finds a full batch waiting while a request is in
   * flight, it compacts what is still raw, a budget at a time, and assembles that next batch. It works in tasks of the event loop of
   * its own, never in the microtasks after an offer or an answer: a request just started is
   * written to its socket only once those are done, and an answer is read as soon as the task in
   * progress ends.
   */
  readonly compactor: Effect.Effect<never> = Effect.gen(this, function*() {
    const { accounting, backlog } = this
    const latch = backlog.compactLatch
    while (true) {
      yield* latch.await
      latch.unsafeClose()
      yield* nextMacrotask
      while (backlog.compact(compactBudget) > 0) {
        yield* accounting.logInvalid
        yield* nextMacrotask
      }
      yield* accounting.logInvalid
      if (backlog.shouldPrepare()) {
        backlog.prepare()
        yield* accounting.logInvalid
      }
    }
  })

  /**
   * The close: lets the worker drain the lanes within `shutdownTimeoutMillis`, interrupts it after
   * that (by closing `workerScope`, the Scope it was forked into), stops the compactor, and counts
   * and reports what was not delivered.
   */
  shutdown(
    workerFiber: Fiber.Fiber<void>,
    workerScope: Scope.CloseableScope,
    compactorFiber: Fiber.Fiber<never>
  ): Effect.Effect<void> {
    const { accounting, backlog, flushes, settings } = this
    return Effect.gen(this, function*() {
      this.closing = true
      backlog.workerLatch.unsafeOpen()
      const done = yield* Fiber.await(workerFiber).pipe(
        Effect.interruptible,
        Effect.timeoutOption(settings.shutdownTimeoutMillis)
      )
      if (Option.isNone(done)) {
        // abort the request in flight (closing its Scope interrupts the worker); a client that
        // ignores interruption gets one more second, then the worker is left behind: its Scope is
        // closed already, so the layer's does not wait for it
        yield* Scope.close(workerScope, Exit.void).pipe(Effect.interruptible, Effect.timeoutOption(1000))
      }
      backlog.closed = true
      yield* Fiber.interrupt(compactorFiber)
      yield* accounting.logInvalid
      // cut in a request, or waiting to retry one that may have been stored
      const unconfirmed = Math.max(accounting.inRequest, accounting.maybeStored)
      const unsent = accounting.inFlight - unconfirmed + (backlog.takePrepared()?.count ?? 0) + backlog.clear()
      accounting.inFlight = 0
      accounting.inRequest = 0
      accounting.maybeStored = 0
      accounting.drop("unconfirmed", unconfirmed)
      accounting.drop("shutdown", unsent)
      flushes.settleTaken()
      yield* accounting.unreportedLogs()
      if (unsent + unconfirmed > 0) {
        yield* Effect.logError(
          `houndsight: the exporter closed with ${unsent + unconfirmed} record(s) not delivered to ` +
            `${settings.endpoint} within ${formatMillis(settings.shutdownTimeoutMillis)}: ${unsent} never sent ` +
            `(shutdown), ${unconfirmed} sent without an answer, which the server may have stored (unconfirmed). ` +
            `${accounting.exported} record(s) were delivered, ${accounting.dropped} lost in all.`
        )
      } else {
        yield* Effect.logDebug(
          `houndsight: the exporter closed; ${accounting.exported} record(s) delivered, ${accounting.dropped} lost`
        )
      }
    })
  }
}
