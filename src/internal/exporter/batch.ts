/**
 * The batch builder: takes records out of the lanes into a batch (audit lane first, at most
 * `maxBatchRecords` records and `maxBatchBytes` bytes of body) and writes its request body by
 * concatenating the records' JSON, once, as UTF-8. The body keeps where each record starts, so any
 * run of records can be cut out again without re-encoding (a 413 split).
 *
 * @internal
 */
import { type Kind, STEP, type StepParts, TRAIL } from "../encode.js"
import type { Lane } from "../lane.js"

/** `{"trails":[],"steps":[]}` */
export const bodyOverhead = 24

const encoder = new TextEncoder()
const trailsOpen = encoder.encode("{\"trails\":[")
const stepsOpen = encoder.encode("],\"steps\":[")
const bodyClose = encoder.encode("]}")

/**
 * A batch: its request body as UTF-8 bytes, where each record starts in it (so any run of records
 * can be cut out again, for a 413 split), and how many trails come before each record in batch
 * order. A body is `{"trails":[…],"steps":[…]}`: trails first, each list in batch order.
 */
export interface Batch {
  readonly count: number
  readonly body: Uint8Array
  /** Byte offset of each trail; entry `n` is one past the comma after the last. */
  readonly trailStarts: Int32Array
  readonly stepStarts: Int32Array
  readonly trailsBefore: Int32Array
  /** Records taken from each lane. */
  readonly fromAudit: number
  readonly fromOrdinary: number
  /** Per lane, how many records are settled once the batch is. */
  readonly auditMark: number
  readonly ordinaryMark: number
}

/**
 * Lays records out in a body: `jsons[i]` is a record's JSON, `sizes[i]` its UTF-8 length, `kinds`
 * its kind, all in batch order.
 */
const layOut = (
  jsons: ReadonlyArray<string>,
  sizes: ReadonlyArray<number>,
  kinds: ReadonlyArray<Kind>
): Pick<Batch, "count" | "body" | "trailStarts" | "stepStarts" | "trailsBefore"> => {
  const count = jsons.length
  const trailsBefore = new Int32Array(count + 1)
  let trailCount = 0
  let trailBytes = 0
  let stepBytes = 0
  for (let i = 0; i < count; i++) {
    if (kinds[i] === TRAIL) {
      trailCount++
      trailBytes += sizes[i]! + 1
    } else stepBytes += sizes[i]! + 1
    trailsBefore[i + 1] = trailCount
  }
  const trailStarts = new Int32Array(trailCount + 1)
  const stepStarts = new Int32Array(count - trailCount + 1)
  // each list's bytes include a comma after every record; the last comma is not written
  const trailsEnd = trailsOpen.length + Math.max(0, trailBytes - 1)
  const stepsBegin = trailsEnd + stepsOpen.length
  const stepsEnd = stepsBegin + Math.max(0, stepBytes - 1)
  const body = new Uint8Array(stepsEnd + bodyClose.length)
  body.set(trailsOpen, 0)
  body.set(stepsOpen, trailsEnd)
  body.set(bodyClose, stepsEnd)
  let t = 0
  let s = 0
  let trailAt = trailsOpen.length
  let stepAt = stepsBegin
  for (let i = 0; i < count; i++) {
    const size = sizes[i]!
    if (kinds[i] === TRAIL) {
      if (t > 0) body[trailAt - 1] = 44 // ","
      trailStarts[t++] = trailAt
      encoder.encodeInto(jsons[i]!, body.subarray(trailAt, trailAt + size))
      trailAt += size + 1
    } else {
      if (s > 0) body[stepAt - 1] = 44
      stepStarts[s++] = stepAt
      encoder.encodeInto(jsons[i]!, body.subarray(stepAt, stepAt + size))
      stepAt += size + 1
    }
  }
  trailStarts[t] = trailAt
  stepStarts[s] = stepAt
  return { count, body, trailStarts, stepStarts, trailsBefore }
}

/** The request body of records `from` to `to` (exclusive, in batch order) of a batch. */
export const bodyOf = (batch: Batch, from: number, to: number): Uint8Array => {
  if (from === 0 && to === batch.count) return batch.body
  const t0 = batch.trailsBefore[from]!
  const t1 = batch.trailsBefore[to]!
  const s0 = from - t0
  const s1 = to - t1
  const trails = t1 > t0
    ? batch.body.subarray(batch.trailStarts[t0]!, batch.trailStarts[t1]! - 1)
    : new Uint8Array(0)
  const steps = s1 > s0 ? batch.body.subarray(batch.stepStarts[s0]!, batch.stepStarts[s1]! - 1) : new Uint8Array(0)
  const body = new Uint8Array(bodyOverhead + trails.length + steps.length)
  body.set(trailsOpen, 0)
  body.set(trails, trailsOpen.length)
  body.set(stepsOpen, trailsOpen.length + trails.length)
  body.set(steps, trailsOpen.length + trails.length + stepsOpen.length)
  body.set(bodyClose, body.length - bodyClose.length)
  return body
}

/** The kind of record `i` of a batch. */
export const kindAt = (batch: Batch, i: number): Kind =>
  batch.trailsBefore[i + 1]! > batch.trailsBefore[i]! ? TRAIL : STEP

/**
 * Takes records into a batch: the audit lane first, at most `maxRecords` records and `maxBytes`
 * bytes of body. The lanes' records are compacted already (`Backlog.assemble`).
 */
export const assemble = (
  audit: Lane,
  ordinary: Lane,
  parts: StepParts,
  maxRecords: number,
  maxBytes: number
): Batch => {
  const jsons: Array<string> = []
  const sizes: Array<number> = []
  const kinds: Array<Kind> = []
  let fromAudit = 0
  let bytes = bodyOverhead
  while (jsons.length < maxRecords) {
    const lane = audit.ready() ? audit : ordinary.ready() ? ordinary : undefined
    if (lane === undefined) break
    const size = lane.headBytes()
    // a record alone larger than the byte bound is still sent, alone: the server decides (413)
    if (jsons.length > 0 && bytes + size + 1 > maxBytes) break
    jsons.push(lane.headJson(parts))
    sizes.push(size)
    kinds.push(lane.headKind())
    if (lane === audit) fromAudit++
    lane.shift()
    bytes += size + 1
  }
  return {
    ...layOut(jsons, sizes, kinds),
    fromAudit,
    fromOrdinary: jsons.length - fromAudit,
    auditMark: audit.taken,
    ordinaryMark: ordinary.taken
  }
}
