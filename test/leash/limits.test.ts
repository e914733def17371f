/**
 * Contract v1.1 on the SDK's side: the limits of a leash (a payload is never cut: over 256 KiB as
 * compact UTF-8 JSON it is not sent and the call ends in `error` naming the size and the limit;
 * risk signals over 16 KiB and summaries over 4,096 characters the same), and `traceLink`, which
 * names the leash's page only once the gate answered its creation with a 2xx, the trail's page
 * otherwise.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schema, TestClock } from "effect"
import { Decision, Leash, Trail } from "houndsight"
import { FakeGate } from "houndsight/test"
import { expectOneReview, expectWireValid, value, withFake, withGate } from "./helpers.js"

const charge = {
  actionName: "stripe.charge",
  actionSummary: "Charge cus_42 $120.00",
  riskSignals: { amountUsd: 120 },
  payload: { customer: "cus_42", amountUsd: 120 }
} as const

/** Runs a leash and returns its Decision with the current trail's page. */
const withLink = <A>(self: Effect.Effect<A, never, Trail.Trail | Leash.Leash>) =>
  Effect.gen(function*() {
    const decision = yield* self
    return { decision, trailLink: yield* Trail.link }
  })

/** The Decision, the review steps and the requests a fake gate saw, after a refused leash. */
const expectRefused = (
  ran: { readonly exit: any; readonly reviews: ReadonlyArray<any>; readonly requests: ReadonlyArray<unknown> },
  ...parts: ReadonlyArray<string>
) => {
  const decision = value(ran.exit) as Decision.Decision
  expect(decision.decision).toBe("error")
  for (const part of parts) expect(decision.reason).toContain(part)
  expect(ran.requests).toHaveLength(0)
  expectOneReview(ran.reviews, decision)
  return decision
}

describe("v1.1 leash limits: a payload is never cut", () => {
  it.effect("a payload string over 32 KiB reaches the gate whole, and payloadSchema decodes the reviewer's copy whole", () =>
    Effect.gen(function*() {
      const Note = Schema.Struct({ customer: Schema.String, note: Schema.String })
      const note = "Zahlung für Rechnung 2041 — ".repeat(2_000) // about 60 KiB, multi-byte characters
      const ran = yield* withFake(
        FakeGate.modify((request) => request.payload, "kept as is"),
        Leash.request({ ...charge, payload: { customer: "cus_42", note }, payloadSchema: Note })
      )
      const decision = value(ran.exit)
      expect(ran.requests[0]!.payload).toStrictEqual({ customer: "cus_42", note })
      expect(decision.decision).toBe("modified")
      expect(decision.decision === "modified" && decision.modifiedPayload.note).toBe(note)
    }))

  it.effect("exactly 262,144 bytes as compact UTF-8 JSON is sent; one byte more is error naming both, not sent", () =>
    Effect.gen(function*() {
      // "é" is 2 bytes in UTF-8, '"' is 2 bytes once escaped: the limit is measured on the JSON as sent
      for (const unit of ["é", "\""]) {
        const atLimit = unit.repeat((262_144 - 2) / 2) // plus the two quotes of the JSON string
        const sent = yield* withFake(FakeGate.approveAll, Leash.request({ ...charge, payload: atLimit }))
        expect(value(sent.exit).decision).toBe("approved")
        expect(sent.requests[0]!.payload).toBe(atLimit)

        const over = yield* withFake(FakeGate.approveAll, Leash.request({ ...charge, payload: `${atLimit}a` }))
        const decision = expectRefused(over, "the payload is 262,145 bytes as JSON", "the limit of 262,144 bytes")
        expectWireValid(over.reviews[0]!)
        // the review step still says what was asked (cut as any record is)
        expect(over.reviews[0]!.input).toHaveProperty("action_summary", "Charge cus_42 $120.00")
        expect(decision.approved).toBe(false)
      }
    }))

  it.effect("with payloadSchema the encoded payload is measured, and too large is error without asking", () =>
    Effect.gen(function*() {
      const Doc = Schema.Struct({ body: Schema.String })
      const ran = yield* withFake(
        FakeGate.approveAll,
        Leash.request({ ...charge, payload: { body: "x".repeat(300_000) }, payloadSchema: Doc })
      )
      expectRefused(ran, "the payload is 300,011 bytes as JSON", "262,144")
    }))

  it.effect("a payload nested deeper than 64 levels, or holding binary data, is refused with its path, not cut", () =>
    Effect.gen(function*() {
      let deep: unknown = "bottom"
      for (let i = 0; i < 70; i++) deep = { next: deep }
      const nested = yield* withFake(FakeGate.approveAll, Leash.request({ ...charge, payload: deep }))
      expectRefused(nested, "payload.next.next", "nested deeper than 64 levels")

      const binary = yield* withFake(
        FakeGate.approveAll,
        Leash.request({ ...charge, payload: { files: [new Uint8Array(10)] } })
      )
      expectRefused(binary, "payload.files[0] cannot be sent whole", "binary data (Uint8Array, 10 bytes)")
    }))

  it.effect("risk signals over 16 KiB as JSON are error naming the size and the limit, not sent", () =>
    Effect.gen(function*() {
      // {"note":"…"} is 11 bytes around the note
      const at = yield* withFake(
        FakeGate.approveAll,
        Leash.request({ ...charge, riskSignals: { note: "n".repeat(16_384 - 11) } })
      )
      expect(value(at.exit).decision).toBe("approved")
      const over = yield* withFake(
        FakeGate.approveAll,
        Leash.request({ ...charge, riskSignals: { note: "n".repeat(16_384 - 10) } })
      )
      expectRefused(over, "riskSignals are 16,385 bytes as JSON", "the limit of 16,384 bytes")
    }))

  it.effect("an action summary over 4,096 characters is error naming its length and the limit, not sent", () =>
    Effect.gen(function*() {
      const at = yield* withFake(FakeGate.approveAll, Leash.request({ ...charge, actionSummary: "s".repeat(4_096) }))
      expect(value(at.exit).decision).toBe("approved")
      const over = yield* withFake(FakeGate.approveAll, Leash.request({ ...charge, actionSummary: "s".repeat(5_000) }))
      expectRefused(over, "actionSummary is 5,000 characters", "the limit of 4,096")
    }))

  it.effect("a reviewer's modified payload over 256 KiB is error, never acted on", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(FakeGate.modify({ note: "m".repeat(262_144) }), Leash.request(charge))
      const decision = value(ran.exit)
      expect(decision.decision).toBe("error")
      expect(decision.reason).toContain("modified payload is 262,155 bytes as JSON, over the limit of 262,144 bytes")
      expect(Decision.isApproved(decision)).toBe(false)
    }))
})

