/**
 * The exporter over real sockets (DESIGN.md section 4): batch limits, the flush interval, one
 * request in flight, every answer class, `Retry-After`, the 413 split, both lanes' bounds,
 * `Exporter.flush`, and shutdown with a healthy and a hung collector. Each test runs against a
 * loopback collector started by the test, with short real intervals set through the options.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric, Random } from "effect"
import { Exporter, Wire } from "houndsight"
import * as net from "node:net"
import { maxRetryAfterMillis, parseRetryAfter } from "../../src/internal/exporter/attempt.js"
import { backoffDelay } from "../../src/internal/exporter/delivery.js"
import { accept, collector, errorReply, type Received } from "./collector.js"
import { balanced, captureLogs, ids, reviewStep, start, stepRecord, trailRecord } from "./harness.js"

/** Options that keep retries fast. */
const fastRetry = { retryBaseDelay: "5 millis", retryMaxDelay: "20 millis" } as const
/** A flush interval long enough that only the count, `flush` or shutdown send a batch. */
const noTimer = { flushInterval: "60 seconds" } as const

const sizes = (requests: ReadonlyArray<Received>): Array<number> =>
  requests.map((r) => r.batch.trails.length + r.batch.steps.length)

const counter = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)

describe("batches", () => {
  it.scopedLive("hold at most 512 records, and a full batch goes at once without waiting for the interval", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, noTimer)
      yield* Effect.sync(() => {
        for (let i = 0; i < 1100; i++) live.recorder.offerStep(stepRecord())
      })
      // two full batches leave on their own; the rest waits for the (long) interval
      yield* c.waitFor(() => c.accepted().length === 2)
      expect(sizes(c.requests)).toEqual([512, 512])
      yield* live.exporter.flush
      expect(sizes(c.requests)).toEqual([512, 512, 76])
      expect(c.delivered().steps).toHaveLength(1100)
      yield* live.close
    }))

  it.scopedLive("hold at most 1 MiB of body, packing as many records as fit", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, noTimer)
      const big = "x".repeat(200 * 1024)
      yield* Effect.sync(() => {
        for (let i = 0; i < 12; i++) live.recorder.offerStep(stepRecord({ input: big }))
      })
      yield* live.exporter.flush
      for (const r of c.requests) expect(r.bytes).toBeLessThanOrEqual(1024 * 1024)
      // ~205 KB a record: five fit in 1 MiB, six do not
      expect(sizes(c.requests)).toEqual([5, 5, 2])
      expect(c.delivered().steps).toHaveLength(12)
      yield* live.close
    }))

  it.scopedLive("measure the 1 MiB in UTF-8 bytes, not characters", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, noTimer)
      const euros = "€".repeat(70 * 1024) // 3 bytes a character: ~215 KB a record
      yield* Effect.sync(() => {
        for (let i = 0; i < 10; i++) live.recorder.offerStep(stepRecord({ input: euros }))
      })
      yield* live.exporter.flush
      for (const r of c.requests) expect(r.bytes).toBeLessThanOrEqual(1024 * 1024)
      expect(sizes(c.requests)).toEqual([4, 4, 2])
      yield* live.close
    }))

  it.scopedLive("are sent when the flush interval passes, with the records that waited together", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, { flushInterval: "400 millis" })
      live.recorder.offerTrail(trailRecord())
      yield* Effect.sleep(20)
      live.recorder.offerStep(stepRecord())
      live.recorder.offerStep(stepRecord())
      // no flush: the interval alone sends them, in one request
      yield* c.waitFor(() => c.accepted().length > 0)
      expect(sizes(c.requests)).toEqual([3])
      yield* live.close
    }))

  it.scopedLive("go one request at a time", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => ({ ...accept(r), delayMillis: 40 }))
      const live = yield* start(c, { flushInterval: "10 millis" })
      for (let round = 0; round < 6; round++) {
        yield* Effect.sync(() => {
          for (let i = 0; i < 300; i++) live.recorder.offerStep(stepRecord())
        })
        yield* Effect.sleep(15)
      }
      yield* live.exporter.flush
      expect(live.exporter.unsafeStats().dropped).toBe(0)
      expect(c.delivered().steps).toHaveLength(1800)
      expect(c.requests.length).toBeGreaterThanOrEqual(4)
      expect(c.maxConcurrent()).toBe(1)
      yield* live.close
    }))

  it.scopedLive("carry the agent key as a bearer token to POST {endpoint}/v1/ingest in snake_case", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, noTimer)
      const step = stepRecord({ costUsd: 0.5, tokens: { input: 3, output: 4 } })
      live.recorder.offerStep(step)
      yield* live.exporter.flush
      const [request] = c.requests
      expect(request!.method).toBe("POST")
      expect(request!.path).toBe("/v1/ingest")
      expect(request!.headers.authorization).toBe("Bearer sk-hnd-test-0123456789abcdef")
      expect(request!.headers["content-type"]).toContain("application/json")
      const wire = request!.batch.steps[0]!
      expect(wire).toMatchObject({ id: step.id, trail_id: step.trailId, parent_id: null, cost_usd: 0.5 })
      yield* live.close
    }))
})

