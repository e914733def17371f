/**
 * Leash.request and Leash.await with fake gates under TestClock: the decision table, the one
 * review step per call, the deadline, long-polls, `blocking: false`, interruption, bad input.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Schema, TestClock } from "effect"
import { Decision, Leash, Sniff, Wire } from "houndsight"
import { FakeGate } from "houndsight/test"
import { expectOneReview, expectWireValid, value, withFake, withGate } from "./helpers.js"

const uuid = Wire.uuidPattern

const charge = {
  actionName: "stripe.charge",
  actionSummary: "Charge cus_42 $120.00",
  riskSignals: { amountUsd: 120, merchantCountry: "FR", dataCategories: ["payment"] },
  payload: { customer: "cus_42", amountUsd: 120 }
} as const

const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number })

/** Advances the TestClock by `seconds`. */
const after = (seconds: number) => TestClock.adjust(`${seconds} seconds`)

describe("Leash.request with fake gates", () => {
  it.effect("approved: returns the decision and records one review step with the request's content", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(
        FakeGate.approveAll,
        Sniff.run("pay", { layer: "execute" }, Leash.request(charge))
      )
      const decision = value(ran.exit)
      expect(decision).toMatchObject({
        decision: "approved",
        approved: true,
        reason: "approved by the fake gate",
        actionName: "stripe.charge"
      })
      expect(decision.leashId).toMatch(uuid)
      expect(decision.traceLink).toBe(`http://127.0.0.1:7411/leashes/${decision.leashId}`)
      const review = expectOneReview(ran.reviews, decision)
      expect(review.input).toStrictEqual({
        action_summary: "Charge cus_42 $120.00",
        risk_signals: { amount_usd: 120, merchant_country: "FR", data_categories: ["payment"] },
        payload: { customer: "cus_42", amountUsd: 120 }
      })
      const pay = ran.steps.find((s) => s.name === "pay")!
      expect(review.parentId).toBe(pay.id)
    }))

  it.effect("sends one request carrying the review step's id, the trail, the agent and snake_case signals", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(FakeGate.approveAll, Leash.request(charge), { agent: "billing-bot" })
      const decision = value(ran.exit)
      expect(ran.requests).toHaveLength(1)
      const [request] = ran.requests
      expect(request).toStrictEqual({
        leashId: decision.leashId,
        trailId: ran.reviews[0]!.trailId,
        stepId: ran.reviews[0]!.id,
        agent: "billing-bot",
        actionName: "stripe.charge",
        actionSummary: "Charge cus_42 $120.00",
        riskSignals: { amount_usd: 120, merchant_country: "FR", data_categories: ["payment"] },
        payload: { customer: "cus_42", amountUsd: 120 },
        timeoutSeconds: 300,
        blocking: true
      })
    }))

  it.effect("rejected, blocked and a server-side timeout are fail-closed decisions with the gate's reason", () =>
    Effect.gen(function*() {
      for (
        const [gate, expected] of [
          [FakeGate.rejectAll, { decision: "rejected", reason: "rejected by the fake gate" }],
          [FakeGate.block("charges over $10,000 need finance"), {
            decision: "blocked",
            reason: "charges over $10,000 need finance"
          }],
          [FakeGate.script([{ decision: "timeout", reason: "expired" }]), { decision: "timeout", reason: "expired" }]
        ] as const
      ) {
        const ran = yield* withFake(gate, Leash.request(charge))
        const decision = value(ran.exit)
        expect(decision).toMatchObject({ ...expected, approved: false })
        expectOneReview(ran.reviews, decision)
      }
    }))

  it.effect("modified: gives the reviewer's payload, decoded and typed by payloadSchema", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(
        FakeGate.modify({ customer: "cus_42", amountUsd: 100 }, "capped at $100"),
        Leash.request({ ...charge, payloadSchema: Charge })
      )
      const decision = value(ran.exit)
      expect(decision).toMatchObject({
        decision: "modified",
        approved: true,
        reason: "capped at $100",
        modifiedPayload: { customer: "cus_42", amountUsd: 100 }
      })
      if (decision.decision === "modified") {
        const amount: number = decision.modifiedPayload.amountUsd
        expect(amount).toBe(100)
      }
      expectOneReview(ran.reviews, decision)
    }))

  it.effect("encodes the payload with payloadSchema and decodes the modified payload with it", () =>
    Effect.gen(function*() {
      const Amount = Schema.Struct({ cents: Schema.BigInt })
      const ran = yield* withFake(
        FakeGate.modify({ cents: "9000" }),
        Leash.request({ ...charge, payload: { cents: 12000n }, payloadSchema: Amount })
      )
      expect(ran.requests[0]!.payload).toStrictEqual({ cents: "12000" })
      const decision = value(ran.exit)
      expect(decision.decision === "modified" && decision.modifiedPayload).toStrictEqual({ cents: 9000n })
      expectOneReview(ran.reviews, decision, { modifiedPayload: { cents: "9000" } })
    }))

  it.effect("error: a modified payload that does not match payloadSchema, with the decode error as reason", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(
        FakeGate.modify({ customer: "cus_42", amountUsd: "a lot" }),
        Leash.request({ ...charge, payloadSchema: Charge })
      )
      const decision = value(ran.exit)
      expect(decision).toMatchObject({ decision: "error", approved: false })
      expect(decision.reason).toContain("the reviewer's modified payload does not match payloadSchema")
      expect(decision.reason).toContain("amountUsd")
      expectOneReview(ran.reviews, decision, { modifiedPayload: { customer: "cus_42", amountUsd: "a lot" } })
    }))

  it.effect("a script answers leashes in order and says when it runs out", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(
        FakeGate.script([{ decision: "approved" }, { decision: "rejected", reason: "not twice" }]),
        Effect.all([Leash.request(charge), Leash.request(charge), Leash.request(charge)])
      )
      const [first, second, third] = value(ran.exit)
      expect(first!.decision).toBe("approved")
      expect(second).toMatchObject({ decision: "rejected", reason: "not twice" })
      expect(third!.decision).toBe("error")
      expect(third!.reason).toContain("the script has 2 answer(s) and leash #3 asked for one")
      expect(ran.reviews.map((s) => s.leash?.decision)).toStrictEqual(["approved", "rejected", "error"])
    }))

  it.effect("decideWith decides from the request, as a reviewer reading risk signals would", () =>
    Effect.gen(function*() {
      const gate = FakeGate.decideWith((request) =>
        Number(request.riskSignals["amount_usd"]) > 1000
          ? { decision: "rejected", reason: "over $1,000" }
          : { decision: "approved", reason: "small" }
      )
      const ran = yield* withFake(
        gate,
        Effect.all([
          Leash.request(charge),
          Leash.request({ ...charge, riskSignals: { amountUsd: 5000 } })
        ])
      )
      expect(value(ran.exit).map((d) => d.decision)).toStrictEqual(["approved", "rejected"])
    }))

  it.effect("timeout: a gate that never answers ends at the deadline, 600 s of TestClock in no real time", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        withFake(
          FakeGate.neverAnswers,
          Effect.zip(Leash.request({ ...charge, timeoutSeconds: 600 }), Clock.currentTimeMillis)
        )
      )
      yield* after(599)
      expect(fiber.unsafePoll()).toBeNull()
      yield* after(1)
      const ran = yield* Fiber.join(fiber)
      const [decision, endedAt] = value(ran.exit)
      expect(decision).toMatchObject({ decision: "timeout", approved: false, reason: "no decision in 600 s" })
      expect(endedAt).toBe(600_000)
      expectOneReview(ran.reviews, decision)
      expect(ran.cancelled).toStrictEqual([])
    }))

  it.effect("a decision that arrives while the agent long-polls reaches it at once", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(
        withFake(
          FakeGate.delayed("37 seconds", FakeGate.approveAll),
          Effect.zip(Leash.request({ ...charge, timeoutSeconds: 600 }), Clock.currentTimeMillis)
        )
      )
      yield* after(37)
      const ran = yield* Fiber.join(fiber)
      const [decision, at] = value(ran.exit)
      expect(decision.decision).toBe("approved")
      expect(at).toBe(37_000)
      expectOneReview(ran.reviews, decision)
    }))

  it.effect("blocking: false returns async at once, and Leash.await waits for the decision with its own review step", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        const pending = yield* Leash.request({ ...charge, blocking: false })
        const decided = yield* Leash.await(pending, { timeoutSeconds: 120, payloadSchema: Charge })
        return { pending, decided }
      })
      const fiber = yield* Effect.fork(withFake(FakeGate.delayed("90 seconds", FakeGate.modify({ customer: "c", amountUsd: 1 })), program))
      yield* after(90)
      const ran = yield* Fiber.join(fiber)
      const { decided, pending } = value(ran.exit)
      expect(pending).toMatchObject({ decision: "async", approved: false, actionName: "stripe.charge" })
      expect(pending.reason).toContain("Leash.await")
      expect(ran.requests[0]!.blocking).toBe(false)
      expect(decided).toMatchObject({
        decision: "modified",
        leashId: pending.leashId,
        traceLink: pending.traceLink,
        modifiedPayload: { customer: "c", amountUsd: 1 }
      })
      expect(ran.reviews).toHaveLength(2)
      expectOneReview([ran.reviews[0]!], pending)
      const awaited = expectOneReview([ran.reviews[1]!], decided)
      expect(awaited.input).toStrictEqual({ leash_id: pending.leashId })
    }))

  it.effect("blocking: false returns the decision itself when the gate decided at once (a floor rule)", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(FakeGate.block("too big"), Leash.request({ ...charge, blocking: false }))
      expect(value(ran.exit)).toMatchObject({ decision: "blocked", reason: "too big" })
    }))

  it.effect("Leash.await takes a leash id with the action's name", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(withFake(
        FakeGate.delayed("5 seconds", FakeGate.approveAll),
        Effect.gen(function*() {
          const pending = yield* Leash.request({ ...charge, blocking: false })
          return yield* Leash.await(pending.leashId, { actionName: "stripe.charge", timeoutSeconds: 1 })
        })
      ))
      yield* after(1)
      const ran = yield* Fiber.join(fiber)
      const decision = value(ran.exit)
      expect(decision).toMatchObject({ decision: "timeout", reason: "no decision in 1 s" })
      expect(ran.reviews.map((s) => s.name)).toStrictEqual(["stripe.charge", "stripe.charge"])
    }))

  it.effect("Leash.await on a leash the gate does not know ends in error with the gate's answer", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(
        FakeGate.approveAll,
        Leash.await("0190f5e4-8a3c-7d1e-9b2a-3c4d5e6f7a8b", { actionName: "stripe.charge" })
      )
      const decision = value(ran.exit)
      expect(decision).toMatchObject({ decision: "error" })
      expect(decision.reason).toContain("404")
      expectOneReview(ran.reviews, decision)
    }))

  it.effect("interruption while waiting: the review step is recorded as interrupted and the leash cancelled", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        withFake(
          FakeGate.neverAnswers,
          Effect.gen(function*() {
            const waiting = yield* Effect.fork(Leash.request({ ...charge, timeoutSeconds: 600 }))
            yield* Deferred.succeed(started, undefined)
            yield* TestClock.adjust("10 seconds")
            yield* Fiber.interrupt(waiting)
            return yield* Fiber.await(waiting)
          })
        )
      )
      yield* Deferred.await(started)
      const ran = yield* Fiber.join(fiber)
      const exit = value(ran.exit)
      expect(exit._tag).toBe("Failure")
      expect(ran.reviews).toHaveLength(1)
      const review = ran.reviews[0]!
      expect(review).toMatchObject({
        status: "interrupted",
        leash: { decision: "timeout", approved: false, reason: "interrupted", actionName: "stripe.charge" }
      })
      expect(review.output).toMatchObject({ decision: "timeout", approved: false, reason: "interrupted" })
      expect(ran.cancelled).toStrictEqual([ran.requests[0]!.leashId])
    }))

  it.effect("the cancel on interruption is bounded by 2 s", () =>
    Effect.gen(function*() {
      const cancels: Array<string> = []
      const gate: Leash.Gate = {
        create: ({ request }) => Effect.succeed({ leashId: request.leashId, status: "pending", traceLink: "" }),
        poll: () => Effect.never,
        cancel: (id) => Effect.sync(() => cancels.push(id)).pipe(Effect.zipRight(Effect.never))
      }
      const fiber = yield* Effect.fork(
        withGate(
          gate,
          Effect.gen(function*() {
            const waiting = yield* Effect.fork(Leash.request(charge))
            yield* Effect.yieldNow()
            const interrupting = yield* Effect.fork(Fiber.interrupt(waiting))
            yield* Effect.yieldNow()
            expect(interrupting.unsafePoll()).toBeNull()
            yield* TestClock.adjust("2 seconds")
            yield* Fiber.join(interrupting)
            return yield* Clock.currentTimeMillis
          })
        )
      )
      const ran = yield* Fiber.join(fiber)
      expect(value(ran.exit)).toBe(2_000)
      expect(cancels).toHaveLength(1)
      expect(ran.reviews[0]).toMatchObject({ status: "interrupted", leash: { reason: "interrupted" } })
    }))
})

