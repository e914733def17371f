/**
 * The exporter's retry rules through the fault proxy (ISSUE 7, point 2; DESIGN.md section 4),
 * with the real SDK and the real server (a child process):
 *
 * - 5xx, 408 and 429 are retried with the same bytes until the collector accepts;
 * - every transport fault (refused, reset mid-request or mid-response, no answer, a close after
 *   the headers, a slow trickle) ends with each record stored exactly once;
 * - 413 splits the batch in halves; a single record answered 413 is dropped as `too_large`;
 * - any other 4xx drops the batch, logged once with the server's message, counted by status,
 *   never retried;
 * - `Retry-After` (seconds or an HTTP date) replaces the back-off;
 * - one request in flight at a time, whatever the faults;
 * - closing the layer with a hung collector ends within `shutdownTimeout` + 1 s and reports what
 *   it lost: `unconfirmed` (the request in flight) and `shutdown` (never sent).
 */
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { Sniff, Trail } from "houndsight"
import { FaultProxy, GateServer, Sdk, Wait } from "./support/index.js"

class Server extends Context.Tag("reliability/retry/Server")<Server, GateServer.GateServer>() {}

const isIngest = (e: { readonly path: string }) => e.path === "/v1/ingest"
const ingestOnly = (request: FaultProxy.ProxiedRequest) => request.path === "/v1/ingest"

/** Exporter settings that make retries fast (the rules are the same, the numbers smaller). */
const fast = {
  flushInterval: "10 millis",
  requestTimeout: "1 second",
  retryBaseDelay: "1 millis",
  retryMaxDelay: "20 millis",
  shutdownTimeout: "10 seconds"
} as const

/** One trail of `steps` steps, recorded in one go (so it leaves as one batch): answers its id. */
const produce = (sdk: Sdk.Live, steps: number, name = "retry.step") =>
  Effect.gen(function*() {
    const id = yield* Trail.id
    for (let i = 0; i < steps; i++) yield* Sniff.run(`${name}`, { layer: "execute" }, Effect.void)
    return id
  }).pipe(Trail.run({ trigger: "retry", payload: {} }), Sdk.provide(sdk))

const flushed = (sdk: Sdk.Live) =>
  sdk.exporter.flush.pipe(
    Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the exporter did not flush within 20 s") })
  )

/** What the server stored of one trail: its status, its steps, and whether an id is there twice. */
const storedTrail = (server: GateServer.GateServer, trailId: string) =>
  Effect.gen(function*() {
    const [steps] = yield* server.store.query<{ n: number; distinct_ids: number }>(
      "SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids FROM steps WHERE trail_id = ?",
      trailId
    )
    const [trail] = yield* server.store.query<{ status: string | null }>("SELECT status FROM trails WHERE id = ?", trailId)
    return { steps: steps!.n, distinctSteps: steps!.distinct_ids, status: trail?.status ?? undefined }
  })