describe("lanes", () => {
  it.scopedLive("a full ordinary queue (2,048) drops the newest records and counts them", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const logs = captureLogs()
      const live = yield* logs.provide(start(c, noTimer))
      const metricBefore = yield* counter(Exporter.droppedRecords.pipe(Metric.tagged("reason", "queue_full")))
      const offered = Array.from({ length: 2500 }, () => stepRecord())
      yield* Effect.sync(() => {
        for (const s of offered) live.recorder.offerStep(s)
      })
      const stats = live.exporter.unsafeStats()
      expect(stats.droppedByReason.queue_full).toBe(452)
      expect(stats.queued).toBe(2048)
      yield* live.exporter.flush
      expect(ids(c.delivered().steps)).toEqual(ids(offered.slice(0, 2048)))
      expect((yield* counter(Exporter.droppedRecords.pipe(Metric.tagged("reason", "queue_full")))) - metricBefore)
        .toBe(452)
      yield* c.waitFor(() => logs.lines.some((l) => l.message.includes("queue_full")))
      expect(logs.lines.find((l) => l.message.includes("queue_full"))!.level).toBe("WARN")
      expect(balanced(live.exporter.unsafeStats())).toBe(true)
      yield* live.close
    }))

  it.scopedLive("a full audit lane (10,000) counts audit_lost, as a metric, and logs it as an error", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const logs = captureLogs()
      const live = yield* logs.provide(start(c, noTimer))
      const lostBefore = yield* counter(Exporter.auditLostRecords)
      yield* Effect.sync(() => {
        for (let i = 0; i < 10_300; i++) live.recorder.offerTrail(trailRecord())
      })
      const stats = live.exporter.unsafeStats()
      expect(stats.auditLost).toBe(300)
      expect(stats.droppedByReason.audit_lost).toBe(300)
      expect((yield* counter(Exporter.auditLostRecords)) - lostBefore).toBe(300)
      yield* c.waitFor(() => logs.lines.some((l) => l.message.includes("audit_lost")))
      const line = logs.lines.find((l) => l.message.includes("audit_lost"))!
      expect(line.level).toBe("ERROR")
      expect(line.message).toContain("300")
      yield* live.exporter.flush
      expect(c.delivered().trails).toHaveLength(10_000)
      yield* live.close
    }))

  it.scopedLive("while a request is in flight, the next batch is made ready within the queue's bound", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => (r.index === 0 ? { ...accept(r), delayMillis: 300 } : accept(r)))
      const live = yield* start(c, noTimer)
      const first = Array.from({ length: 512 }, () => stepRecord())
      yield* Effect.sync(() => first.forEach((s) => live.recorder.offerStep(s)))
      yield* c.waitFor(() => c.requests.length === 1)
      // during the request: 2,048 fit (some of them already in the next batch), the rest are dropped
      const during = Array.from({ length: 2100 }, () => stepRecord())
      for (let i = 0; i < during.length; i += 100) {
        yield* Effect.sync(() => during.slice(i, i + 100).forEach((s) => live.recorder.offerStep(s)))
        yield* Effect.sleep(2)
      }
      const stats = live.exporter.unsafeStats()
      expect(stats).toMatchObject({ inFlight: 512, queued: 2048 })
      expect(stats.droppedByReason.queue_full).toBe(52)
      expect(balanced(stats)).toBe(true)
      yield* live.exporter.flush
      expect(ids(c.delivered().steps)).toEqual(ids([...first, ...during.slice(0, 2048)]))
      expect(sizes(c.requests)).toEqual([512, 512, 512, 512, 512])
      expect(c.maxConcurrent()).toBe(1)
      yield* live.close
    }))

  it.scopedLive("review steps and trail records take the audit lane, which is sent first", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, noTimer)
      yield* Effect.sync(() => {
        for (let i = 0; i < 600; i++) live.recorder.offerStep(stepRecord())
        for (let i = 0; i < 2100; i++) live.recorder.offerStep(reviewStep())
        live.recorder.offerTrail(trailRecord())
      })
      // 2,100 review steps would overflow the ordinary queue; in the audit lane none is lost
      expect(live.exporter.unsafeStats().dropped).toBe(0)
      yield* live.exporter.flush
      const [first, ...rest] = c.requests
      expect(first!.batch.steps.every((s) => s.layer === "review")).toBe(true)
      // every audit record goes out before the first ordinary one
      const layers = [first!, ...rest].flatMap((r) => r.batch.steps.map((s) => s.layer as string))
      expect(layers.lastIndexOf("review")).toBeLessThan(layers.indexOf("execute"))
      const requestOf = (predicate: (r: Received) => boolean) => c.requests.findIndex(predicate)
      expect(requestOf((r) => r.batch.trails.length > 0)).toBeLessThanOrEqual(
        requestOf((r) => r.batch.steps.some((s) => s.layer === "execute"))
      )
      expect(c.delivered().steps).toHaveLength(2700)
      yield* live.close
    }))

  it.scopedLive("a record that does not encode is dropped as invalid, logged once, and does not spoil its batch", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const logs = captureLogs()
      const live = yield* logs.provide(start(c, noTimer))
      const good = [stepRecord(), stepRecord()]
      live.recorder.offerStep(good[0]!)
      live.recorder.offerStep(stepRecord({ seq: -1, name: "broken" }))
      live.recorder.offerStep(good[1]!)
      live.recorder.offerTrail(undefined as unknown as Wire.TrailRecord)
      yield* live.exporter.flush
      expect(ids(c.delivered().steps)).toEqual(ids(good))
      expect(c.requests).toHaveLength(1)
      const stats = live.exporter.unsafeStats()
      expect(stats.droppedByReason.invalid).toBe(2)
      const lines = logs.lines.filter((l) => l.message.includes("does not match the wire schema"))
      expect(lines).toHaveLength(2)
      expect(lines.some((l) => l.level === "ERROR" && l.message.includes("expected a whole number from 1"))).toBe(true)
      expect(balanced(stats)).toBe(true)
      yield* live.close
    }))
})

