/**
 * The recording layer over the real @effect/ai-anthropic 0.27 client, against a fake of
 * Anthropic's `POST /v1/messages` on 127.0.0.1 (a JSON answer with usage): Anthropic reports cache
 * reads beside `input_tokens`, and the step's `input` counts both.
 */
import { LanguageModel } from "@effect/ai"
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import * as HoundsightAi from "houndsight/ai"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { run, step } from "./helpers.js"

const fakeAnthropic = (answer: Record<string, unknown>) =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; url: string; requests: Array<{ url: string; body: any }> }>((resume) => {
      const requests: Array<{ url: string; body: any }> = []
      const server = Http.createServer((req, res) => {
        let body = ""
        req.on("data", (c) => (body += c))
        req.on("end", () => {
          requests.push({ url: req.url ?? "", body: JSON.parse(body) })
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify(answer))
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

describe("houndsight/ai with @effect/ai-anthropic", () => {
  it.scopedLive("a Messages API call is a reason step: anthropic model, text, tokens with cache reads, cost", () =>
    Effect.gen(function*() {
      const fake = yield* fakeAnthropic({
        id: "msg_1",
        type: "message",
        role: "assistant",
        content: [{ type: "text", text: "Your order shipped." }],
        model: "claude-sonnet-4-20250514",
        stop_reason: "end_turn",
        usage: { input_tokens: 1000, output_tokens: 200, cache_read_input_tokens: 500 }
      })
      const model = HoundsightAi.layer().pipe(
        Layer.provide(AnthropicLanguageModel.model("claude-sonnet-4-20250514")),
        Layer.provide(AnthropicClient.layer({ apiKey: Redacted.make("sk-ant-test"), apiUrl: fake.url })),
        Layer.provide(FetchHttpClient.layer)
      )
      const { exit, steps } = yield* run(model, Effect.map(LanguageModel.generateText({ prompt: "Where is A-42?" }), (r) => r.text))
      expect(exit).toEqual(Exit.succeed("Your order shipped."))
      expect(fake.requests[0]!.url).toMatch(/^\/v1\/messages/)
      const call = step(steps, "generateText")
      expect(call).toMatchObject({
        model: { provider: "anthropic", name: "claude-sonnet-4-20250514" },
        tokens: { input: 1500, output: 200, cachedInput: 500 },
        output: { text: "Your order shipped.", finish_reason: "stop" }
      })
      // claude-sonnet-4: $3 input, $0.30 cache read, $15 output per million
      expect(call.costUsd).toBeCloseTo((1000 * 3 + 500 * 0.3 + 200 * 15) / 1e6, 12)
    }))
})
