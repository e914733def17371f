/**
 * The reviewer's long reads are done in slices with a yield to the event loop between them
 * (issue 12: `/healthz` and long-polls are answered while a reviewer reads), and a read in slices
 * answers exactly what the read in one piece answers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { render } from "../../src/dashboard/Html.js"
import * as LeashViews from "../../src/dashboard/LeashViews.js"

const pending = (n: number): Array<LeashViews.Pending> =>
  Array.from({ length: n }, (_, i) => ({
    leashId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    request: {
      leashId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      trailId: "00000000-0000-4000-9000-000000000001",
      stepId: `00000000-0000-4000-a000-${String(i).padStart(12, "0")}`,
      agent: "bench-bot",
      actionName: i % 2 === 0 ? "stripe.charge" : "bulk.export",
      actionSummary: `<b>card ${i}</b>`,
      riskSignals: { amount_usd: i, note: "s".repeat(200 * i) },
      payload: undefined as never,
      timeoutSeconds: 3600,
      blocking: true
    } as unknown as LeashViews.Pending["request"],
    preview: i % 3 === 0
      ? { text: JSON.stringify({ amount: i, to: "acct_1" }), bytes: 30, cut: false }
      : { text: `[${"{},".repeat(1365)}`, bytes: 262_144, cut: true },
    createdAt: new Date(Date.UTC(2026, 11, 1, 9, 0, i)),
    expiresAt: new Date(Date.UTC(2026, 11, 1, 10, 0, i))
  }))

describe("the queue's cards, rendered in slices", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] })
    vi.setSystemTime(new Date(Date.UTC(2026, 11, 1, 9, 30)))
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("are the pending list the page renders in one piece, for any number of cards", async () => {
    for (const n of [0, 1, 9, 10, 11, 25, 100]) {
      for (const paged of [false, true]) {
        const whole = render(LeashViews.pendingList(pending(n), "tok", paged))
        const sliced = render(await Effect.runPromise(LeashViews.pendingListInSlices(pending(n), "tok", paged)))
        expect(sliced).toBe(whole)
      }
    }
  })

  it("let the event loop run between slices (a callback queued before the render runs before it ends)", async () => {
    let ranBeforeEnd = false
    let ran = false
    setImmediate(() => {
      ran = true
    })
    await Effect.runPromise(Effect.map(LeashViews.pendingListInSlices(pending(25), "tok"), () => {
      ranBeforeEnd = ran
    }))
    expect(ranBeforeEnd).toBe(true)
  })
})
