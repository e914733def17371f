/**
 * The dashboard's reads are bounded by their page (contract v1.1): a queue card renders its
 * payload's preview once and says plainly when it is cut (with the full size and a link to the
 * leash page, the only page that reads the whole payload); a trail's page pages its steps (a
 * step whose parent is on another page says where it is, and the tiles count the whole trail);
 * the trails list is paged and filtered, with its filters kept in the URL; the page of a trail
 * the server holds no record of says so and lists the leashes it holds for it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Html from "../../src/dashboard/Html.js"
import { at, leashRequest, reviewStep, startServer, stepRecord, trailRecord, uuid } from "../helpers.js"
import { type Page, signIn } from "./helpers.js"

const count = (text: string, part: string): number => text.split(part).length - 1

/** An attribute's text as the browser reads it (the page escapes `&`, quotes and brackets). */
const attribute = (text: string): string =>
  text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) =>
    ({ amp: "&", lt: "<", gt: ">", quot: "\"", "#39": "'" })[name]!)

describe("the queue's cards", () => {
  it.scopedLive("a card renders its payload once, from the preview, and says when the preview is cut", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const rows = Array.from({ length: 6_000 }, (_, i) => ({ id: `row-${i}`, note: "ünïcode" }))
      const big = leashRequest({ action_name: "bulk.export", payload: { rows } })
      const small = leashRequest({ action_name: "stripe.charge", payload: { customer: "cus_small_marker" } })
      for (const l of [big, small]) yield* s.agent.post("/v1/leashes", { body: l })
      const bytes = Buffer.byteLength(JSON.stringify(big.payload))
      expect(bytes).toBeGreaterThan(200_000)

      const queue = yield* tab.get("/")
      expect(queue.status).toBe(200)
      // The page holds the preview, not the payload of more than 200 KB.
      expect(queue.text.length).toBeLessThan(60_000)
      expect(queue.text).toContain(Html.escape("row-0"))
      expect(queue.text).not.toContain(Html.escape("row-5999"))
      const bigCard = queue.text.slice(queue.text.indexOf(`id="leash-${big.leash_id}"`))
        .split("</article>")[0]!
      expect(bigCard).toContain("data-preview-cut")
      expect(bigCard).toContain("Preview cut")
      expect(bigCard).toContain(`${(bytes / 1024).toFixed(1)} KiB`)
      expect(bigCard).toContain(`href="/leashes/${big.leash_id}"`)
      // A cut value is never the base of a modification: the card links to the leash page instead.
      expect(bigCard).not.toContain("modified_payload")
      expect(bigCard).toContain("modify it on the leash page")
      expect(count(bigCard, Html.escape("row-0"))).toBe(1)

      const smallCard = queue.text.slice(queue.text.indexOf(`id="leash-${small.leash_id}"`))
        .split("</article>")[0]!
      expect(smallCard).not.toContain("data-preview-cut")
      // Shown once, and once more as the editable base of a modification (the whole payload).
      expect(count(smallCard, "cus_small_marker")).toBe(2)
      expect(smallCard).toContain("modified_payload")

      // The leash page reads the whole payload.
      const page = yield* tab.get(`/leashes/${big.leash_id}`)
      expect(page.status).toBe(200)
      expect(page.text).toContain(Html.escape("row-5999"))
    }))

  it.scopedLive("the queue is paged: more than 100 waiting leashes give a next page with the rest", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const sent = Array.from({ length: 105 }, (_, i) => leashRequest({ timeout_seconds: 100 + i }))
      for (const l of sent) yield* s.agent.post("/v1/leashes", { body: l })
      const first = yield* tab.get("/")
      expect(count(first.text, `class="card leash"`)).toBe(100)
      const next = /href="(\/\?cursor=[^"]+)" rel="next"/.exec(first.text)?.[1]
      expect(next).toBeDefined()
      const second = yield* tab.get(attribute(next!))
      expect(count(second.text, `class="card leash"`)).toBe(5)
      for (const l of sent.slice(100)) expect(second.text).toContain(`id="leash-${l.leash_id}"`)
      expect(second.text).not.toContain("data-pending-list")
    }))
})

