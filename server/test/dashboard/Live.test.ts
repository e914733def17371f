/**
 * The live view: an open page's `/events` stream gets a pending leash the moment an agent asks
 * (through the API), loses it once decided, hears of new records, needs a session, and ends
 * when the server stops (so shutdown never waits on an open page).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { leashRequest, type Running, startServer, stepRecord, uuid } from "../helpers.js"
import * as Events from "./events.js"
import { signIn, type Tab } from "./helpers.js"

/** An open `/events` stream of `s`. */
const openEvents = (s: Running, t: Tab, path = "/events") => Events.openEvents(s.url, t, path)

describe("the live view", () => {
  it.scopedLive("a pending leash reaches an open page as soon as the agent asks, and leaves once decided", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const events = yield* openEvents(s, tab, "/events?list=1&have=")
      expect(events.response.status).toBe(200)
      expect(events.response.headers.get("content-type")).toContain("text/event-stream")
      const first = yield* events.until((e) => e.name === "leashes")
      expect(first.data.added).toStrictEqual([])
      expect(first.data.removed).toStrictEqual([])
      expect(first.data.counts.pending).toBe(0)

      const leash = leashRequest({ action_summary: "<b>Charge</b> cus_42" })
      yield* s.agent.post("/v1/leashes", { body: leash })
      const arrived = yield* events.until((e) => e.name === "leashes" && e.data.added.length > 0)
      expect(arrived.data.added.map((a: any) => a.id)).toStrictEqual([leash.leash_id])
      expect(arrived.data.added[0].html).toContain("&lt;b&gt;Charge&lt;/b&gt; cus_42")
      expect(arrived.data.added[0].html).toContain(`name="csrf"`)
      expect(arrived.data.counts.pending).toBe(1)

      yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "ok" } })
      const gone = yield* events.until((e) => e.name === "leashes" && e.data.removed.length > 0)
      expect(gone.data.removed).toStrictEqual([leash.leash_id])
      expect(gone.data.added).toStrictEqual([])
      expect(gone.data.decisions).toContain("approved")
      expect(gone.data.counts.pending).toBe(0)
    }))

  it.scopedLive("a live update carries only what changed: the new card, never the cards the page already shows", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const shown = [leashRequest(), leashRequest()]
      for (const l of shown) yield* s.agent.post("/v1/leashes", { body: l })
      const gone = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: gone })
      yield* s.agent.post(`/v1/leashes/${gone.leash_id}/cancel`)
      // The page shows the two pending leashes and the cancelled one (as it was when rendered).
      const have = [...shown, gone].map((l) => l.leash_id).join(",")
      const events = yield* openEvents(s, tab, `/events?list=1&have=${have}`)
      const first = yield* events.until((e) => e.name === "leashes")
      expect(first.data.added).toStrictEqual([])
      expect(first.data.removed).toStrictEqual([gone.leash_id])

      const fresh = leashRequest({ payload: { rows: new Array(20_000).fill({}) } })
      yield* s.agent.post("/v1/leashes", { body: fresh })
      const arrived = yield* events.until((e) => e.name === "leashes" && e.data.added.length > 0)
      expect(arrived.data.added.map((a: any) => a.id)).toStrictEqual([fresh.leash_id])
      expect(arrived.data.removed).toStrictEqual([])
      // The new card holds the payload's preview, not the payload.
      expect(arrived.data.added[0].html.length).toBeLessThan(16_000)
      expect(arrived.data.added[0].html).toContain("data-preview-cut")
      for (const l of shown) expect(JSON.stringify(arrived.data)).not.toContain(l.leash_id)
    }))

  it.scopedLive("new records are announced, with the flag count", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: { sensitive: ["stripe.*"], rules: [] } })
      const { tab } = yield* signIn(s)
      const events = yield* openEvents(s, tab)
      yield* events.until((e) => e.name === "leashes")
      yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [stepRecord(uuid(), 1, "stripe.charge")] } })
      const trails = yield* events.until((e) => e.name === "trails")
      expect(trails.data.counts.flags).toBe(1)
      const fragment = yield* tab.get("/fragments/trails?limit=10")
      expect(fragment.status).toBe(200)
    }))

  it.scopedLive("without a session there is no stream", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const answer = yield* s.anonymous.get("/events")
      expect(answer.status).toBe(401)
      expect((yield* s.anonymous.get("/fragments/trails")).status).toBe(401)
    }))

  it.scopedLive("signing out ends the session's stream", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab } = yield* signIn(s)
      const events = yield* openEvents(s, tab)
      yield* events.until((e) => e.name === "leashes")
      yield* tab.post("/logout", { csrf })
      yield* s.agent.post("/v1/leashes", { body: leashRequest() })
      const after = yield* events.next.pipe(Effect.timeout("20 seconds"))
      expect(after).toBeUndefined()
    }))

  it.live("an open page does not hold up shutdown: the stream ends when the server stops", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const s = yield* Scope.extend(startServer(), scope)
      const { tab } = yield* Scope.extend(signIn(s), scope)
      const events = yield* Scope.extend(openEvents(s, tab), scope)
      yield* events.until((e) => e.name === "leashes")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      // Reading on ends (the server closed the stream) instead of waiting for more events.
      const afterClose = yield* events.next.pipe(Effect.timeout("20 seconds"))
      expect(afterClose).toBeUndefined()
      yield* closing.await.pipe(
        Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the server did not stop") })
      )
    }))
})
