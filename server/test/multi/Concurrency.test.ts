/**
 * Writes that race across three instances on one database (PostgreSQL, and a SQLite file; see
 * `cluster.ts`), sent at once through the round-robin proxy: an idempotent create is one leash
 * whichever instances take its retries, an ingest batch sent many times is stored once, and a
 * trail's bypass flags are recomputed under a per-trail lock, so a review and the action it
 * approved, arriving at the same moment on two instances, never leave a flag behind.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { gatedReviewStep, leashRequest, type Running, stepRecord, trailRecord } from "../helpers.js"
import * as Cluster from "./cluster.js"

const rules = { sensitive: ["stripe.*"], rules: [] }

describe.each(Cluster.backends)("racing writes on three instances (%s)", (backend) => {
  it.scopedLive("30 concurrent creates of one leash through the proxy: one leash, every answer the same", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend })
      const body = leashRequest()
      const answers = yield* Effect.forEach(
        Array.from({ length: 30 }, () => body),
        (b) => cluster.agent.post("/v1/leashes", { body: b }),
        { concurrency: "unbounded" }
      )
      expect(cluster.proxy.served.every((n) => n > 0)).toBe(true)
      expect(answers.map((a) => a.status)).toStrictEqual(answers.map(() => 200))
      for (const a of answers) expect(a.body).toStrictEqual(answers[0]!.body)
      const pending = (yield* cluster.reviewer.get("/v1/leashes?status=pending")).body.leashes
      expect(pending.map((l: any) => l.leash_id)).toStrictEqual([body.leash_id])
    }))

  it.scopedLive("one ingest batch sent 30 times at once: stored once, every other copy a duplicate", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend })
      const trail = trailRecord()
      const steps = Array.from({ length: 20 }, (_, i) => stepRecord(trail.id, i + 1, `step_${i}`))
      const answers = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        () => cluster.agent.post("/v1/ingest", { body: { trails: [trail], steps } }),
        { concurrency: "unbounded" }
      )
      expect(answers.every((a) => a.status === 202)).toBe(true)
      const accepted = answers.reduce((n, a) => n + a.body.accepted, 0)
      const duplicates = answers.reduce((n, a) => n + a.body.duplicates, 0)
      expect(accepted).toBe(21)
      expect(duplicates).toBe(30 * 21 - 21)
      const detail = (yield* cluster.reviewer.get(`/v1/trails/${trail.id}?limit=100`)).body
      expect(detail.steps.map((s: any) => s.seq)).toStrictEqual(steps.map((s) => s.seq))
    }))

  it.scopedLive("a review and the action it approved, ingested at once on two instances: no flag is left behind", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend, rulesFile: rules })
      const s = { agent: cluster.agent, reviewer: cluster.reviewer } as unknown as Running
      const [a, b] = cluster.instances as [Cluster.Instance, Cluster.Instance]
      // 16 trails, each a review step (approved, by a leash the server decided) and the action it
      // approved; the two halves of every trail sent at the same moment, to two instances
      const trails = yield* Effect.forEach(Array.from({ length: 16 }, (_, i) => i), () =>
        Effect.gen(function*() {
          const trail = trailRecord({ status: "ok" })
          const review = yield* gatedReviewStep(s, trail.id, 1, "stripe.charge", "approved")
          return { trail, review, action: stepRecord(trail.id, 2, "stripe.charge") }
        }))
      yield* Effect.forEach(
        trails.flatMap((t) => [
          a.agent.post("/v1/ingest", { body: { trails: [t.trail], steps: [t.review] } }),
          b.agent.post("/v1/ingest", { body: { trails: [], steps: [t.action] } })
        ]),
        (send) => Effect.flatMap(send, (answer) => Effect.sync(() => expect(answer.status).toBe(202))),
        { concurrency: "unbounded" }
      )
      for (const t of trails) {
        const flags = (yield* cluster.reviewer.get(`/v1/flags?trail_id=${t.trail.id}`)).body.flags
        expect(flags, `trail ${t.trail.id}`).toStrictEqual([])
      }
    }))
})
