/**
 * The SDK against the real server: `Leash.request` and `Leash.await` through `HttpGate` over
 * loopback, with every decision made through the reviewer endpoint (or by the server itself:
 * a floor rule, an expiry, a cancel); and the live exporter sending a whole agent run, whose
 * review steps the server's bypass audit then reads.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted, Schema } from "effect"
import { Houndsight, HttpGate, Leash, Memory, Sniff, Trail, type Wire } from "houndsight"
import { type Running, startServer } from "./helpers.js"

const charge = {
  actionName: "stripe.charge",
  actionSummary: "Charge cus_42 $120.00",
  riskSignals: { amountUsd: 120, merchantCountry: "FR" },
  payload: { customer: "cus_42", amountUsd: 120 },
  timeoutSeconds: 20
} as const

const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number })

/** The SDK's in-memory recorder and the HTTP gate, pointed at the server. */
const agentLayer = (s: Running, apiKey = s.agentKey) =>
  Layer.merge(
    Memory.layer({ endpoint: s.url, agent: "billing-bot" }),
    HttpGate.layer({ endpoint: s.url, apiKey: Redacted.make(apiKey) }).pipe(Layer.provide(FetchHttpClient.layer))
  )

/** Runs `self` in a trail on the agent layer; answers its exit and its review steps. */
const asAgent = <A, E>(s: Running, self: Effect.Effect<A, E, Trail.Trail | Leash.Leash>, apiKey?: string) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Trail.run({ trigger: "test", payload: {} }, self))
    const store = yield* Memory.MemoryStore
    const reviews = (yield* store.steps).filter((st) => st.layer === "review")
    return { exit, reviews }
  }).pipe(Effect.provide(agentLayer(s, apiKey)))

/** Waits until the server lists one pending leash, then decides it as the reviewer. */
const decideWhenPending = (s: Running, body: Record<string, unknown>) =>
  Effect.gen(function*() {
    while (true) {
      const list = yield* s.reviewer.get("/v1/leashes")
      const [leash] = list.body.leashes
      if (leash !== undefined) {
        // The list carries a preview; the whole request is read from the leash itself (v1.1).
        const whole = yield* s.reviewer.get(`/v1/leashes/${leash.leash_id}`)
        const answer = yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body })
        expect(answer.status).toBe(200)
        return { ...leash, request: whole.body.request } as Wire.PendingLeashItem & { leash_id: string; request: any }
      }
      yield* Effect.sleep("10 millis")
    }
  })

