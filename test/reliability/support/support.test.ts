/**
 * The suite's own tools do what they say: each fault of the proxy shows the client what the
 * table in FaultProxy.ts promises (and the server sees what it promises), draws replay from a
 * seed, and the server process survives SIGKILL and restarts on the same database and port.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as Crypto from "node:crypto"
import { FaultProxy, GateServer, Wait } from "./index.js"

class Server extends Context.Tag("reliability/support/Server")<Server, GateServer.GateServer>() {}

const leashBody = (leashId = Crypto.randomUUID()) => ({
  leash_id: leashId,
  trail_id: Crypto.randomUUID(),
  step_id: Crypto.randomUUID(),
  agent: "support-test",
  action_name: "stripe.charge",
  action_summary: "Charge cus_42 $1.00",
  risk_signals: { amount_usd: 1 },
  payload: { customer: "cus_42" },
  timeout_seconds: 60,
  blocking: true
})

interface Outcome {
  readonly status?: number
  readonly text?: string
  readonly error?: string
}

/** One request with a fresh connection (no keep-alive pool between tests), bounded by `abortMillis`. */
const send = (
  url: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  abortMillis = 5_000
): Effect.Effect<Outcome> =>
  Effect.promise(async () => {
    try {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          connection: "close",
          ...(body === undefined ? {} : { "content-type": "application/json" })
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(abortMillis)
      })
      try {
        return { status: response.status, text: await response.text() }
      } catch (error) {
        return { status: response.status, error: String((error as Error).cause ?? error) }
      }
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } }
      return { error: `${e.name}: ${e.cause?.code ?? e.cause?.message ?? e.message}` }
    }
  })

