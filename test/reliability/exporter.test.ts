/**
 * Exporter accounting under faults and load (ISSUE 7, point 1): the real SDK (`Houndsight.layer`)
 * records 100,000 records into the real server (a child process) through the fault proxy, with
 * the collector cut off half of the time. At the end every record is accounted for exactly: by
 * the exporter's own counters and by the server's store, `received + dropped == produced`; no id
 * is stored twice and none is invented; the queue never grew past its bound; the heap did not
 * keep what was sent; and not one record suspended the agent.
 *
 * How "suspended" is counted: every step, and every trail around them, is run with
 * `Runtime.runSyncExit`, which answers a die (`AsyncFiberException`) instead of waiting when the
 * effect would suspend. A recording that ever waited (for a full queue, a lock, a send) shows up
 * there, whatever the clock says.
 */
import { expect, layer } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Fiber, Layer, Runtime } from "effect"
import { Exporter, Recorder, Sniff, Trail } from "houndsight"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { FaultProxy, GateServer, Sdk, Wait } from "./support/index.js"

class Server extends Context.Tag("reliability/exporter/Server")<Server, GateServer.GateServer>() {}

const trails = 1_000
const stepsPerTrail = 98
/** Two records per trail (opened, ended) and one per step. */
const produced = trails * (2 + stepsPerTrail)
/** The most the heap may grow over the run, after a full GC. */
const heapCeilingBytes = 48 * 1024 * 1024

const collectGarbage = (): (() => void) => {
  V8.setFlagsFromString("--expose-gc")
  return Vm.runInNewContext("gc") as () => void
}

const isSuspension = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) &&
  Cause.dieOption(exit.cause).pipe((d) => d._tag === "Some" && (d.value as { _tag?: unknown })._tag === "AsyncFiberException")

