/**
 * v1.1 measures a leash payload as the UTF-8 bytes of its compact JSON: `Wire.jsonBytes` must
 * agree with encoding `JSON.stringify`'s text, for any value (multi-byte characters, surrogate
 * pairs, lone surrogates, which `JSON.stringify` escapes), since the SDK and the server both
 * decide the 262,144-byte limit with it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Wire } from "houndsight"

const utf8 = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length

describe("Wire.jsonBytes", () => {
  it("is the UTF-8 length of the compact JSON of any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(Wire.jsonBytes(value)).toBe(utf8(value))
      }),
      { numRuns: 500 }
    )
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(Wire.jsonBytes({ s })).toBe(utf8({ s }))
      }),
      { numRuns: 500 }
    )
  })

  it("counts 1, 2, 3 and 4 bytes per character, escapes as sent, and 0 for no JSON", () => {
    expect(Wire.jsonBytes("a")).toBe(3)
    expect(Wire.jsonBytes("é")).toBe(4)
    expect(Wire.jsonBytes("中")).toBe(5)
    expect(Wire.jsonBytes("😀")).toBe(6)
    expect(Wire.jsonBytes("\ud800")).toBe(8) // a lone surrogate goes out as \ud800
    expect(Wire.jsonBytes("\n")).toBe(4)
    expect(Wire.jsonBytes(undefined)).toBe(0)
    expect(Wire.maxPayloadBytes).toBe(262_144)
  })
})
