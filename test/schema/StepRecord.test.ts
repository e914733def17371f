import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, ids, rejectWire, t0, t1, toWire } from "./helpers.js"

const sniff: Wire.StepRecord = {
  id: ids.step,
  trailId: ids.trail,
  parentId: ids.parent,
  seq: 2,
  name: "search",
  layer: "retrieve",
  status: "error",
  startedAt: new Date(t0),
  endedAt: new Date(t1),
  input: { query: "q2" },
  costUsd: 0.002,
  tokens: { input: 10, output: 0 },
  events: [{ name: "retry", at: new Date(t0), attributes: { attempt: 1 } }],
  error: { type: "SearchError", message: "index offline" }
}

const review: Wire.StepRecord = {
  id: ids.review,
  trailId: ids.trail,
  parentId: null,
  seq: 3,
  name: "stripe.charge",
  layer: "review",
  status: "ok",
  startedAt: new Date(t0),
  endedAt: new Date(t1),
  input: { action_summary: "charge $12,000", risk_signals: { amount_usd: 12000 }, payload: { cents: 1200000 } },
  output: {
    decision: "modified",
    approved: true,
    reason: "lowered",
    modified_payload: { cents: 100000 },
    leash_id: ids.leash,
    trace_link: `http://127.0.0.1:7411/leashes/${ids.leash}`
  },
  events: [],
  leash: { leashId: ids.leash, actionName: "stripe.charge", decision: "modified", approved: true, reason: "lowered" }
}

describe("StepRecord", () => {
  it("sends a sniff with snake_case keys and decodes it back", () => {
    const wire = toWire(Wire.StepRecord, sniff)
    expect(wire).toEqual({
      id: ids.step,
      trail_id: ids.trail,
      parent_id: ids.parent,
      seq: 2,
      name: "search",
      layer: "retrieve",
      status: "error",
      started_at: t0,
      ended_at: t1,
      input: { query: "q2" },
      cost_usd: 0.002,
      tokens: { input: 10, output: 0 },
      events: [{ name: "retry", at: t0, attributes: { attempt: 1 } }],
      error: { type: "SearchError", message: "index offline" }
    })
    expect(fromWire(Wire.StepRecord, wire)).toEqual(sniff)
  })

  it("sends parent_id null for a top-level step, never omits it", () => {
    const wire = toWire(Wire.StepRecord, review)
    expect(wire.parent_id).toBeNull()
    const { parent_id: _, ...withoutParent } = wire
    expect(rejectWire(Wire.StepRecord, withoutParent).paths).toEqual(["parent_id"])
  })

  it("sends a review step with its leash summary in snake_case", () => {
    const wire = toWire(Wire.StepRecord, review)
    expect(wire.leash).toEqual({
      leash_id: ids.leash,
      action_name: "stripe.charge",
      decision: "modified",
      approved: true,
      reason: "lowered"
    })
    expect(wire.output).toEqual(review.output)
    expect(fromWire(Wire.StepRecord, wire)).toEqual(review)
  })

  it("refuses a leash summary whose approved flag contradicts its decision", () => {
    const wire = toWire(Wire.StepRecord, review)
    const failure = rejectWire(Wire.StepRecord, { ...wire, leash: { ...wire.leash, decision: "rejected" } })
    expect(failure.paths).toContain("leash.approved")
    expect(failure.tree).toContain("a rejected decision has approved: false")
  })

  it("refuses bad input, naming the field", () => {
    const wire = toWire(Wire.StepRecord, sniff)
    const { trail_id: _, ...withoutTrail } = wire
    const missing = rejectWire(Wire.StepRecord, withoutTrail)
    expect(missing.paths).toEqual(["trail_id"])
    expect(missing.tree).toContain("[\"trail_id\"]")
    expect(missing.tree).toContain("is missing")

    const layer = rejectWire(Wire.StepRecord, { ...wire, layer: "thinking" })
    expect(layer.paths).toEqual(["layer"])
    expect(layer.tree).toContain("expected one of plan, retrieve, reason, execute, review, respond, got \"thinking\"")

    expect(rejectWire(Wire.StepRecord, { ...wire, ended_at: "later" }).paths).toContain("ended_at")
    expect(rejectWire(Wire.StepRecord, { ...wire, seq: 0 }).paths).toContain("seq")
    expect(rejectWire(Wire.StepRecord, { ...wire, seq: 1.5 }).paths).toContain("seq")
    expect(rejectWire(Wire.StepRecord, { ...wire, tokens: { input: -1, output: 0 } }).paths).toContain(
      "tokens.input"
    )
    expect(rejectWire(Wire.StepRecord, { ...wire, status: "running" }).tree).toContain(
      "expected one of ok, error, interrupted, got \"running\""
    )
    expect(rejectWire(Wire.StepRecord, { ...wire, trail_id: "t-1" }).tree).toContain("expected a UUID (v4 or v7)")
  })
})

describe("the review step's approvers (two-person approval, additive)", () => {
  const review = (approvers: unknown) => ({
    id: "0190d7a4-5c1e-7000-8000-000000000005",
    trail_id: "0190d7a4-5c1e-7000-8000-000000000001",
    parent_id: null,
    seq: 1,
    name: "stripe.charge",
    layer: "review",
    status: "ok",
    started_at: "2026-11-24T09:00:00.000Z",
    ended_at: "2026-11-24T09:00:01.250Z",
    events: [],
    leash: {
      leash_id: "0190d7a4-5c1e-7000-8000-000000000004",
      action_name: "stripe.charge",
      decision: "approved",
      approved: true,
      reason: "",
      approvers
    }
  })

  it("are kept as sent, and bounded to five", () => {
    const two = [{ id: "key_a", name: "Ada" }, { id: "key_b", name: "Bob" }]
    const step = fromWire(Wire.StepRecord, review(two))
    expect(step.leash?.approvers).toEqual(two)
    expect(toWire(Wire.StepRecord, step)).toEqual(review(two))
    const six = Array.from({ length: 6 }, (_, i) => ({ id: `key_${i}`, name: `R${i}` }))
    expect(rejectWire(Wire.StepRecord, review(six)).tree).toContain("expected at most 5 approvers")
  })
})
