/**
 * Model calls of an @effect/ai agent, recorded: the real @effect/ai-openai 0.41 client against a
 * fake Responses API on 127.0.0.1.
 */
import { Chat, LanguageModel, Tool, Toolkit } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schema, Stream } from "effect"
import { Sniff, Trail } from "houndsight"
import * as HoundsightAi from "houndsight/ai"
import { HoundsightTest, FakeGate } from "houndsight/test"
import { fakeOpenAi } from "./fakeOpenAi.js"
import { recorded, run, step } from "./helpers.js"

const LookupOrder = Tool.make("lookup_order", {
  description: "Looks an order up",
  parameters: { orderId: Schema.String },
  success: Schema.Struct({ orderId: Schema.String, status: Schema.String, totalUsd: Schema.Number })
})
const Tools = Toolkit.make(LookupOrder)
const toolsLayer = (delayMs = 0) =>
  Tools.toLayer({
    lookup_order: ({ orderId }) =>
      Effect.as(Effect.promise(() => new Promise((r) => setTimeout(r, delayMs))), {
        orderId,
        status: "delivered",
        totalUsd: 42
      })
  })

describe("houndsight/ai: model calls", () => {
  it.scopedLive("generateText is a reason step under the open sniff: model, messages, response, tokens, cost", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ text: "Your order shipped.", usage: { input: 1200, output: 300, cached: 200 } }])
      const { exit, steps } = yield* run(
        recorded(fake.url),
        LanguageModel.generateText({ prompt: "Where is my order?" }).pipe(
          Effect.map((r) => r.text),
          Sniff.run("answer", { layer: "respond" })
        )
      )
      expect(exit).toEqual(Exit.succeed("Your order shipped."))
      const parent = step(steps, "answer")
      const call = step(steps, "generateText")
      expect(call).toMatchObject({
        layer: "reason",
        status: "ok",
        parentId: parent.id,
        model: { provider: "openai", name: "gpt-4o-mini-2024-07-18" },
        tokens: { input: 1200, output: 300, cachedInput: 200, reasoning: 0 },
        input: { messages: [{ role: "user", content: [{ type: "text", text: "Where is my order?" }] }] },
        output: { text: "Your order shipped.", finish_reason: "stop" }
      })
      // gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per million
      expect(call.costUsd).toBeCloseTo((1000 * 0.15 + 200 * 0.075 + 300 * 0.6) / 1e6, 12)
      expect(typeof (call.output as any).latency_ms).toBe("number")
      // the request the client sent is what the step recorded
      expect(fake.requests[0].model).toBe("gpt-4o-mini")
    }))

  it.scopedLive("a model without a price records its tokens and no cost; prices extend and replace the defaults", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([
        { text: "a", model: "my-fine-tune", usage: { input: 100, output: 10 } },
        { text: "b", model: "my-fine-tune", usage: { input: 100, output: 10 } },
        { text: "c", model: "gpt-4o-mini", usage: { input: 100, output: 10 } }
      ])
      const agent = LanguageModel.generateText({ prompt: "hi" })
      const unpriced = yield* run(recorded(fake.url), agent)
      expect(step(unpriced.steps, "generateText").tokens).toEqual({ input: 100, output: 10, cachedInput: 0, reasoning: 0 })
      expect(step(unpriced.steps, "generateText").costUsd).toBeUndefined()
      const extended = yield* run(recorded(fake.url, { prices: { "my-fine-tune": { input: 3, output: 12 } } }), agent)
      expect(step(extended.steps, "generateText").costUsd).toBeCloseTo((100 * 3 + 10 * 12) / 1e6, 12)
      const replaced = yield* run(recorded(fake.url, { prices: () => ({}) }), agent)
      expect(step(replaced.steps, "generateText").costUsd).toBeUndefined()
      expect(step(replaced.steps, "generateText").tokens?.input).toBe(100)
    }))

  it.scopedLive("tool calls the model makes are execute steps under its step; latency leaves out the tools' time", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([
        { toolCalls: [{ id: "call_1", name: "lookup_order", args: { orderId: "A-42" } }], delayMs: 10 },
        { text: "Order A-42 was delivered." }
      ])
      const agent = Effect.gen(function*() {
        const first = yield* LanguageModel.generateText({ prompt: "Where is A-42?", toolkit: Tools })
        return first.toolResults.length
      })
      const { exit, steps } = yield* run(recorded(fake.url), Effect.provide(agent, toolsLayer(300)))
      expect(exit).toEqual(Exit.succeed(1))
      const call = step(steps, "generateText")
      const tool = step(steps, "lookup_order")
      expect(tool).toMatchObject({
        layer: "execute",
        status: "ok",
        parentId: call.id,
        input: { orderId: "A-42" },
        output: { result: { orderId: "A-42", status: "delivered", totalUsd: 42 } }
      })
      expect(call.output).toMatchObject({
        finish_reason: "tool-calls",
        tool_calls: [{ id: "call_1", name: "lookup_order", params: { orderId: "A-42" } }],
        tool_results: [{ id: "call_1", name: "lookup_order", is_failure: false }]
      })
      expect(call.input).toMatchObject({ tools: ["lookup_order"] })
      const wall = call.endedAt.getTime() - call.startedAt.getTime()
      const latency = (call.output as any).latency_ms as number
      expect(wall).toBeGreaterThanOrEqual(300)
      expect(latency).toBeLessThan(wall - 250)
    }))

  it.scopedLive("a failed call is an error step with the AiError's tag and message; the caller gets the failure unchanged", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ status: 400 }])
      const { exit, steps } = yield* run(recorded(fake.url), LanguageModel.generateText({ prompt: "hi" }))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? (exit.cause as any).error : undefined
      expect(error._tag).toBe("HttpResponseError")
      const call = step(steps, "generateText")
      expect(call.status).toBe("error")
      expect(call.error).toEqual({ type: "HttpResponseError", message: error.message })
    }))

  it.scopedLive("streamText: one reason step with the whole text, tokens and the time to the first part; its tool calls are its children", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{
        text: "Looking that order up for you now.",
        toolCalls: [{ id: "call_9", name: "lookup_order", args: { orderId: "B-7" } }],
        usage: { input: 50, output: 20, reasoning: 4 },
        delayMs: 5
      }])
      const agent = LanguageModel.streamText({ prompt: "Where is B-7?", toolkit: Tools }).pipe(
        Stream.runCollect,
        Effect.map((parts) => [...parts].filter((p) => p.type === "text-delta").map((p: any) => p.delta).join(""))
      )
      const { exit, steps } = yield* run(recorded(fake.url), Effect.provide(agent, toolsLayer()))
      expect(exit).toEqual(Exit.succeed("Looking that order up for you now."))
      const call = step(steps, "streamText")
      expect(call).toMatchObject({
        layer: "reason",
        status: "ok",
        model: { provider: "openai", name: "gpt-4o-mini-2024-07-18" },
        tokens: { input: 50, output: 20, reasoning: 4 },
        output: {
          text: "Looking that order up for you now.",
          finish_reason: "tool-calls",
          tool_calls: [{ id: "call_9", name: "lookup_order", params: { orderId: "B-7" } }]
        }
      })
      expect(fake.requests[0].stream).toBe(true)
      const first = (call.output as any).first_part_ms as number
      expect(first).toBeGreaterThanOrEqual(0)
      expect(first).toBeLessThanOrEqual((call.output as any).latency_ms)
      expect(step(steps, "lookup_order").parentId).toBe(call.id)
    }))

  it.scopedLive("a retried call records each attempt: the failed one as error, the next as ok", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ status: 400 }, { text: "second time lucky", usage: { input: 7, output: 3 } }])
      const { exit, steps } = yield* run(
        recorded(fake.url),
        LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.retry({ times: 1 }), Effect.map((r) => r.text))
      )
      expect(exit).toEqual(Exit.succeed("second time lucky"))
      const attempts = steps.filter((s) => s.name === "generateText").sort((a, b) => a.seq - b.seq)
      expect(attempts.map((a) => a.status)).toEqual(["error", "ok"])
      expect(attempts[1]!.tokens).toMatchObject({ input: 7, output: 3 })
      expect(attempts[1]!.input).toEqual(attempts[0]!.input)
    }))

  it.scopedLive("a failed stream is an error step with the AiError's tag; the stream fails unchanged", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ status: 400 }])
      const { exit, steps } = yield* run(recorded(fake.url), Stream.runDrain(LanguageModel.streamText({ prompt: "hi" })))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? (exit.cause as any).error : undefined
      expect(error._tag).toBe("HttpResponseError")
      expect(step(steps, "streamText")).toMatchObject({
        status: "error",
        error: { type: "HttpResponseError", message: error.message }
      })
    }))

  it.scopedLive("a Chat re-sends its history: each call records only its new messages", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ text: "Hello! How can I help?" }, { text: "It was delivered." }])
      const agent = Effect.gen(function*() {
        const chat = yield* Chat.empty
        yield* chat.generateText({ prompt: "Hi" })
        yield* chat.generateText({ prompt: "Where is my order?" })
      })
      const { steps } = yield* run(recorded(fake.url), agent)
      const second = step(steps, "generateText", 1)
      expect(second.input).toEqual({
        messages: [{ role: "user", content: [{ type: "text", text: "Where is my order?" }] }],
        history_messages: 2
      })
      // the model did get the whole history
      expect(fake.requests[1].input).toHaveLength(3)
    }))

  it.scopedLive("generateObject records the decoded object; redact sees model steps as every record", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ text: JSON.stringify({ orderId: "C-1", refund: true }) }])
      const Intent = Schema.Struct({ orderId: Schema.String, refund: Schema.Boolean })
      const { steps } = yield* run(
        recorded(fake.url),
        LanguageModel.generateObject({ prompt: "my card 4242 4242 4242 4242, refund C-1", schema: Intent }),
        { redact: { step: (r) => ({ ...r, input: JSON.parse(JSON.stringify(r.input).replace(/4242/g, "####")) }) } }
      )
      const call = step(steps, "generateObject")
      expect((call.output as any).object).toEqual({ orderId: "C-1", refund: true })
      expect(JSON.stringify(call.input)).toContain("#### #### #### ####")
      expect(JSON.stringify(call.input)).not.toContain("4242")
    }))

  it.scopedLive("outside a trail the model is called untouched and nothing is recorded", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ text: "plain" }])
      const text = yield* LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.map((r) => r.text),
        Effect.provide(recorded(fake.url))
      )
      expect(text).toBe("plain")
    }))

  it.scopedLive("an interrupted call is recorded as interrupted, and so is the sniff around it", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ hang: true }])
      const agent = LanguageModel.generateText({ prompt: "hi" }).pipe(Sniff.run("ask", { layer: "plan" }))
      const program = Effect.gen(function*() {
        const fiber = yield* Effect.fork(Trail.run({ trigger: "test", payload: {} }, agent))
        while (fake.requests.length === 0) yield* Effect.sleep("5 millis")
        yield* Fiber.interrupt(fiber)
        return yield* HoundsightTest.steps
      }).pipe(Effect.provide(Layer.merge(recorded(fake.url), HoundsightTest.layer({ gate: FakeGate.approveAll }))))
      const steps = yield* program
      expect(step(steps, "generateText").status).toBe("interrupted")
      expect(step(steps, "ask").status).toBe("interrupted")
    }))
})

describe("houndsight/ai: prices", () => {
  it("defaults carry their date; a dated snapshot takes its model's price, nothing else is guessed", () => {
    expect(HoundsightAi.defaultPricesAsOf).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(HoundsightAi.defaultPrices["gpt-4o"]).toEqual({ input: 2.5, output: 10, cachedInput: 1.25 })
    expect(HoundsightAi.costOf({ input: 2, output: 8 }, 1_000_000, 0, 500_000)).toBeCloseTo(2, 12)
    expect(HoundsightAi.costOf({ input: 2, output: 8, cachedInput: 0.5 }, 1_000_000, 1_000_000, 500_000)).toBeCloseTo(
      1 + 0.25 + 8,
      12
    )
  })
  it("a bad price is refused with the model's name", () => {
    expect(() => HoundsightAi.wrap({} as any, { prices: { x: { input: -1, output: 1 } } })).toThrow(/price of "x"/)
  })
})
