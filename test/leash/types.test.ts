/**
 * What the leash's types promise: the error channel is `never`, a current trail and a gate are
 * required, `payloadSchema` types `modifiedPayload`, and a Decision can be matched exhaustively.
 * `npm run check` fails if an `@ts-expect-error` below stops being an error.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Decision, Leash, type Recorder, Trail } from "houndsight"
import { FakeGate, HoundsightTest } from "houndsight/test"

const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number })
const base = { actionName: "stripe.charge", actionSummary: "Charge", riskSignals: { amountUsd: 1 } }

describe("leash types", () => {
  it("never fails, and needs a trail and a gate", () => {
    const plain = Leash.request({ ...base, payload: { any: "thing" } })
    expectTypeOf(plain).toEqualTypeOf<Effect.Effect<Decision.Decision<unknown>, never, Trail.Trail | Leash.Leash>>()
    const typed = Leash.request({ ...base, payload: { customer: "c", amountUsd: 1 }, payloadSchema: Charge })
    expectTypeOf(typed).toEqualTypeOf<
      Effect.Effect<Decision.Decision<{ readonly customer: string; readonly amountUsd: number }>, never, Trail.Trail | Leash.Leash>
    >()
    const inTrail = Trail.run({ trigger: "t", payload: {} }, plain)
    expectTypeOf(inTrail).toEqualTypeOf<Effect.Effect<Decision.Decision<unknown>, never, Recorder.Recorder | Leash.Leash>>()

    // Only type-checked, never called.
    const misuse = () => {
      // @ts-expect-error a leash outside Trail.run lacks its trail
      Effect.runPromise(plain.pipe(Effect.provide(HoundsightTest.layer({ gate: FakeGate.approveAll }))))
      // @ts-expect-error the payload must match payloadSchema
      Leash.request({ ...base, payload: { customer: 1 }, payloadSchema: Charge })
      // @ts-expect-error waiting on a bare leash id needs the action's name
      Leash.await("0190f5e4-8a3c-7d1e-9b2a-3c4d5e6f7a8b", { timeoutSeconds: 5 })
    }
    expectTypeOf(misuse).toBeFunction()
  })

  it("matches the seven values exhaustively; modifiedPayload only on modified", () => {
    const act = (d: Decision.Decision<{ readonly amountUsd: number }>): number => {
      switch (d.decision) {
        case "approved":
          return 1
        case "modified":
          return d.modifiedPayload.amountUsd
        case "rejected":
        case "blocked":
        case "timeout":
        case "error":
        case "async": {
          // @ts-expect-error no modifiedPayload on a fail-closed decision
          d.modifiedPayload
          expectTypeOf(d.approved).toEqualTypeOf<false>()
          return 0
        }
        default: {
          const unreachable: never = d
          return unreachable
        }
      }
    }
    const fields = { reason: "r", leashId: "l", traceLink: "t", actionName: "a" }
    expect(act(Decision.modified({ ...fields, modifiedPayload: { amountUsd: 7 } }))).toBe(7)
    expect(act(Decision.timeout(fields))).toBe(0)
  })
})