const success = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected success, got ${String(exit.cause)}`)
  return exit.value
}

describe("Leash.request against the local server", () => {
  for (
    const [body, expected] of [
      [{ decision: "approved", reason: "fine by alice" }, { decision: "approved", approved: true }],
      [{ decision: "rejected", reason: "not this customer" }, { decision: "rejected", approved: false }],
      [{ decision: "modified", reason: "capped", modified_payload: { customer: "cus_42", amountUsd: 100 } }, {
        decision: "modified",
        approved: true,
        modifiedPayload: { customer: "cus_42", amountUsd: 100 }
      }]
    ] as const
  ) {
    it.scopedLive(`${body.decision} by the reviewer reaches the waiting agent, with one review step`, () =>
      Effect.gen(function*() {
        const s = yield* startServer()
        const fiber = yield* Effect.fork(asAgent(s, Leash.request({ ...charge, payloadSchema: Charge })))
        const leash = yield* decideWhenPending(s, body)
        expect(leash.request).toMatchObject({
          action_name: "stripe.charge",
          agent: "billing-bot",
          risk_signals: { amount_usd: 120, merchant_country: "FR" },
          payload: { customer: "cus_42", amountUsd: 120 }
        })
        const ran = yield* Fiber.join(fiber)
        const decision = success(ran.exit)
        expect(decision).toMatchObject({ ...expected, reason: body.reason, leashId: leash.leash_id })
        expect(decision.traceLink).toBe(`${s.url}/leashes/${leash.leash_id}`)
        expect(ran.reviews).toHaveLength(1)
        expect(ran.reviews[0]).toMatchObject({
          id: leash.request.step_id,
          name: "stripe.charge",
          status: "ok",
          leash: { leashId: leash.leash_id, decision: body.decision, reason: body.reason }
        })
      }))
  }

  it.scopedLive("blocked by a floor rule at once, without a reviewer", () =>
    Effect.gen(function*() {
      const s = yield* startServer({
        rulesFile: {
          sensitive: [],
          rules: [{
            action: "stripe.*",
            reason: "charges from FR need finance",
            when: [{ signal: "merchant_country", op: "==", value: "FR" }]
          }]
        }
      })
      const ran = yield* asAgent(s, Leash.request(charge))
      expect(success(ran.exit)).toMatchObject({
        decision: "blocked",
        approved: false,
        reason: "charges from FR need finance"
      })
      expect(ran.reviews).toHaveLength(1)
    }))

  it.scopedLive("timeout when nobody decides: the server expires the leash", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const ran = yield* asAgent(s, Leash.request({ ...charge, timeoutSeconds: 1 }))
      const decision = success(ran.exit)
      expect(decision).toMatchObject({ decision: "timeout", approved: false })
      // the agent's own deadline may end its wait a moment before the server's: wait for the expiry
      const state = yield* s.agent.get(`/v1/leashes/${decision.leashId}?wait_seconds=10`)
      expect(state.body.decision).toMatchObject({ decision: "timeout", reason: "expired" })
    }))

  it.scopedLive("blocking: false answers async; Leash.await then gets the reviewer's decision", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const ran = yield* asAgent(
        s,
        Effect.gen(function*() {
          const first = yield* Leash.request({ ...charge, blocking: false })
          yield* decideWhenPending(s, { decision: "rejected", reason: "not today" })
          const second = yield* Leash.await(first, { timeoutSeconds: 10 })
          return [first, second] as const
        })
      )
      const [first, second] = success(ran.exit)
      expect(first).toMatchObject({ decision: "async", approved: false })
      expect(second).toMatchObject({ decision: "rejected", reason: "not today", leashId: first.leashId })
      expect(ran.reviews).toHaveLength(2)
    }))

  it.scopedLive("an agent interrupted while waiting cancels its leash on the server", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const ran = yield* asAgent(
        s,
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Leash.request(charge))
          while ((yield* s.reviewer.get("/v1/leashes")).body.leashes.length === 0) yield* Effect.sleep("10 millis")
          yield* Fiber.interrupt(fiber)
        })
      )
      success(ran.exit)
      expect(ran.reviews).toHaveLength(1)
      expect(ran.reviews[0]).toMatchObject({ status: "interrupted", leash: { decision: "timeout", reason: "interrupted" } })
      const leashId = ran.reviews[0]!.leash!.leashId
      const state = yield* s.agent.get(`/v1/leashes/${leashId}`)
      expect(state.body.decision).toMatchObject({ decision: "timeout", reason: "cancelled by the agent" })
    }))

  it.scopedLive("a key the server does not know: error, with the server's 401 message", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const ran = yield* asAgent(s, Leash.request(charge), "sk-hnd-not-known-here")
      const decision = success(ran.exit)
      expect(decision.decision).toBe("error")
      expect(decision.reason).toContain("401 unauthorized")
      expect(decision.reason).toContain("unknown key")
    }))
})

describe("the live SDK against the local server", () => {
  it.scopedLive("an agent run is exported; its leashed action raises no flag, the one that skipped the gate does", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: { sensitive: ["stripe.*", "email.send"], rules: [] } })
      // the live layer: the exporter and the HTTP gate, with one key and endpoint
      const live = Houndsight.layer({ apiKey: Redacted.make(s.agentKey), agent: "billing-bot", endpoint: s.url })
      const agent = Effect.gen(function*() {
        const decision = yield* Leash.request(charge)
        if (decision.approved) yield* Sniff.run("stripe.charge", { layer: "execute" }, Effect.void)
        yield* Sniff.run("email.send", { layer: "respond" }, Effect.void) // never asked the gate
        return yield* Trail.id
      }).pipe(Trail.run({ trigger: "user_message", payload: { text: "charge cus_42" } }))

      const fiber = yield* Effect.fork(Effect.scoped(Effect.provide(agent, live)))
      yield* decideWhenPending(s, { decision: "approved", reason: "ok" })
      const trailId = yield* Fiber.join(fiber) // the scope closed: the exporter flushed

      const detail = yield* s.reviewer.get(`/v1/trails/${trailId}`)
      expect(detail.status).toBe(200)
      expect(detail.body.trail).toMatchObject({ status: "ok", agent: "billing-bot" })
      expect(detail.body.steps.map((st: any) => [st.seq, st.name, st.layer])).toStrictEqual([
        [1, "stripe.charge", "review"],
        [2, "stripe.charge", "execute"],
        [3, "email.send", "respond"]
      ])
      expect(detail.body.flags).toMatchObject([{ kind: "unleashed_action", seq: 3, action_name: "email.send" }])
    }))
})

describe("the live SDK against the local server: Leash.await twice on one leash", () => {
  it.scopedLive("two review steps of one approval allow one action; a second one is a reused approval", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: { sensitive: ["stripe.*"], rules: [] } })
      const live = Houndsight.layer({ apiKey: Redacted.make(s.agentKey), agent: "billing-bot", endpoint: s.url })
      const run = Sniff.run("stripe.charge", { layer: "execute" }, Effect.void)
      const agent = Effect.gen(function*() {
        const pending = yield* Leash.request({ ...charge, blocking: false })
        const first = yield* Leash.await(pending, { timeoutSeconds: 20 })
        if (first.approved) yield* run
        // the same leash awaited again: the same approval, used a second time
        const second = yield* Leash.await(pending, { timeoutSeconds: 20 })
        if (second.approved) yield* run
        return yield* Trail.id
      }).pipe(Trail.run({ trigger: "user_message", payload: { text: "charge cus_42" } }))

      const fiber = yield* Effect.fork(Effect.scoped(Effect.provide(agent, live)))
      yield* decideWhenPending(s, { decision: "approved", reason: "ok" })
      const trailId = yield* Fiber.join(fiber)

      const detail = yield* s.reviewer.get(`/v1/trails/${trailId}`)
      expect(detail.body.steps.map((st: any) => [st.seq, st.layer, st.leash?.decision ?? null])).toStrictEqual([
        [1, "review", "async"],
        [2, "review", "approved"],
        [3, "execute", null],
        [4, "review", "approved"],
        [5, "execute", null]
      ])
      // one leash, one approval: the honest review steps are confirmed, the second charge reuses it
      expect(detail.body.flags.map((f: any) => [f.kind, f.seq])).toStrictEqual([["reused_approval", 5]])
    }))
})
