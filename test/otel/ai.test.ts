/**
 * `houndsight/ai` recording and the span bridge together: @effect/ai's own spans
 * (`LanguageModel.*`, `Toolkit.handle`) are not recorded a second time, while the user's
 * exporter still receives them; a model step sent as a span carries the GenAI usage attributes.
 */
import { Chat, LanguageModel, Tool, Toolkit } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Schema, Stream } from "effect"
import { Sniff } from "houndsight"
import * as HoundsightAi from "houndsight/ai"
import { FakeGate } from "houndsight/test"
import { fakeOpenAi } from "../ai/fakeOpenAi.js"
import { recorded } from "../ai/helpers.js"
import { inTrail, spanNamed, stepNamed, traced } from "./helpers.js"

const LookupOrder = Tool.make("lookup_order", {
  description: "Looks an order up",
  parameters: { orderId: Schema.String },
  success: Schema.Struct({ orderId: Schema.String, status: Schema.String })
})
const Tools = Toolkit.make(LookupOrder)
const toolsLayer = Tools.toLayer({ lookup_order: ({ orderId }) => Effect.succeed({ orderId, status: "delivered" }) })

const RefundOrder = Tool.make("refund_order", {
  parameters: { orderId: Schema.String },
  success: Schema.Struct({ refundId: Schema.String })
})
const Refunds = Toolkit.make(RefundOrder)
const refundsLayer = Refunds.toLayer({ refund_order: ({ orderId }) => Effect.succeed({ refundId: `re_${orderId}` }) })
const LeashedRefunds = HoundsightAi.Leash.toolkit(Refunds, {
  refund_order: { actionName: "stripe.refund", summary: (p) => `Refund ${p.orderId}`, riskSignals: () => ({}) }
})

