import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, rejectWire, toWire } from "./helpers.js"

describe("ReviewerDecision", () => {
  it("sends approve and reject without a payload", () => {
    expect(toWire(Wire.ReviewerDecision, { decision: "approved", reason: "fine" })).toEqual({
      decision: "approved",
      reason: "fine"
    })
    expect(fromWire(Wire.ReviewerDecision, { decision: "rejected", reason: "too much" })).toEqual({
      decision: "rejected",
      reason: "too much"
    })
  })

  it("sends a modification with modified_payload", () => {
    const decision: Wire.ReviewerDecision = { decision: "modified", reason: "capped", modifiedPayload: { cents: 1 } }
    const wire = toWire(Wire.ReviewerDecision, decision)
    expect(wire).toEqual({ decision: "modified", reason: "capped", modified_payload: { cents: 1 } })
    expect(fromWire(Wire.ReviewerDecision, wire)).toEqual(decision)
  })

  it("refuses a modification without a payload, and a payload without a modification", () => {
    const missing = rejectWire(Wire.ReviewerDecision, { decision: "modified", reason: "" })
    expect(missing.paths).toEqual(["modified_payload"])
    expect(missing.tree).toContain("a modified decision needs modified_payload")
    const stray = rejectWire(Wire.ReviewerDecision, { decision: "approved", reason: "", modified_payload: {} })
    expect(stray.paths).toEqual(["modified_payload"])
    expect(stray.tree).toContain("modified_payload is only for a modified decision, not approved")
  })

  it("refuses decisions a reviewer cannot make", () => {
    const failure = rejectWire(Wire.ReviewerDecision, { decision: "blocked", reason: "" })
    expect(failure.paths).toEqual(["decision"])
    expect(failure.tree).toContain("expected one of approved, modified, rejected, got \"blocked\"")
  })

  it("refuses a reason over 4096 characters", () => {
    expect(rejectWire(Wire.ReviewerDecision, { decision: "approved", reason: "x".repeat(4097) }).paths).toEqual([
      "reason"
    ])
  })
})