describe("Leash.request retries and deadline (hand-made transports)", () => {
  const transient = (message: string, retryAfterMillis?: number) =>
    new Leash.GateError(
      retryAfterMillis === undefined
        ? { reason: "Transient", status: 503, message }
        : { reason: "Transient", status: 503, message, retryAfterMillis }
    )
  const decided = (leashId: string) => ({
    leashId,
    status: "decided" as const,
    decision: { decision: "approved" as const, reason: "ok", decidedAt: new Date(0), traceLink: "" }
  })

  it.effect("retries transient failures with the same body, then takes the answer", () =>
    Effect.gen(function*() {
      const bodies: Array<string> = []
      const gate: Leash.Gate = {
        create: ({ body, request }) =>
          Effect.suspend(() => {
            bodies.push(body)
            return bodies.length < 4 ? Effect.fail(transient("the gate answered 503")) : Effect.succeed(decided(request.leashId))
          }),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const fiber = yield* Effect.fork(withGate(gate, Leash.request(charge)))
      yield* TestClock.adjust("10 seconds")
      const ran = yield* Fiber.join(fiber)
      expect(value(ran.exit).decision).toBe("approved")
      expect(bodies).toHaveLength(4)
      expect(new Set(bodies).size).toBe(1)
      expect(JSON.parse(bodies[0]!)).toMatchObject({ action_name: "stripe.charge", risk_signals: { amount_usd: 120 } })
    }))

  it.effect("transient failures until the deadline end as timeout naming the last failure, never past it", () =>
    Effect.gen(function*() {
      let attempts = 0
      const gate: Leash.Gate = {
        create: () => Effect.suspend(() => Effect.fail(transient(`the gate answered 503 (attempt ${++attempts})`))),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const fiber = yield* Effect.fork(
        withGate(gate, Effect.zip(Leash.request({ ...charge, timeoutSeconds: 30 }), Clock.currentTimeMillis))
      )
      yield* TestClock.adjust("30 seconds")
      const ran = yield* Fiber.join(fiber)
      const [decision, at] = value(ran.exit)
      expect(decision.decision).toBe("timeout")
      expect(decision.reason).toBe(`no decision in 30 s; last failure: the gate answered 503 (attempt ${attempts})`)
      expect(at).toBe(30_000)
      expect(attempts).toBeGreaterThan(3)
      expect(ran.reviews).toHaveLength(1)
    }))

  it.effect("a Retry-After replaces the back-off", () =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const gate: Leash.Gate = {
        create: ({ request }) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            times.push(now)
            return times.length === 1
              ? Effect.fail(transient("the gate answered 429", 7_000))
              : Effect.succeed(decided(request.leashId))
          }),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const fiber = yield* Effect.fork(withGate(gate, Leash.request(charge)))
      yield* TestClock.adjust("6999 millis")
      expect(times).toStrictEqual([0])
      yield* TestClock.adjust("1 millis")
      const ran = yield* Fiber.join(fiber)
      expect(times).toStrictEqual([0, 7_000])
      expect(value(ran.exit).decision).toBe("approved")
    }))

  it.effect("a Retry-After past the deadline ends the call at once as timeout", () =>
    Effect.gen(function*() {
      const gate: Leash.Gate = {
        create: () => Effect.fail(transient("the gate answered 503 unavailable: restarting", 120_000)),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const ran = yield* withGate(
        gate,
        Effect.zip(Leash.request({ ...charge, timeoutSeconds: 60 }), Clock.currentTimeMillis)
      )
      const [decision, at] = value(ran.exit)
      expect(at).toBe(0)
      expect(decision.decision).toBe("timeout")
      expect(decision.reason).toBe(
        "no decision in 60 s: the gate asked to retry in 120 s (the gate answered 503 unavailable: restarting), past the deadline"
      )
      expect(ran.reviews).toHaveLength(1)
    }))

  it.effect("an attempt that never answers is cut at 10 s and retried", () =>
    Effect.gen(function*() {
      const starts: Array<number> = []
      const gate: Leash.Gate = {
        create: ({ request }) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            starts.push(now)
            return starts.length === 1 ? Effect.never : Effect.succeed(decided(request.leashId))
          }),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const fiber = yield* Effect.fork(withGate(gate, Leash.request(charge)))
      yield* TestClock.adjust("20 seconds")
      const ran = yield* Fiber.join(fiber)
      expect(value(ran.exit).decision).toBe("approved")
      expect(starts[0]).toBe(0)
      expect(starts[1]).toBeGreaterThanOrEqual(10_000)
      expect(starts[1]).toBeLessThanOrEqual(10_250)
    }))

  it.effect("an attempt is clipped to the deadline", () =>
    Effect.gen(function*() {
      const gate: Leash.Gate = { create: () => Effect.never, poll: () => Effect.never, cancel: () => Effect.never }
      const fiber = yield* Effect.fork(
        withGate(gate, Effect.zip(Leash.request({ ...charge, timeoutSeconds: 3.5 }), Clock.currentTimeMillis))
      )
      yield* TestClock.adjust("3500 millis")
      const ran = yield* Fiber.join(fiber)
      const [decision, at] = value(ran.exit)
      expect(at).toBe(3_500)
      expect(decision).toMatchObject({
        decision: "timeout",
        reason: "no decision in 3.5 s; last failure: the gate did not answer before the deadline"
      })
    }))

  it.effect("long-polls ask for min(25, whole seconds left) and hold their own limit of that + 5 s", () =>
    Effect.gen(function*() {
      const waits: Array<[number, number]> = []
      const gate: Leash.Gate = {
        create: ({ request }) => Effect.succeed({ leashId: request.leashId, status: "pending", traceLink: "" }),
        poll: (leashId, wait) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            waits.push([now, wait])
            return Effect.as(Effect.sleep(`${wait} seconds`), { leashId, status: "pending" as const, traceLink: "" })
          }),
        cancel: () => Effect.never
      }
      const fiber = yield* Effect.fork(withGate(gate, Leash.request({ ...charge, timeoutSeconds: 57.5 })))
      yield* TestClock.adjust("58 seconds")
      const ran = yield* Fiber.join(fiber)
      expect(value(ran.exit).reason).toBe("no decision in 57.5 s")
      // 25 + 25 + 7, then under a second left: a zero-second poll, backed off (no busy loop)
      expect(waits.slice(0, 4)).toStrictEqual([[0, 25], [25_000, 25], [50_000, 7], [57_000, 0]])
      expect(waits.length).toBeLessThan(10)
    }))

  it.effect("a gate that answers the wrong leash id is contract drift: error", () =>
    Effect.gen(function*() {
      const gate: Leash.Gate = {
        create: () => Effect.succeed(decided("0190f5e4-8a3c-7d1e-9b2a-3c4d5e6f7a8b")),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const ran = yield* withGate(gate, Leash.request(charge))
      const decision = value(ran.exit)
      expect(decision.decision).toBe("error")
      expect(decision.reason).toContain("contracts have drifted")
    }))

  it.effect("a transport that dies still yields a Decision (error) and one review step", () =>
    Effect.gen(function*() {
      const gate: Leash.Gate = {
        create: () => Effect.die(new TypeError("boom")),
        poll: () => Effect.never,
        cancel: () => Effect.never
      }
      const ran = yield* withGate(gate, Leash.request(charge))
      const decision = value(ran.exit)
      expect(decision).toMatchObject({ decision: "error", reason: "the leash failed unexpectedly: TypeError: boom" })
      expectOneReview(ran.reviews, decision)
    }))
})

