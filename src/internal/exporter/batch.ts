/**
 * The batch builder: takes records out of the lanes into a batch (audit lane first, at most
 * `maxBatchRecords` records and `maxBatchBytes` bytes of body) and writes its request body by
 * copying the records' UTF-8 bytes out of the lanes' arenas, a run of records that lie back to
 * back at a time. The body keeps where each record starts, so any run of records can be cut out
 * again without re-encoding (a 413 split).
 *
 * @internal
 */
import { type Kind, STEP, TRAIL } from "../encode.js"
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
 * Where the records of the batch being assembled are: lane (0 audit, 1 ordinary), arena chunk,
 * offset and UTF-8 length, in batch order. Reused from batch to batch (one batch is assembled at
 * a time, synchronously).
 */
let taken = {
  lanes: new Uint8Array(0),
  kinds: new Uint8Array(0),
  chunks: new Float64Array(0),
  offsets: new Float64Array(0),
  sizes: new Float64Array(0)
}

/** Room for one more record in `taken`: doubles its columns, keeping what they hold. */
const growTaken = (): void => {
  const n = Math.max(64, taken.sizes.length * 2)
  const lanes = new Uint8Array(n)
  const kinds = new Uint8Array(n)
  const chunks = new Float64Array(n)
  const offsets = new Float64Array(n)
  const sizes = new Float64Array(n)
  lanes.set(taken.lanes)
  kinds.set(taken.kinds)
  chunks.set(taken.chunks)
  offsets.set(taken.offsets)
  sizes.set(taken.sizes)
  taken = { lanes, kinds, chunks, offsets, sizes }
}

/**
 * Lays the `count` records of `taken` out in a body, copying each list's runs of records that lie
 * back to back in one chunk (each followed by its comma in the arena) in one call.
 */
const layOut = (
  count: number,
  lanes: readonly [Lane, Lane]
): Pick<Batch, "count" | "body" | "trailStarts" | "stepStarts" | "trailsBefore"> => {
  const { chunks, kinds, offsets, sizes } = taken
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
  // each list's bytes include a comma after every record; the last comma is not kept
  const trailsEnd = trailsOpen.length + Math.max(0, trailBytes - 1)
  const stepsBegin = trailsEnd + stepsOpen.length
  const stepsEnd = stepsBegin + Math.max(0, stepBytes - 1)
  // the last record of each list has its comma copied too: what follows the list is written over it
  const body = new Uint8Array(stepsEnd + bodyClose.length)
  let t = 0
  let s = 0
  let trailAt = trailsOpen.length
  let stepAt = stepsBegin
  // the run being gathered: from `runFrom` in chunk `runChunk` of lane `runLane`, to `runTo`, into `runAt`
  let runLane = -1
  let runKind = -1
  let runChunk = -1
  let runFrom = 0
  let runTo = 0
  let runAt = 0
  const flush = (): void => {
    if (runLane >= 0) body.set(lanes[runLane]!.arena.chunk(runChunk).subarray(runFrom, runTo), runAt)
  }
  for (let i = 0; i < count; i++) {
    const size = sizes[i]! + 1
    const kind = kinds[i]!
    const chunk = chunks[i]!
    const offset = offsets[i]!
    const lane = taken.lanes[i]!
    if (lane !== runLane || kind !== runKind || chunk !== runChunk || offset !== runTo) {
      flush()
      runLane = lane
      runKind = kind
      runChunk = chunk
      runFrom = offset
      runAt = kind === TRAIL ? trailAt : stepAt
    }
    runTo = offset + size
    if (kind === TRAIL) {
      trailStarts[t++] = trailAt
      trailAt += size
    } else {
      stepStarts[s++] = stepAt
      stepAt += size
    }
  }
  flush()
  trailStarts[t] = trailAt
  stepStarts[s] = stepAt
  body.set(trailsOpen, 0)
  body.set(stepsOpen, trailsEnd)
  body.set(bodyClose, stepsEnd)
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
export const assemble = (audit: Lane, ordinary: Lane, maxRecords: number, maxBytes: number): Batch => {
  let count = 0
  let fromAudit = 0
  let bytes = bodyOverhead
  while (count < maxRecords) {
    const lane = audit.ready() ? audit : ordinary.ready() ? ordinary : undefined
    if (lane === undefined) break
    const size = lane.headBytes()
    // a record alone larger than the byte bound is still sent, alone: the server decides (413)
    if (count > 0 && bytes + size + 1 > maxBytes) break
    if (count === taken.sizes.length) growTaken()
    taken.lanes[count] = lane === audit ? 0 : 1
    taken.kinds[count] = lane.headKind()
    taken.chunks[count] = lane.headChunk()
    taken.offsets[count] = lane.headOffset()
    taken.sizes[count] = size
    if (lane === audit) fromAudit++
    lane.shift()
    bytes += size + 1
    count++
  }
  const batch: Batch = {
    ...layOut(count, [audit, ordinary]),
    fromAudit,
    fromOrdinary: count - fromAudit,
    auditMark: audit.taken,
    ordinaryMark: ordinary.taken
  }
  // the bytes are in the body now: the arenas may let them go
  audit.release()
  ordinary.release()
  return batch
}
