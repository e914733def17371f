/**
 * Record ids (trails, steps, leashes): UUID v7 of the time they were made, unique by 74 random
 * bits even within one millisecond, and accepted by the contract's `Id` schema.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { Wire } from "houndsight"
import { newId } from "../../src/internal/state.js"

const uuid7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const millisOf = (id: string) => Number.parseInt(id.replace("-", "").slice(0, 12), 16)

describe("record ids", () => {
  it("200,000 ids made in one millisecond are distinct UUID v7s of that millisecond, valid on the wire", () => {
    const at = Date.UTC(2026, 10, 24, 9, 0, 0, 123)
    const seen = new Set<string>()
    for (let i = 0; i < 200_000; i++) {
      const id = newId(at)
      if (!uuid7.test(id) || millisOf(id) !== at) throw new Error(`not a UUID v7 of ${at}: ${id}`)
      seen.add(id)
    }
    expect(seen.size).toBe(200_000)
    const one = [...seen][0]!
    expect(Schema.decodeUnknownSync(Wire.Id)(one)).toBe(one)
  })

  it("the random bits are spread: every hex digit appears in every random position", () => {
    const randomPositions = [15, 16, 17, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35]
    const digits = randomPositions.map(() => new Set<string>())
    for (let i = 0; i < 2_000; i++) {
      const id = newId(1_000)
      randomPositions.forEach((p, k) => digits[k]!.add(id[p]!))
    }
    expect(digits.map((d) => d.size)).toStrictEqual(randomPositions.map(() => 16))
  })

  it("ids sort by the time they were made, to the millisecond", () => {
    const times = [0, 1, 999, 1_000, Date.UTC(2026, 0, 1), Date.UTC(2026, 10, 24), 2 ** 48 - 1]
    const ids = times.map((t) => newId(t))
    expect(ids.map(millisOf)).toStrictEqual(times)
    expect([...ids].sort()).toStrictEqual(ids)
  })

  it("a time a UUID v7 cannot carry (negative, not a number, past 2^48 ms) is written as 0", () => {
    for (const t of [-1, Number.NaN, 2 ** 48, Number.POSITIVE_INFINITY]) {
      const id = newId(t)
      expect(id).toMatch(uuid7)
      expect(millisOf(id)).toBe(0)
    }
  })
})