describe("HoundsightTracer with houndsight/ai", () => {
  it.scopedLive("a Chat's call is recorded once: its Chat.generateText span is not a second step", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ text: "Hello." }])
      const agent = inTrail(Effect.gen(function*() {
        const chat = yield* Chat.empty
        return (yield* chat.generateText({ prompt: "hi" })).text
      }))
      const { exit, spans, steps } = yield* Effect.promise(() =>
        traced({ spans: { names: [/^Chat\./, /^LanguageModel\./] } }, agent, recorded(fake.url))
      )
      expect(exit).toEqual(Exit.succeed("Hello."))
      expect(steps.map((s) => s.name)).toEqual(["generateText"])
      expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(["Chat.generateText", "LanguageModel.generateText"]))
    }))

  it.scopedLive("a leashed tool call is recorded once, by its action and review steps", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ toolCalls: [{ id: "call_r", name: "refund_order", args: { orderId: "A-42" } }] }])
      const agent = inTrail(LanguageModel.generateText({ prompt: "Refund A-42", toolkit: LeashedRefunds })).pipe(
        Effect.provide(refundsLayer)
      )
      const { exit, spans, steps } = yield* Effect.promise(() => traced({ spans: "all" }, agent, recorded(fake.url)))
      expect(Exit.isSuccess(exit)).toBe(true)
      const call = stepNamed(steps, "generateText")
      expect(steps.filter((s) => s.name !== "http.client POST").map((s) => [s.name, s.layer]).sort()).toEqual([
        ["generateText", "reason"],
        ["stripe.refund", "execute"],
        ["stripe.refund", "review"]
      ])
      expect(steps.find((s) => s.name === "stripe.refund" && s.layer === "execute")!.parentId).toBe(call.id)
      expect(spans.map((s) => s.name)).toContain("Toolkit.handle")
    }))

  it.scopedLive("a refused leashed tool call reaches the tracer named after the tool, as its step is", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([{ toolCalls: [{ id: "call_r", name: "refund_order", args: { orderId: "A-42" } }] }])
      const agent = inTrail(LanguageModel.generateText({ prompt: "Refund A-42", toolkit: LeashedRefunds })).pipe(
        Effect.provide(refundsLayer)
      )
      const { spans, steps } = yield* Effect.promise(() =>
        traced({ steps: true }, agent, recorded(fake.url), FakeGate.rejectAll)
      )
      const call = steps.find((s) => s.layer === "execute")!
      expect(call.name).toBe("refund_order")
      const review = steps.find((s) => s.layer === "review")!
      expect(review.leash?.decision).toBe("rejected")
      const byStep = (id: string) => spans.find((s) => s.attributes["houndsight.step_id"] === id)!
      expect(byStep(call.id).name).toBe("refund_order")
      expect(byStep(review.id)).toMatchObject({ name: "stripe.refund" })
      expect(byStep(review.id).attributes["houndsight.leash.decision"]).toBe("rejected")
    }))

  it.scopedLive("a model call and its tool call are recorded once, with every span still exported", () =>
    Effect.gen(function*() {
      const fake = yield* fakeOpenAi([
        { toolCalls: [{ id: "call_1", name: "lookup_order", args: { orderId: "A-42" } }], usage: { input: 40, output: 8 } },
        { text: "Delivered.", usage: { input: 900, output: 30 } }
      ])
      const agent = inTrail(Sniff.run(
        "answer",
        { layer: "respond" },
        Effect.gen(function*() {
          yield* LanguageModel.generateText({ prompt: "Where is A-42?", toolkit: Tools })
          const stream = yield* Stream.runCollect(LanguageModel.streamText({ prompt: "And now?" }))
          return stream.length > 0
        })
      )).pipe(Effect.provide(toolsLayer))
      const { exit, spans, steps } = yield* Effect.promise(() =>
        traced({ spans: "all", steps: true }, agent, recorded(fake.url))
      )
      expect(exit).toEqual(Exit.succeed(true))
      const names = steps.map((s) => s.name)
      expect(names.filter((n) => n === "generateText")).toHaveLength(1)
      expect(names.filter((n) => n === "streamText")).toHaveLength(1)
      expect(names.filter((n) => n === "lookup_order")).toHaveLength(1)
      expect(names.filter((n) => n.startsWith("LanguageModel.") || n === "Toolkit.handle")).toEqual([])
      // the user's exporter still has @effect/ai's own spans
      expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining([
        "LanguageModel.generateText",
        "LanguageModel.streamText",
        "Toolkit.handle"
      ]))
      // the HTTP client's spans are steps (under the model step), and are not sent back as spans
      expect(names.filter((n) => n === "http.client POST")).toHaveLength(2)
      expect(steps.find((s) => s.name === "http.client POST")!.parentId).toBe(stepNamed(steps, "generateText").id)
      expect(spans.filter((s) => s.attributes["houndsight.step_id"] !== undefined).map((s) => s.name).sort()).toEqual(
        ["answer", "generateText", "lookup_order", "streamText"]
      )
      expect(spans.filter((s) => s.name === "http.client POST")).toHaveLength(2)
      // the model step as a span, with the GenAI usage attributes
      const call = stepNamed(steps, "generateText")
      const callSpan = spans.find((s) => s.attributes["houndsight.step_id"] === call.id)!
      expect(callSpan.name).toBe("generateText")
      expect(callSpan.attributes).toMatchObject({
        "houndsight.layer": "reason",
        "gen_ai.usage.input_tokens": call.tokens!.input,
        "gen_ai.usage.output_tokens": call.tokens!.output,
        "gen_ai.provider.name": "openai",
        "gen_ai.response.model": call.model!.name
      })
      expect(callSpan.attributes["houndsight.cost_usd"]).toBe(call.costUsd)
      // @effect/ai's span of the call runs inside the call's step span
      expect(spanNamed(spans, "LanguageModel.generateText").parentSpanContext?.spanId).toBe(
        callSpan.spanContext().spanId
      )
    }))
})
