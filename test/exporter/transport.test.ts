/**
 * How the exporter's requests travel. With the default `FetchHttpClient` on Node they go straight
 * through `node:http` (src/internal/nodeFetch.ts: Node's `fetch`, the `Response` and the
 * `HttpClient` around it cost several times the CPU per request), but never behind the user's
 * back: a `fetch` the user provides, a stubbed global `fetch` and an `httpClient` of the user's own
 * all see every request. Both ways send the same request, and a redirect is not followed, so the
 * API key goes only to the endpoint the user set.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { accept, collector, type Received } from "./collector.js"
import { captureLogs, start, stepRecord } from "./harness.js"

const noTimer = { flushInterval: "60 seconds" } as const

/** A fetch that counts its calls and hands them to Node's own. */
const countingFetch = () => {
  const native = globalThis.fetch
  const calls: Array<string> = []
  const fetch = ((input: string | URL | Request, init?: RequestInit) => {
    calls.push(String(input))
    return native(input, init)
  }) as typeof globalThis.fetch
  return { calls, fetch }
}

describe("the exporter's requests", () => {
  it.scopedLive("go through a FetchHttpClient.Fetch the user provides", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const counting = countingFetch()
      const live = yield* start(c, noTimer).pipe(Effect.provideService(FetchHttpClient.Fetch, counting.fetch))
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(counting.calls).toEqual([`${c.url}/v1/ingest`])
      expect(c.delivered().steps).toHaveLength(1)
      yield* live.close
    }))

  it.scopedLive("go through an httpClient layer of the user's own", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const counting = countingFetch()
      const httpClient = FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, counting.fetch)))
      const live = yield* start(c, { ...noTimer, httpClient })
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(counting.calls).toHaveLength(1)
      expect(c.delivered().steps).toHaveLength(1)
      yield* live.close
    }))

  it.scopedLive("go through a stubbed global fetch", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const counting = countingFetch()
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          const original = globalThis.fetch
          globalThis.fetch = counting.fetch
          return original
        }),
        (original) =>
          Effect.sync(() => {
            globalThis.fetch = original
          })
      )
      const live = yield* start(c, noTimer)
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(counting.calls).toEqual([`${c.url}/v1/ingest`])
      yield* live.close
    }))

  it.scopedLive("are the same through node:http as through fetch: method, path, headers and body", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const step = stepRecord({ name: "naïve ☃ step" })
      const send = (provide: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
        Effect.gen(function*() {
          const live = yield* provide(start(c, noTimer))
          live.recorder.offerStep(step)
          yield* live.exporter.flush
          yield* live.close
        })
      const counting = countingFetch()
      yield* send((self) => self)
      yield* send(Effect.provideService(FetchHttpClient.Fetch, counting.fetch))
      expect(counting.calls).toHaveLength(1)
      const [lean, viaFetch] = c.requests
      const seen = (r: Received) => ({
        method: r.method,
        path: r.path,
        authorization: r.headers.authorization,
        accept: r.headers.accept,
        contentType: r.headers["content-type"],
        contentLength: r.headers["content-length"],
        text: r.text
      })
      expect(seen(lean!)).toEqual(seen(viaFetch!))
      expect(Number(lean!.headers["content-length"])).toBe(Buffer.byteLength(lean!.text, "utf8"))
    }))

  it.scopedLive("take an answer fetch cannot represent (status 600) as a transport failure, and retry", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) => (r.index === 0 ? { status: 600 } : accept(r)))
      const logs = captureLogs()
      const live = yield* logs.provide(start(c, { ...noTimer, retryBaseDelay: "1 millis", retryMaxDelay: "2 millis" }))
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(c.requests.map((r) => r.status)).toEqual([600, 202])
      expect(live.exporter.unsafeStats()).toMatchObject({ exported: 1, retried: 1, dropped: 0 })
      expect(logs.lines.some((l) => l.message.includes("transport failure"))).toBe(true)
      yield* live.close
    }))

  it.scopedLive("do not follow a redirect: the batch is dropped and the log says where the endpoint points", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) =>
        r.path === "/v1/ingest" ? { status: 308, headers: { location: "https://elsewhere.example/v1/ingest" } } : accept(r)
      )
      const logs = captureLogs()
      const live = yield* logs.provide(start(c, noTimer))
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      // the key never went to another address
      expect(c.requests.map((r) => r.path)).toEqual(["/v1/ingest"])
      expect(live.exporter.unsafeStats()).toMatchObject({ exported: 0, dropped: 1, rejectedByStatus: { "308": 1 } })
      const line = logs.lines.find((l) => l.message.includes("status 308"))!
      expect(line.level).toBe("ERROR")
      expect(line.message).toContain("redirects to https://elsewhere.example/v1/ingest")
      yield* live.close
    }))
})
