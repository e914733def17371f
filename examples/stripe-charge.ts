/**
 * The charge example, README's billing agent: it charges a customer only when the gate approves,
 * with the reviewer's edits when they changed the charge, and logs the dashboard link when it
 * does not charge. Its tests (`stripe-charge.test.ts`, README's testing snippets among them) run
 * it against fake gates. README shows the part between the imports and the runners verbatim
 * (test/docs/snippets.test.ts checks it).
 *
 * Against a Houndsight server (the gate and the records):
 *
 *   HOUNDSIGHT_ENDPOINT=http://127.0.0.1:7411 HOUNDSIGHT_API_KEY=sk-hnd-... \
 *     HOUNDSIGHT_AGENT=billing-agent npx tsx examples/stripe-charge.ts
 *
 * Without a key it runs on the test layer, with a fake reviewer that caps charges at $100:
 *
 *   npx tsx examples/stripe-charge.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Context, Effect, Layer, Schema } from "effect"
import { Decision, Houndsight, Leash, Sniff, Trail } from "houndsight"
import { FakeGate, HoundsightTest } from "houndsight/test"

/** A charge, as the agent asks for it and as a reviewer may edit it. */
export const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number.pipe(Schema.positive()) })
export interface Charge extends Schema.Schema.Type<typeof Charge> {}

/** The payment provider: Stripe in production, a fake in tests. */
export class Payments extends Context.Tag("billing/Payments")<Payments, {
  readonly charge: (charge: Charge) => Effect.Effect<{ readonly chargeId: string }>
}>() {}

/** What the agent did. */
export type Outcome =
  | { readonly charged: true; readonly chargeId: string; readonly amountUsd: number }
  | { readonly charged: false; readonly decision: Decision.Decision["decision"]; readonly reason: string }

/** The action itself: a step named like the leash's action, so the bypass audit pairs them. */
const charge = (c: Charge) =>
  Effect.flatMap(Payments, (payments) => payments.charge(c)).pipe(
    Effect.map(({ chargeId }): Outcome => ({ charged: true, chargeId, amountUsd: c.amountUsd })),
    Sniff.run("stripe.charge", { layer: "execute", input: c })
  )

/** Asks the gate, then charges only when approved: as asked, or as the reviewer edited it. */
export const chargeCustomer = (request: Charge) =>
  Effect.gen(function*() {
    const decision = yield* Leash.request({
      actionName: "stripe.charge",
      actionSummary: `Charge ${request.customer} $${request.amountUsd.toFixed(2)}`,
      riskSignals: { amountUsd: request.amountUsd }, // sent as { "amount_usd": 120 }
      payload: request,
      payloadSchema: Charge, // optional: types and checks a reviewer's edits
      timeoutSeconds: 600
    })
    if (!decision.approved) {
      yield* Effect.logWarning(`not charged (${decision.decision}): ${decision.reason}; see ${decision.traceLink}`)
      return { charged: false, decision: decision.decision, reason: decision.reason } satisfies Outcome
    }
    return yield* charge(Decision.payloadOr(decision, request)) // the reviewer's edit when `modified`
  })

/** The agent: one trail per invoice. */
export const billingAgent = (request: Charge) =>
  chargeCustomer(request).pipe(Trail.run({ trigger: "invoice_due", payload: request }))

/** A payment provider that only logs. */
const loggingPayments = Layer.succeed(Payments, {
  charge: (c) => Effect.as(Effect.log(`charged ${c.customer} $${c.amountUsd}`), { chargeId: `ch_${Date.now()}` })
})

const invoice: Charge = { customer: "cus_42", amountUsd: 120 }

/** Live: the gate and the records on a Houndsight server; the Scope's close flushes the records. */
const live = Effect.gen(function*() {
  const outcome = yield* billingAgent(invoice)
  yield* Effect.log(JSON.stringify(outcome))
}).pipe(
  Effect.provide(Layer.merge(Houndsight.layerConfig({ agent: "billing-agent" }), loggingPayments))
)

/** Offline: a fake reviewer that caps every charge at $100, then the recorded steps. */
const offline = Effect.gen(function*() {
  const outcome = yield* billingAgent(invoice)
  yield* Effect.log(JSON.stringify(outcome))
  console.log(JSON.stringify(yield* HoundsightTest.steps, null, 2))
}).pipe(
  Effect.provide(Layer.merge(
    HoundsightTest.layer({
      agent: "billing-agent",
      gate: FakeGate.modify((request) => ({
        ...(request.payload as Charge),
        amountUsd: Math.min(100, (request.payload as Charge).amountUsd)
      }), "capped at $100 until the customer confirms")
    }),
    loggingPayments
  ))
)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(process.env["HOUNDSIGHT_API_KEY"] ? live : offline)
}
