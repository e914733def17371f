/**
 * How the exporter's requests travel. With the default `FetchHttpClient` on Node they go through
 * a lean fetch on `node:http` (src/internal/nodeFetch.ts: Node's `fetch` costs three times the
 * CPU per request), but never behind the user's back: a `fetch` the user provides, a stubbed
 * global `fetch` and an `httpClient` of the user's own all see every request, and a redirect is
 * not followed, so the API key goes only to the endpoint the user set.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { accept, collector } from "./collector.js"
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