describe("Leash.request input checks", () => {
  const cases: ReadonlyArray<[string, Record<string, unknown>, string]> = [
    ["timeoutSeconds 0", { timeoutSeconds: 0 }, "timeoutSeconds must be a number above 0 and at most 86400, got 0"],
    ["timeoutSeconds over a day", { timeoutSeconds: 86_401 }, "at most 86400, got 86401"],
    ["timeoutSeconds NaN", { timeoutSeconds: Number.NaN }, "got NaN"],
    ["blocking not a boolean", { blocking: "no" }, "blocking must be true or false"],
    ["an empty action name", { actionName: "" }, "the request is invalid"],
    ["a summary over 4096 characters", { actionSummary: "x".repeat(4097) }, "actionSummary is 4,097 characters"],
    ["two signal keys that clash", { riskSignals: { amountUsd: 1, amount_usd: 2 } }, "both become \"amount_usd\""],
    ["a non-finite amount", { riskSignals: { amountUsd: Number.POSITIVE_INFINITY } }, "amount_usd"]
  ]
  for (const [name, override, message] of cases) {
    it.effect(`${name}: error without asking the gate, and one review step`, () =>
      Effect.gen(function*() {
        const ran = yield* withFake(FakeGate.approveAll, Leash.request({ ...charge, ...override } as any))
        const decision = value(ran.exit) as Decision.Decision
        expect(decision.decision).toBe("error")
        expect(decision.reason).toContain(message)
        expect(ran.requests).toHaveLength(0)
        expect(ran.reviews).toHaveLength(1)
        expect(ran.reviews[0]!.leash).toMatchObject({ decision: "error", approved: false })
        expectWireValid(ran.reviews[0]!)
      }))
  }

  it.effect("an empty action name is recorded as \"(unnamed)\", so the review step still reaches the server", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(FakeGate.approveAll, Leash.request({ ...charge, actionName: "" }))
      const decision = value(ran.exit)
      expect(decision).toMatchObject({ decision: "error", actionName: "(unnamed)" })
      expect(ran.reviews[0]).toMatchObject({ name: "(unnamed)", leash: { actionName: "(unnamed)" } })
      expectWireValid(ran.reviews[0]!)
    }))

  it.effect("Leash.await with a leash id that is not a UUID: error naming it, and a valid review step", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(FakeGate.approveAll, Leash.await("leash-42", { actionName: "stripe.charge" }))
      const decision = value(ran.exit)
      expect(decision.decision).toBe("error")
      expect(decision.reason).toContain("\"leash-42\" is not a leash id")
      const review = expectOneReview(ran.reviews, decision)
      expect(review.input).toStrictEqual({ leash_id: "leash-42" })
    }))

  it.effect("a payload that does not encode with payloadSchema: error without asking the gate", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(
        FakeGate.approveAll,
        Leash.request({ ...charge, payload: { customer: 42 } as any, payloadSchema: Charge })
      )
      const decision = value(ran.exit)
      expect(decision.decision).toBe("error")
      expect(decision.reason).toContain("the payload does not match payloadSchema")
      expect(ran.requests).toHaveLength(0)
    }))
})

