import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, ids, rejectWire, t0, t1, toWire } from "./helpers.js"

const running: Wire.TrailRecord = {
  id: ids.trail,
  agent: "forecaster",
  trigger: "user_message",
  payload: { text: "Q2 forecast" },
  status: "running",
  startedAt: new Date(t0),
  events: []
}

const ended: Wire.TrailRecord = {
  ...running,
  status: "ok",
  output: { answer: 42 },
  endedAt: new Date(t1),
  costUsd: 0.0125,
  tokens: { input: 1200, output: 80 },
  events: [{ name: "cache_hit", at: new Date(t0), attributes: { key: "q2" } }],
  tags: { env: "ci" }
}

describe("TrailRecord", () => {
  it("sends an opening trail with snake_case keys and no optional fields", () => {
    const wire = toWire(Wire.TrailRecord, running)
    expect(wire).toEqual({
      id: ids.trail,
      agent: "forecaster",
      trigger: "user_message",
      payload: { text: "Q2 forecast" },
      status: "running",
      started_at: t0,
      events: []
    })
    expect(fromWire(Wire.TrailRecord, wire)).toEqual(running)
  })

  it("sends an ended trail with every field, and decodes it back", () => {
    const wire = toWire(Wire.TrailRecord, ended)
    expect(Object.keys(wire).sort()).toEqual(
      [
        "agent",
        "cost_usd",
        "ended_at",
        "events",
        "id",
        "output",
        "payload",
        "started_at",
        "status",
        "tags",
        "tokens",
        "trigger"
      ]
    )
    expect(wire).toMatchObject({
      started_at: t0,
      ended_at: t1,
      cost_usd: 0.0125,
      tokens: { input: 1200, output: 80 },
      events: [{ name: "cache_hit", at: t0, attributes: { key: "q2" } }]
    })
    expect(fromWire(Wire.TrailRecord, wire)).toEqual(ended)
  })

  it("refuses bad input, naming the field", () => {
    const wire = toWire(Wire.TrailRecord, ended)
    expect(rejectWire(Wire.TrailRecord, { ...wire, status: "done" }).tree).toContain(
      "expected one of running, ok, error, interrupted, got \"done\""
    )
    expect(rejectWire(Wire.TrailRecord, { ...wire, started_at: "2026-11-24 09:00" }).paths).toContain("started_at")
    expect(rejectWire(Wire.TrailRecord, { ...wire, cost_usd: -1 }).paths).toContain("cost_usd")
    expect(rejectWire(Wire.TrailRecord, { ...wire, tokens: { input: -5, output: 0 } }).paths).toContain(
      "tokens.input"
    )
    expect(rejectWire(Wire.TrailRecord, { ...wire, tags: { env: 1 } }).paths).toContain("tags.env")
    const { id: _, ...withoutId } = wire
    const missing = rejectWire(Wire.TrailRecord, withoutId)
    expect(missing.paths).toEqual(["id"])
    expect(missing.tree).toContain("is missing")
  })

  it("reads the wire key, not the TypeScript one", () => {
    const { started_at, ...rest } = toWire(Wire.TrailRecord, running)
    expect(rejectWire(Wire.TrailRecord, { ...rest, startedAt: started_at }).paths).toContain("started_at")
  })
})
