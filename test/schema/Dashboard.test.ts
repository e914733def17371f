import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, ids, rejectWire, t0, t1, toWire } from "./helpers.js"

const trail: Wire.TrailRecord = {
  id: ids.trail,
  agent: "billing-bot",
  trigger: "cron",
  payload: {},
  status: "ok",
  startedAt: new Date(t0),
  endedAt: new Date(t1),
  events: []
}

describe("TrailList", () => {
  it("sends trail summaries with their counts in snake_case", () => {
    const list: Wire.TrailList = {
      trails: [{
        id: ids.trail,
        agent: "billing-bot",
        trigger: "cron",
        status: "ok",
        startedAt: new Date(t0),
        endedAt: new Date(t1),
        costUsd: 0.5,
        tokens: { input: 1, output: 2 },
        stepCount: 4,
        flagCount: 1
      }]
    }
    const wire = toWire(Wire.TrailList, list)
    expect(wire.trails[0]).toEqual({
      id: ids.trail,
      agent: "billing-bot",
      trigger: "cron",
      status: "ok",
      started_at: t0,
      ended_at: t1,
      cost_usd: 0.5,
      tokens: { input: 1, output: 2 },
      step_count: 4,
      flag_count: 1
    })
    expect(fromWire(Wire.TrailList, wire)).toEqual(list)
  })
})

describe("TrailDetail", () => {
  it("carries the trail, its steps and its flags", () => {
    const detail: Wire.TrailDetail = {
      trail,
      steps: [{
        id: ids.step,
        trailId: ids.trail,
        parentId: null,
        seq: 1,
        name: "email.send",
        layer: "execute",
        status: "ok",
        startedAt: new Date(t0),
        endedAt: new Date(t1),
        events: []
      }],
      flags: [{ kind: "unleashed_action", trailId: ids.trail, stepId: ids.step, seq: 1, actionName: "email.send" }]
    }
    const wire = toWire(Wire.TrailDetail, detail)
    expect(wire.trail.started_at).toBe(t0)
    expect(wire.steps[0].trail_id).toBe(ids.trail)
    expect(wire.flags[0]).toEqual({
      kind: "unleashed_action",
      trail_id: ids.trail,
      step_id: ids.step,
      seq: 1,
      action_name: "email.send"
    })
    expect(fromWire(Wire.TrailDetail, wire)).toEqual(detail)
  })

  it("has trail null while only the steps have arrived", () => {
    expect(fromWire(Wire.TrailDetail, { trail: null, steps: [], flags: [] }).trail).toBeNull()
    expect(rejectWire(Wire.TrailDetail, { steps: [], flags: [] }).paths).toEqual(["trail"])
  })
})

describe("PendingLeashList", () => {
  it("lists pending leashes with the request the reviewer judges", () => {
    const list: Wire.PendingLeashList = {
      leashes: [{
        leashId: ids.leash,
        status: "pending",
        traceLink: `http://127.0.0.1:7411/leashes/${ids.leash}`,
        createdAt: new Date(t0),
        expiresAt: new Date(t1),
        request: {
          leashId: ids.leash,
          trailId: ids.trail,
          stepId: ids.review,
          agent: "billing-bot",
          actionName: "stripe.charge",
          actionSummary: "charge",
          riskSignals: { amount_usd: 10 },
          timeoutSeconds: 1.25,
          blocking: false
        },
        payloadPreview: { text: "{\"cents\":1000}", bytes: 14, cut: false }
      }],
      nextCursor: "abc"
    }
    const wire = toWire(Wire.PendingLeashList, list)
    expect(Object.keys(wire.leashes[0]).sort()).toEqual(
      ["created_at", "expires_at", "leash_id", "payload_preview", "request", "status", "trace_link"]
    )
    expect(wire.next_cursor).toBe("abc")
    expect(wire.leashes[0].request).toMatchObject({ leash_id: ids.leash, risk_signals: { amount_usd: 10 } })
    expect(wire.leashes[0].request).not.toHaveProperty("payload")
    expect(fromWire(Wire.PendingLeashList, wire)).toEqual(list)
  })
})

describe("FlagList and Health", () => {
  it("are {flags} and {status: ok}", () => {
    expect(toWire(Wire.FlagList, { flags: [] })).toEqual({ flags: [] })
    expect(toWire(Wire.Health, { status: "ok" as const })).toEqual({ status: "ok" })
  })
})

describe("ListLimit", () => {
  it("reads a whole number of at least 1 from the query string, and clamps one above 100 to 100 (v1.1)", () => {
    expect(fromWire(Wire.ListLimit, "1")).toBe(1)
    expect(fromWire(Wire.ListLimit, "100")).toBe(100)
    expect(fromWire(Wire.ListLimit, "101")).toBe(100)
    expect(fromWire(Wire.ListLimit, "100000")).toBe(100)
    expect(rejectWire(Wire.ListLimit, "0").tree).toContain("expected a limit of at least 1")
    expect(rejectWire(Wire.ListLimit, "2.5").tree).toContain("expected a whole number")
  })
})

describe("cursors", () => {
  it("read back the position they were written from, and refuse anything else", () => {
    const cursor = Wire.encodeCursor(Wire.TrailCursor, ["2026-11-24T09:00:00.000Z", ids.trail])
    expect(fromWire(Wire.TrailCursor, cursor)).toEqual(["2026-11-24T09:00:00.000Z", ids.trail])
    expect(rejectWire(Wire.TrailCursor, "not a cursor").tree).toContain("expected the next_cursor of the previous page")
    expect(rejectWire(Wire.StepCursor, cursor).tree).toContain("expected the next_cursor of the previous page")
  })
})
