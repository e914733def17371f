import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, ids, rejectWire, t0, t1, toWire } from "./helpers.js"

const batch: Wire.IngestBatch = {
  trails: [{
    id: ids.trail,
    agent: "a",
    trigger: "cron",
    payload: {},
    status: "ok",
    startedAt: new Date(t0),
    endedAt: new Date(t1),
    events: []
  }],
  steps: [{
    id: ids.step,
    trailId: ids.trail,
    parentId: null,
    seq: 1,
    name: "plan",
    layer: "plan",
    status: "ok",
    startedAt: new Date(t0),
    endedAt: new Date(t1),
    events: []
  }]
}

describe("IngestBatch", () => {
  it("sends {trails, steps} with every record in wire form", () => {
    const wire = toWire(Wire.IngestBatch, batch)
    expect(Object.keys(wire)).toEqual(["trails", "steps"])
    expect(wire.trails[0]).toMatchObject({ started_at: t0, ended_at: t1 })
    expect(wire.steps[0]).toMatchObject({ trail_id: ids.trail, parent_id: null, started_at: t0, ended_at: t1 })
    expect(fromWire(Wire.IngestBatch, wire)).toEqual(batch)
  })

  it("names the record and field of a bad record", () => {
    const wire = toWire(Wire.IngestBatch, batch)
    const failure = rejectWire(Wire.IngestBatch, { ...wire, steps: [{ ...wire.steps[0], layer: "dream" }] })
    expect(failure.paths).toEqual(["steps.0.layer"])
    expect(rejectWire(Wire.IngestBatch, { trails: [] }).paths).toEqual(["steps"])
  })

  it("has a 5 MiB limit", () => {
    expect(Wire.maxIngestBytes).toBe(5 * 1024 * 1024)
  })
})

describe("IngestAccepted", () => {
  it("is {accepted, duplicates}", () => {
    expect(toWire(Wire.IngestAccepted, { accepted: 3, duplicates: 1 })).toEqual({ accepted: 3, duplicates: 1 })
    expect(rejectWire(Wire.IngestAccepted, { accepted: -1, duplicates: 0 }).paths).toEqual(["accepted"])
  })
})
