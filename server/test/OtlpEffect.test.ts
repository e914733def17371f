/**
 * `POST /v1/traces` end to end with `@effect/opentelemetry` 0.64 (the Effect 3 line) and its own
 * OTLP exporter (`OtlpTracer`, in protobuf and in JSON): spans an Effect program opens with
 * `Effect.withSpan` become the steps of a trail, and the bypass audit flags a sensitive one that
 * had no review.
 */
import { describe, expect, it } from "@effect/vitest"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer } from "effect"
import * as OtlpMapping from "../src/OtlpMapping.js"
import { startServer } from "./helpers.js"

describe("POST /v1/traces from @effect/opentelemetry", () => {
  for (const [format, serialization] of [
    ["protobuf", OtlpSerialization.layerProtobuf],
    ["JSON", OtlpSerialization.layerJson]
  ] as const) {
    it.scopedLive(`Effect.withSpan spans, exported by OtlpTracer in ${format}, are the steps of a trail the audit reads`, () =>
      Effect.gen(function*() {
        const s = yield* startServer({ rulesFile: { sensitive: ["stripe.*"], rules: [] } })
        const tracer = OtlpTracer.layer({
          url: `${s.url}/v1/traces`,
          resource: { serviceName: "effect-agent" },
          headers: { authorization: `Bearer ${s.agentKey}` },
          exportInterval: "50 millis"
        }).pipe(Layer.provide(serialization), Layer.provide(FetchHttpClient.layer))
        const program = Effect.gen(function*() {
          const root = yield* Effect.currentSpan
          yield* Effect.void.pipe(
            Effect.withSpan("chat", {
              attributes: {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
                "gen_ai.response.model": "claude-sonnet-4",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 4
              }
            })
          )
          yield* Effect.void.pipe(Effect.withSpan("stripe.charge", { attributes: { amount_usd: 12 } }))
          return root.traceId
        }).pipe(Effect.withSpan("run"))
        // closing the tracer's scope flushes what it holds
        const traceId = yield* Effect.scoped(Effect.provide(program, tracer))
        const trailId = OtlpMapping.trailIdOf(Buffer.from(traceId, "hex"))
        const answer = yield* s.reviewer.get(`/v1/trails/${trailId}`)
        expect(answer.status).toBe(200)
        expect(answer.body.trail).toMatchObject({ agent: "effect-agent", trigger: "run", status: "ok" })
        expect(answer.body.steps.map((step: { name: string }) => step.name)).toEqual(["run", "chat", "stripe.charge"])
        expect(answer.body.steps[1]).toMatchObject({
          layer: "reason",
          model: { provider: "anthropic", name: "claude-sonnet-4" },
          tokens: { input: 10, output: 4 }
        })
        expect(answer.body.flags).toEqual([expect.objectContaining({ kind: "unleashed_action", action_name: "stripe.charge" })])
      }))
  }
})