describe("Leash.request with tracing disabled", () => {
  it.effect("still asks the gate, with a fresh step id, and records nothing", () =>
    Effect.gen(function*() {
      const ran = yield* withFake(FakeGate.rejectAll, Leash.request(charge), { enabled: false })
      expect(value(ran.exit).decision).toBe("rejected")
      expect(ran.requests).toHaveLength(1)
      expect(ran.requests[0]!.stepId).toMatch(uuid)
      expect(ran.steps).toHaveLength(0)
    }))
})

describe("Decision", () => {
  it("matches every value exhaustively and knows which ones allow the action", () => {
    const base = { reason: "r", leashId: "l", traceLink: "t", actionName: "a" }
    const all: ReadonlyArray<Decision.Decision<number>> = [
      Decision.approved(base),
      Decision.modified({ ...base, modifiedPayload: 2 }),
      Decision.rejected(base),
      Decision.blocked(base),
      Decision.timeout(base),
      Decision.error(base),
      Decision.async(base)
    ]
    const label = Decision.match<number, string>({
      approved: () => "approved",
      modified: (d) => `modified ${d.modifiedPayload}`,
      rejected: () => "rejected",
      blocked: () => "blocked",
      timeout: () => "timeout",
      error: () => "error",
      async: () => "async"
    })
    expect(all.map(label)).toStrictEqual([
      "approved",
      "modified 2",
      "rejected",
      "blocked",
      "timeout",
      "error",
      "async"
    ])
    expect(all.filter(Decision.isApproved).map((d) => d.decision)).toStrictEqual(["approved", "modified"])
    expect(all.map((d) => Decision.payloadOr(d, 1))).toStrictEqual([1, 2, 1, 1, 1, 1, 1])
  })

})

describe("Leash.request with a payload schema that throws", () => {
  it.effect("still yields a Decision (error) and one review step", () =>
    Effect.gen(function*() {
      const Throwing = Schema.transform(Schema.String, Schema.String, {
        strict: true,
        decode: (s) => s,
        encode: () => {
          throw new RangeError("cannot encode")
        }
      })
      const ran = yield* withFake(FakeGate.approveAll, Leash.request({ ...charge, payload: "x", payloadSchema: Throwing }))
      const decision = value(ran.exit)
      expect(decision.decision).toBe("error")
      expect(decision.reason).toContain("cannot encode")
      expect(ran.requests).toHaveLength(0)
      expectOneReview(ran.reviews, decision)
    }))
})
