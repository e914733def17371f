/**
 * What the dashboard's pages show: the queue (pending leashes with action, summary, signals and
 * payload), a leash's page (the SDK's trace_link), a trail's steps as a tree with layer,
 * duration, cost, tokens, events, input and output, review steps with who decided and when,
 * flags on the trail and in the flags view. Every agent-supplied string is text.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as Wire from "houndsight/wire"
import * as Format from "../../src/dashboard/Format.js"
import * as Html from "../../src/dashboard/Html.js"
import * as LeashViews from "../../src/dashboard/LeashViews.js"
import * as StepTree from "../../src/dashboard/StepTree.js"
import { at, leashRequest, reviewStep, startServer, stepRecord, trailRecord, uuid } from "../helpers.js"
import { reviewerName, signIn } from "./helpers.js"

const hostile = {
  script: "<script>window.__pwned = 1</script>",
  img: `<img src=x onerror="window.__pwned = 2">`,
  link: "javascript:window.__pwned = 3",
  quote: `" autofocus onfocus="window.__pwned = 4`
}

/** The page must hold none of the hostile strings as markup, and show each of `shown` as text. */
const expectInert = (page: string, shown: ReadonlyArray<string> = Object.values(hostile)) => {
  for (const raw of Object.values(hostile)) {
    if (raw.includes("<") || raw.includes("\"")) expect(page).not.toContain(raw)
  }
  for (const raw of shown) {
    expect(page).toContain(Html.escape(raw))
  }
  expect(page).not.toMatch(/href="javascript:/i)
  expect(page).not.toMatch(/<img src=x/i)
}

describe("the queue and a leash's page", () => {
  it.scopedLive("a pending leash shows its action, agent, summary, risk signals and payload, all as text", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const leash = leashRequest({
        action_name: "stripe.charge",
        agent: "billing-bot",
        action_summary: `Charge cus_42 ${hostile.img}`,
        risk_signals: { amount_usd: 1250.5, data_categories: ["payment", "pii"], note: hostile.quote },
        payload: { customer: "cus_42", memo: hostile.script, link: hostile.link }
      })
      yield* s.agent.post("/v1/leashes", { body: leash })
      const queue = yield* tab.get("/")
      expect(queue.status).toBe(200)
      const card = queue.text.slice(queue.text.indexOf(`data-leash-id="${leash.leash_id}"`))
      expect(card).toContain("stripe.charge")
      expect(card).toContain("billing-bot")
      expect(card).toContain("$1,250.50")
      expect(card).toContain("payment, pii")
      expect(card).toContain("&quot;customer&quot;: &quot;cus_42&quot;")
      expect(card).toContain(`action="/leashes/${leash.leash_id}/decision"`)
      expectInert(queue.text)
    }))

  it.scopedLive("the trace_link opens the leash's page, which shows the decision, who made it and when", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab } = yield* signIn(s)
      const leash = leashRequest({ payload: { memo: hostile.script }, action_summary: hostile.img })
      const created = yield* s.agent.post("/v1/leashes", { body: leash })
      const path = new URL(created.body.trace_link).pathname
      expect(path).toBe(`/leashes/${leash.leash_id}`)
      const pending = yield* tab.get(path)
      expect(pending.status).toBe(200)
      expect(pending.text).toContain("waiting for a decision")
      expect(pending.text).toContain(`/trails/${leash.trail_id}`)
      expectInert(pending.text, [hostile.script, hostile.img])

      yield* tab.post(`${path}/decision`, { csrf, decision: "rejected", reason: `too much ${hostile.quote}` })
      const decided = yield* tab.get(path)
      expect(decided.text).toContain(`>rejected<`)
      expect(decided.text).toContain(`by ${reviewerName(s)}`)
      expect(decided.text).toContain(Html.escape(`too much ${hostile.quote}`))
      expect(decided.text).toMatch(/<time datetime="\d{4}-\d\d-\d\dT/)
      expect(decided.text).not.toContain("name=\"decision\"")
      expectInert(decided.text, [hostile.script, hostile.img])
    }))

  it.scopedLive("a leash blocked by a floor rule says so, without a reviewer", () =>
    Effect.gen(function*() {
      const s = yield* startServer({
        rulesFile: {
          sensitive: [],
          rules: [{ action: "stripe.*", reason: "over the limit", when: [{ signal: "amount_usd", op: ">", value: 100 }] }]
        }
      })
      const { tab } = yield* signIn(s)
      const leash = leashRequest({ risk_signals: { amount_usd: 5000 } })
      yield* s.agent.post("/v1/leashes", { body: leash })
      const page = yield* tab.get(`/leashes/${leash.leash_id}`)
      expect(page.text).toContain(">blocked<")
      expect(page.text).toContain("by a floor rule")
      expect(page.text).toContain("over the limit")
      const queue = yield* tab.get("/")
      expect(queue.text).not.toContain(`data-leash-id="${leash.leash_id}"`)
      expect(queue.text).toContain("Recent decisions")
      expect(queue.text).toContain("a floor rule")
    }))
})

