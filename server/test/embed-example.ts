import { Effect } from "effect"
import { Houndsight, Leash, Trail } from "houndsight"
import { Server } from "houndsight-server"

// A real gate on a free port of 127.0.0.1, with a database in memory and one floor rule,
// for as long as the effect runs: the options are the command line's (port, host, db,
// rules or rulesFile, publicUrl, keys).
const gate = Server.layer({
  port: 0,
  db: ":memory:",
  rulesFile: {
    sensitive: ["stripe.*"],
    rules: [{
      action: "stripe.*",
      reason: "charges over $10,000 need finance",
      when: [{ signal: "amount_usd", op: ">", value: 10_000 }]
    }]
  }
})

// An agent asks that gate through the SDK, with the development key of its first start.
export const largeCharge = Effect.gen(function*() {
  const info = yield* Server.ServerInfo
  const apiKey = info.keys.find((k) => k.role === "agent")!.key
  return yield* Leash.request({
    actionName: "stripe.charge",
    actionSummary: "Charge cus_42 $25,000.00",
    riskSignals: { amountUsd: 25_000 },
    payload: { customer: "cus_42", amountUsd: 25_000 },
    timeoutSeconds: 10
  }).pipe(
    Trail.run({ trigger: "integration_test", payload: {} }),
    Effect.provide(Houndsight.layer({ endpoint: info.url, apiKey, agent: "billing-bot" }))
  )
}).pipe(Effect.provide(gate))
