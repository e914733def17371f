import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, ids, rejectWire, t1, toWire } from "./helpers.js"

const traceLink = `http://127.0.0.1:7411/leashes/${ids.leash}`

describe("LeashState", () => {
  it("sends a pending leash as {leash_id, status, trace_link}", () => {
    const pending: Wire.LeashState = { leashId: ids.leash, status: "pending", traceLink }
    const wire = toWire(Wire.LeashState, pending)
    expect(wire).toEqual({ leash_id: ids.leash, status: "pending", trace_link: traceLink })
    expect(fromWire(Wire.LeashState, wire)).toEqual(pending)
  })

  it("sends a decided leash with its decision in snake_case", () => {
    const decided: Wire.LeashState = {
      leashId: ids.leash,
      status: "decided",
      decision: {
        decision: "modified",
        reason: "capped at $1,000",
        modifiedPayload: { cents: 100000 },
        decidedBy: "rv-alice",
        decidedAt: new Date(t1),
        traceLink
      }
    }
    const wire = toWire(Wire.LeashState, decided)
    expect(wire).toEqual({
      leash_id: ids.leash,
      status: "decided",
      decision: {
        decision: "modified",
        reason: "capped at $1,000",
        modified_payload: { cents: 100000 },
        decided_by: "rv-alice",
        decided_at: t1,
        trace_link: traceLink
      }
    })
    expect(fromWire(Wire.LeashState, wire)).toEqual(decided)
  })

  it("decodes a floor rule's block, which has no reviewer", () => {
    const wire = {
      leash_id: ids.leash,
      status: "decided",
      decision: { decision: "blocked", reason: "charges over $10,000 need finance", decided_at: t1, trace_link: traceLink }
    }
    const state = fromWire(Wire.LeashState, wire)
    expect(state.status === "decided" && state.decision.decision).toBe("blocked")
    expect(toWire(Wire.LeashState, state)).toEqual(wire)
  })

  it("refuses a modified decision without its payload, and decisions only the SDK makes", () => {
    const decided = (decision: object) => ({ leash_id: ids.leash, status: "decided", decision })
    const base = { reason: "", decided_at: t1, trace_link: traceLink }
    expect(rejectWire(Wire.LeashState, decided({ ...base, decision: "modified" })).tree).toContain(
      "a modified decision needs modified_payload"
    )
    expect(rejectWire(Wire.LeashState, decided({ ...base, decision: "async" })).tree).toContain(
      "expected one of approved, modified, rejected, blocked, timeout, got \"async\""
    )
    expect(rejectWire(Wire.LeashState, decided({ ...base, decision: "approved", decided_at: "now" })).paths).toContain(
      "decision.decided_at"
    )
  })

  it("refuses an unknown status", () => {
    expect(rejectWire(Wire.LeashState, { leash_id: ids.leash, status: "waiting", trace_link: traceLink }).paths)
      .toContain("status")
  })
})

describe("LeashState with two-person approval (additive)", () => {
  const ada = { id: "key_ada", name: "Ada" }
  const bob = { id: "key_bob", name: "Bob" }

  it("a pending leash carries approvals_required, the approvals so far and the modified payload under review", () => {
    const wire = {
      leash_id: ids.leash,
      status: "pending",
      trace_link: traceLink,
      approvals_required: 2,
      approvals: [{ reviewer: bob, decision: "modified", at: t1 }],
      modified_payload: { cents: 1 }
    }
    const state = fromWire(Wire.LeashState, wire)
    expect(state).toEqual({
      leashId: ids.leash,
      status: "pending",
      traceLink,
      approvalsRequired: 2,
      approvals: [{ reviewer: bob, decision: "modified", at: new Date(t1) }],
      modifiedPayload: { cents: 1 }
    })
    expect(toWire(Wire.LeashState, state)).toEqual(wire)
    expect(rejectWire(Wire.LeashState, { ...wire, approvals: [{ reviewer: ada, decision: "rejected", at: t1 }] }).tree)
      .toContain("approvals")
  })

  it("a decided leash names every approver", () => {
    const wire = {
      leash_id: ids.leash,
      status: "decided",
      decision: {
        decision: "approved",
        reason: "",
        decided_by: "Bob",
        reviewer: bob,
        approvers: [ada, bob],
        decided_at: t1,
        trace_link: traceLink
      }
    }
    const state = fromWire(Wire.LeashState, wire)
    expect(state.status === "decided" && state.decision.approvers).toEqual([ada, bob])
    expect(toWire(Wire.LeashState, state)).toEqual(wire)
  })
})