describe("a trail's page", () => {
  it.scopedLive("steps as a tree with layer, duration, cost, tokens, events, input and output; review with who decided; flags", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab } = yield* signIn(s)
      const trailId = uuid()
      // A real leash, decided in the dashboard, whose review step the agent then records.
      const leash = leashRequest({ trail_id: trailId })
      yield* s.agent.post("/v1/leashes", { body: leash })
      yield* tab.post(`/leashes/${leash.leash_id}/decision`, { csrf, decision: "rejected", reason: "not today" })

      const plan = stepRecord(trailId, 1, "plan_charge", {
        layer: "plan",
        cost_usd: 0.0042,
        tokens: { input: 1200, output: 300 },
        input: { ask: hostile.script },
        output: { steps: ["look up", "charge"] },
        events: [{ name: "cache_hit", at: at(1100), attributes: { key: hostile.img } }]
      })
      const lookup = stepRecord(trailId, 2, "crm.lookup", {
        layer: "retrieve",
        parent_id: plan.id,
        input: { customer: hostile.link }
      })
      const review = reviewStep(trailId, 3, "stripe.charge", "rejected", {
        output: {
          decision: "rejected",
          approved: false,
          reason: "not today",
          leash_id: leash.leash_id,
          trace_link: `${s.url}/leashes/${leash.leash_id}`
        },
        leash: { leash_id: leash.leash_id, action_name: "stripe.charge", decision: "rejected", approved: false, reason: "not today" }
      })
      const charge = stepRecord(trailId, 4, "stripe.charge", {
        status: "error",
        error: { type: "CardError", message: hostile.quote }
      })
      const trail = trailRecord({
        id: trailId,
        agent: "billing-bot",
        trigger: hostile.img,
        status: "ok",
        ended_at: at(5000),
        cost_usd: 0.0042,
        tokens: { input: 1200, output: 300 },
        output: "done",
        tags: { env: hostile.script, [hostile.quote]: "x".repeat(100) }
      })
      const ingest = yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [charge, review, lookup, plan] } })
      expect(ingest.status).toBe(202)

      const page = yield* tab.get(`/trails/${trailId}`)
      expect(page.status).toBe(200)
      const text = page.text
      // The tree: crm.lookup under plan_charge, then the review and the action at the top level.
      expect(text).toMatch(
        new RegExp(
          `id="step-${plan.id}"[\\s\\S]*<ol class="steps">[\\s\\S]*id="step-${lookup.id}"[\\s\\S]*</ol>[\\s\\S]*id="step-${review.id}"[\\s\\S]*id="step-${charge.id}"`
        )
      )
      for (const layer of ["plan", "retrieve", "review", "execute"]) expect(text).toContain(`class="layer layer-${layer}">${layer}<`)
      expect(text).toContain("500 ms") // each step's duration
      expect(text).toContain("$0.0042")
      expect(text).toContain("1,200 in · 300 out")
      expect(text).toContain("cache_hit")
      expect(text).toContain("&quot;look up&quot;")
      // The review step: the decision, who decided and when.
      expect(text).toContain(`by <strong>${reviewerName(s)}</strong>`)
      expect(text).toContain("“not today”")
      expect(text).toContain(`href="/leashes/${leash.leash_id}"`)
      // The flag: on the trail, and on the step.
      expect(text).toContain("1 flag: this agent went around the gate")
      expect(text).toContain(`href="#step-${charge.id}"`)
      expect(text).toMatch(new RegExp(`class="step layer-execute status-error flagged" id="step-${charge.id}"`))
      expect(text).toContain("ignored decision")
      expect(text).toContain("CardError")
      expectInert(text)

      const flags = yield* tab.get("/flags")
      expect(flags.text).toContain(`href="/trails/${trailId}#step-${charge.id}"`)
      expect(flags.text).toContain("ignored decision")
      expect(flags.text).toContain(`href="/trails/${trailId}#step-${review.id}"`)
      expect(flags.text).toContain(Html.escape(`billing-bot · ${hostile.img}`))
      expect(flags.text).not.toContain(hostile.img)

      const trails = yield* tab.get("/trails")
      expect(trails.text).toContain(`href="/trails/${trailId}"`)
      expect(trails.text).toMatch(/<tr class="flagged">/)
      expect(trails.text).not.toContain(hostile.img)
      expectInert(trails.text, [hostile.script])
    }))

  it.scopedLive("a trail whose own record has not arrived shows its steps; an unknown trail's page says the server holds no record of it", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trailId = uuid()
      yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [stepRecord(trailId, 1, "early")] } })
      const early = yield* tab.get(`/trails/${trailId}`)
      expect(early.status).toBe(200)
      expect(early.text).toContain("has not arrived yet")
      expect(early.text).toContain("early")
      const unknown = yield* tab.get(`/trails/${uuid()}`)
      expect(unknown.status).toBe(200)
      expect(unknown.text).toContain("holds no record of trail")
      expect((yield* tab.get("/trails/not-a-uuid")).status).toBe(404)
    }))

  it.scopedLive("a step value its SDK cut says so above the block, with the paths of the cut values", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trailId = uuid()
      const cutText = `${"z".repeat(200)}…[truncated: 40000 bytes, limit 32768]`
      const cut = stepRecord(trailId, 1, "fetch_page", {
        input: { url: "https://example.com" },
        output: { html: cutText, parts: ["ok", "[Truncated: nested deeper than 64]"] }
      })
      const whole = stepRecord(trailId, 2, "summarise", { output: { text: "short" } })
      yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [cut, whole] } })
      const page = yield* tab.get(`/trails/${trailId}`)
      const of = (id: string) => {
        const from = page.text.indexOf(`id="step-${id}"`)
        return page.text.slice(from, page.text.indexOf("</details>", from))
      }
      expect(of(cut.id)).toMatch(/<h4>Output<\/h4><p class="notice small" data-sdk-cut>Cut by the agent's SDK before sending: 2 values \(html, parts\[1\]\)/)
      expect(of(cut.id).match(/data-sdk-cut/g)).toHaveLength(1)
      expect(of(whole.id)).not.toContain("data-sdk-cut")
    }))

  it.scopedLive("with no flags, the flags view says every sensitive action kept to the gate", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const page = yield* tab.get("/flags")
      expect(page.text).toContain("No flags")
    }))
})

