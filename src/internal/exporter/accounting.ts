/**
 * The exporter's accounting: one owner for its counters and its metrics, and the reports of what
 * it lost (DESIGN.md section 4).
 *
 * Every offered record is, at any instant, in exactly one of exported, dropped (by reason),
 * queued (in a lane, compacted or not) or in flight. The fibers and the offer path change the
 * counters only through this object, and the counters it does not own (queued, closed) are
 * handed to `snapshot`.
 *
 * Losses are reported in log lines without ever logging on the agent's fiber: a record that does
 * not encode is logged by the exporter fiber that finds it or, found by the offer, by the worker
 * as it takes the next batch (`logInvalid`), and drops at offer time (a full
 * lane) by a fiber of their own, at most once a second (`scheduleReport`).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import { type Kind } from "../encode.js"
import {
  auditLostRecords,
  type DropReason,
  dropReasons,
  droppedRecords,
  type ExporterSettings,
  type ExporterStats,
  exportedRecords,
  retriedRecords
} from "./model.js"
import { kindName } from "./text.js"

const labelCache = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
const reasonLabels = (reason: DropReason, status?: number): ReadonlyArray<MetricLabel.MetricLabel> => {
  const key = status === undefined ? reason : `${reason}/${status}`
  let labels = labelCache.get(key)
  if (labels === undefined) {
    labels = status === undefined
      ? [MetricLabel.make("reason", reason)]
      : [MetricLabel.make("reason", reason), MetricLabel.make("status", String(status))]
    labelCache.set(key, labels)
  }
  return labels
}
const noLabels: ReadonlyArray<MetricLabel.MetricLabel> = []

/** Runs an effect on a fiber of the exporter's Scope (a `FiberSet` runtime). */
export type RunFiber = (effect: Effect.Effect<void>) => unknown

/** The exporter's counters and loss reports. */
export class Accounting {
  offered = 0
  exported = 0
  retried = 0
  dropped = 0
  readonly droppedByReason = Object.fromEntries(dropReasons.map((r) => [r, 0])) as Record<DropReason, number>
  readonly rejectedByStatus: Record<string, number> = {}
  /** Records of the batch being delivered (from assembly until settled). */
  inFlight = 0
  /** Records in the request open now (unconfirmed if the close cuts it). */
  inRequest = 0
  /**
   * Records of the batch being delivered that an earlier attempt may have stored (it got no
   * answer), while they wait for their retry: unconfirmed, not unsent, if the close cuts the wait.
   */
  maybeStored = 0

  /** Lines about records that did not encode, waiting for a fiber to log them. */
  private invalidLines: Array<string> = []
  /** Whether the report fiber runs. */
  private reporting = false
  private reportedAuditLost = 0
  private reportedQueueFull = 0

  constructor(
    private readonly settings: Pick<ExporterSettings, "endpoint" | "maxQueue" | "maxAuditQueue">,
    private readonly runReport: RunFiber
  ) {}

  /** Counts `n` records lost for `reason` (and, for `rejected`, the status that refused them). */
  drop(reason: DropReason, n: number, status?: number): void {
    if (n <= 0) return
    this.droppedByReason[reason] += n
    this.dropped += n
    droppedRecords.unsafeUpdate(n, reasonLabels(reason, status))
    if (status !== undefined) {
      this.rejectedByStatus[String(status)] = (this.rejectedByStatus[String(status)] ?? 0) + n
    }
    if (reason === "audit_lost") auditLostRecords.unsafeUpdate(n, noLabels)
  }

  /** Counts `n` records of the batch in flight as acknowledged. */
  delivered(n: number): void {
    this.exported += n
    this.inFlight -= n
    exportedRecords.unsafeUpdate(n, noLabels)
  }

  /** Counts `n` records of the batch in flight as settled by a drop. */
  settledByDrop(reason: DropReason, n: number, status?: number): void {
    this.inFlight -= n
    this.drop(reason, n, status)
  }

  /** Counts `n` records as sent again. */
  resent(n: number): void {
    this.retried += n
    retriedRecords.unsafeUpdate(n, noLabels)
  }

  /** A record that does not encode: dropped now, logged later by an exporter fiber (`logInvalid`). */
  readonly onInvalid = (kind: Kind, message: string): void => {
    this.drop("invalid", 1)
    this.invalidLines.push(
      `houndsight: dropped a ${kindName(kind)} record that does not match the wire schema ` +
        `(if you pass a redact hook, it must return the record it was given, edited): ${message}`
    )
  }

  /** Logs the records found not to encode since the last call. */
  readonly logInvalid: Effect.Effect<void> = Effect.suspend(() => {
    if (this.invalidLines.length === 0) return Effect.void
    const lines = this.invalidLines
    this.invalidLines = []
    return Effect.forEach(lines, (line) => Effect.logError(line), { discard: true })
  })

  /** Logs the drops at offer time not reported yet. */
  unreportedLogs(): Effect.Effect<void> {
    const { droppedByReason, settings } = this
    const lost = droppedByReason.audit_lost - this.reportedAuditLost
    const full = droppedByReason.queue_full - this.reportedQueueFull
    this.reportedAuditLost = droppedByReason.audit_lost
    this.reportedQueueFull = droppedByReason.queue_full
    const logs: Array<Effect.Effect<void>> = []
    if (lost > 0) {
      logs.push(Effect.logError(
        `houndsight: the audit lane is full (${settings.maxAuditQueue} records): ${lost} audit record(s) ` +
          `(trails and review steps) were lost (audit_lost). The collector at ${settings.endpoint} is not ` +
          `keeping up or cannot be reached.`
      ))
    }
    if (full > 0) {
      logs.push(Effect.logWarning(
        `houndsight: the queue is full (${settings.maxQueue} records): ${full} step record(s) were dropped ` +
          `(queue_full). The collector at ${settings.endpoint} is not keeping up or cannot be reached.`
      ))
    }
    return Effect.all(logs, { discard: true })
  }

  // yields first, so a burst of drops in one tick is reported as one line
  private readonly reportLoop: Effect.Effect<void> = Effect.yieldNow().pipe(
    Effect.zipRight(Effect.suspend(() => this.unreportedLogs())),
    Effect.zipRight(Effect.sleep(1000)),
    Effect.zipRight(Effect.suspend(() => {
      if (
        this.droppedByReason.audit_lost > this.reportedAuditLost ||
        this.droppedByReason.queue_full > this.reportedQueueFull
      ) return this.reportLoop
      this.reporting = false
      return Effect.void
    }))
  )

  /** Starts the report fiber unless it runs: called on a drop at offer time (the offer cannot log). */
  scheduleReport(): void {
    if (this.reporting) return
    this.reporting = true
    this.runReport(this.reportLoop)
  }

  /** The counters, with the two this object does not own. */
  snapshot(queued: number, closed: boolean): ExporterStats {
    return {
      offered: this.offered,
      exported: this.exported,
      retried: this.retried,
      dropped: this.dropped,
      droppedByReason: { ...this.droppedByReason },
      rejectedByStatus: { ...this.rejectedByStatus },
      auditLost: this.droppedByReason.audit_lost,
      queued,
      inFlight: this.inFlight,
      closed
    }
  }
}
