/**
 * Deciding in the dashboard: a decision goes through the gate's compare-and-set, wakes the
 * agent's held long-poll at once and records the reviewer's name; a modified payload reaches
 * the agent; and a form that is not the reviewer's own (no token, another site, no session)
 * or that is wrong (JSON that does not parse, a rejection without a reason) changes nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber } from "effect"
import { Waiters } from "../../src/index.js"
import { leashRequest, type Running, startServer } from "../helpers.js"
import { reviewerName, signIn, tab } from "./helpers.js"

const pendingLeash = (s: Running, overrides: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const leash = leashRequest(overrides)
    const created = yield* s.agent.post("/v1/leashes", { body: leash })
    expect(created.status).toBe(200)
    expect(created.body.status).toBe("pending")
    return leash.leash_id
  })

const stateOf = (s: Running, leashId: string) => Effect.map(s.agent.get(`/v1/leashes/${leashId}`), (a) => a.body)

const heldPolls = (s: Running, n: number) =>
  Effect.gen(function*() {
    const waiters = Context.get(s.context, Waiters.Waiters)
    while ((yield* waiters.size) < n) yield* Effect.sleep("5 millis")
  })

describe("deciding in the dashboard", () => {
  it.scopedLive("approve: the agent's held long-poll wakes with the decision, decided_by names the reviewer key", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab: t } = yield* signIn(s)
      const id = yield* pendingLeash(s)
      const held = yield* Effect.fork(s.agent.get(`/v1/leashes/${id}?wait_seconds=30`))
      yield* heldPolls(s, 1)

      const answer = yield* t.post(`/leashes/${id}/decision`, { csrf, decision: "approved", reason: "", return: "queue" })
      expect(answer.status).toBe(303)
      expect(answer.location).toBe(`/?decided=${id}`)

      const woken = yield* Fiber.join(held).pipe(Effect.timeoutFail({
        duration: "20 seconds",
        onTimeout: () => new Error("the held long-poll was not woken by the dashboard's decision")
      }))
      expect(woken.status).toBe(200)
      expect(woken.body.decision).toMatchObject({
        decision: "approved",
        reason: "approved in the dashboard",
        decided_by: reviewerName(s)
      })
      const queue = yield* t.get(answer.location!)
      expect(queue.text).toContain("the agent has its answer")
      expect(queue.text).not.toContain(`data-leash-id="${id}"`)
    }))

  it.scopedLive("modify: the agent receives the payload the reviewer wrote", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab: t } = yield* signIn(s)
      const id = yield* pendingLeash(s)
      const answer = yield* t.post(`/leashes/${id}/decision`, {
        csrf,
        decision: "modified",
        modified_payload: `{ "customer": "cus_42", "amount_usd": 100, "note": "capped" }`,
        reason: "cap at $100",
        return: "leash"
      })
      expect(answer.status).toBe(303)
      expect(answer.location).toBe(`/leashes/${id}?decided=1`)
      expect((yield* stateOf(s, id)).decision).toMatchObject({
        decision: "modified",
        reason: "cap at $100",
        modified_payload: { customer: "cus_42", amount_usd: 100, note: "capped" }
      })
      const page = yield* t.get(answer.location!)
      expect(page.text).toContain("Decision recorded")
      expect(page.text).toContain("&quot;note&quot;: &quot;capped&quot;")
    }))

  it.scopedLive("reject: needs a reason, which the agent receives", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab: t } = yield* signIn(s)
      const id = yield* pendingLeash(s)
      const noReason = yield* t.post(`/leashes/${id}/decision`, { csrf, decision: "rejected", reason: "  " })
      expect(noReason.status).toBe(400)
      expect(noReason.text).toContain("A rejection needs a reason")
      expect((yield* stateOf(s, id)).status).toBe("pending")

      yield* t.post(`/leashes/${id}/decision`, { csrf, decision: "rejected", reason: "not this customer" })
      expect((yield* stateOf(s, id)).decision).toMatchObject({ decision: "rejected", reason: "not this customer" })
    }))

  it.scopedLive("a modified payload that is not JSON is refused with a message, and nothing is decided", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab: t } = yield* signIn(s)
      const id = yield* pendingLeash(s)
      const tooDeep = "[".repeat(5_000) + "]".repeat(5_000)
      for (const modified_payload of [`{ "amount_usd": 100, }`, "", "undefined", tooDeep]) {
        const answer = yield* t.post(`/leashes/${id}/decision`, { csrf, decision: "modified", modified_payload })
        expect(answer.status).toBe(400)
        expect(answer.text).toMatch(/not valid JSON|is empty|nested deeper than 512 levels/)
        expect(answer.text).toContain("Nothing was sent")
      }
      expect((yield* stateOf(s, id)).status).toBe("pending")
    }))

  it.scopedLive("a decision form posted without its token, or with another session's, changes nothing", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab: t } = yield* signIn(s)
      const other = yield* signIn(s)
      const id = yield* pendingLeash(s)
      const missing = yield* t.post(`/leashes/${id}/decision`, { decision: "approved", reason: "x" })
      expect(missing.status).toBe(403)
      expect(missing.text).toContain("security token")
      const stolen = yield* t.post(`/leashes/${id}/decision`, { csrf: other.csrf, decision: "approved", reason: "x" })
      expect(stolen.status).toBe(403)
      expect((yield* stateOf(s, id)).status).toBe("pending")
    }))

  it.scopedLive("a decision posted from another site changes nothing, even with the token", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab: t } = yield* signIn(s)
      const id = yield* pendingLeash(s)
      const form = { csrf, decision: "approved", reason: "x" }
      const byOrigin = yield* t.post(`/leashes/${id}/decision`, form, { origin: "http://evil.example" })
      expect(byOrigin.status).toBe(403)
      const bySite = yield* t.post(`/leashes/${id}/decision`, form, { "sec-fetch-site": "cross-site" })
      expect(bySite.status).toBe(403)
      const opaque = yield* t.post(`/leashes/${id}/decision`, form, { origin: "null" })
      expect(opaque.status).toBe(403)
      expect((yield* stateOf(s, id)).status).toBe("pending")
      // The same form from the dashboard's own origin goes through.
      const own = yield* t.post(`/leashes/${id}/decision`, form, { origin: s.url, "sec-fetch-site": "same-origin" })
      expect(own.status).toBe(303)
    }))

  it.scopedLive("without a session a decision is refused", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const id = yield* pendingLeash(s)
      const answer = yield* tab(s.url).post(`/leashes/${id}/decision`, { decision: "approved", reason: "x" })
      expect(answer.status).toBe(403)
      expect(answer.text).toContain("session has ended")
      expect((yield* stateOf(s, id)).status).toBe("pending")
    }))

  it.scopedLive("the compare-and-set holds: a leash decided elsewhere first answers 409 naming who decided, unchanged", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab: t } = yield* signIn(s)
      const id = yield* pendingLeash(s)
      yield* s.reviewer.post(`/v1/leashes/${id}/decision`, { body: { decision: "rejected", reason: "first" } })
      const late = yield* t.post(`/leashes/${id}/decision`, { csrf, decision: "approved", reason: "second" })
      expect(late.status).toBe(409)
      expect(late.text).toContain("already decided: rejected")
      expect((yield* stateOf(s, id)).decision).toMatchObject({ decision: "rejected", reason: "first" })
    }))

  it.scopedLive("concurrent decisions from two signed-in reviewers: exactly one wins", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const a = yield* signIn(s)
      const b = yield* signIn(s)
      const id = yield* pendingLeash(s)
      const answers = yield* Effect.all([
        a.tab.post(`/leashes/${id}/decision`, { csrf: a.csrf, decision: "approved", reason: "a" }),
        b.tab.post(`/leashes/${id}/decision`, { csrf: b.csrf, decision: "rejected", reason: "b" })
      ], { concurrency: "unbounded" })
      expect(answers.map((x) => x.status).sort()).toStrictEqual([303, 409])
    }))

  it.scopedLive("a leash that does not exist, or an id that is not a UUID, is a 404 page", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab: t } = yield* signIn(s)
      const missing = yield* t.post("/leashes/0b7c2a9e-5d1f-4c3e-9a8b-7f6e5d4c3b2a/decision", {
        csrf,
        decision: "approved",
        reason: ""
      })
      expect(missing.status).toBe(404)
      expect((yield* t.get("/leashes/0b7c2a9e-5d1f-4c3e-9a8b-7f6e5d4c3b2a")).status).toBe(404)
      expect((yield* t.get("/leashes/..%2F..%2Fetc")).status).toBe(404)
    }))
})
