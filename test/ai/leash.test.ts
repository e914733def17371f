/**
 * Tools behind the leash: `Leash.toolkit` over a toolkit the test did not change (its handlers
 * come from the original `toLayer`), driven by the real @effect/ai-openai client against the fake
 * Responses API, under every decision kind of the fake gates of `houndsight/test`.
 */
import { Chat, LanguageModel, Tool, Toolkit } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schema, Stream, TestClock } from "effect"
import { Audit, Trail } from "houndsight"
import * as HoundsightAi from "houndsight/ai"
import { FakeGate, HoundsightTest } from "houndsight/test"
import * as fs from "node:fs"
import * as path from "node:path"
import { fakeOpenAi, type Turn } from "./fakeOpenAi.js"
import { recorded, run, step } from "./helpers.js"

// a "library" toolkit: the test only leashes it
const LookupOrder = Tool.make("lookup_order", {
  parameters: { orderId: Schema.String },
  success: Schema.Struct({ orderId: Schema.String, totalUsd: Schema.Number })
})
const RefundOrder = Tool.make("refund_order", {
  description: "Refunds an order",
  parameters: { orderId: Schema.String, amountUsd: Schema.Number.pipe(Schema.positive()) },
  success: Schema.Struct({ refundId: Schema.String, amountUsd: Schema.Number }),
  failure: Schema.Struct({ _tag: Schema.Literal("RefundFailed"), message: Schema.String })
})
const Library = Toolkit.make(LookupOrder, RefundOrder)

const refunds: Array<{ orderId: string; amountUsd: number }> = []
const LibraryHandlers = Library.toLayer({
  lookup_order: ({ orderId }) => Effect.succeed({ orderId, totalUsd: 120 }),
  refund_order: ({ amountUsd, orderId }) =>
    orderId === "BROKEN"
      ? Effect.fail({ _tag: "RefundFailed" as const, message: "the card was closed" })
      : Effect.sync(() => {
        refunds.push({ orderId, amountUsd })
        return { refundId: `re_${refunds.length}`, amountUsd }
      })
})

const Leashed = HoundsightAi.Leash.toolkit(Library, {
  refund_order: {
    actionName: "stripe.refund",
    summary: (p) => `Refund ${p.orderId}: $${p.amountUsd}`,
    riskSignals: (p) => ({ amountUsd: p.amountUsd }),
    timeoutSeconds: 600
  }
})

const refundTurn = (args: unknown = { orderId: "A-42", amountUsd: 120 }): Turn => ({
  toolCalls: [{ id: "call_r", name: "refund_order", args }]
})

/** Asks for the refund, then asks what happened (the model sees the tool result). */
const agent = Effect.gen(function*() {
  const chat = yield* Chat.empty
  const first = yield* chat.generateText({ prompt: "Refund order A-42", toolkit: Leashed })
  yield* chat.generateText({ prompt: "What happened?", toolkit: Leashed })
  return first.toolResults.map((r) => ({ isFailure: r.isFailure, result: r.result }))
}).pipe(Effect.provide(LibraryHandlers))

const rules = { sensitive: ["stripe.*"] }

/** The tool output the model got back in the second request. */
const toolOutput = (requests: Array<any>) =>
  JSON.parse(requests[1].input.find((i: any) => i.type === "function_call_output").output)

const decided = (gate: FakeGate.FakeGate, args?: unknown) =>
  Effect.gen(function*() {
    refunds.length = 0
    const fake = yield* fakeOpenAi([refundTurn(args), { text: "Done." }])
    const ran = yield* run(recorded(fake.url), agent, { gate })
    return { ...ran, fake }
  })