describe("trails on the dashboard", () => {
  it.scopedLive("a trail's page pages its steps, with a link to the next page", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trail = trailRecord({ status: "ok", ended_at: at(1_000_000) })
      const steps = Array.from({ length: 150 }, (_, i) => stepRecord(trail.id, i + 1, `step-name-${i + 1}-end`))
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps } })
      const first = yield* tab.get(`/trails/${trail.id}`)
      expect(first.status).toBe(200)
      expect(first.text).toContain("step-name-100-end")
      expect(first.text).not.toContain("step-name-101-end")
      expect(first.text).toContain("100 of 150")
      const next = /href="([^"]+)" rel="next"/.exec(first.text)?.[1]
      expect(next).toBeDefined()
      const second = yield* tab.get(attribute(next!))
      expect(second.status).toBe(200)
      expect(second.text).toContain("step-name-101-end")
      expect(second.text).toContain("step-name-150-end")
      expect(second.text).not.toContain("step-name-100-end")
      expect(second.text).not.toContain(`rel="next"`)
    }))

  it.scopedLive("a step whose parent is on another page of the steps is not shown as an orphan", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trail = trailRecord({ status: "ok", ended_at: at(1_000_000) })
      const steps = Array.from({ length: 150 }, (_, i) => stepRecord(trail.id, i + 1, `step-name-${i + 1}-end`))
      const parent = steps[0]!
      // Step 120 (on the second page) is a child of step 1 (on the first); step 121's parent never arrived.
      const child = { ...steps[119]!, parent_id: parent.id }
      const missing = uuid()
      const orphan = { ...steps[120]!, parent_id: missing }
      // Two leashes cited: one on each page; the tile counts the trail's, not the page's.
      const reviews = [reviewStep(trail.id, 50, "email.send", "rejected"), reviewStep(trail.id, 140, "email.send", "rejected")]
      const sent = [...steps.slice(0, 119), child, orphan, ...steps.slice(121)]
        .map((step) => reviews.find((r) => r.seq === step.seq) ?? step)
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: sent } })
      const first = yield* tab.get(`/trails/${trail.id}`)
      expect(first.text).toMatch(/data-stat="leashes"><span class="k">leashes<\/span> 2</)
      const next = /href="([^"]+)" rel="next"/.exec(first.text)?.[1]
      const second = yield* tab.get(attribute(next!))
      expect(second.status).toBe(200)
      const childRow = second.text.slice(second.text.indexOf(`id="step-${child.id}"`)).split("</details>")[0]!
      expect(childRow).toContain("data-parent-elsewhere")
      expect(childRow).toContain(`href="/trails/${trail.id}/steps/${parent.id}"`)
      expect(childRow).not.toContain("has not arrived")
      const orphanRow = second.text.slice(second.text.indexOf(`id="step-${orphan.id}"`)).split("</details>")[0]!
      expect(orphanRow).toContain(`Its parent step <code>${missing}</code> has not arrived`)
      expect(orphanRow).not.toContain("data-parent-elsewhere")
    }))

  it.scopedLive("the trails list is filtered and paged, the filters kept in the URL and in the form", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trails = Array.from({ length: 130 }, (_, i) =>
        trailRecord({ agent: i % 2 === 0 ? "even-bot" : "odd-bot", started_at: at(i * 1000), tags: { n: String(i) } }))
      yield* s.agent.post("/v1/ingest", { body: { trails, steps: [] } })
      const page = yield* tab.get("/trails?agent=even-bot&limit=20")
      expect(page.status).toBe(200)
      expect(count(page.text, ">even-bot</a>")).toBe(20)
      expect(page.text).not.toContain(">odd-bot</a>")
      expect(page.text).toContain(`name="agent" value="even-bot"`)
      const next = /href="([^"]+)" rel="next"/.exec(page.text)?.[1]
      expect(attribute(next!)).toContain("agent=even-bot")
      let seen = count(page.text, ">even-bot</a>")
      let link: string | undefined = attribute(next!)
      while (link !== undefined) {
        const more: Page = yield* tab.get(link)
        expect(more.text).not.toContain(">odd-bot</a>")
        seen += count(more.text, ">even-bot</a>")
        const n: string | undefined = /href="([^"]+)" rel="next"/.exec(more.text)?.[1]
        link = n === undefined ? undefined : attribute(n)
      }
      expect(seen).toBe(65)
      const tagged = yield* tab.get("/trails?tag=n:7")
      expect(count(tagged.text, `href="/trails/`)).toBe(1)
      const bad = yield* tab.get("/trails?from=yesterday")
      expect(bad.status).toBe(200)
      expect(bad.text).toContain("These filters cannot be read")
    }))

  it.scopedLive("the page of a trail the server holds no record of says so and lists the leashes it holds for that trail", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trailId = uuid()
      const leash = leashRequest({ trail_id: trailId, action_name: "orphan.action" })
      yield* s.agent.post("/v1/leashes", { body: leash })
      yield* s.agent.post("/v1/leashes", { body: leashRequest({ action_name: "other.trail" }) })
      const page = yield* tab.get(`/trails/${trailId}`)
      expect(page.status).toBe(200)
      expect(page.text).toContain(`holds no record of trail ${trailId}`)
      expect(page.text).toContain("orphan.action")
      expect(page.text).toContain(`href="/leashes/${leash.leash_id}"`)
      expect(page.text).not.toContain("other.trail")
      const empty = yield* tab.get(`/trails/${uuid()}`)
      expect(empty.status).toBe(200)
      expect(empty.text).toContain("no leash of this trail reached this server")
    }))
})
