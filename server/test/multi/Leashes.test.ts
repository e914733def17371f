/**
 * A leash's contract across three server instances on one database (PostgreSQL, and a SQLite
 * file; see `cluster.ts`), through the round-robin proxy: a decision is one
 * compare-and-set whichever instance takes it, a long-poll held on one instance wakes when
 * another decides, and each pending leash is expired exactly once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { leashRequest } from "../helpers.js"
import * as Cluster from "./cluster.js"

describe.each(Cluster.backends)("three instances on one database (%s)", (backend) => {
  it.scopedLive("of 50 racing decisions sent round-robin to 3 instances exactly one wins; the 49 others are 409", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend })
      const body = leashRequest()
      const created = yield* cluster.agent.post("/v1/leashes", { body })
      expect(created.status).toBe(200)
      const answers = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) =>
          cluster.reviewer.post(`/v1/leashes/${body.leash_id}/decision`, {
            body: { decision: i % 2 === 0 ? "approved" : "rejected", reason: `reviewer ${i}` }
          }),
        { concurrency: "unbounded" }
      )
      expect(cluster.proxy.served.every((n) => n > 0)).toBe(true)
      const won = answers.filter((a) => a.status === 200)
      const lost = answers.filter((a) => a.status === 409)
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(49)
      for (const a of lost) expect(a.body.error.code).toBe("already_decided")
      // every instance reads the one decision that won
      for (const instance of cluster.instances) {
        const read = yield* instance.agent.get(`/v1/leashes/${body.leash_id}`)
        expect(read.body.decision).toEqual(won[0]!.body.decision)
      }
    }))

  it.scopedLive("a long-poll held on instance A wakes when instance B writes the decision", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend })
      const [a, b, c] = cluster.instances
      const body = leashRequest()
      expect((yield* c!.agent.post("/v1/leashes", { body })).status).toBe(200)
      // Held 25 s unless woken; the fetch gives up after 10 s, so only a wake-up answers it.
      const poll = yield* Effect.fork(Effect.promise(() =>
        fetch(`${a!.url}/v1/leashes/${body.leash_id}?wait_seconds=25`, {
          headers: { authorization: `Bearer ${cluster.agentKey}` },
          signal: AbortSignal.timeout(10_000)
        }).then(async (r) => ({ status: r.status, body: await r.json() as any }), (e: Error) => ({ status: 0, body: e.name }))
      ))
      yield* Effect.sleep("300 millis")
      const decided = yield* b!.reviewer.post(`/v1/leashes/${body.leash_id}/decision`, {
        body: { decision: "approved", reason: "fine" }
      })
      expect(decided.status).toBe(200)
      const answer = yield* poll.await.pipe(Effect.flatten)
      expect(answer.status).toBe(200)
      expect(answer.body.status).toBe("decided")
      expect(answer.body.decision.decision).toBe("approved")
      expect(answer.body.decision.reason).toBe("fine")
    }))

  it.scopedLive("each expiring leash is expired exactly once, whichever instances hold polls of it", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend })
      const counts = yield* Cluster.tap(cluster)
      const bodies = Array.from({ length: 12 }, () => leashRequest({ timeout_seconds: 1 }))
      yield* Effect.forEach(bodies, (body) => cluster.agent.post("/v1/leashes", { body }), { concurrency: 4 })
      // every instance holds a poll of every leash, so every instance's timer meets each deadline
      const polls = yield* Effect.forEach(
        bodies.flatMap((body) => cluster.instances.map((instance) => ({ body, instance }))),
        ({ body, instance }) => instance.agent.get(`/v1/leashes/${body.leash_id}?wait_seconds=5`),
        { concurrency: "unbounded" }
      )
      for (const answer of polls) {
        expect(answer.status).toBe(200)
        expect(answer.body.decision).toMatchObject({ decision: "timeout", reason: "expired", decided_by: "server" })
      }
      // one announcement when created, one when expired: never two expiries of one leash
      for (const body of bodies) expect(counts.get(body.leash_id)).toBe(2)
    }))
})