describe("houndsight/ai: Leash.toolkit", () => {
  it.scopedLive("approved: the handler runs; one execute step named after the action wraps its review step", () =>
    Effect.gen(function*() {
      const { exit, fake, steps } = yield* decided(FakeGate.approveAll)
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(refunds).toEqual([{ orderId: "A-42", amountUsd: 120 }])
      const call = step(steps, "generateText")
      const action = steps.find((s) => s.name === "stripe.refund" && s.layer === "execute")!
      const review = steps.find((s) => s.name === "stripe.refund" && s.layer === "review")!
      expect(action).toMatchObject({ parentId: call.id, status: "ok", input: { orderId: "A-42", amountUsd: 120 } })
      expect(action.output).toEqual({ result: { refundId: "re_1", amountUsd: 120 } })
      expect(review).toMatchObject({
        parentId: action.id,
        input: { action_summary: "Refund A-42: $120", risk_signals: { amount_usd: 120 } },
        leash: { decision: "approved", approved: true }
      })
      expect(toolOutput(fake.requests)).toEqual({ refundId: "re_1", amountUsd: 120 })
    }))

  it.scopedLive("the bypass audit never flags a leashed tool call, whatever the decision", () =>
    Effect.gen(function*() {
      for (const gate of [FakeGate.approveAll, FakeGate.rejectAll, FakeGate.block()]) {
        refunds.length = 0
        const fake = yield* fakeOpenAi([refundTurn(), { text: "Done." }])
        const { flags, steps } = yield* Effect.gen(function*() {
          yield* Effect.exit(Trail.run({ trigger: "test", payload: {} }, agent))
          return { flags: yield* HoundsightTest.flags(rules), steps: yield* HoundsightTest.steps }
        }).pipe(Effect.provide(Layer.merge(recorded(fake.url), HoundsightTest.layer({ gate }))))
        // an approved call is an action step named after the sensitive action; a refused one is
        // the tool call, named after the tool (the action did not run); the audit flags nothing
        const approved = gate === FakeGate.approveAll
        expect(steps.filter((s) => s.name === "stripe.refund" && s.layer === "execute")).toHaveLength(approved ? 1 : 0)
        expect(steps.filter((s) => s.name === "refund_order" && s.layer === "execute")).toHaveLength(approved ? 0 : 1)
        expect(flags).toEqual([])
        // nor the server's audit when it holds no leash for a refused call (the SDK refused to
        // send it, or the gate never answered): no wrapper, and no action either
        if (!approved) expect(Audit.flags(steps, rules, new Map())).toEqual([])
      }
    }))

  it.scopedLive("two concurrent calls of one tool: each execute step wraps its own leash, no reused approval", () =>
    Effect.gen(function*() {
      refunds.length = 0
      const fake = yield* fakeOpenAi([
        {
          toolCalls: [
            { id: "call_a", name: "refund_order", args: { orderId: "A-1", amountUsd: 10 } },
            { id: "call_b", name: "refund_order", args: { orderId: "A-2", amountUsd: 20 } }
          ]
        }
      ])
      const program = Effect.gen(function*() {
        yield* Trail.run(
          { trigger: "test", payload: {} },
          LanguageModel.generateText({ prompt: "refund both", toolkit: Leashed, concurrency: "unbounded" }).pipe(
            Effect.provide(LibraryHandlers)
          )
        )
        return { steps: yield* HoundsightTest.steps, flags: yield* HoundsightTest.flags(rules) }
      }).pipe(
        Effect.provide(Layer.merge(recorded(fake.url), HoundsightTest.layer({ gate: FakeGate.delayed("20 millis", FakeGate.approveAll) })))
      )
      const { flags, steps } = yield* program
      expect(flags).toEqual([])
      const actions = steps.filter((s) => s.name === "stripe.refund" && s.layer === "execute")
      const reviews = steps.filter((s) => s.layer === "review")
      expect(actions).toHaveLength(2)
      expect(new Set(reviews.map((r) => r.leash!.leashId)).size).toBe(2)
      for (const a of actions) expect(reviews.filter((r) => r.parentId === a.id)).toHaveLength(1)
      expect(refunds.map((r) => r.orderId).sort()).toEqual(["A-1", "A-2"])
    }))

  it.scopedLive("modified: the handler runs with the reviewer's parameters, decoded by the tool's schema", () =>
    Effect.gen(function*() {
      const { exit, steps } = yield* decided(FakeGate.modify({ orderId: "A-42", amountUsd: 100 }, "capped at $100"))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(refunds).toEqual([{ orderId: "A-42", amountUsd: 100 }])
      const action = steps.find((s) => s.name === "stripe.refund" && s.layer === "execute")!
      expect(action.output).toEqual({
        result: { refundId: "re_1", amountUsd: 100 },
        modified_params: { orderId: "A-42", amountUsd: 100 }
      })
    }))

  it.scopedLive("modified with an edit the tool's schema refuses: error, the handler does not run, the model is told", () =>
    Effect.gen(function*() {
      for (const edit of [{ orderId: "A-42", amountUsd: -5 }, { orderId: "A-42", amountUsd: "lots" }]) {
        const { exit, fake, steps } = yield* decided(FakeGate.modify(edit))
        expect(Exit.isSuccess(exit)).toBe(true)
        expect(refunds).toEqual([])
        const review = steps.find((s) => s.layer === "review")!
        expect(review.leash!.decision).toBe("error")
        const told = toolOutput(fake.requests)
        expect(told).toMatchObject({ _tag: "LeashRefusal", action_name: "stripe.refund", decision: "error" })
        expect(told.message).toContain("was not performed")
      }
    }))

  it.scopedLive("rejected and blocked: the handler does not run, generateText goes on, the model reads what was decided and why", () =>
    Effect.gen(function*() {
      for (
        const [gate, decision, reason] of [
          [FakeGate.rejectAll, "rejected", "rejected by the fake gate"],
          [FakeGate.block("refunds over $100 need finance"), "blocked", "refunds over $100 need finance"]
        ] as const
      ) {
        const { exit, fake, steps } = yield* decided(gate)
        expect(exit).toEqual(Exit.succeed([{
          isFailure: true,
          result: expect.objectContaining({ _tag: "LeashRefusal", decision, reason })
        }]))
        expect(refunds).toEqual([])
        const told = toolOutput(fake.requests)
        expect(told).toMatchObject({ decision, reason })
        expect(told.message).toContain(reason)
        // the action did not run: the tool call's step is named after the tool
        expect(steps.filter((s) => s.name === "stripe.refund" && s.layer === "execute")).toEqual([])
        const action = steps.find((s) => s.name === "refund_order" && s.layer === "execute")!
        expect(action.output).toMatchObject({ refused: { decision, reason } })
        expect(fake.requests).toHaveLength(2)
      }
    }))

  it.scopedLive("a handler failure is the model's tool result (the leashed tool returns failures) and the step ends error", () =>
    Effect.gen(function*() {
      const { exit, fake, steps } = yield* decided(FakeGate.approveAll, { orderId: "BROKEN", amountUsd: 5 })
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(toolOutput(fake.requests)).toEqual({ _tag: "RefundFailed", message: "the card was closed" })
      const action = steps.find((s) => s.name === "stripe.refund" && s.layer === "execute")!
      expect(action.status).toBe("error")
      expect(action.error).toEqual({ type: "RefundFailed", message: "the card was closed" })
    }))

  it.scoped("timeout (TestClock): no decision in timeoutSeconds, the handler does not run, the model is told", () =>
    Effect.gen(function*() {
      refunds.length = 0
      const fake = yield* fakeOpenAi([refundTurn(), { text: "Done." }])
      const program = Effect.gen(function*() {
        const fiber = yield* Effect.fork(Trail.run({ trigger: "test", payload: {} }, agent))
        // real I/O with the model, test time for the leash: move the clock until the agent is done
        while (fiber.unsafePoll() === null) {
          yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
          yield* TestClock.adjust("30 seconds")
        }
        return { exit: yield* Fiber.await(fiber), steps: yield* HoundsightTest.steps }
      }).pipe(Effect.provide(Layer.merge(recorded(fake.url), HoundsightTest.layer({ gate: FakeGate.neverAnswers }))))
      const { exit, steps } = yield* program
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(refunds).toEqual([])
      const review = steps.find((s) => s.layer === "review")!
      expect(review.leash!.decision).toBe("timeout")
      expect(review.endedAt.getTime() - review.startedAt.getTime()).toBeGreaterThanOrEqual(600_000)
      expect(toolOutput(fake.requests)).toMatchObject({ decision: "timeout" })
    }))

  it.scopedLive("an agent interrupted while the leash waits records its steps as interrupted and cancels the leash", () =>
    Effect.gen(function*() {
      refunds.length = 0
      const fake = yield* fakeOpenAi([refundTurn(), { text: "Done." }])
      const program = Effect.gen(function*() {
        const fiber = yield* Effect.fork(Trail.run({ trigger: "test", payload: {} }, agent))
        while ((yield* HoundsightTest.requests).length === 0) yield* Effect.sleep("5 millis")
        yield* Fiber.interrupt(fiber)
        return { steps: yield* HoundsightTest.steps, cancelled: yield* HoundsightTest.cancelled }
      }).pipe(Effect.provide(Layer.merge(recorded(fake.url), HoundsightTest.layer({ gate: FakeGate.neverAnswers }))))
      const { cancelled, steps } = yield* program
      expect(refunds).toEqual([])
      expect(step(steps, "generateText").status).toBe("interrupted")
      const action = steps.find((s) => s.name === "stripe.refund" && s.layer === "execute")!
      const review = steps.find((s) => s.layer === "review")!
      expect(action.status).toBe("interrupted")
      expect(review.status).toBe("interrupted")
      expect(cancelled).toEqual([review.leash!.leashId])
    }))

  it.scopedLive("under disableToolCallResolution nothing runs; resolving a call by hand asks the gate and records it", () =>
    Effect.gen(function*() {
      refunds.length = 0
      const fake = yield* fakeOpenAi([refundTurn()])
      const manual = Effect.gen(function*() {
        const response = yield* LanguageModel.generateText({
          prompt: "Refund A-42",
          toolkit: Leashed,
          disableToolCallResolution: true
        })
        expect(refunds).toEqual([])
        const tk = yield* Leashed
        const call = response.toolCalls[0]!
        return yield* tk.handle(call.name, call.params as any)
      }).pipe(Effect.provide(LibraryHandlers))
      const { exit, steps } = yield* run(recorded(fake.url), manual, { gate: FakeGate.rejectAll })
      expect(exit).toEqual(Exit.succeed(expect.objectContaining({ isFailure: true })))
      expect(refunds).toEqual([])
      expect(steps.filter((s) => s.layer === "review")).toHaveLength(1)
    }))

  it.scopedLive("under streamText a leashed call is asked and nested the same way (tools resolved in the stream's own fiber)", () =>
    Effect.gen(function*() {
      refunds.length = 0
      const fake = yield* fakeOpenAi([refundTurn()])
      const streamed = LanguageModel.streamText({ prompt: "Refund A-42", toolkit: Leashed }).pipe(
        Stream.runCollect,
        Effect.map((parts) => [...parts].filter((p) => p.type === "tool-result").map((p: any) => p.result._tag)),
        Effect.provide(LibraryHandlers)
      )
      const { exit, steps } = yield* run(recorded(fake.url), streamed, { gate: FakeGate.rejectAll })
      expect(exit).toEqual(Exit.succeed(["LeashRefusal"]))
      expect(refunds).toEqual([])
      const call = step(steps, "streamText")
      // rejected: the tool call's step is named after the tool, not the action it did not do
      const action = steps.find((s) => s.name === "refund_order" && s.layer === "execute")!
      const review = steps.find((s) => s.layer === "review")!
      expect(action.parentId).toBe(call.id)
      expect(review.parentId).toBe(action.id)
      expect(review.leash!.decision).toBe("rejected")
    }))

  it("names a tool the toolkit lacks, or bad options, in a thrown error", () => {
    expect(() =>
      HoundsightAi.Leash.toolkit(Library, { refund: { actionName: "x", summary: () => "" } } as any)
    ).toThrow(/no tool named "refund"; its tools are "lookup_order", "refund_order"/)
    expect(() =>
      HoundsightAi.Leash.toolkit(Library, { refund_order: { actionName: "", summary: () => "" } } as any)
    ).toThrow(/actionName of refund_order/)
  })

  it("the core entry does not import @effect/ai (only src/ai.ts and src/ai/ do)", () => {
    const root = path.join(__dirname, "../../src")
    const offenders: Array<string> = []
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name)
        if (entry.isDirectory()) {
          if (file !== path.join(root, "ai")) walk(file)
        } else if (file !== path.join(root, "ai.ts") && /from "@effect\/ai/.test(fs.readFileSync(file, "utf8"))) {
          offenders.push(file)
        }
      }
    }
    walk(root)
    expect(offenders).toEqual([])
  })
})
