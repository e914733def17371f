import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, ids, rejectWire, toWire } from "./helpers.js"

describe("Flag", () => {
  it("names its kind, trail, step, seq and review step in snake_case", () => {
    const flag: Wire.Flag = {
      kind: "ignored_decision",
      trailId: ids.trail,
      stepId: ids.step,
      seq: 4,
      actionName: "stripe.charge",
      reviewStepId: ids.review
    }
    const wire = toWire(Wire.Flag, flag)
    expect(wire).toEqual({
      kind: "ignored_decision",
      trail_id: ids.trail,
      step_id: ids.step,
      seq: 4,
      action_name: "stripe.charge",
      review_step_id: ids.review
    })
    expect(fromWire(Wire.Flag, wire)).toEqual(flag)
  })

  it("omits review_step_id for an unleashed action", () => {
    const flag: Wire.Flag = {
      kind: "unleashed_action",
      trailId: ids.trail,
      stepId: ids.step,
      seq: 1,
      actionName: "email.send"
    }
    expect(toWire(Wire.Flag, flag)).not.toHaveProperty("review_step_id")
  })

  it("v1.1: an unverified review is a kind, at the review step itself (no review_step_id)", () => {
    const wire = { kind: "unverified_review", trail_id: ids.trail, step_id: ids.review, seq: 3, action_name: "stripe.charge" }
    expect(toWire(Wire.Flag, fromWire(Wire.Flag, wire))).toEqual(wire)
  })

  it("refuses an unknown kind or a seq below 1", () => {
    const base = { trail_id: ids.trail, step_id: ids.step, seq: 1, action_name: "x" }
    expect(rejectWire(Wire.Flag, { ...base, kind: "bypass" }).tree).toContain(
      "expected one of unleashed_action, ignored_decision, reused_approval, unverified_review, got \"bypass\""
    )
    expect(rejectWire(Wire.Flag, { ...base, kind: "unleashed_action", seq: 0 }).paths).toEqual(["seq"])
  })
})
