/**
 * The pending list read in slices (issue 12: the server answers other requests between them)
 * answers the page one read of `limit` answers: the same items, order and `next_cursor`.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Wire from "houndsight/wire"
import type { LeashDesk } from "../src/LeashDesk.js"
import * as PendingSlices from "../src/PendingSlices.js"

/** A gate holding `n` pending leashes, answering pages as the store does (deadline, then id). */
const gateOf = (n: number) => {
  const items: Array<Wire.PendingLeashItem> = Array.from({ length: n }, (_, i) => ({
    leashId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    status: "pending" as const,
    traceLink: `http://127.0.0.1/trails/${i}`,
    createdAt: new Date(1_000),
    // ties in deadlines, as leashes sent in the same millisecond have
    expiresAt: new Date(10_000 + Math.floor(i / 3)),
    request: {} as Wire.PendingLeashItem["request"],
    payloadPreview: { text: "{}", bytes: 2, cut: false }
  }))
  let reads = 0
  const key = (l: Wire.PendingLeashItem) => [l.expiresAt.getTime(), l.leashId] as const
  const after = (l: Wire.PendingLeashItem, c: readonly [number, string]) =>
    key(l)[0] > c[0] || (key(l)[0] === c[0] && key(l)[1] > c[1])
  const gate = {
    pending: (limit: number, cursor?: readonly [number, string]) =>
      Effect.sync(() => {
        reads++
        const rest = cursor === undefined ? items : items.filter((l) => after(l, cursor))
        const page = rest.slice(0, limit)
        const last = page[page.length - 1]
        return rest.length > limit && last !== undefined
          ? { leashes: page, nextCursor: Wire.encodeCursor(Wire.LeashCursor, key(last)) }
          : { leashes: page }
      })
  } as unknown as LeashDesk["Type"]
  return { gate, reads: () => reads }
}

describe("PendingSlices.read", () => {
  it("answers the page of one read, whatever the limit, cursor and number of leashes", async () => {
    for (const n of [0, 1, 9, 10, 11, 57, 230]) {
      for (const limit of [1, 7, 10, 11, 100]) {
        const { gate } = gateOf(n)
        for (const cursor of [undefined, [10_002, "00000000-0000-4000-8000-000000000007"] as const]) {
          const one = await Effect.runPromise(gate.pending(limit, cursor))
          const sliced = await Effect.runPromise(PendingSlices.read(gate, limit, cursor))
          expect(sliced).toStrictEqual(one)
        }
      }
    }
  })

  it("reads a page of 100 in slices, letting the event loop run between them", async () => {
    const { gate, reads } = gateOf(230)
    let ran = false
    let ranBeforeEnd = false
    setImmediate(() => {
      ran = true
    })
    const page = await Effect.runPromise(Effect.map(PendingSlices.read(gate, 100), (p) => {
      ranBeforeEnd = ran
      return p
    }))
    expect(page.leashes).toHaveLength(100)
    expect(reads()).toBe(100 / PendingSlices.slice)
    expect(ranBeforeEnd).toBe(true)
  })
})
