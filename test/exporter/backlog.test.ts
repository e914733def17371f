/**
 * The exporter's backlog: the offer compacts a lane's records a few dozen at a time, whether
 * they are delivered as they come or the queue backs up (the collector down), and every record
 * comes out once, in order, as `encodeRecord` renders it, audit lane first; a record that does
 * not encode is dropped and counted once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { encodeRecord, STEP, TRAIL } from "../../src/internal/encode.js"
import { Accounting } from "../../src/internal/exporter/accounting.js"
import { Backlog } from "../../src/internal/exporter/backlog.js"
import type { StepRecord } from "../../src/schema/StepRecord.js"
import type { TrailRecord } from "../../src/schema/TrailRecord.js"

const maxBatchRecords = 100

const makeBacklog = () => {
  const settings = {
    endpoint: "http://127.0.0.1:1",
    maxQueue: 5_000,
    maxAuditQueue: 1_000,
    maxBatchRecords,
    maxBatchBytes: 64 * 1024 * 1024
  }
  // reports of drops are not looked at here: the counts are
  const accounting = new Accounting(settings, () => undefined)
  return {
    accounting,
    backlog: new Backlog(settings, accounting, Effect.unsafeMakeLatch(false), Effect.unsafeMakeLatch(false))
  }
}

const trailId = "0190f5a2-7c00-7000-8000-000000000001"

const step = (seq: number): StepRecord => ({
  id: `0190f5a2-7c00-7000-8000-${seq.toString(16).padStart(12, "0")}`,
  trailId,
  parentId: null,
  seq,
  name: "salesforce_query",
  layer: "execute",
  status: "ok",
  startedAt: new Date(1_750_000_000_000 + seq),
  endedAt: new Date(1_750_000_000_004 + seq),
  input: { quarter: "Q2", i: seq },
  output: { deal_count: 17 },
  events: []
})

const trail = (n: number): TrailRecord => ({
  id: `0190f5a2-7c00-7000-9000-${n.toString(16).padStart(12, "0")}`,
  agent: "billing-bot",
  trigger: "user_message",
  payload: null,
  status: "running",
  startedAt: new Date(1_750_000_000_000 + n),
  events: [],
  tags: { team: "sales" }
})

/** The records of a batch body, trails then steps, as the JSON texts the body holds. */
const recordsOf = (body: Uint8Array): Array<string> => {
  const parsed = JSON.parse(new TextDecoder().decode(body)) as { trails: Array<unknown>; steps: Array<unknown> }
  return [...parsed.trails, ...parsed.steps].map((r) => JSON.stringify(r))
}

describe("the exporter's backlog", () => {
  it("backed up, keeps every record compacted but the last few dozen; all come out in order, once", () => {
    const { accounting, backlog } = makeBacklog()
    const offered: Array<string> = []
    for (let seq = 1; seq <= 3_000; seq++) {
      // every 97th record does not encode: a tombstone, dropped and counted once
      const record = seq % 97 === 0 ? { ...step(seq), layer: "nonsense" } as unknown as StepRecord : step(seq)
      backlog.offerStep(record)
      const json = encodeRecord(record, STEP)
      if (typeof json === "string") offered.push(json)
      expect(backlog.ordinary.raw).toBeLessThan(32)
    }
    const lane = backlog.ordinary
    const out: Array<string> = []
    while (backlog.queued() > 0) {
      const batch = backlog.next()
      expect(batch.count).toBeGreaterThan(0)
      expect(batch.count).toBeLessThanOrEqual(maxBatchRecords)
      out.push(...recordsOf(batch.body))
    }
    expect(out).toEqual(offered)
    expect(lane.size).toBe(0)
    expect(accounting.droppedByReason.invalid).toBe(3_000 - offered.length)
  })

  it("delivered as they come, every record is compacted within a few dozen of its offer", () => {
    const { backlog } = makeBacklog()
    const lane = backlog.ordinary
    for (let seq = 1; seq <= 2_000; seq++) {
      backlog.offerStep(step(seq))
      expect(lane.raw).toBeLessThan(32)
      if (lane.live >= maxBatchRecords) backlog.next()
    }
  })

  it("compacts the audit lane on its own, and takes it first", () => {
    const { backlog } = makeBacklog()
    for (let n = 1; n <= 600; n++) {
      backlog.offerTrail(trail(n))
      backlog.offerStep(step(n))
    }
    expect(backlog.audit.raw).toBeLessThan(32)
    expect(backlog.ordinary.raw).toBeLessThan(32)
    const first = backlog.next()
    const texts = recordsOf(first.body)
    expect(texts).toEqual(Array.from({ length: maxBatchRecords }, (_, i) => encodeRecord(trail(i + 1), TRAIL)))
  })
})