layer(Layer.scoped(Server, GateServer.start()), { excludeTestServices: true, timeout: "60 seconds" })("exporter retries", (it) => {
  it.scoped("5xx, 408 and 429 are retried with the same bytes until the collector accepts; each record is stored once", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const statuses = [500, 502, 503, 504, 408, 429]
      let n = 0
      const proxy = yield* FaultProxy.make({
        target: server.port,
        capture: true,
        faults: { answer: (r) => (isIngest(r) && n < statuses.length ? { status: statuses[n++]! } : undefined) }
      })
      const sdk = yield* Sdk.live({ apiKey: server.agentKey, endpoint: proxy.url, ...fast })
      const trailId = yield* produce(sdk, 5)
      yield* flushed(sdk)
      yield* sdk.close

      const ingest = (yield* proxy.exchanges).filter(isIngest)
      expect(ingest.map((e) => e.status)).toStrictEqual([...statuses, 202])
      expect(new Set(ingest.map((e) => e.body)).size).toBe(1) // every attempt sent the same bytes
      expect(yield* storedTrail(server, trailId)).toStrictEqual({ steps: 5, distinctSteps: 5, status: "ok" })
      const stats = sdk.exporter.unsafeStats()
      expect(stats).toMatchObject({ offered: 7, exported: 7, dropped: 0, retried: 7 * statuses.length })
    }))

  it.scoped("every transport fault ends with each record stored exactly once", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const faults: ReadonlyArray<FaultProxy.RequestFault> = [
        "resetRequest",
        "blackhole",
        "hang",
        "resetResponse",
        "closeAfterHeaders",
        "trickleRequest",
        "trickle"
      ]
      const seen = new Set<string>()
      const proxy = yield* FaultProxy.make({
        target: server.port,
        faults: {
          // the first attempt of each batch meets the next fault; a retry (the same bytes) passes
          choose: (r) => {
            if (!isIngest(r) || seen.has(r.text())) return "none"
            seen.add(r.text())
            return faults[seen.size - 1] ?? "none"
          },
          trickleRate: { bytes: 200, everyMillis: 2 }
        }
      })
      const sdk = yield* Sdk.live({ apiKey: server.agentKey, endpoint: proxy.url, ...fast, requestTimeout: "500 millis" })
      const trails: Array<string> = []
      for (let i = 0; i < faults.length; i++) {
        trails.push(yield* produce(sdk, 3))
        yield* flushed(sdk)
      }
      // refused: nothing listens (two attempts are refused), then it listens again
      yield* proxy.down
      const retriedBefore = sdk.exporter.unsafeStats().retried
      const refusedTrail = yield* produce(sdk, 3)
      yield* Wait.until(
        "two refused attempts",
        Effect.sync(() => sdk.exporter.unsafeStats().retried >= retriedBefore + 2 * 5)
      )
      yield* proxy.up
      yield* flushed(sdk)
      yield* sdk.close

      const ingest = (yield* proxy.exchanges).filter(isIngest)
      expect(ingest.map((e) => e.fault).filter((f) => f !== "none")).toStrictEqual(faults)
      for (const trailId of [...trails, refusedTrail]) {
        expect(yield* storedTrail(server, trailId)).toStrictEqual({ steps: 3, distinctSteps: 3, status: "ok" })
      }
      const stats = sdk.exporter.unsafeStats()
      expect(stats.exported).toBe(stats.offered)
      expect(stats.dropped).toBe(0)
    }))

  it.scoped("413 splits the batch in halves until it fits; a single record answered 413 is dropped as too_large", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const records = (text: string) => {
        const body = JSON.parse(text) as { trails: Array<unknown>; steps: Array<{ name: string }> }
        return { count: body.trails.length + body.steps.length, huge: body.steps.some((s) => s.name === "huge") }
      }
      const proxy = yield* FaultProxy.make({
        target: server.port,
        capture: true,
        faults: {
          answer: (r) => {
            if (!isIngest(r)) return undefined
            const { count, huge } = records(r.text())
            return count > 3 || huge ? { status: 413 } : undefined
          }
        }
      })
      const sdk = yield* Sdk.live({ apiKey: server.agentKey, endpoint: proxy.url, ...fast })
      const trailId = yield* Effect.gen(function*() {
        const id = yield* Trail.id
        for (let i = 0; i < 6; i++) yield* Sniff.run("small", { layer: "execute" }, Effect.void)
        yield* Sniff.run("huge", { layer: "execute" }, Effect.void)
        for (let i = 0; i < 3; i++) yield* Sniff.run("small", { layer: "execute" }, Effect.void)
        return id
      }).pipe(Trail.run({ trigger: "retry", payload: {} }), Sdk.provide(sdk))
      yield* flushed(sdk)
      yield* sdk.close

      const stats = sdk.exporter.unsafeStats()
      expect(stats.offered).toBe(12)
      expect(stats.droppedByReason.too_large).toBe(1)
      expect(stats.exported).toBe(11)
      expect(stats.dropped).toBe(1)
      const stored = yield* server.store.query<{ name: string }>("SELECT name FROM steps WHERE trail_id = ?", trailId)
      expect(stored.map((s) => s.name).sort()).toStrictEqual(Array(9).fill("small"))
      expect((yield* storedTrail(server, trailId)).status).toBe("ok")
      // the batches that reached the server each fit the bound
      const passed = (yield* proxy.exchanges).filter((e) => isIngest(e) && e.fault === "none")
      expect(passed.every((e) => records(e.body!).count <= 3)).toBe(true)
      expect(sdk.logs().filter((l) => l.level === "ERROR" && l.message.includes("413"))).toHaveLength(1)
    }))

  it.scoped("another 4xx drops the batch, logs the server's message once, counts it by status and never retries it", () =>
    Effect.gen(function*() {
      const server = yield* Server
      // the real server answers 401 to a key it does not know
      const wrongKey = yield* Sdk.live({ apiKey: "sk-hnd-not-a-key-of-this-server", endpoint: server.url, ...fast })
      yield* produce(wrongKey, 2)
      yield* flushed(wrongKey)
      yield* wrongKey.close
      expect(wrongKey.exporter.unsafeStats()).toMatchObject({
        offered: 4,
        exported: 0,
        dropped: 4,
        retried: 0,
        rejectedByStatus: { "401": 4 }
      })
      const errors = wrongKey.logs().filter((l) => l.level === "ERROR")
      expect(errors).toHaveLength(1)
      expect(errors[0]!.message).toContain("status 401 (unauthorized:")

      // and the other statuses, answered by the proxy with a message, one batch each
      const statuses = [400, 403, 404, 409, 422]
      let n = 0
      const proxy = yield* FaultProxy.make({
        target: server.port,
        faults: {
          answer: (r) =>
            isIngest(r) && n < statuses.length
              ? { status: statuses[n], body: { error: { code: "refused", message: `refused with ${statuses[n++]}` } } }
              : undefined
        }
      })
      const sdk = yield* Sdk.live({ apiKey: server.agentKey, endpoint: proxy.url, ...fast })
      for (let i = 0; i < statuses.length; i++) {
        yield* produce(sdk, 1)
        yield* flushed(sdk)
      }
      const accepted = yield* produce(sdk, 1)
      yield* flushed(sdk)
      yield* sdk.close
      expect((yield* proxy.exchanges).filter(isIngest).map((e) => e.status)).toStrictEqual([...statuses, 202])
      const stats = sdk.exporter.unsafeStats()
      expect(stats.rejectedByStatus).toStrictEqual({ "400": 3, "403": 3, "404": 3, "409": 3, "422": 3 })
      expect(stats).toMatchObject({ offered: 18, exported: 3, dropped: 15, retried: 0 })
      const logged = sdk.logs().filter((l) => l.level === "ERROR").map((l) => l.message)
      expect(logged).toHaveLength(statuses.length)
      statuses.forEach((status, i) => expect(logged[i]).toContain(`refused: refused with ${status}`))
      expect(yield* storedTrail(server, accepted)).toStrictEqual({ steps: 1, distinctSteps: 1, status: "ok" })
    }))

  it.scoped("Retry-After replaces the back-off, in seconds and as an HTTP date", () =>
    Effect.gen(function*() {
      const server = yield* Server
      let n = 0
      let date = 0
      const proxy = yield* FaultProxy.make({
        target: server.port,
        faults: {
          answer: (r) => {
            if (!isIngest(r)) return undefined
            n++
            if (n === 1) return { status: 429, headers: { "retry-after": "1" } }
            if (n === 2) {
              // a date 2 s ahead, which HTTP writes in whole seconds
              date = Math.floor((Date.now() + 2000) / 1000) * 1000
              return { status: 503, headers: { "retry-after": new Date(date).toUTCString() } }
            }
            return undefined
          }
        }
      })
      const sdk = yield* Sdk.live({ apiKey: server.agentKey, endpoint: proxy.url, ...fast })
      yield* produce(sdk, 1)
      yield* flushed(sdk)
      yield* sdk.close
      const [first, second, third] = (yield* proxy.exchanges).filter(isIngest)
      expect([first!.status, second!.status, third!.status]).toStrictEqual([429, 503, 202])
      // without Retry-After the back-off would be at most 1 ms here; timers may fire 1 ms early
      expect(second!.startedAt - first!.endedAt!).toBeGreaterThanOrEqual(999)
      expect(third!.startedAt).toBeGreaterThanOrEqual(date - 1)
    }), 30_000)

  it.scoped("one request in flight at a time, through latency, resets, closes, trickles and 503s", () =>
    Effect.gen(function*() {
      const server = yield* Server
      let k = 0
      const proxy = yield* FaultProxy.make({
        target: server.port,
        faults: {
          only: ingestOnly,
          toServer: { millis: 5, jitter: 5 },
          toClient: { millis: 5, jitter: 5 },
          resetRequest: 0.1,
          resetResponse: 0.15,
          closeAfterHeaders: 0.1,
          trickle: 0.1,
          trickleRate: { bytes: 4096, everyMillis: 2 },
          answer: (r) => (isIngest(r) && ++k % 7 === 0 ? { status: 503 } : undefined)
        }
      })
      const sdk = yield* Sdk.live({
        apiKey: server.agentKey,
        endpoint: proxy.url,
        ...fast,
        retryBaseDelay: "10 millis",
        requestTimeout: "5 seconds",
        maxBatchRecords: 16
      })
      const trails: Array<string> = []
      for (let i = 0; i < 30; i++) {
        trails.push(yield* produce(sdk, 10))
        yield* Effect.sleep("5 millis")
      }
      yield* flushed(sdk)
      yield* sdk.close
      const ingest = (yield* proxy.exchanges).filter(isIngest)
      const why = proxy.describe()
      expect(ingest.length, why).toBeGreaterThanOrEqual(360 / 16)
      expect(ingest.filter((e) => e.fault !== "none").length, why).toBeGreaterThan(0)
      expect(FaultProxy.maxConcurrent(ingest), why).toBe(1)
      for (const trailId of trails) {
        expect(yield* storedTrail(server, trailId), why).toStrictEqual({ steps: 10, distinctSteps: 10, status: "ok" })
      }
      expect(sdk.exporter.unsafeStats()).toMatchObject({ offered: 360, exported: 360, dropped: 0 })
    }), 60_000)

  it.scoped("closing the layer with a hung collector ends within shutdownTimeout + 1 s and reports what it lost", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({ target: server.port, faults: { only: ingestOnly, hang: 1 } })
      const sdk = yield* Sdk.live({
        apiKey: server.agentKey,
        endpoint: proxy.url,
        flushInterval: "10 millis",
        requestTimeout: "30 seconds",
        shutdownTimeout: "1 second"
      })
      const first = yield* produce(sdk, 4) // 6 records: the request that hangs
      yield* Wait.until("the first batch in flight", Effect.map(proxy.exchanges, (log) => log.some((e) => e.reachedServer)))
      yield* produce(sdk, 8) // 10 records: queued behind it
      const started = Date.now()
      yield* sdk.close
      const took = Date.now() - started
      // shutdownTimeout (1 s) + 1 s to abort the request in flight, + 1 s of scheduling slack
      expect(took).toBeLessThan(3_000)

      const stats = sdk.exporter.unsafeStats()
      expect(stats).toMatchObject({ closed: true, offered: 16, exported: 0, dropped: 16, queued: 0, inFlight: 0 })
      expect(stats.droppedByReason).toMatchObject({ unconfirmed: 6, shutdown: 10 })
      const errors = sdk.logs().filter((l) => l.level === "ERROR")
      expect(errors).toHaveLength(1)
      expect(errors[0]!.message).toContain("16 record(s) not delivered")
      expect(errors[0]!.message).toContain("10 never sent (shutdown), 6 sent without an answer, which the server may have stored (unconfirmed)")
      // unconfirmed means exactly that: the server did store the request whose answer never came
      expect(yield* storedTrail(server, first)).toStrictEqual({ steps: 4, distinctSteps: 4, status: "ok" })
    }), 30_000)
})
