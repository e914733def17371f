/**
 * `Houndsight.layer` is the whole live SDK: the same layer that exports records also answers
 * `Leash.request` through the HTTP gate, with the same key and endpoint.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Exporter, Houndsight, Leash, Trail } from "houndsight"
import { apiKey, startGate } from "../leash/gateServer.js"

describe("Houndsight.layer and the gate", () => {
  it.scopedLive("asks the gate with the agent key and delivers the review step to the same server", () =>
    Effect.gen(function*() {
      const gate = yield* startGate((seen) => {
        if (seen.route === "create") {
          const leashId = (JSON.parse(seen.body) as { leash_id: string }).leash_id
          return {
            status: 200,
            json: {
              leash_id: leashId,
              status: "decided",
              decision: {
                decision: "approved",
                reason: "within budget",
                decided_by: "reviewer",
                decided_at: new Date().toISOString(),
                trace_link: `http://x/leashes/${leashId}`
              }
            }
          }
        }
        if (seen.path === "/v1/ingest") return { status: 202, json: { accepted: 1, duplicates: 0 } }
        return { status: 404, json: { error: { code: "not_found", message: "no such route" } } }
      })
      const decision = yield* Effect.scoped(
        Effect.gen(function*() {
          const decision = yield* Trail.run(
            { trigger: "invoice", payload: {} },
            Leash.request({
              actionName: "stripe.charge",
              actionSummary: "Charge cus_42 $120.00",
              riskSignals: { amountUsd: 120 },
              payload: { customer: "cus_42" },
              timeoutSeconds: 5
            })
          )
          yield* Exporter.flush
          return decision
        }).pipe(
          Effect.provide(Houndsight.layer({ apiKey: Redacted.make(apiKey), agent: "billing", endpoint: gate.url }))
        )
      )
      expect(decision.decision).toBe("approved")
      expect(decision.traceLink).toBe(`${gate.url}/leashes/${decision.leashId}`)
      const [create] = gate.of("create")
      expect(create!.authorization).toBe(`Bearer ${apiKey}`)
      expect(JSON.parse(create!.body)).toMatchObject({ agent: "billing", risk_signals: { amount_usd: 120 } })
      const ingested = gate.seen().filter((s) => s.path === "/v1/ingest").flatMap((s) =>
        (JSON.parse(s.body) as { steps: Array<{ layer: string; leash?: { leash_id: string; decision: string } }> }).steps
      )
      const review = ingested.filter((s) => s.layer === "review")
      expect(review).toHaveLength(1)
      expect(review[0]!.leash).toMatchObject({ leash_id: decision.leashId, decision: "approved" })
    }))
})
