/**
 * The exporter's backlog: the two lanes, the next batch made ready while a request is in flight,
 * and whether records are still taken. One owner for what is queued.
 *
 * The offer (`offerTrail`, `offerStep`) is synchronous and is all that runs on the agent's fiber:
 * the record goes as it is into its lane (`lane.ts`: the audit lane for trail records and review
 * steps, the ordinary lane for every other step); every `compactAt`-th record compacts the
 * lane's raw records there and then (a few dozen encodings, so no record waits long enough as an
 * object graph for the garbage collector to copy it, and no fiber is woken for it); and, when a
 * fiber should look, it opens its latch.
 * A prepared batch's records stay counted against their lanes' bounds until it is taken to be
 * sent, so the bounds count every record that is not in the request.
 *
 * @internal
 */
import type * as Effect from "effect/Effect"
import type { StepRecord } from "../../schema/StepRecord.js"
import type { TrailRecord } from "../../schema/TrailRecord.js"
import { type Kind, STEP, StepParts, TRAIL } from "../encode.js"
import { Lane } from "../lane.js"
import type { Accounting } from "./accounting.js"
import { assemble, type Batch } from "./batch.js"
import type { ExporterSettings, Offers } from "./model.js"

/**
 * Raw records in a lane that the offer compacts in one go (the batch's assembly compacts what is
 * left).
 */
const compactAt = 32

/** The lanes, the prepared batch and the offers. */
export class Backlog implements Offers {
  readonly audit: Lane
  readonly ordinary: Lane
  private readonly parts = new StepParts()
  /** The next full batch, assembled by the compactor while a request is in flight. */
  private prepared: Batch | undefined = undefined
  /** Set once by the shutdown: records offered from then on are dropped (`shutdown`). */
  closed = false

  constructor(
    private readonly settings: Pick<ExporterSettings, "maxQueue" | "maxAuditQueue" | "maxBatchRecords" | "maxBatchBytes">,
    private readonly accounting: Accounting,
    /** Wakes the worker: a first record, a full batch, a flush, the close. */
    readonly workerLatch: Effect.Latch,
    /** Wakes the compactor: a full batch to prepare while a request is in flight. */
    readonly compactLatch: Effect.Latch
  ) {
    this.audit = new Lane(settings.maxAuditQueue)
    this.ordinary = new Lane(settings.maxQueue)
  }

  private offer(lane: Lane, record: unknown, kind: Kind): void {
    const accounting = this.accounting
    accounting.offered++
    if (this.closed) {
      accounting.drop("shutdown", 1)
      return
    }
    if (!lane.push(record, kind)) {
      accounting.drop(lane === this.audit ? "audit_lost" : "queue_full", 1)
      accounting.scheduleReport()
      return
    }
    if (lane.raw >= compactAt) {
      lane.compact(compactAt, this.parts, accounting.onInvalid)
      // a full batch is waiting while a request is in flight: the compactor prepares it
      if (this.shouldPrepare()) this.compactLatch.unsafeOpen()
    }
    const total = this.audit.size + this.ordinary.size
    if (total === 1 || total >= this.settings.maxBatchRecords) this.workerLatch.unsafeOpen()
  }

  readonly offerTrail = (record: TrailRecord): void => this.offer(this.audit, record, TRAIL)

  readonly offerStep = (record: StepRecord): void => {
    const isReview = typeof record === "object" && record !== null && record.layer === "review"
    this.offer(isReview ? this.audit : this.ordinary, record, STEP)
  }

  /** Records waiting or prepared, tombstones excluded. */
  queued(): number {
    return this.audit.live + this.ordinary.live + (this.prepared === undefined ? 0 : this.prepared.count)
  }

  /** Compacts up to `budget` raw records of each lane, audit first; returns how many remain. */
  compact(budget: number): number {
    const { accounting, parts } = this
    return this.audit.compact(budget, parts, accounting.onInvalid) +
      this.ordinary.compact(budget, parts, accounting.onInvalid)
  }

  /** Takes the next batch out of the lanes: the prepared one, else one assembled now. */
  next(): Batch {
    return this.takePrepared() ?? this.assemble()
  }

  private assemble(): Batch {
    this.compact(Number.MAX_SAFE_INTEGER)
    const { maxBatchBytes, maxBatchRecords } = this.settings
    return assemble(this.audit, this.ordinary, this.parts, maxBatchRecords, maxBatchBytes)
  }

  /** Takes the prepared batch out of the lanes' bounds: it is in flight from now on. */
  takePrepared(): Batch | undefined {
    const batch = this.prepared
    if (batch !== undefined) {
      this.prepared = undefined
      this.audit.reserved -= batch.fromAudit
      this.ordinary.reserved -= batch.fromOrdinary
    }
    return batch
  }

  /** Whether the compactor should assemble the next batch now: a request is open and a full batch waits. */
  shouldPrepare(): boolean {
    return this.prepared === undefined && this.accounting.inRequest > 0 && !this.closed &&
      this.audit.live + this.ordinary.live >= this.settings.maxBatchRecords
  }

  /** Assembles the next batch, kept within the lanes' bounds, when `shouldPrepare`. */
  prepare(): void {
    if (!this.shouldPrepare()) return
    const batch = this.assemble()
    this.audit.reserved += batch.fromAudit
    this.ordinary.reserved += batch.fromOrdinary
    this.prepared = batch
  }

  /** Empties both lanes; returns how many live records they held. */
  clear(): number {
    return this.audit.clear() + this.ordinary.clear()
  }
}
