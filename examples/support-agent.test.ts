/**
 * The support agent tested without a server or a model: `houndsight/test`'s fake gates and the
 * scripted model of `support-agent-model.ts`. It refunds when the gate approves (the reviewer's
 * amount when they edit it), never when the gate refuses (and tells the customer why), records
 * each model call with its tokens and cost, and never bypasses the gate.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as HoundsightAi from "houndsight/ai"
import { FakeGate, HoundsightTest } from "houndsight/test"
import { scriptedSupportModel } from "./support-agent-model.js"
import { ordersInMemory, scriptedPrices, supportAgent, SupportToolsLive } from "./support-agent.js"

const orders = [{ orderId: "A-42", customer: "cus_42", totalUsd: 120, status: "delivered" as const }]

const setup = (gate: FakeGate.FakeGate) => {
  const refunds: Array<{ orderId: string; amountUsd: number }> = []
  const layer = Layer.mergeAll(
    HoundsightTest.layer({ gate }),
    HoundsightAi.layer({ prices: scriptedPrices }).pipe(Layer.provide(scriptedSupportModel)),
    SupportToolsLive.pipe(Layer.provide(ordersInMemory(orders, refunds)))
  )
  return { refunds, layer }
}

const ticket = "My order A-42 arrived broken, can I get a refund?"

describe("support agent", () => {
  it.effect("looks the order up and refunds it when the gate approves; every call is recorded", () =>
    Effect.gen(function*() {
      const { layer, refunds } = setup(FakeGate.approveAll)
      const { answer, flags, requests, steps } = yield* Effect.gen(function*() {
        const answer = yield* supportAgent(ticket)
        return {
          answer,
          steps: yield* HoundsightTest.steps,
          requests: yield* HoundsightTest.requests,
          flags: yield* HoundsightTest.flags({ sensitive: ["stripe.*"] })
        }
      }).pipe(Effect.provide(layer))
      expect(answer).toBe("Done: order A-42 is refunded ($120, refund re_1).")
      expect(refunds).toEqual([{ orderId: "A-42", amountUsd: 120 }])
      expect(requests).toHaveLength(1)
      expect(requests[0]).toMatchObject({ actionName: "stripe.refund", riskSignals: { amount_usd: 120 } })
      // in start order: each model call, the tool calls it made under it, the review inside the refund
      const bySeq = steps.slice().sort((a, b) => a.seq - b.seq)
      const name = (id: string | null) => bySeq.find((s) => s.id === id)?.name ?? null
      expect(bySeq.map((s) => [`${s.layer}:${s.name}`, name(s.parentId)])).toEqual([
        ["reason:generateText", null],
        ["execute:lookup_order", "generateText"],
        ["reason:generateText", null],
        ["execute:stripe.refund", "generateText"],
        ["review:stripe.refund", "stripe.refund"],
        ["reason:generateText", null]
      ])
      const calls = steps.filter((s) => s.layer === "reason")
      for (const call of calls) {
        expect(call.model).toEqual({ provider: "scripted", name: "scripted-support-model" })
        expect(call.tokens!.input).toBeGreaterThan(0)
        expect(call.costUsd).toBeGreaterThan(0)
      }
      expect(flags).toEqual([])
    }))

  it.effect("refunds the reviewer's amount when they edit the refund", () =>
    Effect.gen(function*() {
      const { layer, refunds } = setup(
        FakeGate.modify((r) => ({ ...(r.payload as object), amountUsd: 60 }), "half: the box was fine")
      )
      const answer = yield* supportAgent(ticket).pipe(Effect.provide(layer))
      expect(refunds).toEqual([{ orderId: "A-42", amountUsd: 60 }])
      expect(answer).toContain("$60")
    }))

  it.effect("does not refund when the reviewer rejects, and tells the customer why", () =>
    Effect.gen(function*() {
      const { layer, refunds } = setup(FakeGate.rejectAll)
      const answer = yield* supportAgent(ticket).pipe(Effect.provide(layer))
      expect(refunds).toEqual([])
      expect(answer).toContain("I have not refunded order A-42")
      expect(answer).toContain("rejected by the fake gate")
    }))
})
