/**
 * Faults of several instances on PostgreSQL: PostgreSQL itself restarts under three running
 * instances. While it is down every instance answers `503` with `Retry-After` and the
 * contract's error body, and `/healthz` says not ready; once it is back they serve again
 * without a restart, and an agent whose deadline outlasts the outage (the real SDK's
 * `Leash.request`, through the round-robin proxy) gets its decision, never a wrong one.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted } from "effect"
import { HttpGate, Leash, Memory, Trail } from "houndsight"
import { leashRequest } from "../helpers.js"
import * as Cluster from "./cluster.js"

/** Polls (real time) until `check` answers true, up to `millis`. */
const eventually = (check: Effect.Effect<boolean>, millis = 20_000) =>
  Effect.gen(function*() {
    const end = Date.now() + millis
    for (;;) {
      if (yield* check) return true
      if (Date.now() > end) return false
      yield* Effect.sleep("100 millis")
    }
  })

describe.skipIf(!Cluster.onPostgres)("faults of three instances on PostgreSQL", () => {
  it.scopedLive("PostgreSQL restarts: 503 with Retry-After and /healthz not ready meanwhile, then recovery without a restart, and the waiting agent gets its decision", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend: "postgres" })
      const pg = cluster.pg!
      const agentLayer = Layer.merge(
        Memory.layer({ endpoint: cluster.proxy.url, agent: "billing-bot" }),
        HttpGate.layer({ endpoint: cluster.proxy.url, apiKey: Redacted.make(cluster.agentKey) }).pipe(
          Layer.provide(FetchHttpClient.layer)
        )
      )
      const agent = yield* Effect.fork(
        Trail.run(
          { trigger: "test", payload: {} },
          Leash.request({
            actionName: "stripe.charge",
            actionSummary: "Charge cus_42 $120.00",
            riskSignals: { amountUsd: 120 },
            payload: { customer: "cus_42", amountUsd: 120 },
            timeoutSeconds: 120
          })
        ).pipe(Effect.provide(agentLayer))
      )
      let leashId: string | undefined
      expect(
        yield* eventually(Effect.map(cluster.reviewer.get("/v1/leashes"), (list) => {
          leashId = list.body?.leashes?.[0]?.leash_id
          return leashId !== undefined
        }))
      ).toBe(true)

      yield* pg.stop
      for (const instance of cluster.instances) {
        const created = yield* instance.agent.post("/v1/leashes", { body: leashRequest() })
        expect(created.status).toBe(503)
        expect(created.headers.get("retry-after")).toBe("1")
        expect(created.body.error.code).toBe("unavailable")
        expect(created.body.error.message).toContain("the database is unavailable")
        const read = yield* instance.reviewer.get(`/v1/leashes/${leashId}`)
        expect(read.status).toBe(503)
        const health = yield* instance.agent.get("/healthz")
        expect(health.status).toBe(503)
        expect(health.body.error.message).toContain("not ready")
      }

      yield* pg.restart
      // back without restarting any instance
      for (const instance of cluster.instances) {
        expect(yield* eventually(Effect.map(instance.agent.get("/healthz"), (h) => h.status === 200))).toBe(true)
      }
      const decided = yield* cluster.reviewer.post(`/v1/leashes/${leashId}/decision`, {
        body: { decision: "rejected", reason: "not after an outage" }
      })
      expect(decided.status).toBe(200)
      const exit = yield* Fiber.join(agent).pipe(Effect.exit)
      expect(Exit.isSuccess(exit)).toBe(true)
      if (Exit.isSuccess(exit)) {
        expect(exit.value).toMatchObject({ decision: "rejected", approved: false, reason: "not after an outage", leashId })
      }
    }), 90_000)
})
