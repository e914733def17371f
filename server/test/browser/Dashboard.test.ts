/**
 * The dashboard in a real browser (Debian's `chromium`, driven by `playwright-core`): a reviewer
 * signs in, sees a pending leash appear while the agent waits, approves it with a click, and the
 * agent (the real SDK over HTTP) receives `approved`; a modified payload reaches the agent, and
 * JSON that does not parse is refused in the page before anything is sent; hostile payloads
 * render inert; a form posted without its token changes nothing. The first test saves two
 * screenshots in test-results/; with HOUNDSIGHT_UPDATE_SCREENSHOTS=1 it writes them over the
 * ones the README shows (docs/dashboard.png, docs/dashboard-trail.png) instead.
 *
 * Without Chromium these tests are skipped with one line saying so, unless
 * HOUNDSIGHT_REQUIRE_BROWSER=1, which makes a missing browser a failure (CI sets it).
 * HOUNDSIGHT_CHROMIUM overrides the browser's path (default /usr/bin/chromium).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Redacted } from "effect"
import type { Decision } from "houndsight"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Agents from "../../../examples/demo/agents.js"
import { rules } from "../../../examples/demo.js"
import { leashRequest, type Running, startServer } from "../helpers.js"
import { reviewerName } from "../dashboard/helpers.js"
import { available, newPage as newTab, problemsOf, run, signedIn, signIn, useBrowser } from "./browser.js"

const screenshotDir = fileURLToPath(
  new URL(process.env["HOUNDSIGHT_UPDATE_SCREENSHOTS"] === "1" ? "../../../docs/" : "../../../test-results/", import.meta.url)
)
const docs = (name: string) => Path.join(screenshotDir, name)

const browser = useBrowser("the dashboard in a real browser")
const newPage = newTab(browser)

const agentConnection = (s: Running): Agents.Connection => ({ endpoint: s.url, apiKey: Redacted.make(s.agentKey) })

const pendingIds = (s: Running) =>
  Effect.map(s.reviewer.get("/v1/leashes"), (a) => (a.body.leashes as Array<{ leash_id: string }>).map((l) => l.leash_id))

describe.skipIf(!available)("the dashboard in a real browser", () => {
  it.scopedLive("sign in, see a pending leash appear while the agent waits, approve it by clicking: the agent gets approved", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const connection = agentConnection(s)
      // Some history first, so the screenshot shows a dashboard in use.
      yield* Agents.forecast.pipe(Effect.provide(Agents.live(connection, "sales-pipeline")))
      yield* Agents.charge({ customer: "cus_77", amountUsd: 25_000, invoice: "INV-2042" }).pipe(
        Effect.provide(Agents.live(connection, "billing-bot"))
      )
      const page = yield* newPage
      const problems = problemsOf(page)
      yield* signIn(page, s)
      const cookies = yield* run(() => browser().cookies(s.url))
      const session = cookies.find((c) => c.name === "houndsight_session")!
      expect(session.httpOnly).toBe(true)
      expect(session.sameSite).toBe("Strict")
      expect(yield* run(() => page.evaluate(() => document.cookie))).not.toContain("houndsight_session")

      // The agent asks and waits; the page, loaded before, shows the leash without a reload.
      const agent = yield* Effect.fork(
        Agents.charge({ customer: "cus_42", amountUsd: 120, invoice: "INV-2041" }).pipe(
          Effect.provide(Agents.live(connection, "billing-bot"))
        )
      )
      const card = page.locator(`[data-leash-id][data-action="stripe.charge"]`)
      yield* run(() => card.waitFor())
      const text = yield* run(() => card.innerText())
      expect(text).toContain("Charge Acme GmbH (cus_42) $120.00 for invoice INV-2041")
      expect(text).toContain("billing-bot")
      expect(text).toContain("$120.00")
      expect(text).toContain("\"customer\": \"cus_42\"")
      expect(yield* run(() => page.locator("nav [data-pending-count]").innerText())).toBe("1")
      yield* run(() => page.screenshot({ path: docs("dashboard.png"), animations: "disabled" }))

      yield* run(() => card.locator("button.approve").click())
      yield* run(() => page.waitForURL(/\/\?decided=/))
      const decision: Decision.Decision<unknown> = yield* Fiber.join(agent)
      expect(decision.decision).toBe("approved")
      expect(decision.reason).toBe("approved in the dashboard")
      expect(yield* run(() => page.locator("[data-leash-id]").count())).toBe(0)

      // The trail shows the review step: who decided, and when.
      yield* run(async () => {
        await page.goto(`${s.url}/leashes/${decision.leashId}`)
        await page.getByRole("link", { name: /^[0-9a-f-]{36}$/ }).click()
        const review = page.locator("li.step.layer-review")
        await review.locator("summary").first().click()
        expect(await review.locator(".review-box").innerText()).toContain(`by ${reviewerName(s)}`)
        await page.screenshot({ path: docs("dashboard-trail.png"), fullPage: true, animations: "disabled" })
      })
      expect(problems).toStrictEqual([])
    }), 90_000)

  it.scopedLive("live: a leash with a large payload arrives as a card whose preview says it is cut; cards already shown stay as they are", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const first = leashRequest({ action_name: "email.send", timeout_seconds: 60 })
      yield* s.agent.post("/v1/leashes", { body: first })
      const page = yield* newPage
      const problems = problemsOf(page)
      yield* signIn(page, s)
      const firstCard = page.locator(`[data-leash-id="${first.leash_id}"]`)
      yield* run(async () => {
        await firstCard.waitFor()
        // A mark on the element itself: it survives only if the live update leaves the card alone.
        await firstCard.evaluate((el) => ((el as any).__kept = true))
      })
      const big = leashRequest({
        action_name: "bulk.export",
        timeout_seconds: 600,
        payload: { rows: Array.from({ length: 5_000 }, (_, i) => ({ id: `row-${i}` })) }
      })
      yield* s.agent.post("/v1/leashes", { body: big })
      const bigCard = page.locator(`[data-leash-id="${big.leash_id}"]`)
      yield* run(async () => {
        await bigCard.waitFor()
        const notice = bigCard.locator("[data-preview-cut]")
        expect(await notice.isVisible()).toBe(true)
        expect(await notice.innerText()).toContain("Preview cut")
        expect(await notice.locator("a").getAttribute("href")).toBe(`/leashes/${big.leash_id}`)
        expect(await bigCard.locator("textarea[name=modified_payload]").count()).toBe(0)
        expect(await bigCard.innerText()).not.toContain("row-4999")
        expect(await firstCard.evaluate((el) => (el as any).__kept === true)).toBe(true)
        // In the list's order: the closer deadline first.
        const order = await page.locator("[data-pending-list] > [data-leash-id]").evaluateAll((els) =>
          els.map((el) => (el as HTMLElement).dataset.leashId)
        )
        expect(order).toStrictEqual([first.leash_id, big.leash_id])
      })
      yield* s.reviewer.post(`/v1/leashes/${first.leash_id}/decision`, { body: { decision: "rejected", reason: "no" } })
      yield* run(async () => {
        await firstCard.waitFor({ state: "detached" })
        expect(await bigCard.isVisible()).toBe(true)
      })
      expect(problems).toStrictEqual([])
    }), 90_000)

  it.scopedLive("modify: JSON that does not parse is refused in the page before anything is sent; the agent gets the edit", () =>
    Effect.gen(function*() {
      const { page, problems, s } = yield* signedIn(browser, { rulesFile: rules })
      const posts: Array<string> = []
      page.on("request", (request) => {
        if (request.method() === "POST") posts.push(request.url())
      })
      const agent = yield* Effect.fork(
        Agents.charge({ customer: "cus_42", amountUsd: 250, invoice: "INV-2050" }).pipe(
          Effect.provide(Agents.live(agentConnection(s), "billing-bot"))
        )
      )
      const card = page.locator(`[data-leash-id][data-action="stripe.charge"]`)
      yield* run(() => card.waitFor())
      const [leashId] = yield* pendingIds(s)
      yield* run(async () => {
        await card.locator("details.modify > summary").click()
        const area = card.locator("textarea[name=modified_payload]")
        expect(JSON.parse(await area.inputValue())).toStrictEqual({
          customer: "cus_42",
          amount_usd: 250,
          currency: "usd",
          description: "Invoice INV-2050"
        })
        await area.fill(`{ "customer": "cus_42", "amount_usd": 200, }`)
        await card.locator("button.modify-submit").click()
        const error = card.locator("form[data-modify] .form-error")
        await error.waitFor()
        expect(await error.innerText()).toContain("not valid JSON")
        expect(await area.getAttribute("aria-invalid")).toBe("true")
      })
      expect(posts).toStrictEqual([])
      expect(yield* pendingIds(s)).toStrictEqual([leashId])

      yield* run(async () => {
        await card.locator("textarea[name=modified_payload]").fill(
          `{ "customer": "cus_42", "amount_usd": 200, "currency": "usd", "description": "Invoice INV-2050 (capped)" }`
        )
        await card.locator("input[name=reason]").last().fill("cap at $200 until finance confirms")
        await card.locator("button.modify-submit").click()
        await page.waitForURL(/\/\?decided=/)
      })
      const decision: Decision.Decision<unknown> = yield* Fiber.join(agent)
      expect(decision.decision).toBe("modified")
      expect(decision.reason).toBe("cap at $200 until finance confirms")
      expect(decision.decision === "modified" && decision.modifiedPayload).toStrictEqual({
        customer: "cus_42",
        amount_usd: 200,
        currency: "usd",
        description: "Invoice INV-2050 (capped)"
      })
      expect(problems).toStrictEqual([])
    }), 60_000)

  it.scopedLive("a payload holding <script> and a javascript: link renders inert, in the queue and on the leash's page", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const page = yield* newPage
      const problems = problemsOf(page)
      const dialogs: Array<string> = []
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message())
        void dialog.dismiss()
      })
      yield* signIn(page, s)
      const leash = leashRequest({
        action_name: "email.send",
        action_summary: `Send <img src=x onerror="window.__pwned = 'img'; alert(1)"> to <a href="javascript:window.__pwned = 'a'">everyone</a>`,
        risk_signals: { note: `<script>window.__pwned = 'signal'</script>` },
        payload: {
          body: "<script>window.__pwned = 'payload'; alert(1)</script>",
          link: "javascript:window.__pwned = 'link'",
          html: `<a href="javascript:alert(1)">click</a>`
        }
      })
      yield* s.agent.post("/v1/leashes", { body: leash })
      const check = (where: string) =>
        run(async () => {
          const card = page.locator(`[data-leash-id="${leash.leash_id}"]`)
          await card.waitFor()
          const text = await card.innerText()
          expect(text, where).toContain("<script>window.__pwned = 'payload'; alert(1)</script>")
          expect(text, where).toContain(`<img src=x onerror="window.__pwned = 'img'; alert(1)">`)
          expect(text, where).toContain("javascript:window.__pwned = 'link'")
          expect(await card.locator("script, img, iframe, object").count(), where).toBe(0)
          expect(await page.locator(`a[href^="javascript:" i]`).count(), where).toBe(0)
          // Every link on the page goes somewhere on this server.
          const hrefs = await page.locator("a[href]").evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href))
          for (const href of hrefs) expect(new URL(href).origin, `${where}: ${href}`).toBe(s.url)
          expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), where).toBeUndefined()
        })
      yield* check("queue (arrived live)")
      yield* run(() => page.reload())
      yield* check("queue (rendered by the server)")
      yield* run(() => page.goto(`${s.url}/leashes/${leash.leash_id}`))
      yield* check("leash page")
      expect(dialogs).toStrictEqual([])
      expect(problems).toStrictEqual([])
    }), 90_000)

  it.scopedLive("a decision form posted without its token changes nothing", () =>
    Effect.gen(function*() {
      const { page, s } = yield* signedIn(browser)
      const leash = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: leash })
      const card = page.locator(`[data-leash-id="${leash.leash_id}"]`)
      yield* run(() => card.waitFor())
      // The page's own form, with its token taken out, submitted by a click.
      yield* run(async () => {
        await card.locator("form[data-decide] input[name=csrf]").evaluate((input) => input.remove())
        await card.locator("button.approve").click()
        await page.waitForURL(`${s.url}/leashes/${leash.leash_id}/decision`)
        expect(await page.locator("[role=alert]").innerText()).toContain("security token")
      })
      // A post with the browser's cookies but no token (as another page could send).
      const status = yield* run(() =>
        browser().request.post(`${s.url}/leashes/${leash.leash_id}/decision`, {
          form: { decision: "approved", reason: "forged" }
        }).then((r) => r.status())
      )
      expect(status).toBe(403)
      expect(yield* pendingIds(s)).toStrictEqual([leash.leash_id])
    }), 60_000)
})