describe("v1.1 traceLink: the leash's page only once the gate answered its creation with a 2xx", () => {
  const leashPage = (d: Decision.Decision) => `http://127.0.0.1:7411/leashes/${d.leashId}`

  it.effect("the gate answered: the leash's page, on the Decision and in the review step", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(FakeGate.approveAll, withLink(Leash.request(charge)))
      const { decision } = value(ran.exit)
      expect(decision.traceLink).toBe(leashPage(decision))
      expectOneReview(ran.reviews, decision)
    }))

  it.effect("the SDK refused to send it: the trail's page", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(FakeGate.approveAll, withLink(Leash.request({ ...charge, timeoutSeconds: 0 })))
      const { decision, trailLink } = value(ran.exit)
      expect(decision.decision).toBe("error")
      expect(trailLink).toMatch(/^http:\/\/127\.0\.0\.1:7411\/trails\/[0-9a-f-]{36}$/)
      expect(decision.traceLink).toBe(trailLink)
      expectOneReview(ran.reviews, decision)
    }))

  it.effect("the gate refused it (422), or never answered until the deadline: the trail's page", () =>
    Effect.gen(function*() {
      const refusing: Leash.Gate = {
        create: () => Effect.fail(new Leash.GateError({ reason: "Rejected", status: 422, message: "the gate answered 422" })),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const refused = value((yield* withGate(refusing, withLink(Leash.request(charge)))).exit)
      expect(refused.decision).toMatchObject({ decision: "error", reason: "the gate answered 422" })
      expect(refused.decision.traceLink).toBe(refused.trailLink)

      const silent: Leash.Gate = {
        create: () => Effect.fail(new Leash.GateError({ reason: "Transient", status: 503, message: "the gate answered 503" })),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const fiber = yield* Effect.fork(withGate(silent, withLink(Leash.request({ ...charge, timeoutSeconds: 5 }))))
      yield* TestClock.adjust("5 seconds")
      const timedOut = value((yield* Fiber.join(fiber)).exit)
      expect(timedOut.decision.decision).toBe("timeout")
      expect(timedOut.decision.traceLink).toBe(timedOut.trailLink)
    }))

  it.effect("Leash.await of an id that is not a leash, or one the gate does not know: the trail's page", () =>
    Effect.gen(function*() {
      const nope = value((yield* withFake(FakeGate.approveAll, withLink(Leash.await("nope", { actionName: "x.y" })))).exit)
      expect(nope.decision.decision).toBe("error")
      expect(nope.decision.traceLink).toBe(nope.trailLink)
      expect(nope.decision.traceLink).not.toContain(nope.decision.leashId)

      const unknown = value(
        (yield* withFake(
          FakeGate.approveAll,
          withLink(Leash.await("0190f5e4-8a3c-7d1e-9b2a-3c4d5e6f7a8b", { actionName: "x.y" }))
        )).exit
      )
      expect(unknown.decision.reason).toContain("404")
      expect(unknown.decision.traceLink).toBe(unknown.trailLink)
    }))

  it.effect("async and its Leash.await: the leash's page, from a Decision or from the id the gate knows", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(withFake(
        FakeGate.delayed("10 seconds", FakeGate.approveAll),
        Effect.gen(function*() {
          const pending = yield* Leash.request({ ...charge, blocking: false })
          const fromDecision = yield* Leash.await(pending, { timeoutSeconds: 0.2 })
          const fromId = yield* Leash.await(pending.leashId, { actionName: "stripe.charge", timeoutSeconds: 0.2 })
          return [pending, fromDecision, fromId]
        })
      ))
      yield* TestClock.adjust("1 second")
      const decisions = value((yield* Fiber.join(fiber)).exit)
      expect(decisions.map((d) => d.decision)).toStrictEqual(["async", "timeout", "timeout"])
      for (const d of decisions) expect(d.traceLink).toBe(leashPage(decisions[0]!))
    }))
})