describe("answers", () => {
  for (const status of [408, 429, 500, 502, 503]) {
    it.scopedLive(`${status} is retried with the same body until accepted`, () =>
      Effect.gen(function*() {
        const c = yield* collector((r) => (r.index < 2 ? errorReply(status, "busy", "try later") : accept(r)))
        const live = yield* start(c, { ...noTimer, ...fastRetry })
        const retriedBefore = yield* counter(Exporter.retriedRecords)
        const records = [trailRecord(), stepRecord(), stepRecord()]
        live.recorder.offerTrail(records[0] as Wire.TrailRecord)
        live.recorder.offerStep(records[1] as Wire.StepRecord)
        live.recorder.offerStep(records[2] as Wire.StepRecord)
        yield* live.exporter.flush
        expect(c.requests.map((r) => r.status)).toEqual([status, status, 202])
        expect(new Set(c.requests.map((r) => r.text)).size).toBe(1)
        const stats = live.exporter.unsafeStats()
        expect(stats).toMatchObject({ exported: 3, retried: 6, dropped: 0 })
        expect((yield* counter(Exporter.retriedRecords)) - retriedBefore).toBe(6)
        yield* live.close
      }))
  }

  it.scopedLive("a reset connection is retried", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => (r.index === 0 ? { destroy: true } : accept(r)))
      const live = yield* start(c, { ...noTimer, ...fastRetry })
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(c.requests).toHaveLength(2)
      expect(live.exporter.unsafeStats()).toMatchObject({ exported: 1, retried: 1, dropped: 0 })
      yield* live.close
    }))

  it.scopedLive("a refused connection is retried until the collector is up", () =>
    Effect.gen(function*() {
      // a port with nothing listening: take one, then free it
      const port = yield* Effect.async<number>((resume) => {
        const probe = net.createServer().listen(0, "127.0.0.1", () => {
          const p = (probe.address() as net.AddressInfo).port
          probe.close(() => resume(Effect.succeed(p)))
        })
      })
      const endpoint = `http://127.0.0.1:${port}`
      const logs = captureLogs()
      const live = yield* logs.provide(
        start({ url: endpoint } as Parameters<typeof start>[0], { ...noTimer, ...fastRetry })
      )
      live.recorder.offerStep(stepRecord())
      const flushed = yield* Effect.fork(live.exporter.flush)
      yield* Effect.sleep(1).pipe(Effect.repeat({ until: () => live.exporter.unsafeStats().retried >= 2 }))
      expect(logs.lines.some((l) => l.level === "WARN" && l.message.includes("retrying"))).toBe(true)
      // now start a collector on that port
      const c = yield* collectorOn(port)
      yield* flushed.await
      expect(c.delivered().steps).toHaveLength(1)
      expect(live.exporter.unsafeStats()).toMatchObject({ exported: 1, dropped: 0 })
      yield* live.close
    }))

  it.scopedLive("records whose every attempt was refused are never sent (shutdown) at the close, not unconfirmed", () =>
    Effect.gen(function*() {
      const port = yield* Effect.async<number>((resume) => {
        const probe = net.createServer().listen(0, "127.0.0.1", () => {
          const p = (probe.address() as net.AddressInfo).port
          probe.close(() => resume(Effect.succeed(p)))
        })
      })
      const logs = captureLogs()
      const live = yield* logs.provide(start({ url: `http://127.0.0.1:${port}` } as Parameters<typeof start>[0], {
        ...noTimer,
        // a back-off of up to a minute: the close finds the batch waiting, not in a request
        retryBaseDelay: "60 seconds",
        retryMaxDelay: "60 seconds",
        shutdownTimeout: "200 millis"
      }))
      for (let i = 0; i < 7; i++) live.recorder.offerStep(stepRecord())
      yield* Effect.fork(live.exporter.flush)
      yield* Effect.sleep(1).pipe(Effect.repeat({ until: () => live.exporter.unsafeStats().inFlight === 7 }))
      // the first attempt is refused; the batch waits for its retry when the layer closes
      yield* Effect.sleep(50)
      yield* live.close
      expect(live.exporter.unsafeStats().droppedByReason).toMatchObject({ shutdown: 7, unconfirmed: 0 })
      const report = logs.lines.find((l) => l.message.includes("not delivered"))!
      expect(report.message).toContain("7 never sent (shutdown), 0 sent without an answer")
    }))

  it.scopedLive("a request with no answer within requestTimeout is abandoned and retried", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => (r.index === 0 ? { hang: true } : accept(r)))
      const live = yield* start(c, { ...noTimer, ...fastRetry, requestTimeout: "200 millis" })
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(c.requests).toHaveLength(2)
      expect(live.exporter.unsafeStats()).toMatchObject({ exported: 1, retried: 1 })
      yield* live.close
    }))

  it.scopedLive("Retry-After in seconds replaces the back-off", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) =>
        r.index === 0 ? errorReply(503, "unavailable", "down for a second", { "retry-after": "1" }) : accept(r)
      )
      const logs = captureLogs()
      const live = yield* logs.provide(start(c, { ...noTimer, retryBaseDelay: "1 millis", retryMaxDelay: "2 millis" }))
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(c.requests).toHaveLength(2)
      expect(c.requests[1]!.at - c.requests[0]!.at).toBeGreaterThanOrEqual(950)
      expect(logs.lines.some((l) => l.message.includes("(Retry-After)"))).toBe(true)
      yield* live.close
    }))

  it.scopedLive("Retry-After as an HTTP date replaces the back-off", () =>
    Effect.gen(function*() {
      let until = 0
      const c = yield* collector((r) => {
        if (r.index > 0) return accept(r)
        const date = new Date(Date.now() + 2000).toUTCString() // whole seconds: 1 to 2 s away
        until = Date.parse(date)
        return errorReply(429, "rate_limited", "slow down", { "retry-after": date })
      })
      const live = yield* start(c, { ...noTimer, retryBaseDelay: "1 millis", retryMaxDelay: "2 millis" })
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(c.requests).toHaveLength(2)
      expect(c.requests[1]!.at).toBeGreaterThanOrEqual(until - 50)
      expect(c.requests[1]!.at - c.requests[0]!.at).toBeGreaterThanOrEqual(900)
      yield* live.close
    }))

  it.scopedLive("back-off doubles from retryBaseDelay (a jitter draw of 1 takes the whole step)", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => (r.index < 3 ? errorReply(500, "oops", "internal") : accept(r)))
      const live = yield* start(c, { ...noTimer, retryBaseDelay: "100 millis", retryMaxDelay: "10 seconds" }).pipe(
        Effect.withRandom(Random.fixed([1]))
      )
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      const at = c.requests.map((r) => r.at)
      expect(at).toHaveLength(4)
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(95)
      expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(195)
      expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(395)
      yield* live.close
    }))

  it.scopedLive("413 splits the batch in half and retries both halves", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) =>
        r.batch.steps.length > 2 ? errorReply(413, "too_large", "body over the limit") : accept(r)
      )
      const live = yield* start(c, noTimer)
      const steps = Array.from({ length: 7 }, () => stepRecord())
      yield* Effect.sync(() => steps.forEach((s) => live.recorder.offerStep(s)))
      yield* live.exporter.flush
      expect(sizes(c.requests)).toEqual([7, 4, 2, 2, 3, 2, 1])
      expect(c.requests.map((r) => r.status)).toEqual([413, 413, 202, 202, 413, 202, 202])
      expect(ids(c.delivered().steps)).toEqual(ids(steps))
      expect(live.exporter.unsafeStats()).toMatchObject({ exported: 7, dropped: 0 })
      yield* live.close
    }))

  it.scopedLive("413 on a single record drops that record as too_large and delivers the rest", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) =>
        r.batch.steps.some((s) => s.name === "huge") ? errorReply(413, "too_large", "body over the limit") : accept(r)
      )
      const logs = captureLogs()
      const live = yield* logs.provide(start(c, noTimer))
      const steps = [stepRecord(), stepRecord({ name: "huge" }), stepRecord()]
      yield* Effect.sync(() => steps.forEach((s) => live.recorder.offerStep(s)))
      yield* live.exporter.flush
      expect(ids(c.delivered().steps)).toEqual([steps[0]!.id, steps[2]!.id])
      const stats = live.exporter.unsafeStats()
      expect(stats.droppedByReason.too_large).toBe(1)
      expect(stats.exported).toBe(2)
      expect(logs.lines.filter((l) => l.level === "ERROR" && l.message.includes("413"))).toHaveLength(1)
      expect(balanced(stats)).toBe(true)
      yield* live.close
    }))

  for (const status of [400, 401, 403, 404, 422]) {
    it.scopedLive(`${status} drops the batch, counts it by status and logs the server's message once`, () =>
      Effect.gen(function*() {
        const c = yield* collector((r) =>
          r.index === 0 ? errorReply(status, "invalid_body", `steps[0].name: expected a string (${status})`) : accept(r)
        )
        const logs = captureLogs()
        const live = yield* logs.provide(start(c, { ...noTimer, ...fastRetry }))
        const before = yield* counter(
          Exporter.droppedRecords.pipe(Metric.tagged("reason", "rejected"), Metric.tagged("status", String(status)))
        )
        yield* Effect.sync(() => {
          for (let i = 0; i < 3; i++) live.recorder.offerStep(stepRecord())
        })
        yield* live.exporter.flush
        // not retried
        expect(c.requests).toHaveLength(1)
        const stats = live.exporter.unsafeStats()
        expect(stats.droppedByReason.rejected).toBe(3)
        expect(stats.rejectedByStatus).toEqual({ [String(status)]: 3 })
        expect(
          (yield* counter(
            Exporter.droppedRecords.pipe(Metric.tagged("reason", "rejected"), Metric.tagged("status", String(status)))
          )) - before
        ).toBe(3)
        const lines = logs.lines.filter((l) => l.message.includes(`expected a string (${status})`))
        expect(lines).toHaveLength(1)
        expect(lines[0]!.level).toBe("ERROR")
        expect(lines[0]!.message).toContain(`status ${status}`)
        // the exporter goes on with the next batch
        live.recorder.offerStep(stepRecord())
        yield* live.exporter.flush
        expect(c.delivered().steps).toHaveLength(1)
        yield* live.close
      }))
  }
})

