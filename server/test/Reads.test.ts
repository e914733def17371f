/**
 * Contract v1.1: every reviewer read is bounded by its page. A list answers at most 100 items
 * (a larger `limit` is clamped), pages are walked with `next_cursor` (absent on the last page),
 * a pending leash is a bounded summary (a payload preview of at most 4 KiB, the payload's full
 * size, whether the preview is cut), a trail's steps are paged, the whole payload is read only
 * from the leash itself, and each trail filter is served by an index.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Path from "node:path"
import * as Database from "../src/Database.js"
import { trailListSql } from "../src/Store.js"
import { at, type Client, leashRequest, startServer, stepRecord, tempDir, trailRecord, uuid } from "./helpers.js"
import { backend } from "./postgres.js"

/** `[{},{},…]` of about `bytes` bytes of JSON: the shape that crashed the server (issue 12). */
const emptyObjects = (bytes: number): Array<object> => new Array(Math.floor((bytes - 1) / 3)).fill({})

/** Every item of a list, walked page by page with `next_cursor`; the pages' sizes too. */
const walk = (client: Client, path: string, key: string) =>
  Effect.gen(function*() {
    const items: Array<any> = []
    const sizes: Array<number> = []
    let cursor: string | undefined
    for (let pages = 0; pages < 1000; pages++) {
      const sep = path.includes("?") ? "&" : "?"
      const answer = yield* client.get(cursor === undefined ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`)
      expect(answer.status).toBe(200)
      items.push(...answer.body[key])
      sizes.push(answer.body[key].length)
      cursor = answer.body.next_cursor
      if (cursor === undefined) return { items, sizes }
    }
    throw new Error("the cursor never ended")
  })

describe("GET /v1/leashes (v1.1 pages and previews)", () => {
  it.scopedLive("a pending list of leashes with huge payloads answers bounded items: a 4 KiB preview, the full size, cut", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const payloads = [emptyObjects(250_000), emptyObjects(200_000), { text: "é".repeat(3_000) }, { small: [1, 2, 3] }]
      const sent = payloads.map((payload) => leashRequest({ payload }))
      for (const l of sent) expect((yield* s.agent.post("/v1/leashes", { body: l })).status).toBe(200)
      const list = yield* s.reviewer.get("/v1/leashes")
      expect(list.status).toBe(200)
      // The whole answer is a few KiB for payloads of nearly 0.5 MB in all.
      expect(list.text.length).toBeLessThan(4 * 6 * 1024)
      const byId = new Map(list.body.leashes.map((l: any) => [l.leash_id, l]))
      for (const l of sent) {
        const item: any = byId.get(l.leash_id)
        const json = JSON.stringify(l.payload)
        const bytes = Buffer.byteLength(json)
        expect(JSON.stringify(item).length).toBeLessThan(6 * 1024)
        expect(item.request).not.toHaveProperty("payload")
        expect(item.request).toMatchObject({ action_name: l.action_name, risk_signals: l.risk_signals })
        expect(item.payload_preview.bytes).toBe(bytes)
        expect(item.payload_preview.cut).toBe(bytes > 4096)
        expect(Buffer.byteLength(item.payload_preview.text)).toBeLessThanOrEqual(4096)
        // The preview is the payload's start as sent, cut on a character boundary.
        expect(json.startsWith(item.payload_preview.text)).toBe(true)
        if (bytes <= 4096) expect(item.payload_preview.text).toBe(json)
      }
    }))

  it.scopedLive("the whole request is read from the leash itself, by a reviewer only, as the agent sent it (key order too)", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const payload = { zeta: 1, alpha: { z: [3, 2, 1], a: "x" }, rows: emptyObjects(100_000) }
      const l = leashRequest({ payload })
      yield* s.agent.post("/v1/leashes", { body: l })
      const asReviewer = yield* s.reviewer.get(`/v1/leashes/${l.leash_id}`)
      expect(asReviewer.status).toBe(200)
      expect(asReviewer.body.status).toBe("pending")
      expect(asReviewer.body.request).toStrictEqual(l)
      expect(JSON.stringify(asReviewer.body.request.payload)).toBe(JSON.stringify(payload))
      const asAgent = yield* s.agent.get(`/v1/leashes/${l.leash_id}`)
      expect(asAgent.body).not.toHaveProperty("request")
      yield* s.reviewer.post(`/v1/leashes/${l.leash_id}/decision`, { body: { decision: "approved", reason: "ok" } })
      const decided = yield* s.reviewer.get(`/v1/leashes/${l.leash_id}`)
      expect(decided.body.status).toBe("decided")
      expect(decided.body.request.payload.alpha).toStrictEqual(payload.alpha)
    }))

  it.scopedLive("cursors walk every pending leash exactly once, closest deadline first; a limit above 100 is clamped to 100", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      // Deadlines with ties (the same timeout sent in the same millisecond is likely, not certain).
      const sent = Array.from({ length: 230 }, (_, i) => leashRequest({ timeout_seconds: 300 + (i % 7) }))
      for (const l of sent) yield* s.agent.post("/v1/leashes", { body: l })
      const clamped = yield* s.reviewer.get("/v1/leashes?limit=1000")
      expect(clamped.status).toBe(200)
      expect(clamped.body.leashes).toHaveLength(100)
      expect(typeof clamped.body.next_cursor).toBe("string")
      for (const limit of [100, 7]) {
        const { items, sizes } = yield* walk(s.reviewer, `/v1/leashes?limit=${limit}`, "leashes")
        expect(sizes.slice(0, -1).every((n) => n === limit)).toBe(true)
        const ids = items.map((l) => l.leash_id)
        expect(new Set(ids).size).toBe(230)
        expect([...ids].sort()).toStrictEqual(sent.map((l) => l.leash_id).sort())
        const keys = items.map((l) => [Date.parse(l.expires_at), l.leash_id] as const)
        const sorted = [...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1))
        expect(keys).toStrictEqual(sorted)
      }
      const bad = yield* s.reviewer.get("/v1/leashes?cursor=not-a-cursor")
      expect(bad.status).toBe(400)
      expect(bad.body.error.message).toContain("cursor")
    }))
})

describe("GET /v1/trails (v1.1 pages and filters)", () => {
  const rules = { sensitive: ["stripe.*"], rules: [] }

  /** 150 trails: 3 agents, 4 statuses, 2 triggers, tags, a flag on every fifth; some start at the same instant. */
  const seed = () => {
    const trails = Array.from({ length: 150 }, (_, i) =>
      trailRecord({
        agent: ["billing-bot", "mail-bot", "ops-bot"][i % 3],
        trigger: i % 2 === 0 ? "cron" : "user_message",
        status: ["running", "ok", "error", "interrupted"][i % 4],
        started_at: at(Math.floor(i / 2) * 60_000),
        ...(i % 4 === 0 ? {} : { ended_at: at(Math.floor(i / 2) * 60_000 + 1000) }),
        ...(i % 3 === 0 ? { tags: { env: i % 2 === 0 ? "prod" : "dev", team: "pay" } } : {})
      }))
    const steps = trails.flatMap((t, i) => i % 5 === 0 ? [stepRecord(t.id, 1, "stripe.refund")] : [])
    return { trails, steps }
  }

  it.scopedLive("pages walk every trail once, newest first, and every filter (with paging) answers exactly its trails", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const { steps, trails } = seed()
      expect((yield* s.agent.post("/v1/ingest", { body: { trails, steps } })).status).toBe(202)
      const all = yield* walk(s.reviewer, "/v1/trails", "trails")
      expect(all.sizes).toStrictEqual([100, 50])
      expect(new Set(all.items.map((t) => t.id)).size).toBe(150)
      const starts = all.items.map((t) => t.started_at)
      expect(starts).toStrictEqual([...starts].sort().reverse())
      expect((yield* s.reviewer.get("/v1/trails?limit=500")).body.trails).toHaveLength(100)

      const flagged = new Set(steps.map((st) => st.trail_id))
      const cases: ReadonlyArray<readonly [string, (t: any) => boolean]> = [
        ["agent=mail-bot", (t) => t.agent === "mail-bot"],
        ["status=error", (t) => t.status === "error"],
        ["trigger=cron", (t) => t.trigger === "cron"],
        ["flagged=true", (t) => flagged.has(t.id)],
        ["flagged=false", (t) => !flagged.has(t.id)],
        ["tag=env", (t) => t.tags?.env !== undefined],
        ["tag=env:prod", (t) => t.tags?.env === "prod"],
        [`from=${at(10 * 60_000)}&to=${at(20 * 60_000)}`, (t) => t.started_at >= at(10 * 60_000) && t.started_at < at(20 * 60_000)],
        ["agent=billing-bot&flagged=true&trigger=cron", (t) => t.agent === "billing-bot" && flagged.has(t.id) && t.trigger === "cron"],
        ["tag=team:pay&status=running", (t) => t.tags?.team === "pay" && t.status === "running"]
      ]
      for (const [query, keep] of cases) {
        const { items } = yield* walk(s.reviewer, `/v1/trails?${query}&limit=9`, "trails")
        const expected = trails.filter(keep).map((t) => t.id).sort()
        expect(expected.length, query).toBeGreaterThan(0)
        expect(items.map((t) => t.id).sort(), query).toStrictEqual(expected)
        expect(new Set(items.map((t) => t.id)).size, query).toBe(items.length)
      }
      const bad = yield* s.reviewer.get("/v1/trails?status=sleeping")
      expect(bad.status).toBe(400)
      expect(bad.body.error.message).toContain("status")
    }))

  // SQLite's plans (EXPLAIN QUERY PLAN of its file): not a question for PostgreSQL's planner
  it.scopedLive.skipIf(backend === "postgres")("each filter is served by an index: the plan names one and never sorts the rows", () =>
    Effect.gen(function*() {
      const path = Path.join(yield* tempDir, "plans.db")
      const plans = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const out: Array<readonly [string, string, string]> = []
        // Each filter with the index that must serve it (a search on the filter's column).
        const queries: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
          [{}, "trails_listed"],
          [{ cursor: ["2026-11-24T09:00:00.000Z", uuid()] }, "trails_listed ((sort_key,id)<(?,?))"],
          [{ agent: "a" }, "trails_by_agent (agent=?)"],
          [{ status: "ok" }, "trails_by_status (status=?)"],
          [{ trigger: "cron" }, "trails_by_trigger (trail_trigger=?)"],
          [{ flagged: true }, "trails_flagged"],
          [{ flagged: false }, "trails_unflagged"],
          [{ tag: { key: "env" } }, "trail_tags_by_key (key=?)"],
          [{ tag: { key: "env", value: "prod" } }, "trail_tags_by_value (key=? AND value=?)"],
          [{ from: new Date(0), to: new Date() }, "trails_listed (sort_key>? AND sort_key<?)"],
          [{ agent: "a", flagged: true, from: new Date(0), cursor: ["x", "y"] }, "trails_by_agent (agent=?"]
        ]
        for (const [q, index] of queries) {
          const { params, text } = trailListSql({ limit: 100, ...q } as never)
          const rows = yield* sql.unsafe<{ detail: string }>(`EXPLAIN QUERY PLAN ${text}`, params as Array<unknown>)
          out.push([JSON.stringify(q), index, rows.map((r) => r.detail).join(" | ")])
        }
        return out
      }).pipe(Effect.provide(Database.layer(path)))
      for (const [query, index, plan] of plans) {
        expect(plan, query).toContain(`INDEX ${index}`)
        expect(plan, query).not.toContain("TEMP B-TREE")
      }
    }))
})

describe("GET /v1/trails/{id} and GET /v1/flags (v1.1 pages)", () => {
  const rules = { sensitive: ["stripe.*"], rules: [] }

  it.scopedLive("a trail's steps are paged: every step once in seq order, with the trail's counts and the page's flags", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const trail = trailRecord({ status: "ok", ended_at: at(1_000_000) })
      const steps = Array.from({ length: 250 }, (_, i) => stepRecord(trail.id, i + 1, i % 10 === 0 ? "stripe.refund" : "plan"))
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps } })
      const first = yield* s.reviewer.get(`/v1/trails/${trail.id}?limit=1000`)
      expect(first.body.steps).toHaveLength(100)
      expect(first.body.step_count).toBe(250)
      expect(first.body.flag_count).toBe(25)
      expect(first.body.trail.id).toBe(trail.id)
      // The page's flags only: the steps #1, #11, … #91.
      expect(first.body.flags.map((f: any) => f.seq)).toStrictEqual([1, 11, 21, 31, 41, 51, 61, 71, 81, 91])
      const { items, sizes } = yield* walk(s.reviewer, `/v1/trails/${trail.id}?limit=100`, "steps")
      expect(sizes).toStrictEqual([100, 100, 50])
      expect(items.map((st) => st.seq)).toStrictEqual(steps.map((st) => st.seq))
    }))

  it.scopedLive("a page of large step records holds at most 1 MiB of them past the first; the cursor walks the rest", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const trail = trailRecord()
      const steps = Array.from({ length: 20 }, (_, i) => stepRecord(trail.id, i + 1, "read", { input: { text: "y".repeat(200_000) } }))
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: steps.slice(0, 10) } })
      yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: steps.slice(10) } })
      const first = yield* s.reviewer.get(`/v1/trails/${trail.id}`)
      expect(first.body.steps.length).toBeGreaterThan(1)
      expect(first.text.length).toBeLessThan(1024 * 1024 + 300_000)
      expect(first.body.steps[0].input.text).toHaveLength(200_000)
      const { items } = yield* walk(s.reviewer, `/v1/trails/${trail.id}`, "steps")
      expect(items.map((st) => st.seq)).toStrictEqual(steps.map((st) => st.seq))
    }))

  it.scopedLive("GET /v1/flags walks every trail's flags exactly once: the newest trail first, seq order within a trail", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const trails = Array.from({ length: 12 }, (_, i) => trailRecord({ started_at: at(i * 1000) }))
      const steps = trails.flatMap((t, i) => Array.from({ length: 1 + (i % 4) }, (_, j) => stepRecord(t.id, j + 1, "stripe.charge")))
      yield* s.agent.post("/v1/ingest", { body: { trails, steps } })
      const expected = [...trails].reverse().flatMap((t) =>
        steps.filter((st) => st.trail_id === t.id).map((st) => `${t.id}#${st.seq}`)
      )
      for (const limit of [3, 100]) {
        const { items } = yield* walk(s.reviewer, `/v1/flags?limit=${limit}`, "flags")
        expect(items.map((f) => `${f.trail_id}#${f.seq}`)).toStrictEqual(expected)
      }
      const one = trails[7]!
      const { items } = yield* walk(s.reviewer, `/v1/flags?trail_id=${one.id}&limit=1`, "flags")
      expect(items.map((f) => f.seq)).toStrictEqual([1, 2, 3, 4])
    }))
})
