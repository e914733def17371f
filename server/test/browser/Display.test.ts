/**
 * What the reviewer reads, in a real browser (issue 13, "Dashboard" and "the gate must show the
 * reviewer everything"): times with their date when not today and the full ISO time with its
 * zone on hover; trail tags on the trail page and in the trails list; the LEASHES tile counting
 * leashes; payloads in the order they were sent; a modification shown as what changed; the
 * step status marks drawn as the dashboard's own icons; Modify on the leash page starting from
 * the whole payload, and every cut value said plainly.
 *
 * The browser runs in Asia/Kolkata (UTC+05:30, no daylight saving), so a time shown in UTC or
 * with a `Z` cannot pass for the reader's local time.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { leashRequest, reviewStep, stepRecord, trailRecord } from "../helpers.js"
import { available, run, signedIn, useBrowser } from "./browser.js"

const zone = "Asia/Kolkata"
const browser = useBrowser("what the dashboard shows, in a real browser", { timezoneId: zone })

/** The wall-clock parts of an instant in the browser's zone, computed here with Intl. */
const wall = (date: Date) => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone: zone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23"
    }).formatToParts(date).map((p) => [p.type, p.value])
  )
  return { day: `${parts["year"]}-${parts["month"]}-${parts["day"]}`, clock: `${parts["hour"]}:${parts["minute"]}:${parts["second"]}` }
}

/** What the page should show for an instant: the clock today, the date and clock otherwise. */
const shown = (date: Date) => {
  const w = wall(date)
  return w.day === wall(new Date()).day ? w.clock : `${w.day} ${w.clock}`
}

/**
 * What the hover should say: the full ISO time in the zone, with its offset and the zone's name
 * as the browser calls it (Chromium's ICU says Asia/Calcutta, the older name of Asia/Kolkata).
 */
const hover = (date: Date, name: string) => {
  const w = wall(date)
  return `${w.day}T${w.clock}.${String(date.getUTCMilliseconds()).padStart(3, "0")}+05:30 (${name})`
}