describe("flush", () => {
  it.scopedLive("sends what is queued without waiting for the interval, and waits for the answer", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => ({ ...accept(r), delayMillis: 150 }))
      const live = yield* start(c, noTimer)
      yield* Effect.sync(() => {
        for (let i = 0; i < 10; i++) live.recorder.offerStep(stepRecord())
      })
      yield* Exporter.flush.pipe(Effect.provideService(Exporter.Exporter, live.exporter))
      // answered, not merely received
      expect(c.accepted()).toHaveLength(1)
      expect(live.exporter.unsafeStats()).toMatchObject({ exported: 10, queued: 0, inFlight: 0 })
      yield* live.close
    }))

  it.scopedLive("waits for the request already in flight", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => ({ ...accept(r), delayMillis: 200 }))
      const live = yield* start(c, { flushInterval: "10 millis" })
      live.recorder.offerStep(stepRecord())
      yield* c.waitFor(() => c.requests.length === 1)
      expect(live.exporter.unsafeStats().inFlight).toBe(1)
      yield* live.exporter.flush
      expect(c.accepted()).toHaveLength(1)
      expect(live.exporter.unsafeStats().exported).toBe(1)
      yield* live.close
    }))

  it.scopedLive("returns at once with nothing queued, and without an Exporter in the context", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, noTimer)
      yield* live.exporter.flush
      yield* Exporter.flush
      expect(c.requests).toHaveLength(0)
      yield* live.close
    }))
})

