/**
 * The example agents of the demo, written with the SDK as a user would write them:
 *
 * - `forecast`: plans, queries Salesforce, drafts a summary with a model and posts it (a trail
 *   with nested steps, tokens, cost and events);
 * - `charge`: looks a customer up, asks the gate before `stripe.charge`, and charges only when
 *   the gate allows it (with the reviewer's edits, if any);
 * - `outreach`: asks the gate before `email.send`, then sends whatever the answer: the bypass
 *   audit flags it (`ignored_decision`).
 *
 * `live` is the layer that connects them to a Houndsight server: the live recorder and
 * exporter (`Houndsight.layer`) and the gate over HTTP (`HttpGate.layer`), both with the agent key.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Effect, Layer, Redacted, Schema } from "effect"
import { Bark, Decision, Houndsight, HttpGate, Leash, Sniff, Trail } from "houndsight"

/** Where the agents send their records and ask the gate. */
export interface Connection {
  /** The server's base URL. */
  readonly endpoint: string
  /** An agent key (`sk-hnd-…`). */
  readonly apiKey: Redacted.Redacted<string>
}

/** The SDK's live services for one agent: its records go to the server, its leashes ask the server. */
export const live = (connection: Connection, agent: string) =>
  Layer.mergeAll(
    Houndsight.layer({ apiKey: connection.apiKey, agent, endpoint: connection.endpoint }),
    HttpGate.layer({ endpoint: connection.endpoint, apiKey: connection.apiKey }).pipe(
      Layer.provide(FetchHttpClient.layer)
    )
  )

const CacheMiss = Bark.define("cache_miss", Schema.Struct({ key: Schema.String }))

/** A step that takes a little real time, so the trail's timeline has something to show. */
const work = (millis: number) => Effect.sleep(`${millis} millis`)

/** The forecast agent: five steps (one nested in another), three of them calling a model. Answers the deal count and the trail's dashboard link. */
export const forecast = Effect.gen(function*() {
  yield* Effect.gen(function*() {
    yield* work(30)
    yield* Sniff.tokens({ input: 412, output: 96 })
    yield* Sniff.cost(0.0009)
    yield* Sniff.output({ steps: ["query salesforce", "draft the summary", "post to #sales"] })
  }).pipe(Sniff.run("plan_forecast", { layer: "plan", input: { ask: "What's our Q2 forecast?" } }))

  const deals = yield* Effect.gen(function*() {
    yield* CacheMiss({ key: "salesforce:Q2:commit" })
    yield* work(80)
    const result = { deal_count: 17, pipeline_usd: 1_284_000 }
    yield* Sniff.output(result)
    return result
  }).pipe(Sniff.run("salesforce_query", { layer: "retrieve", input: { quarter: "Q2", stage: "commit" } }))

  const summary = yield* Effect.gen(function*() {
    const risks = yield* Effect.gen(function*() {
      yield* work(45)
      yield* Sniff.tokens({ input: 1_180, output: 142 })
      yield* Sniff.cost(0.0024)
      yield* Sniff.output({ at_risk: ["Globex renewal", "Initech expansion", "Umbrella pilot"] })
      return 3
    }).pipe(Sniff.run("score_risk", { layer: "reason", input: { deals: deals.deal_count } }))
    yield* work(70)
    yield* Sniff.tokens({ input: 2_310, output: 388 })
    yield* Sniff.cost(0.0061)
    const text = `Q2 commit: ${deals.deal_count} deals, $1.28M pipeline; ${risks} deals at risk.`
    yield* Sniff.output(text)
    return text
  }).pipe(Sniff.run("draft_summary", { layer: "reason", input: { model: "gpt-4.1-mini" } }))

  yield* Effect.gen(function*() {
    yield* work(25)
    yield* Sniff.output({ ok: true, ts: "1732438801.000200" })
  }).pipe(Sniff.run("slack.post", { layer: "respond", input: { channel: "#sales", text: summary } }))

  yield* Trail.setOutput(`Posted forecast: ${summary}`)
  return { deals: deals.deal_count, link: yield* Trail.link }
}).pipe(Trail.run({ trigger: "user_message", payload: { text: "What's our Q2 forecast?", user: "maya@acme.test" } }))

/** What the billing agent charges. */
export interface Charge {
  readonly customer: string
  readonly amountUsd: number
  readonly invoice: string
}

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`

/**
 * The billing agent: asks the gate before charging, and charges only what the gate allows.
 * Answers the Decision it got.
 */
export const charge = (order: Charge) =>
  Effect.gen(function*() {
    const customer = yield* Effect.gen(function*() {
      yield* work(20)
      const found = { id: order.customer, name: "Acme GmbH", country: "DE", open_invoices: 1 }
      yield* Sniff.output(found)
      return found
    }).pipe(Sniff.run("crm.lookup_customer", { layer: "retrieve", input: { customer: order.customer } }))

    const payload = {
      customer: order.customer,
      amount_usd: order.amountUsd,
      currency: "usd",
      description: `Invoice ${order.invoice}`
    }
    const decision = yield* Leash.request({
      actionName: "stripe.charge",
      actionSummary: `Charge ${customer.name} (${order.customer}) ${usd(order.amountUsd)} for invoice ${order.invoice}`,
      riskSignals: { amountUsd: order.amountUsd, merchantCountry: customer.country, dataCategories: ["payment"] },
      payload,
      timeoutSeconds: 600
    })

    if (Decision.isApproved(decision)) {
      const allowed = Decision.payloadOr(decision, payload as unknown) as typeof payload
      yield* Effect.gen(function*() {
        yield* work(40)
        yield* Sniff.output({ charge_id: "ch_3PqX2e", status: "succeeded", amount_usd: allowed.amount_usd })
      }).pipe(Sniff.run("stripe.charge", { layer: "execute", input: allowed }))
      yield* Trail.setOutput(`Charged ${usd(allowed.amount_usd)} (${decision.decision}: ${decision.reason})`)
    } else {
      yield* Effect.gen(function*() {
        yield* work(15)
        yield* Sniff.output({ channel: "#finance", text: `Not charged: ${decision.reason}` })
      }).pipe(Sniff.run("notify_finance", { layer: "respond", input: { invoice: order.invoice } }))
      yield* Trail.setOutput(`Not charged (${decision.decision}: ${decision.reason})`)
    }
    return decision
  }).pipe(Trail.run({
    trigger: "webhook",
    payload: { event: "invoice.due", invoice: order.invoice, customer: order.customer }
  }))

/**
 * The outreach agent: asks before emailing every customer, then sends anyway. Answers the
 * Decision it ignored.
 */
export const outreach = Effect.gen(function*() {
  const email = {
    to: "all-customers@lists.acme.test",
    subject: "Spring promotion: 30% off",
    recipients: 4_200
  }
  const decision = yield* Leash.request({
    actionName: "email.send",
    actionSummary: "Email the spring promotion to all 4,200 customers",
    riskSignals: { recipients: 4_200, dataCategories: ["pii", "marketing"] },
    payload: email,
    timeoutSeconds: 600
  })
  // The bug the audit exists for: the decision is never checked.
  yield* Effect.gen(function*() {
    yield* work(30)
    yield* Sniff.output({ sent: 4_200 })
  }).pipe(Sniff.run("email.send", { layer: "execute", input: email }))
  yield* Trail.setOutput("Sent the spring promotion")
  return decision
}).pipe(Trail.run({ trigger: "cron", payload: { job: "weekly-outreach" } }))
