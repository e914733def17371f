/**
 * Two-person approval in a real browser (Debian's `chromium` through `playwright-core`): a leash
 * an approval rule makes need two reviewers. Ada approves from the queue card; the card and the
 * leash page then show who approved so far, and to Ada no Approve button (her Reject and Modify
 * stay); Bob, signed in after her, sees Ada's approval and his Approve button, and his click
 * completes the leash: the leash page names both approvers, and so does the agent's answer.
 *
 * Skipped without Chromium unless HOUNDSIGHT_REQUIRE_BROWSER=1 (as the other browser tests).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import type { Page } from "playwright-core"
import { Database, Keys } from "../../src/index.js"
import { leashRequest, type Running, startServer } from "../helpers.js"
import { available, newPage as newTab, problemsOf, run, useBrowser } from "./browser.js"

const browser = useBrowser("two-person approval in a real browser")
const newPage = newTab(browser)

const reviewer = (s: Running, person: string) =>
  Keys.create({ kind: "reviewer", person }).pipe(
    Effect.provide(Database.layer(s.db)),
    Effect.orDie,
    Effect.map((made) => ({ id: made.info.id, name: person, key: Redacted.value(made.key) }))
  )

const signInAs = (page: Page, s: Running, key: string) =>
  run(async () => {
    await page.goto(`${s.url}/`)
    if (new URL(page.url()).pathname !== "/login") {
      await page.click("form[action='/logout'] button")
      await page.waitForURL(/\/login/)
    }
    await page.fill("#key", key)
    await page.click("button[type=submit]")
    await page.waitForURL(`${s.url}/`)
  })

describe.skipIf(!available)("two-person approval in a real browser", () => {
  it.scopedLive("the queue card and the leash page show who approved; the approver has no Approve button; a second reviewer completes it", () =>
    Effect.gen(function*() {
      const s = yield* startServer({
        rulesFile: { sensitive: [], rules: [], approvals: [{ action: "stripe.*", approvals: 2, when: [] }] }
      })
      const ada = yield* reviewer(s, "Ada Lovelace")
      const bob = yield* reviewer(s, "Bob Kahn")
      const leash = leashRequest()
      const id = leash.leash_id as string
      expect((yield* s.agent.post("/v1/leashes", { body: leash })).body.approvals_required).toBe(2)

      const page = yield* newPage
      const problems = problemsOf(page)
      yield* signInAs(page, s, ada.key)
      const card = page.locator(`[data-leash-id="${id}"]`)
      expect(yield* run(() => card.locator("[data-approvals]").innerText())).toContain("0 of 2 approvals")
      yield* run(() => card.locator("button.approve").click())
      yield* run(() => page.waitForURL(`${s.url}/`))

      // still waiting: the card names Ada, and offers Ada no Approve button, only Reject and Modify
      expect((yield* s.agent.get(`/v1/leashes/${id}`)).body.status).toBe("pending")
      expect(yield* run(() => card.locator("[data-approvals]").innerText())).toContain("1 of 2 approvals")
      expect(yield* run(() => card.locator(".approvers").innerText())).toContain("Ada Lovelace")
      expect(yield* run(() => card.locator("[data-you-approved]").count())).toBe(1)
      expect(yield* run(() => card.locator("button.approve").count())).toBe(0)
      expect(yield* run(() => card.locator("button.reject").count())).toBe(1)
      expect(yield* run(() => card.locator("details.modify").count())).toBe(1)

      yield* run(() => page.goto(`${s.url}/leashes/${id}`))
      expect(yield* run(() => page.locator("[data-approvals] .approvers").innerText())).toContain("Ada Lovelace")
      expect(yield* run(() => page.locator("button.approve").count())).toBe(0)
      expect(yield* run(() => page.locator("button.reject").count())).toBe(1)
      expect(yield* run(() => page.locator("button.modify-submit").count())).toBe(1)

      // Bob sees Ada's approval and his own Approve button; his approval completes the leash
      yield* signInAs(page, s, bob.key)
      expect(yield* run(() => card.locator(".approvers").innerText())).toContain("Ada Lovelace")
      expect(yield* run(() => card.locator("[data-you-approved]").count())).toBe(0)
      yield* run(() => page.goto(`${s.url}/leashes/${id}`))
      yield* run(() => page.locator("button.approve").click())
      yield* run(() => page.waitForURL(/decided=1/))
      expect(yield* run(() => page.locator("[data-approvers]").innerText())).toBe("Ada Lovelace, Bob Kahn")

      const state = (yield* s.agent.get(`/v1/leashes/${id}`)).body
      expect(state.decision).toMatchObject({
        decision: "approved",
        approvers: [{ id: ada.id, name: "Ada Lovelace" }, { id: bob.id, name: "Bob Kahn" }]
      })
      expect(problems).toEqual([])
    }), 90_000)
})