describe.skipIf(!available)("what the dashboard shows, in a real browser", () => {
  it.scopedLive("times: the date when it is not today, the full ISO time with its zone on hover", () =>
    Effect.gen(function*() {
      const { page, problems, s } = yield* signedIn(browser)
      const old = new Date(Date.now() - 3 * 24 * 3600_000 + 123)
      const recent = new Date(Date.now() - 60_000 + 456)
      const trail = trailRecord({ started_at: old.toISOString(), status: "ok", ended_at: recent.toISOString() })
      const step = stepRecord(trail.id, 1, "late_step", {
        started_at: recent.toISOString(),
        ended_at: new Date(recent.getTime() + 10).toISOString()
      })
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [step] } })

      yield* run(async () => {
        await page.goto(`${s.url}/trails`)
        const name = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)
        expect(["Asia/Kolkata", "Asia/Calcutta"]).toContain(name)
        const started = page.locator(`tr:has(a[href="/trails/${trail.id}"]) time`).first()
        expect(await started.innerText()).toBe(shown(old))
        expect(await started.innerText()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
        expect(await started.getAttribute("title")).toBe(hover(old, name))

        await page.goto(`${s.url}/trails/${trail.id}`)
        await page.locator(`#step-${step.id} summary`).click()
        const stepTime = page.locator(`#step-${step.id} .step-body time`)
        expect(await stepTime.innerText()).toBe(shown(recent))
        expect(await stepTime.getAttribute("title")).toBe(hover(recent, name))
      })
      expect(problems).toStrictEqual([])
    }), 60_000)

  it.scopedLive("trail tags, in the order given, on the trail page and in the trails list", () =>
    Effect.gen(function*() {
      const { page, problems, s } = yield* signedIn(browser)
      const trail = trailRecord({ status: "ok", tags: { env: "prod", tenant: "acme-gmbh", region: "eu-west-1" } })
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [] } })
      const tags = ["env prod", "tenant acme-gmbh", "region eu-west-1"]
      yield* run(async () => {
        await page.goto(`${s.url}/trails`)
        const row = page.locator(`tr:has(a[href="/trails/${trail.id}"])`)
        expect(await row.locator(".tag").allInnerTexts()).toStrictEqual(tags)
        expect(await row.locator(".tag").first().isVisible()).toBe(true)
        await page.goto(`${s.url}/trails/${trail.id}`)
        expect(await page.locator(".trail-head .tag").allInnerTexts()).toStrictEqual(tags)
        expect(await page.locator(".trail-head .tag").first().isVisible()).toBe(true)
      })
      expect(problems).toStrictEqual([])
    }), 60_000)

  it.scopedLive("the LEASHES tile counts leashes: a blocking: false leash and its Leash.await are one", () =>
    Effect.gen(function*() {
      const { page, problems, s } = yield* signedIn(browser)
      const trail = trailRecord({ status: "ok" })
      // A `blocking: false` leash (its first review step says `async`) and its `Leash.await`
      // (a second review step for the same leash), then a second, blocking leash.
      const first = reviewStep(trail.id, 1, "email.send", "async")
      const awaited = reviewStep(trail.id, 2, "email.send", "approved", {
        leash: { ...first.leash!, decision: "approved", approved: true, reason: "ok" }
      })
      const other = reviewStep(trail.id, 3, "stripe.charge", "approved")
      expect(awaited.leash!.leash_id).toBe(first.leash!.leash_id)
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [first, awaited, other] } })
      yield* run(async () => {
        await page.goto(`${s.url}/trails/${trail.id}`)
        expect(await page.locator("li.step.layer-review").count()).toBe(3)
        expect(await page.locator(".stats li", { hasText: "leashes" }).innerText()).toMatch(/leashes\s+2$/i)
      })
      expect(problems).toStrictEqual([])
    }), 60_000)

  it.scopedLive("step status marks are icons of the dashboard's own: drawn shapes, no font glyph", () =>
    Effect.gen(function*() {
      const { page, s } = yield* signedIn(browser)
      const trail = trailRecord({ status: "interrupted", ended_at: new Date().toISOString() })
      const steps = [
        stepRecord(trail.id, 1, "went_fine"),
        stepRecord(trail.id, 2, "failed", { status: "error", error: { type: "Boom", message: "no" } }),
        stepRecord(trail.id, 3, "cut_short", { status: "interrupted" })
      ]
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps } })
      yield* run(async () => {
        await page.goto(`${s.url}/trails/${trail.id}`)
        for (const status of ["ok", "error", "interrupted"]) {
          const mark = page.locator(`li.step.status-${status} > details > summary .mark`)
          // No text for a font to draw (or to miss, as `⏸` is missing from common fonts)...
          expect(await mark.evaluate((el) => el.textContent!.trim()), status).toBe("")
          expect(await mark.getAttribute("aria-label"), status).toBe(status)
          // ...but shapes of its own, painted in a visible colour.
          const icon = mark.locator("svg.icon")
          const box = await icon.boundingBox()
          expect(box!.width, status).toBeGreaterThanOrEqual(10)
          expect(box!.height, status).toBeGreaterThanOrEqual(10)
          const painted = await icon.evaluate((svg) =>
            Array.from(svg.querySelectorAll("path, rect")).map((shape) => {
              const style = getComputedStyle(shape)
              const b = (shape as SVGGraphicsElement).getBBox()
              return { fill: style.fill, stroke: style.stroke, area: b.width * b.height + b.width + b.height }
            })
          )
          expect(painted.length, status).toBeGreaterThan(0)
          for (const p of painted) {
            expect(p.area, status).toBeGreaterThan(0)
            expect([p.fill, p.stroke].some((c) => c !== "none" && c !== "rgba(0, 0, 0, 0)"), status).toBe(true)
          }
        }
      })
    }), 60_000)

  it.scopedLive("the payload in the order it was sent, on the leash page and in its Modify form", () =>
    Effect.gen(function*() {
      const { page, problems, s } = yield* signedIn(browser)
      // Keys in anything but alphabetical order, at every level.
      const payload = {
        customer: "cus_42",
        amount_usd: 250,
        lines: [{ sku: "plan-pro", qty: 1, note: "annual" }],
        description: "Invoice INV-2050",
        currency: "usd"
      }
      const leash = leashRequest({ payload })
      yield* s.agent.post("/v1/leashes", { body: leash })
      const sent = JSON.stringify(payload, null, 2)
      yield* run(async () => {
        await page.goto(`${s.url}/leashes/${leash.leash_id}`)
        expect(await page.locator(".leash-page > pre.json").innerText()).toBe(sent)
        await page.locator("details.modify > summary").click()
        expect(await page.locator("textarea[name=modified_payload]").inputValue()).toBe(sent)
      })
      expect(problems).toStrictEqual([])
    }), 60_000)

  it.scopedLive("a modified decision shows what changed, then the whole payload the agent was told to use", () =>
    Effect.gen(function*() {
      const { page, problems, s } = yield* signedIn(browser)
      const payload = {
        amount_usd: 250,
        currency: "usd",
        customer: "cus_42",
        lines: [{ note: "annual", qty: 1, sku: "plan-pro" }]
      }
      const leash = leashRequest({ payload })
      yield* s.agent.post("/v1/leashes", { body: leash })
      const edited = {
        amount_usd: 200,
        currency: "usd",
        customer: "cus_42",
        lines: [{ note: "annual", qty: 1, sku: "plan-pro" }, { note: "added", qty: 1, sku: "support" }],
        cap: "finance"
      }
      yield* run(async () => {
        await page.goto(`${s.url}/leashes/${leash.leash_id}`)
        await page.locator("details.modify > summary").click()
        await page.locator("textarea[name=modified_payload]").fill(JSON.stringify(edited, null, 2))
        await page.locator("form[data-modify] input[name=reason]").fill("cap at $200")
        await page.locator("button.modify-submit").click()
        await page.waitForURL(/decided=1/)

        const rows = page.locator("table[data-diff] tbody tr")
        const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim())
        expect(texts).toStrictEqual([
          "amount_usd 250 200",
          `lines[1] (not there: added) { "note": "added", "qty": 1, "sku": "support" }`,
          `cap (not there: added) "finance"`
        ])
        expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.className))).toStrictEqual([
          "change change-changed",
          "change change-added",
          "change change-added"
        ])
        expect(await rows.first().isVisible()).toBe(true)
        // The whole modified payload is there too, in the order the reviewer wrote it.
        expect(await page.locator("pre[data-modified-payload]").textContent()).toBe(JSON.stringify(edited, null, 2))
      })
      expect(problems).toStrictEqual([])
    }), 60_000)

  it.scopedLive("Modify on the leash page starts from the whole payload; values an SDK or a card cut are said plainly, never offered", () =>
    Effect.gen(function*() {
      const { page, problems, s } = yield* signedIn(browser)
      // A payload with a 100 KiB string (whole: v1.1 SDKs never cut one) and a long risk signal.
      const big = "x".repeat(100 * 1024)
      const longSignal = `refund of ${"r".repeat(400)}`
      const whole = leashRequest({ payload: { body: big, to: "all" }, risk_signals: { amount_usd: 5, reason_text: longSignal } })
      // What an SDK before v1.1 sent: a string cut to its marker.
      const cut = leashRequest({
        payload: { body: `${"y".repeat(32_768)}…[truncated: 40000 bytes, limit 32768]`, to: "all" }
      })
      yield* s.agent.post("/v1/leashes", { body: whole })
      yield* s.agent.post("/v1/leashes", { body: cut })
      yield* run(async () => {
        await page.goto(`${s.url}/`)
        // The queue card cuts the long signal, and says so on the chip.
        const card = page.locator(`[data-leash-id="${whole.leash_id}"]`)
        const chip = card.locator(".signal", { hasText: "reason_text" })
        expect(await chip.locator("[data-cut]").innerText()).toContain("the leash page shows it whole")

        await page.goto(`${s.url}/leashes/${whole.leash_id}`)
        expect(await page.locator(".signal", { hasText: "reason_text" }).locator(".v").innerText()).toBe(longSignal)
        expect(await page.locator(".leash-page [data-cut]").count()).toBe(0)
        expect(await page.locator("[data-sdk-cut]").count()).toBe(0)
        expect(await page.locator("[data-payload-whole]").innerText()).toContain("whole")
        await page.locator("details.modify > summary").click()
        const area = page.locator("textarea[name=modified_payload]")
        expect(JSON.parse(await area.inputValue())).toStrictEqual({ body: big, to: "all" })

        await page.goto(`${s.url}/leashes/${cut.leash_id}`)
        const notice = page.locator("[data-sdk-cut]")
        expect(await notice.isVisible()).toBe(true)
        expect(await notice.innerText()).toContain("body")
        expect(await notice.innerText()).toContain("you are not seeing all of it")
        expect(await page.locator("[data-payload-whole]").innerText()).not.toContain("whole")
        await page.locator("details.modify > summary").click()
        expect(await page.locator("textarea[name=modified_payload]").inputValue()).toBe("")
      })
      expect(problems).toStrictEqual([])
    }), 90_000)
})
