/**
 * Faults of several instances on PostgreSQL.
 *
 * - One of three spawned server processes is SIGKILLed while agents write and wait through the
 *   proxy: nothing it acknowledged is lost, the agents whose polls it held poll again through the
 *   proxy and get their decisions, and the other two keep serving.
 * - PostgreSQL itself restarts under three running instances. While it is down every instance answers `503` with `Retry-After` and the
 * contract's error body, and `/healthz` says not ready; once it is back they serve again
 * without a restart, and an agent whose deadline outlasts the outage (the real SDK's
 * `Leash.request`, through the round-robin proxy) gets its decision, never a wrong one.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted } from "effect"
import { HttpGate, Leash, Memory, Trail } from "houndsight"
import * as Crypto from "node:crypto"
import * as RoundRobin from "../../../test/support/roundRobin.js"
import { scopedServer } from "../../../test/support/serverProcess.js"
import { client, leashRequest, stepRecord, trailRecord } from "../helpers.js"
import * as Cluster from "./cluster.js"

/** The SDK's recorder and HTTP gate, pointed at `endpoint`. */
const agentLayer = (endpoint: string, key: string) =>
  Layer.merge(
    Memory.layer({ endpoint, agent: "billing-bot" }),
    HttpGate.layer({ endpoint, apiKey: Redacted.make(key) }).pipe(Layer.provide(FetchHttpClient.layer))
  )

/** One agent's gated charge, waiting up to `timeoutSeconds` for its decision. */
const charge = (endpoint: string, key: string, customer: string, timeoutSeconds: number) =>
  Trail.run(
    { trigger: "test", payload: {} },
    Leash.request({
      actionName: "stripe.charge",
      actionSummary: `Charge ${customer} $120.00`,
      riskSignals: { amountUsd: 120 },
      payload: { customer, amountUsd: 120 },
      timeoutSeconds
    })
  ).pipe(Effect.provide(agentLayer(endpoint, key)))

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
  it.scopedLive("one of three server processes is SIGKILLed while agents write and wait: nothing acknowledged is lost, its agents get their decisions through another, the others keep serving", () =>
    Effect.gen(function*() {
      const { db } = yield* Cluster.database("postgres")
      const agentKey = `sk-hnd-${Crypto.randomBytes(24).toString("base64url")}`
      const reviewerKey = `rv-hnd-${Crypto.randomBytes(24).toString("base64url")}`
      const proxy = yield* RoundRobin.start([])
      const spawn = () =>
        scopedServer({
          args: ["--port", "0", "--db", db, "--public-url", proxy.url],
          env: { HOUNDSIGHT_AGENT_KEY: agentKey, HOUNDSIGHT_REVIEWER_KEY: reviewerKey }
        }).pipe(Effect.orDie)
      // one first (it migrates), then two together
      const first = yield* spawn()
      const others = yield* Effect.all([spawn(), spawn()], { concurrency: 2 })
      const servers = [first, ...others]
      proxy.setTargets(servers.map((s) => s.url))
      const agent = client(proxy.url, agentKey)
      const reviewer = client(proxy.url, reviewerKey)

      // agents waiting on their leashes, their polls spread over the three by the proxy
      const customers = Array.from({ length: 6 }, (_, i) => `cus_${i}`)
      const agents = yield* Effect.forEach(customers, (c) => Effect.fork(charge(proxy.url, agentKey, c, 120)))
      // and records written meanwhile, each acknowledged before the kill
      const trails = Array.from({ length: 9 }, () => trailRecord())
      for (const trail of trails) {
        const sent = yield* agent.post("/v1/ingest", { body: { trails: [trail], steps: [stepRecord(trail.id, 1, "search")] } })
        expect(sent.status).toBe(202)
      }
      expect(yield* eventually(Effect.map(reviewer.get("/v1/leashes"), (list) => list.body?.leashes?.length === 6))).toBe(true)
      const victim = servers[1]!
      expect(yield* Effect.promise(() => victim.stop("SIGKILL"))).toBe(null)

      // the others serve; what was acknowledged is there
      for (const survivor of [servers[0]!, servers[2]!]) {
        expect((yield* client(survivor.url, agentKey).get("/healthz")).status).toBe(200)
      }
      for (const trail of trails) expect((yield* reviewer.get(`/v1/trails/${trail.id}`)).status).toBe(200)
      // every pending leash is decided through the proxy (which skips the dead instance)
      const pending = (yield* reviewer.get("/v1/leashes")).body.leashes as ReadonlyArray<{ leash_id: string }>
      expect(pending).toHaveLength(6)
      for (const leash of pending) {
        const decided = yield* reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, {
          body: { decision: "approved", reason: `ok ${leash.leash_id}` }
        })
        expect(decided.status).toBe(200)
      }
      // and every agent gets its own decision, those the killed instance held included
      const ids = new Set(pending.map((l) => l.leash_id))
      for (const fiber of agents) {
        const exit = yield* Effect.exit(Fiber.join(fiber))
        expect(Exit.isSuccess(exit)).toBe(true)
        if (Exit.isSuccess(exit)) {
          expect(exit.value).toMatchObject({ decision: "approved", approved: true })
          expect(ids.has(exit.value.leashId)).toBe(true)
          expect(exit.value.reason).toBe(`ok ${exit.value.leashId}`)
        }
      }
    }), 180_000)

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