describe("shutdown", () => {
  it.scopedLive("closing the Scope sends everything queued", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, noTimer)
      yield* Effect.sync(() => {
        for (let i = 0; i < 1000; i++) live.recorder.offerStep(stepRecord())
        for (let i = 0; i < 20; i++) live.recorder.offerTrail(trailRecord())
      })
      yield* live.close
      expect(c.delivered().steps).toHaveLength(1000)
      expect(c.delivered().trails).toHaveLength(20)
      const stats = live.exporter.unsafeStats()
      expect(stats).toMatchObject({ offered: 1020, exported: 1020, dropped: 0, closed: true })
    }))

  it.scopedLive("closing waits for the request in flight to be answered", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => ({ ...accept(r), delayMillis: 300 }))
      const live = yield* start(c, { flushInterval: "10 millis" })
      live.recorder.offerStep(stepRecord())
      yield* c.waitFor(() => c.requests.length === 1)
      yield* live.close
      expect(c.accepted()).toHaveLength(1)
      expect(live.exporter.unsafeStats()).toMatchObject({ exported: 1, dropped: 0 })
    }))

  it.scopedLive("a record ended in the same tick as shutdown is delivered", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, noTimer)
      const trail = trailRecord({ status: "ok", endedAt: new Date() })
      // no yield between the offer and the close
      yield* Effect.suspend(() => {
        live.recorder.offerTrail(trail)
        return live.close
      })
      expect(ids(c.delivered().trails)).toEqual([trail.id])
    }))

  it.scopedLive("with a hung collector, closing ends within shutdownTimeout and reports what was not sent", () =>
    Effect.gen(function*() {
      const c = yield* collector(() => ({ hang: true }))
      const logs = captureLogs()
      const live = yield* logs.provide(start(c, { ...noTimer, shutdownTimeout: "300 millis" }))
      yield* Effect.sync(() => {
        for (let i = 0; i < 600; i++) live.recorder.offerStep(stepRecord())
      })
      yield* c.waitFor(() => c.requests.length === 1)
      yield* logs.provide(live.close)
      const stats = live.exporter.unsafeStats()
      expect(stats.exported).toBe(0)
      expect(stats.droppedByReason.unconfirmed).toBe(512)
      expect(stats.droppedByReason.shutdown).toBe(88)
      expect(stats.offered).toBe(stats.dropped)
      const report = logs.lines.find((l) => l.message.includes("not delivered"))!
      expect(report.level).toBe("ERROR")
      expect(report.message).toContain("600 record(s)")
      // offered after the close: counted, never sent
      live.recorder.offerStep(stepRecord())
      expect(live.exporter.unsafeStats().droppedByReason.shutdown).toBe(89)
      expect(balanced(live.exporter.unsafeStats())).toBe(true)
      yield* live.exporter.flush
    }))

  it.scopedLive("with a collector that keeps failing, closing ends within shutdownTimeout and counts every record", () =>
    Effect.gen(function*() {
      const c = yield* collector(() => errorReply(503, "unavailable", "down"))
      const live = yield* start(c, { ...noTimer, ...fastRetry, shutdownTimeout: "200 millis" })
      yield* Effect.sync(() => {
        for (let i = 0; i < 50; i++) live.recorder.offerStep(stepRecord())
      })
      yield* live.close
      const stats = live.exporter.unsafeStats()
      expect(stats.exported).toBe(0)
      expect(stats.droppedByReason.shutdown + stats.droppedByReason.unconfirmed).toBe(50)
      expect(c.requests.length).toBeGreaterThan(1)
    }))
})

