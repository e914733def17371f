import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { Wire } from "houndsight"
import { fromWire, rejectWire, t0, toWire } from "./helpers.js"

describe("Timestamp", () => {
  it("is an ISO-8601 UTC string with milliseconds on the wire and a Date in TypeScript", () => {
    expect(toWire(Wire.Timestamp, new Date(Date.UTC(2026, 10, 24, 9, 0, 0, 0)))).toBe(t0)
    expect(fromWire(Wire.Timestamp, t0)).toEqual(new Date(t0))
    expect(toWire(Wire.Timestamp, new Date(0))).toBe("1970-01-01T00:00:00.000Z")
  })

  it("round-trips every instant from the epoch to year 9999", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.date({ min: new Date(0), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }),
        (date) => fromWire(Wire.Timestamp, toWire(Wire.Timestamp, date)).getTime() === date.getTime()
      )
    )
  })

  it.each([
    ["no milliseconds", "2026-11-24T09:00:00Z"],
    ["an offset instead of Z", "2026-11-24T09:00:00.000+01:00"],
    ["a date only", "2026-11-24"],
    ["words", "yesterday"]
  ])("refuses %s with a message showing the expected form", (_, wire) => {
    const failure = rejectWire(Wire.Timestamp, wire)
    expect(failure.tree).toContain("expected an ISO-8601 UTC time with milliseconds, like 2026-11-24T09:00:00.000Z")
  })

  it("refuses a day that does not exist instead of rolling it over", () => {
    expect(rejectWire(Wire.Timestamp, "2026-02-30T00:00:00.000Z").tree).toContain(
      "expected a real calendar time, got \"2026-02-30T00:00:00.000Z\""
    )
    expect(rejectWire(Wire.Timestamp, "2026-13-01T00:00:00.000Z").tree).toContain("real calendar time")
  })
})

describe("Tokens", () => {
  it("keeps input and output as whole numbers", () => {
    expect(toWire(Wire.Tokens, { input: 1200, output: 80 })).toEqual({ input: 1200, output: 80 })
    expect(fromWire(Wire.Tokens, { input: 0, output: 0 })).toEqual({ input: 0, output: 0 })
  })

  it("refuses negative or fractional counts, naming the field", () => {
    const negative = rejectWire(Wire.Tokens, { input: -1, output: 2 })
    expect(negative.paths).toContain("input")
    expect(negative.tree).toContain("non-negative")
    expect(rejectWire(Wire.Tokens, { input: 1, output: 2.5 }).paths).toContain("output")
    expect(rejectWire(Wire.Tokens, { input: 1 }).paths).toContain("output")
  })
})

describe("Event", () => {
  it("maps a bark to {name, at, attributes}", () => {
    const event = { name: "cache_hit", at: new Date(t0), attributes: { key: "q2", hits: 3 } }
    const wire = toWire(Wire.Event, event)
    expect(wire).toEqual({ name: "cache_hit", at: t0, attributes: { key: "q2", hits: 3 } })
    expect(fromWire(Wire.Event, wire)).toEqual(event)
  })

  it("refuses an event without a name or with a bad time", () => {
    expect(rejectWire(Wire.Event, { name: "", at: t0, attributes: {} }).paths).toContain("name")
    expect(rejectWire(Wire.Event, { name: "x", at: "now", attributes: {} }).paths).toContain("at")
  })
})

describe("StepLayer", () => {
  it("accepts the six layers", () => {
    for (const layer of ["plan", "retrieve", "reason", "execute", "review", "respond"]) {
      expect(fromWire(Wire.StepLayer, layer)).toBe(layer)
    }
  })

  it("refuses another value in one line that lists the allowed ones", () => {
    const failure = rejectWire(Wire.StepLayer, "think")
    expect(failure.tree).toBe("expected one of plan, retrieve, reason, execute, review, respond, got \"think\"")
  })
})

describe("snakeCase", () => {
  it.each([
    ["amountUsd", "amount_usd"],
    ["merchantCountry", "merchant_country"],
    ["URLPath", "url_path"],
    ["dataCategories", "data_categories"],
    ["merchant-country", "merchant_country"],
    ["amount_usd", "amount_usd"],
    ["userID", "user_id"],
    ["retries3x", "retries3x"],
    ["ip v4", "ip_v4"]
  ])("%s → %s", (key, wire) => {
    expect(Wire.snakeCase(key)).toBe(wire)
  })

  it("is idempotent: a wire key maps to itself", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string(), (key) => Wire.snakeCase(Wire.snakeCase(key)) === Wire.snakeCase(key))
    )
  })
})

describe("Id", () => {
  it("accepts UUIDs v4 and v7 and refuses anything else", () => {
    expect(fromWire(Wire.Id, "0190d7a4-5c1e-7000-8000-000000000001")).toBe("0190d7a4-5c1e-7000-8000-000000000001")
    expect(fromWire(Wire.Id, "9b2f0e0c-8a4b-4c1e-9d2a-3f4e5a6b7c8d")).toBe("9b2f0e0c-8a4b-4c1e-9d2a-3f4e5a6b7c8d")
    expect(rejectWire(Wire.Id, "trail-1").tree).toContain("expected a UUID (v4 or v7)")
  })
})
