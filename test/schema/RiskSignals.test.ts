import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, rejectValue, rejectWire, toWire } from "./helpers.js"

describe("RiskSignals", () => {
  it("sends keys of any style in snake_case", () => {
    expect(
      toWire(Wire.RiskSignals, {
        amountUsd: 12000,
        merchantCountry: "DE",
        URLPath: "/admin",
        dataCategories: ["pii", "payment"],
        "retry-count": 2,
        already_snake: true
      })
    ).toEqual({
      amount_usd: 12000,
      merchant_country: "DE",
      url_path: "/admin",
      data_categories: ["pii", "payment"],
      retry_count: 2,
      already_snake: true
    })
  })

  it("keeps the values as they are", () => {
    const nested = { limits: { daily: 10 }, list: [1, "a", null] }
    expect(toWire(Wire.RiskSignals, { someObject: nested }).some_object).toEqual(nested)
  })

  it("refuses two keys that become the same wire key, naming both", () => {
    const failure = rejectValue(Wire.RiskSignals, { amountUsd: 1, amount_usd: 2 })
    expect(failure.tree).toContain(
      "risk signal keys \"amountUsd\" and \"amount_usd\" both become \"amount_usd\" on the wire: keep one"
    )
    expect(rejectValue(Wire.RiskSignals, { merchantCountry: "DE", "merchant-country": "FR" }).tree).toContain(
      "both become \"merchant_country\""
    )
  })

  it("refuses a key with no letters or digits", () => {
    expect(rejectValue(Wire.RiskSignals, { "--": 1 }).tree).toContain("risk signal key \"--\" has no letters or digits")
  })

  it("decodes the wire's snake_case keys unchanged", () => {
    const wire = { amount_usd: 5, merchant_country: "DE", custom_flag: true }
    expect(fromWire(Wire.RiskSignals, wire)).toEqual(wire)
  })

  it("checks the two signals the gate knows", () => {
    expect(rejectValue(Wire.RiskSignals, { amountUsd: Number.NaN }).paths).toEqual(["amount_usd"])
    const categories = rejectWire(Wire.RiskSignals, { data_categories: ["pii", 3] })
    expect(categories.paths).toEqual(["data_categories"])
    expect(categories.tree).toContain("expected an array of strings")
  })
})