layer(Layer.scoped(Server, GateServer.start()), { excludeTestServices: true, timeout: "60 seconds" })("FaultProxy", (it) => {
  it.scoped("a clean pipe passes requests and answers unchanged, and logs each exchange", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({ target: server.port, capture: true })
      const body = leashBody()
      const created = yield* send(proxy.url, server.agentKey, "POST", "/v1/leashes", body)
      expect(created.status).toBe(200)
      expect(JSON.parse(created.text!)).toMatchObject({ leash_id: body.leash_id, status: "pending" })
      const [exchange] = yield* proxy.exchanges
      expect(exchange).toMatchObject({ method: "POST", path: "/v1/leashes", fault: "none", status: 200, reachedServer: true })
      expect(JSON.parse(exchange!.body!)).toStrictEqual(body)
      expect(exchange!.endedAt).toBeGreaterThanOrEqual(exchange!.startedAt)
    }))

  it.scoped("refuse resets a new connection before a byte is read; down refuses to connect; up listens again", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({ target: server.port, faults: { refuse: 1 } })
      const refused = yield* send(proxy.url, server.agentKey, "GET", "/healthz")
      expect(refused.status).toBeUndefined()
      expect((yield* proxy.stats).refused).toBe(1)
      yield* proxy.heal
      yield* proxy.down
      const down = yield* send(proxy.url, server.agentKey, "GET", "/healthz")
      expect(down.error).toContain("ECONNREFUSED")
      yield* proxy.up
      expect((yield* send(proxy.url, server.agentKey, "GET", "/healthz")).status).toBe(200)
    }))

  it.scoped("resetRequest and blackhole: the server never gets the request", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({ target: server.port, faults: { resetRequest: 1 } })
      const a = leashBody()
      const reset = yield* send(proxy.url, server.agentKey, "POST", "/v1/leashes", a)
      expect(reset.status).toBeUndefined()
      yield* proxy.set({ blackhole: 1 })
      const b = leashBody()
      const lost = yield* send(proxy.url, server.agentKey, "POST", "/v1/leashes", b, 300)
      expect(lost.error).toContain("TimeoutError")
      expect(yield* server.store.leash(a.leash_id)).toBeUndefined()
      expect(yield* server.store.leash(b.leash_id)).toBeUndefined()
      // the client's abort reaches the proxy as a close, a moment later
      yield* Wait.until("the aborted exchange to end", Effect.map(proxy.exchanges, (log) => log.every((e) => e.endedAt !== undefined)))
      const log = yield* proxy.exchanges
      expect(log.map((e) => [e.fault, e.reachedServer, e.endedAt !== undefined])).toStrictEqual([
        ["resetRequest", false, true],
        ["blackhole", false, true]
      ])
    }))

  it.scoped("hang, resetResponse and closeAfterHeaders: the server did the work, the client does not get the answer", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({ target: server.port, faults: { hang: 1 } })
      const a = leashBody()
      expect((yield* send(proxy.url, server.agentKey, "POST", "/v1/leashes", a, 500)).error).toContain("TimeoutError")
      yield* proxy.set({ resetResponse: 1 })
      const b = leashBody()
      const reset = yield* send(proxy.url, server.agentKey, "POST", "/v1/leashes", b)
      expect(reset.text).toBeUndefined()
      expect(reset.error).toBeDefined()
      yield* proxy.set({ closeAfterHeaders: 1 })
      const c = leashBody()
      const closed = yield* send(proxy.url, server.agentKey, "POST", "/v1/leashes", c)
      expect(closed.status).toBe(200) // the head came
      expect(closed.text).toBeUndefined() // the body did not
      for (const body of [a, b, c]) expect((yield* server.store.leash(body.leash_id))?.status).toBe("pending")
      const log = yield* proxy.exchanges
      expect(log.map((e) => [e.fault, e.reachedServer])).toStrictEqual([
        ["hang", true],
        ["resetResponse", true],
        ["closeAfterHeaders", true]
      ])
    }))

  it.scoped("trickle and latency deliver the whole answer, late; trickleRequest delivers the whole request", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({
        target: server.port,
        faults: { trickle: 1, trickleRate: { bytes: 16, everyMillis: 5 }, toClient: { millis: 20, jitter: 10 } }
      })
      const a = leashBody()
      const slow = yield* send(proxy.url, server.agentKey, "POST", "/v1/leashes", a)
      expect(slow.status).toBe(200)
      expect(JSON.parse(slow.text!)).toMatchObject({ leash_id: a.leash_id, status: "pending" })
      yield* proxy.set({ trickleRequest: 1, trickleRate: { bytes: 32, everyMillis: 2 }, toServer: { millis: 10 } })
      const b = leashBody()
      expect((yield* send(proxy.url, server.agentKey, "POST", "/v1/leashes", b)).status).toBe(200)
      expect((yield* server.store.leash(b.leash_id))?.status).toBe("pending")
    }))

  it.scoped("answer: the proxy answers any status with its headers, and the server sees nothing", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({
        target: server.port,
        faults: {
          answer: (request) =>
            request.path === "/v1/leashes" ? { status: 503, headers: { "retry-after": "7" } } : undefined
        }
      })
      const a = leashBody()
      const answered = yield* Effect.promise(() =>
        fetch(`${proxy.url}/v1/leashes`, {
          method: "POST",
          headers: { authorization: `Bearer ${server.agentKey}`, "content-type": "application/json" },
          body: JSON.stringify(a)
        })
      )
      expect(answered.status).toBe(503)
      expect(answered.headers.get("retry-after")).toBe("7")
      expect(yield* Effect.promise(() => answered.json())).toMatchObject({ error: { code: "injected" } })
      expect(yield* server.store.leash(a.leash_id)).toBeUndefined()
      expect((yield* send(proxy.url, server.agentKey, "GET", "/healthz")).status).toBe(200)
    }))

  it.scoped("the same seed draws the same faults for the same requests", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const draws = (seed: number) =>
        Effect.gen(function*() {
          const proxy = yield* FaultProxy.make({
            target: server.port,
            seed,
            faults: { answer: () => undefined, resetRequest: 0.3, resetResponse: 0.3 }
          })
          for (let i = 0; i < 12; i++) yield* send(proxy.url, server.agentKey, "GET", "/healthz")
          expect(proxy.describe()).toContain(`HOUNDSIGHT_FAULT_SEED=${seed}`)
          return (yield* proxy.exchanges).map((e) => e.fault)
        })
      const first = yield* draws(42)
      expect(yield* draws(42)).toStrictEqual(first)
      expect(new Set(first).size).toBeGreaterThan(1)
    }))

  it.scoped("the exchange log tells how many requests were open at once", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({ target: server.port, faults: { toClient: { millis: 150 } } })
      yield* Effect.all([1, 2, 3].map(() => send(proxy.url, server.agentKey, "GET", "/healthz")), { concurrency: "unbounded" })
      yield* send(proxy.url, server.agentKey, "GET", "/healthz")
      const log = yield* proxy.exchanges
      expect(FaultProxy.maxConcurrent(log)).toBe(3)
      expect(FaultProxy.maxConcurrent(log.slice(3))).toBe(1)
    }))
})

describe("GateServer", () => {
  it.scopedLive("SIGKILL, then a start on the same database and port with the same keys; the store reads what was committed", () =>
    Effect.gen(function*() {
      const server = yield* GateServer.start()
      const body = leashBody()
      expect((yield* server.agent.post("/v1/leashes", body)).status).toBe(200)
      expect(yield* server.kill()).toBeNull()
      expect(server.running()).toBe(false)
      expect((yield* server.store.leash(body.leash_id))?.status).toBe("pending")
      yield* server.start
      expect(server.running()).toBe(true)
      const pending = yield* server.pending
      expect(pending.map((l) => l.leash_id)).toContain(body.leash_id)
      expect((yield* server.decide(body.leash_id, { decision: "approved", reason: "ok" })).status).toBe(200)
      expect((yield* server.store.leash(body.leash_id))?.decision).toBe("approved")
    }), 90_000)
})