describe("the step tree", () => {
  const step = (seq: number, parentId: string | null, id = uuid()): Wire.StepRecord =>
    Wire.StepRecord.make({
      id,
      trailId: "0b7c2a9e-5d1f-4c3e-9a8b-7f6e5d4c3b2a",
      parentId,
      seq,
      name: `s${seq}`,
      layer: "execute",
      status: "ok",
      startedAt: new Date(0),
      endedAt: new Date(1),
      events: []
    })

  it("children sit under their parent in seq order, whatever order steps arrived in; orphans stay at the top", () => {
    const root = step(1, null)
    const a = step(2, root.id)
    const b = step(4, root.id)
    const grandchild = step(3, a.id)
    const orphan = step(5, uuid())
    const rows = StepTree.layout([orphan, b, grandchild, a, root])
    expect(rows.map((r) => [r.step.name, r.depth])).toStrictEqual([["s1", 0], ["s2", 1], ["s3", 2], ["s4", 1], ["s5", 0]])
    expect(rows.map((r) => r.missingParent)).toStrictEqual([undefined, undefined, undefined, undefined, orphan.parentId])
  })
})

describe("the modify form", () => {
  const leashId = "0b7c2a9e-5d1f-4c3e-9a8b-7f6e5d4c3b2a"

  it("starts from the whole payload; from nothing when the payload holds values its SDK cut; a cut preview only links to the leash page", () => {
    const whole = Html.render(LeashViews.decisionForms(leashId, LeashViews.wholeBase({ b: 1, a: "<x>" }), "t", "leash"))
    expect(whole).toContain(`<textarea name="modified_payload"`)
    expect(whole).toContain(Html.escape(JSON.stringify({ b: 1, a: "<x>" }, null, 2)) + "</textarea>")

    const cut = LeashViews.wholeBase({ body: "abc…[truncated: 40000 bytes, limit 32768]" })
    expect(cut).toStrictEqual({ _tag: "Blank" })
    const blank = Html.render(LeashViews.decisionForms(leashId, cut, "t", "leash"))
    expect(blank).toMatch(/<textarea name="modified_payload"[^>]*><\/textarea>/)
    expect(blank).not.toContain("truncated")

    const preview = Html.render(LeashViews.decisionForms(leashId, { _tag: "OnLeashPage" }, "t", "queue"))
    expect(preview).not.toContain("<textarea")
    expect(preview).not.toContain("data-modify>")
    expect(preview).toContain(`href="/leashes/${leashId}"`)
    expect(preview).toContain("cut preview")
    // Approve and reject stay.
    expect(preview).toContain(`value="approved"`)
  })
})

describe("sizes", () => {
  it("a payload's size reads the same on its card in the queue and on its leash page", () => {
    const wire = leashRequest({ payload: { note: "é".repeat(300) } })
    const request = Schema.decodeUnknownSync(Wire.LeashRequest)(wire)
    const text = JSON.stringify(request.payload)
    const bytes = Wire.jsonBytes(request.payload)
    const { payload: _payload, ...summary } = request
    const times = { createdAt: new Date(0), expiresAt: new Date(300_000) }
    const card = Html.render(
      LeashViews.pendingCard({ leashId: request.leashId, request: summary, preview: { text, bytes, cut: false }, ...times }, "t", "queue")
    )
    const page = Html.render(
      LeashViews.leashPage({ leashId: request.leashId, request, decision: undefined, csrf: "t", ...times })
    )
    // under 1 KiB, a count of bytes; the same words in both places
    expect(bytes).toBeLessThan(1024)
    expect(card).toContain(`<span class="small muted">${Format.bytes(bytes)}</span>`)
    expect(page).toContain(`· ${Format.bytes(bytes)}</span>`)
    expect(Format.bytes(bytes)).toBe(`${bytes} B`)
    expect(Format.bytes(4096)).toBe("4.0 KiB")
    expect(Format.bytes(1.5 * 1024 * 1024)).toBe("1.5 MiB")
  })
})
