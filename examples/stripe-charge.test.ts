/**
 * Tests of the charge example with fake gates. The first ones are README's ("Testing an agent
 * without a server", "The bypass audit"), verbatim (test/docs/snippets.test.ts checks it); the
 * rest go through every decision: it charges when approved (with the reviewer's edits when
 * modified), never when rejected, blocked, timed out or given an invalid edit, logs the link to
 * look at, and never bypasses the gate.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, Ref, TestClock } from "effect"
import { FakeGate, HoundsightTest } from "houndsight/test"
import { billingAgent, type Charge, Payments } from "./stripe-charge.js"

// a payment provider that charges nothing
const payments = Layer.succeed(Payments, { charge: () => Effect.succeed({ chargeId: "ch_test" }) })
const testLayer = (gate: FakeGate.FakeGate) => Layer.merge(HoundsightTest.layer({ gate }), payments)

describe("billing agent", () => {
  it.effect("does not charge when no decision comes in time", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(billingAgent({ customer: "cus_42", amountUsd: 120 }))
      yield* TestClock.adjust("600 seconds") // the leash's timeoutSeconds, in no real time
      const outcome = yield* Fiber.join(fiber)
      expect(outcome.charged).toBe(false)

      const [request] = yield* HoundsightTest.requests
      expect(request?.riskSignals).toStrictEqual({ amount_usd: 120 })
      const [review] = yield* HoundsightTest.reviewSteps
      expect(review?.leash).toMatchObject({ decision: "timeout", reason: "no decision in 600 s" })
    }).pipe(Effect.provide(testLayer(FakeGate.neverAnswers))))

  it.effect("charges the reviewer's amount", () =>
    Effect.gen(function*() {
      const outcome = yield* billingAgent({ customer: "cus_42", amountUsd: 120 })
      expect(outcome).toMatchObject({ charged: true, amountUsd: 100 })
    }).pipe(Effect.provide(testLayer(FakeGate.modify({ customer: "cus_42", amountUsd: 100 })))))
})

it.effect("never bypasses the gate", () =>
  Effect.gen(function*() {
    yield* billingAgent({ customer: "cus_42", amountUsd: 120 })
    expect(yield* HoundsightTest.flags({ sensitive: ["stripe.*", "email.send"] })).toStrictEqual([])
  }).pipe(Effect.provide(testLayer(FakeGate.rejectAll))))

const invoice: Charge = { customer: "cus_42", amountUsd: 120 }

const rules = { sensitive: ["stripe.*"] }

/** The test layer with `gate`, and a fake payment provider that remembers every charge. */
const setup = (gate: FakeGate.FakeGate) =>
  Effect.gen(function*() {
    const charges = yield* Ref.make<ReadonlyArray<Charge>>([])
    const logs = yield* Ref.make<ReadonlyArray<string>>([])
    const payments = Layer.succeed(Payments, {
      charge: (c) => Effect.as(Ref.update(charges, (all) => [...all, c]), { chargeId: "ch_1" })
    })
    const logger = Logger.make(({ message }) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      Effect.runSync(Ref.update(logs, (all) => [...all, text]))
    })
    const layer = Layer.mergeAll(
      HoundsightTest.layer({ gate }),
      payments,
      Logger.replace(Logger.defaultLogger, logger)
    )
    return { charges, logs, layer }
  })

describe("billing agent, decision by decision", () => {
  it.effect("charges the amount asked for when the gate approves", () =>
    Effect.gen(function*() {
      const { charges, layer } = yield* setup(FakeGate.approveAll)
      const outcome = yield* billingAgent(invoice).pipe(Effect.provide(layer))
      expect(outcome).toStrictEqual({ charged: true, chargeId: "ch_1", amountUsd: 120 })
      expect(yield* Ref.get(charges)).toStrictEqual([invoice])
    }))

  it.effect("charges the reviewer's edited amount when the gate modifies the charge", () =>
    Effect.gen(function*() {
      const { charges, layer } = yield* setup(FakeGate.modify({ ...invoice, amountUsd: 100 }, "capped"))
      const outcome = yield* billingAgent(invoice).pipe(Effect.provide(layer))
      expect(outcome).toMatchObject({ charged: true, amountUsd: 100 })
      expect(yield* Ref.get(charges)).toStrictEqual([{ ...invoice, amountUsd: 100 }])
    }))

  it.effect("does not charge when the reviewer rejects, or a floor rule blocks", () =>
    Effect.gen(function*() {
      for (const gate of [FakeGate.rejectAll, FakeGate.block("over the daily limit")]) {
        const { charges, layer } = yield* setup(gate)
        const outcome = yield* billingAgent(invoice).pipe(Effect.provide(layer))
        expect(outcome.charged).toBe(false)
        expect(yield* Ref.get(charges)).toStrictEqual([])
      }
    }))

  it.effect("does not charge when the reviewer's edit is not a valid charge", () =>
    Effect.gen(function*() {
      const { charges, layer } = yield* setup(FakeGate.modify({ ...invoice, amountUsd: -5 }))
      const outcome = yield* billingAgent(invoice).pipe(Effect.provide(layer))
      expect(outcome).toMatchObject({ charged: false, decision: "error" })
      expect(yield* Ref.get(charges)).toStrictEqual([])
    }))

  it.effect("does not charge when no decision comes in 600 s, and logs the leash's link", () =>
    Effect.gen(function*() {
      const { charges, layer, logs } = yield* setup(FakeGate.neverAnswers)
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          const outcome = yield* billingAgent(invoice)
          const [review] = yield* HoundsightTest.reviewSteps
          return { outcome, review }
        }).pipe(Effect.provide(layer))
      )
      yield* TestClock.adjust("600 seconds")
      const { outcome, review } = yield* Fiber.join(fiber)
      expect(outcome).toStrictEqual({ charged: false, decision: "timeout", reason: "no decision in 600 s" })
      expect(yield* Ref.get(charges)).toStrictEqual([])
      const link = (review!.output as { trace_link: string }).trace_link
      expect(link).toMatch(/^http:\/\/127\.0\.0\.1:7411\/leashes\/[0-9a-f-]{36}$/)
      expect(yield* Ref.get(logs)).toContainEqual(`not charged (timeout): no decision in 600 s; see ${link}`)
    }))

  it.effect("asks the gate with the charge and its amount as a risk signal, and never bypasses it", () =>
    Effect.gen(function*() {
      const { layer } = yield* setup(FakeGate.approveAll)
      const { flags, requests } = yield* Effect.gen(function*() {
        yield* billingAgent(invoice)
        return { requests: yield* HoundsightTest.requests, flags: yield* HoundsightTest.flags(rules) }
      }).pipe(Effect.provide(layer))
      expect(requests).toHaveLength(1)
      expect(requests[0]).toMatchObject({
        actionName: "stripe.charge",
        actionSummary: "Charge cus_42 $120.00",
        riskSignals: { amount_usd: 120 },
        payload: invoice,
        timeoutSeconds: 600
      })
      expect(flags).toStrictEqual([])
    }))
})
