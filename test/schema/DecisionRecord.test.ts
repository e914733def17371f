import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, ids, rejectWire, toWire } from "./helpers.js"

const traceLink = `http://127.0.0.1:7411/leashes/${ids.leash}`

describe("DecisionRecord", () => {
  it("carries every one of the seven outcomes in wire form", () => {
    for (const decision of Wire.DecisionValue.literals) {
      const record: Wire.DecisionRecord = {
        decision,
        approved: Wire.isApproving(decision),
        reason: `${decision} for a reason`,
        leashId: ids.leash,
        traceLink
      }
      const wire = toWire(Wire.DecisionRecord, record)
      expect(wire).toEqual({
        decision,
        approved: decision === "approved" || decision === "modified",
        reason: `${decision} for a reason`,
        leash_id: ids.leash,
        trace_link: traceLink
      })
      expect(fromWire(Wire.DecisionRecord, wire)).toEqual(record)
    }
  })

  it("sends modified_payload for a modified decision", () => {
    const record: Wire.DecisionRecord = {
      decision: "modified",
      approved: true,
      reason: "smaller",
      modifiedPayload: { cents: 100 },
      leashId: ids.leash,
      traceLink
    }
    const wire = toWire(Wire.DecisionRecord, record)
    expect(wire.modified_payload).toEqual({ cents: 100 })
    expect(wire).not.toHaveProperty("modifiedPayload")
    expect(fromWire(Wire.DecisionRecord, wire)).toEqual(record)
  })

  it("refuses an approved flag that contradicts the decision", () => {
    const failure = rejectWire(Wire.DecisionRecord, {
      decision: "timeout",
      approved: true,
      reason: "no decision in 300 s",
      leash_id: ids.leash,
      trace_link: traceLink
    })
    expect(failure.paths).toEqual(["approved"])
    expect(failure.tree).toContain("a timeout decision has approved: false")
  })

  it("refuses an unknown decision value", () => {
    const failure = rejectWire(Wire.DecisionRecord, {
      decision: "maybe",
      approved: false,
      reason: "",
      leash_id: ids.leash,
      trace_link: traceLink
    })
    expect(failure.paths).toContain("decision")
    expect(failure.tree).toContain(
      "expected one of approved, modified, rejected, blocked, timeout, error, async, got \"maybe\""
    )
  })
})
