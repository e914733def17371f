/**
 * The exporter's fibers belong to the layer's Scope (`Effect.forkIn`): closing the Scope ends
 * them, and the close stays bounded even when the `HttpClient` does not let its request be
 * interrupted (the worker is given one more second after `shutdownTimeout`, then left behind).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { balanced, start, stepRecord } from "./harness.js"
import type { Collector } from "./collector.js"

describe("the exporter's fibers in the layer's Scope", () => {
  it.scopedLive("with a client that ignores interruption, closing still ends and counts the request unconfirmed", () =>
    Effect.gen(function*() {
      let requests = 0
      const stubborn = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make(() =>
          Effect.suspend(() => {
            requests++
            return Effect.never
          }).pipe(Effect.uninterruptible)
        )
      )
      // the client never reaches the collector: any address will do
      const nowhere = { url: "http://127.0.0.1:9" } as Collector
      const live = yield* start(nowhere, {
        httpClient: stubborn,
        flushInterval: "60 seconds",
        shutdownTimeout: "200 millis"
      })
      yield* Effect.sync(() => {
        for (let i = 0; i < 5; i++) live.recorder.offerStep(stepRecord())
      })
      yield* live.exporter.flush.pipe(Effect.timeoutOption("100 millis"))
      expect(requests).toBe(1)
      // shutdownTimeout, then one more second for the interruption: well within this bound
      const closed = yield* live.close.pipe(Effect.timeoutOption("5 seconds"))
      expect(Option.isSome(closed)).toBe(true)
      const stats = live.exporter.unsafeStats()
      expect(stats.closed).toBe(true)
      expect(stats.droppedByReason.unconfirmed).toBe(5)
      expect(balanced(stats)).toBe(true)
    }))
})
