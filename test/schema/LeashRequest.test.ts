import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, ids, rejectValue, rejectWire, toWire } from "./helpers.js"

const request: Wire.LeashRequest = {
  leashId: ids.leash,
  trailId: ids.trail,
  stepId: ids.review,
  agent: "billing-bot",
  actionName: "stripe.charge",
  actionSummary: "charge card ending 4242 $12,000",
  riskSignals: { amountUsd: 12000, dataCategories: ["payment"], merchantCountry: "DE" },
  payload: { cents: 1200000, currency: "usd" },
  timeoutSeconds: 300,
  blocking: true
}

describe("LeashRequest", () => {
  it("sends every key in snake_case, risk signal keys included", () => {
    const wire = toWire(Wire.LeashRequest, request)
    expect(wire).toEqual({
      leash_id: ids.leash,
      trail_id: ids.trail,
      step_id: ids.review,
      agent: "billing-bot",
      action_name: "stripe.charge",
      action_summary: "charge card ending 4242 $12,000",
      risk_signals: { amount_usd: 12000, data_categories: ["payment"], merchant_country: "DE" },
      payload: { cents: 1200000, currency: "usd" },
      timeout_seconds: 300,
      blocking: true
    })
  })

  it("decodes the wire form, keeping the wire's snake_case signal keys", () => {
    const decoded = fromWire(Wire.LeashRequest, toWire(Wire.LeashRequest, request))
    expect(decoded).toEqual({
      ...request,
      riskSignals: { amount_usd: 12000, data_categories: ["payment"], merchant_country: "DE" }
    })
    // Encoding the decoded value gives the same bytes: a retry sends exactly what the first attempt sent.
    expect(JSON.stringify(toWire(Wire.LeashRequest, decoded))).toBe(
      JSON.stringify(toWire(Wire.LeashRequest, request))
    )
  })

  it("accepts fractional timeouts up to one day", () => {
    expect(toWire(Wire.LeashRequest, { ...request, timeoutSeconds: 0.5 }).timeout_seconds).toBe(0.5)
    expect(toWire(Wire.LeashRequest, { ...request, timeoutSeconds: 86_400 }).timeout_seconds).toBe(86_400)
  })

  it.each([0, -1, 86_401, 90_000, Number.POSITIVE_INFINITY])("refuses timeout_seconds %s, naming the field", (n) => {
    const wire = { ...toWire(Wire.LeashRequest, request), timeout_seconds: n }
    const failure = rejectWire(Wire.LeashRequest, wire)
    expect(failure.paths).toEqual(["timeout_seconds"])
    expect(failure.tree).toContain("expected a number of seconds above 0 and at most 86400")
  })

  it("refuses a timeout on encode too, before anything is sent, naming the TypeScript field", () => {
    expect(rejectValue(Wire.LeashRequest, { ...request, timeoutSeconds: 0 }).paths).toEqual(["timeoutSeconds"])
  })

  it("refuses other bad input, naming the field", () => {
    const wire = toWire(Wire.LeashRequest, request)
    const { trail_id: _, ...withoutTrail } = wire
    expect(rejectWire(Wire.LeashRequest, withoutTrail).paths).toEqual(["trail_id"])
    expect(rejectWire(Wire.LeashRequest, { ...wire, action_name: "" }).paths).toEqual(["action_name"])
    expect(rejectWire(Wire.LeashRequest, { ...wire, blocking: "yes" }).paths).toEqual(["blocking"])
    expect(rejectWire(Wire.LeashRequest, { ...wire, action_summary: "x".repeat(4097) }).tree).toContain(
      "expected action_summary to be at most 4096 characters"
    )
    const amount = rejectWire(Wire.LeashRequest, { ...wire, risk_signals: { amount_usd: "12000" } })
    expect(amount.paths).toEqual(["risk_signals.amount_usd"])
    expect(amount.tree).toContain("expected a finite number")
  })
})
