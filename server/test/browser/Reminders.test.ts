/**
 * Leashes close to expiry in a real browser (issue 19, reminders): the queue lists the leash
 * closest to its deadline first, and once a leash is past the server's reminder share its card
 * is marked, with the time it has left ("expires in 2.1 s"), both in the page as served and as
 * the open page's clock passes the reminder time. Debian's Chromium through playwright-core.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { leashRequest, startServer } from "../helpers.js"
import { available, newPage as newTab, problemsOf, run, signIn, useBrowser } from "./browser.js"

const browser = useBrowser("leashes close to expiry in a real browser")
const newPage = newTab(browser)

describe.skipIf(!available)("leashes close to expiry in a real browser", () => {
  it.scopedLive("closest to expiry first; marked with the time left once past the reminder share", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ reminderAt: 0.5 })
      const later = leashRequest({ timeout_seconds: 600, action_name: "email.send" })
      const soon = leashRequest({ timeout_seconds: 8, action_name: "stripe.charge" })
      const middle = leashRequest({ timeout_seconds: 300, action_name: "stripe.refund" })
      for (const l of [later, soon, middle]) expect((yield* s.agent.post("/v1/leashes", { body: l })).status).toBe(200)
      const page = yield* newPage
      const problems = problemsOf(page)
      yield* signIn(page, s)
      const order = yield* run(() => page.$$eval("[data-leash-id]", (cards) => cards.map((c) => c.getAttribute("data-leash-id"))))
      expect(order).toStrictEqual([soon.leash_id, middle.leash_id, later.leash_id])
      const mark = (id: string) => `[data-leash-id="${id}"] [data-soon]`
      // not yet past half of its 8 s: no mark
      expect(yield* run(() => page.isVisible(mark(soon.leash_id)))).toBe(false)
      // the open page marks it when its reminder time comes
      yield* run(() => page.waitForSelector(`${mark(soon.leash_id)}:not([hidden])`, { timeout: 10_000 }))
      const text = yield* run(() => page.textContent(mark(soon.leash_id)))
      expect(text).toMatch(/expires in \d(\.\d)? s/)
      expect(yield* run(() => page.isVisible(mark(later.leash_id)))).toBe(false)
      expect(yield* run(() => page.isVisible(mark(middle.leash_id)))).toBe(false)
      // served marked: a page loaded now shows the mark at once
      yield* run(() => page.reload())
      expect(yield* run(() => page.getAttribute(`[data-leash-id="${soon.leash_id}"]`, "class"))).toContain("soon")
      expect(yield* run(() => page.isVisible(mark(soon.leash_id)))).toBe(true)
      expect(problems).toStrictEqual([])
    }), 60_000)
})