describe("numbers", () => {
  it("back-off: 500 ms doubling to 30 s, full jitter", () => {
    const { retryBaseDelayMillis: base, retryMaxDelayMillis: max } = Exporter.defaults
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(attempt, base, max, 1))).toEqual([
      500,
      1000,
      2000,
      4000,
      8000,
      16_000,
      30_000,
      30_000
    ])
    expect(backoffDelay(3, base, max, 0)).toBe(0)
    expect(backoffDelay(3, base, max, 0.5)).toBe(2000)
    expect(backoffDelay(1000, base, max, 1)).toBe(30_000)
  })

  it("Retry-After: seconds or an HTTP date, never negative, bounded", () => {
    const now = Date.parse("2026-11-24T09:00:00.000Z")
    expect(parseRetryAfter("120", now)).toBe(120_000)
    expect(parseRetryAfter(" 0 ", now)).toBe(0)
    expect(parseRetryAfter("Tue, 24 Nov 2026 09:00:30 GMT", now)).toBe(30_000)
    expect(parseRetryAfter("Tue, 24 Nov 2026 08:00:00 GMT", now)).toBe(0)
    expect(parseRetryAfter("soon", now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
    expect(parseRetryAfter("86400", now)).toBe(maxRetryAfterMillis)
    // the same rule as the leash's transport (RFC 9110): whole seconds; a bare number is no date
    expect(parseRetryAfter("1.5", now)).toBeUndefined()
    expect(parseRetryAfter("-1", now)).toBeUndefined()
    expect(parseRetryAfter("2026-11-24", now)).toBeUndefined()
  })

  it("the defaults are the numbers of DESIGN.md section 4", () => {
    expect(Exporter.defaults).toEqual({
      maxQueue: 2048,
      maxAuditQueue: 10_000,
      maxBatchRecords: 512,
      maxBatchBytes: 1_048_576,
      flushIntervalMillis: 1000,
      requestTimeoutMillis: 10_000,
      retryBaseDelayMillis: 500,
      retryMaxDelayMillis: 30_000,
      shutdownTimeoutMillis: 5000
    })
  })
})

/** A collector on a given port (for the refused-connection test). */
const collectorOn = (port: number) =>
  Effect.gen(function*() {
    const c = yield* collector()
    // re-listen on the wanted port: start a second server that forwards to the first
    const sockets = new Set<net.Socket>()
    yield* Effect.acquireRelease(
      Effect.async<net.Server>((resume) => {
        const s = net.createServer((socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          const upstream = net.connect(c.port, "127.0.0.1")
          socket.pipe(upstream).pipe(socket)
          socket.on("error", () => upstream.destroy())
          upstream.on("error", () => socket.destroy())
        })
        s.listen(port, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          s.close(() => resume(Effect.void))
        })
    )
    return c
  })