layer(Layer.scoped(Server, GateServer.start()), { excludeTestServices: true, timeout: "60 seconds" })("exporter accounting", (it) => {
  it.scoped(
    "100,000 records with the collector cut off half the time: received + dropped == produced, no id twice, queue bounded, heap bounded, no offer suspended",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        const proxy = yield* FaultProxy.make({ target: server.port })
        const gc = collectGarbage()
        gc()
        const heapBefore = process.memoryUsage().heapUsed

        // the live layer, in a scope this test closes itself (closing flushes the exporter)
        const sdk = yield* Sdk.live({
          apiKey: server.agentKey,
          agent: "load",
          endpoint: proxy.url,
          flushInterval: "20 millis",
          // long enough for a batch on a loaded 2-core machine (PostgreSQL took over 400 ms: every
          // attempt was cut at the same point and retried for ever), short enough for the hangs
          requestTimeout: "2 seconds",
          retryBaseDelay: "5 millis",
          retryMaxDelay: "40 millis",
          shutdownTimeout: "20 seconds"
        })
        const live = sdk.context
        const exporter = sdk.exporter
        const recorder = Context.get(live, Recorder.Recorder)

        // what the agent produced, seen at the Recorder (after the SDK made the records)
        const producedSteps = new Set<string>()
        const producedTrails = new Set<string>()
        let offered = 0
        let maxQueued = 0
        const watch = (): void => {
          offered++
          const queued = exporter.unsafeStats().queued
          if (queued > maxQueued) maxQueued = queued
        }
        const counted: Recorder.RecorderShape = {
          ...recorder,
          offerTrail: (record) => {
            producedTrails.add(record.id)
            recorder.offerTrail(record)
            watch()
          },
          offerStep: (record) => {
            producedSteps.add(record.id)
            recorder.offerStep(record)
            watch()
          }
        }
        const runtime = yield* Effect.runtime<Recorder.Recorder>().pipe(
          Effect.provide(Context.add(live, Recorder.Recorder, counted))
        )

        // the collector is cut off half of the time: 150 ms refusing every connection, then
        // 150 ms up with a fault on a third of the requests
        const flaky: FaultProxy.Faults = {
          refuse: 0.1,
          resetRequest: 0.06,
          blackhole: 0.02,
          hang: 0.02,
          resetResponse: 0.12,
          closeAfterHeaders: 0.06,
          trickle: 0.03,
          trickleRate: { bytes: 8192, everyMillis: 5 },
          toClient: { millis: 2, jitter: 2 }
        }
        yield* proxy.set(flaky)
        const cutter = yield* Effect.forever(
          proxy.down.pipe(
            Effect.zipRight(Effect.sleep("150 millis")),
            Effect.zipRight(proxy.up),
            Effect.zipRight(Effect.sleep("150 millis"))
          )
        ).pipe(Effect.forkScoped)

        let suspended = 0
        let failed = 0
        const classify = (exit: Exit.Exit<unknown, unknown>): void => {
          if (isSuspension(exit)) suspended++
          else if (Exit.isFailure(exit)) failed++
        }
        const step = Sniff.run("load.step", { layer: "execute" }, Effect.void)
        const oneTrail = (i: number) =>
          Trail.run(
            { trigger: "load", payload: { i } },
            Effect.flatMap(Effect.runtime<Trail.Trail>(), (inner) =>
              Effect.sync(() => {
                for (let s = 0; s < stepsPerTrail; s++) classify(Runtime.runSyncExit(inner)(step))
              }))
          )
        for (let i = 0; i < trails; i++) {
          classify(Runtime.runSyncExit(runtime)(oneTrail(i)))
          // the agent does other work between runs: the exporter, the proxy and the server run then
          yield* Effect.sleep("3 millis")
        }

        // the collector comes back for good; everything still queued is sent, then the layer closes
        yield* Fiber.interrupt(cutter)
        yield* proxy.up
        yield* proxy.heal
        yield* exporter.flush.pipe(
          Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("the exporter did not flush within 30 s after the collector came back") })
        )
        yield* sdk.close
        const stats = exporter.unsafeStats()
        const why = `${proxy.describe()}; stats ${JSON.stringify(stats)}`

        // the agent
        expect(offered).toBe(produced)
        expect(suspended, why).toBe(0)
        expect(failed, why).toBe(0)
        expect(producedTrails.size).toBe(trails)
        expect(producedSteps.size).toBe(trails * stepsPerTrail)

        // the exporter's own counters: every record offered is exported or dropped
        expect(stats.closed).toBe(true)
        expect(stats.offered, why).toBe(produced)
        expect(stats.exported + stats.dropped, why).toBe(produced)
        expect(stats.queued + stats.inFlight, why).toBe(0)
        expect(maxQueued, why).toBeLessThanOrEqual(Exporter.defaults.maxQueue + Exporter.defaults.maxAuditQueue)
        // a flush while the collector was reachable sends everything: nothing lost at shutdown,
        // nothing refused, no audit record lost; the only loss is the full queue while cut off
        expect(stats.droppedByReason, why).toStrictEqual({
          queue_full: stats.dropped,
          audit_lost: 0,
          invalid: 0,
          too_large: 0,
          rejected: 0,
          shutdown: 0,
          unconfirmed: 0
        })

        // the server's store: what it holds, plus what the exporter dropped, is what was produced
        const [counts] = yield* server.store.query<{ n: number; distinct_ids: number }>(
          "SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids FROM steps"
        )
        const storedSteps = counts!.n
        expect(counts!.distinct_ids, why).toBe(storedSteps) // no id stored twice
        const stored = yield* server.store.query<{ id: string }>("SELECT id FROM steps")
        expect(stored.filter((row) => !producedSteps.has(row.id)), why).toStrictEqual([]) // none invented
        const storedTrails = yield* server.store.query<{ id: string; status: string }>(
          "SELECT id, status FROM trails WHERE record IS NOT NULL"
        )
        expect(storedTrails.length, why).toBe(trails)
        expect(storedTrails.filter((t) => t.status !== "ok" || !producedTrails.has(t.id)), why).toStrictEqual([])
        // trail records all arrived (2 per trail); the steps that did not are exactly the dropped ones
        expect(stats.exported, why).toBe(2 * trails + storedSteps)
        expect(storedSteps + stats.dropped, why).toBe(trails * stepsPerTrail)

        // the faults happened: batches the server stored whose answer was lost were sent again
        const log = yield* proxy.exchanges
        const ingest = log.filter((e) => e.path === "/v1/ingest")
        const resent = ingest.filter((e) =>
          e.reachedServer && (e.fault === "hang" || e.fault === "resetResponse" || e.fault === "closeAfterHeaders")
        )
        expect(resent.length, why).toBeGreaterThan(0)

        // the heap does not keep what was sent
        producedSteps.clear()
        gc()
        const grown = process.memoryUsage().heapUsed - heapBefore
        expect(grown, `${why}; heap grew ${(grown / 1024 / 1024).toFixed(1)} MiB`).toBeLessThan(heapCeilingBytes)
      }),
    180_000
  )

  it.scoped(
    "closing while the collector is cut off: exported + dropped == offered, nothing invented, and the server holds at least every exported record",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        const proxy = yield* FaultProxy.make({
          target: server.port,
          faults: { resetRequest: 0.2, hang: 0.1, resetResponse: 0.2, closeAfterHeaders: 0.1 }
        })
        const sdk = yield* Sdk.live({
          apiKey: server.agentKey,
          agent: "cut-at-close",
          endpoint: proxy.url,
          flushInterval: "10 millis",
          requestTimeout: "300 millis",
          retryBaseDelay: "5 millis",
          retryMaxDelay: "40 millis",
          shutdownTimeout: "500 millis"
        })
        const ids = new Set<string>()
        const recorder = Context.get(sdk.context, Recorder.Recorder)
        const counted: Recorder.RecorderShape = {
          ...recorder,
          offerStep: (record) => {
            ids.add(record.id)
            recorder.offerStep(record)
          }
        }
        const step = Sniff.run("cut.step", { layer: "execute" }, Effect.void)
        for (let i = 0; i < 100; i++) {
          yield* Effect.forEach(Array.from({ length: 100 }), () => step, { discard: true }).pipe(
            Trail.run({ trigger: "cut", payload: { i } }),
            Effect.provide(Context.add(sdk.context, Recorder.Recorder, counted))
          )
          yield* Effect.sleep("2 millis")
        }
        // the collector goes away for good while records wait; the layer closes
        yield* proxy.down
        yield* sdk.close
        const stats = sdk.exporter.unsafeStats()
        const why = `${proxy.describe()}; stats ${JSON.stringify(stats)}`
        expect(stats.offered, why).toBe(100 * 102)
        expect(stats.exported + stats.dropped, why).toBe(stats.offered)
        expect(stats.queued + stats.inFlight, why).toBe(0)
        const [row] = yield* server.store.query<{ n: number; distinct_ids: number }>(
          "SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids FROM steps WHERE name = 'cut.step'"
        )
        const storedIds = yield* server.store.query<{ id: string }>("SELECT id FROM steps WHERE name = 'cut.step'")
        expect(storedIds.filter((r) => !ids.has(r.id)), why).toStrictEqual([]) // none invented
        expect(row!.distinct_ids, why).toBe(row!.n) // none twice
        const storedTrailRecords = yield* server.store.query<{ id: string }>(
          "SELECT id FROM trails WHERE json_extract(record, '$.agent') = 'cut-at-close'"
        )
        // at least what the exporter says it delivered (a trail counts once however many of its records came)
        expect(storedIds.length + 2 * storedTrailRecords.length, why).toBeGreaterThanOrEqual(stats.exported)
        // (at most that plus the records the exporter calls unconfirmed: see the next test)
      }),
    60_000
  )

  // A batch whose first attempt reached the server (its answer was lost) and that waits for its
  // retry when the layer closes may be stored: it is `unconfirmed`, never `shutdown` ("never sent"),
  // so that received + dropped never exceeds produced. (Found by this suite; was `shutdown`.)
  it.scoped(
    "a batch the server stored but never confirmed, waiting for its retry at the close, is counted unconfirmed, not never sent",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        let first = true
        const proxy = yield* FaultProxy.make({
          target: server.port,
          faults: {
            // the first send reaches the server, which stores it; its answer never comes
            choose: (r) => (r.path === "/v1/ingest" && first ? ((first = false), "hang") : undefined)
          }
        })
        const sdk = yield* Sdk.live({
          apiKey: server.agentKey,
          agent: "unconfirmed-at-close",
          endpoint: proxy.url,
          flushInterval: "10 millis",
          requestTimeout: "300 millis",
          retryBaseDelay: "10 seconds",
          retryMaxDelay: "10 seconds",
          shutdownTimeout: "300 millis"
        })
        const trailId = yield* Effect.gen(function*() {
          for (let i = 0; i < 3; i++) yield* Sniff.run("stored.step", { layer: "execute" }, Effect.void)
          return yield* Trail.id
        }).pipe(Trail.run({ trigger: "cut", payload: {} }), Sdk.provide(sdk))
        // the exporter gives up on the answer (requestTimeout) and waits up to 10 s to send again
        yield* Wait.until("the first send to time out", Effect.sync(() => sdk.exporter.unsafeStats().retried > 0 || proxy.unsafeExchanges().some((e) => e.endedAt !== undefined)))
        yield* proxy.down // a retry, should it come, is refused
        yield* sdk.close
        const stats = sdk.exporter.unsafeStats()
        const [stored] = yield* server.store.query<{ n: number }>("SELECT count(*) AS n FROM steps WHERE trail_id = ?", trailId)
        const why = `stats ${JSON.stringify(stats)}; the server stored ${stored!.n} steps`
        expect(stored!.n, why).toBe(3)
        expect(stats.exported, why).toBe(0)
        expect(stats.droppedByReason, why).toMatchObject({ unconfirmed: 5, shutdown: 0 })
      }),
    60_000
  )
})
