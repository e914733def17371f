/**
 * The support agent: an `@effect/ai` agent that looks an order up and asks to refund it through
 * a leashed tool. Every model call is a `reason` step (tokens, cost), every tool call an
 * `execute` step, and the refund waits for the gate's decision: approved, edited by the reviewer,
 * or refused (the model is told why and answers the customer). Its tests
 * (`support-agent.test.ts`) run it with fake gates and a scripted model: no server, no model.
 *
 * With a Houndsight server (the gate and the records) and OpenAI:
 *
 *   HOUNDSIGHT_ENDPOINT=http://127.0.0.1:7411 HOUNDSIGHT_API_KEY=sk-hnd-... OPENAI_API_KEY=sk-... \
 *     npx tsx examples/support-agent.ts
 *
 * Without keys it runs on the test layer with the scripted model of `support-agent-model.ts` and
 * a fake reviewer that approves, and prints the recorded steps:
 *
 *   npx tsx examples/support-agent.ts
 */
import { Chat, type LanguageModel, Tool, Toolkit } from "@effect/ai"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import { FetchHttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Context, Effect, Layer, Schema } from "effect"
import { Houndsight, Trail } from "houndsight"
import * as HoundsightAi from "houndsight/ai"
import { FakeGate, HoundsightTest } from "houndsight/test"
import { scriptedSupportModel } from "./support-agent-model.js"

/** An order, as the order system returns it. */
export const Order = Schema.Struct({
  orderId: Schema.String,
  customer: Schema.String,
  totalUsd: Schema.Number,
  status: Schema.Literal("delivered", "shipped", "cancelled")
})

/** @category models */
export interface Order extends Schema.Schema.Type<typeof Order> {}

/** The order system: a database in production, a map here. */
export class Orders extends Context.Tag("example/Orders")<Orders, {
  readonly find: (orderId: string) => Effect.Effect<Order | undefined>
  readonly refund: (orderId: string, amountUsd: number) => Effect.Effect<{ readonly refundId: string }>
}>() {}

/** Looks an order up. */
export const LookupOrder = Tool.make("lookup_order", {
  description: "Looks an order up by its id",
  parameters: { orderId: Schema.String },
  success: Order,
  failure: Schema.Struct({ _tag: Schema.Literal("OrderNotFound"), message: Schema.String }),
  failureMode: "return"
})

/** Refunds (part of) an order: the sensitive action. */
export const RefundOrder = Tool.make("refund_order", {
  description: "Refunds an order, in full or in part",
  parameters: {
    orderId: Schema.String,
    amountUsd: Schema.Number.pipe(Schema.positive()),
    reason: Schema.String
  },
  success: Schema.Struct({ refundId: Schema.String, amountUsd: Schema.Number })
})

/** The tools, as a library would ship them. */
export const SupportTools = Toolkit.make(LookupOrder, RefundOrder)

/** The same tools, with refunds behind the gate. */
export const LeashedSupportTools = HoundsightAi.Leash.toolkit(SupportTools, {
  refund_order: {
    actionName: "stripe.refund",
    summary: (p) => `Refund ${p.orderId} $${p.amountUsd.toFixed(2)}: ${p.reason}`,
    riskSignals: (p) => ({ amountUsd: p.amountUsd }),
    timeoutSeconds: 600
  }
})

/** The tools' handlers, on the order system. */
export const SupportToolsLive = SupportTools.toLayer(Effect.gen(function*() {
  const orders = yield* Orders
  return {
    lookup_order: ({ orderId }) =>
      Effect.flatMap(orders.find(orderId), (order) =>
        order === undefined
          ? Effect.fail({ _tag: "OrderNotFound" as const, message: `no order ${orderId}` })
          : Effect.succeed(order)),
    refund_order: ({ amountUsd, orderId }) =>
      Effect.map(orders.refund(orderId, amountUsd), ({ refundId }) => ({ refundId, amountUsd }))
  }
}))

/** The agent: one trail per ticket; the model calls tools until it answers (at most 6 turns). */
export const supportAgent = (message: string) =>
  Effect.gen(function*() {
    const chat = yield* Chat.empty
    let response = yield* chat.generateText({ prompt: message, toolkit: LeashedSupportTools })
    for (let turn = 1; turn < 6 && response.finishReason === "tool-calls"; turn++) {
      response = yield* chat.generateText({ prompt: [], toolkit: LeashedSupportTools })
    }
    yield* Trail.setOutput(response.text)
    return response.text
  }).pipe(Trail.run({ trigger: "support_ticket", payload: { message } }))

/** An order system in memory, remembering refunds. */
export const ordersInMemory = (orders: ReadonlyArray<Order>, refunds: Array<{ orderId: string; amountUsd: number }> = []) =>
  Layer.succeed(Orders, {
    find: (orderId) => Effect.succeed(orders.find((o) => o.orderId === orderId)),
    refund: (orderId, amountUsd) =>
      Effect.sync(() => {
        refunds.push({ orderId, amountUsd })
        return { refundId: `re_${refunds.length}` }
      })
  })

const sampleOrders: ReadonlyArray<Order> = [
  { orderId: "A-42", customer: "cus_42", totalUsd: 120, status: "delivered" }
]

const ticket = "Hi, my order A-42 arrived broken. Can I get my money back?"

/** The price of the scripted model, so the demo shows a cost: a model without a price shows none. */
export const scriptedPrices = { "scripted-support-model": { input: 0.15, output: 0.6 } }

/** The agent's model, recorded: OpenAI with a key, else the scripted model. */
const model = (openAiKey: boolean): Layer.Layer<LanguageModel.LanguageModel, unknown> =>
  openAiKey
    ? HoundsightAi.layer().pipe(
      Layer.provide(OpenAiLanguageModel.model("gpt-4o-mini")),
      Layer.provide(OpenAiClient.layerConfig({ apiKey: Config.redacted("OPENAI_API_KEY") })),
      Layer.provide(FetchHttpClient.layer)
    )
    : HoundsightAi.layer({ prices: scriptedPrices }).pipe(Layer.provide(scriptedSupportModel))

const tools = SupportToolsLive.pipe(Layer.provide(ordersInMemory(sampleOrders)))

/** Live: the gate and the records on a Houndsight server. */
const live = (openAiKey: boolean) =>
  supportAgent(ticket).pipe(
    Effect.tap((answer) => Effect.log(answer)),
    Effect.provide(Layer.mergeAll(Houndsight.layerConfig({ agent: "support-agent" }), model(openAiKey), tools))
  )

/** Offline: a fake reviewer that approves, the scripted model, then the recorded steps. */
const offline = Effect.gen(function*() {
  const answer = yield* supportAgent(ticket)
  yield* Effect.log(answer)
  console.log(JSON.stringify(yield* HoundsightTest.steps, null, 2))
}).pipe(
  Effect.provide(Layer.mergeAll(
    HoundsightTest.layer({ agent: "support-agent", gate: FakeGate.approveAll }),
    model(false),
    tools
  ))
)

if (import.meta.url === `file://${process.argv[1]}`) {
  const openAiKey = (process.env["OPENAI_API_KEY"] ?? "") !== ""
  NodeRuntime.runMain(process.env["HOUNDSIGHT_API_KEY"] ? live(openAiKey) : offline)
}
