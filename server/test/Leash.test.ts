/**
 * The leash endpoints: creation (idempotent, canonical-JSON comparison, 422), decisions as a
 * compare-and-set (one winner of 50, 409 for the rest), cancel, expiry at `timeout_seconds`,
 * held long-polls woken by the decision, floor rules at creation, and the pending list.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Option, Schema } from "effect"
import * as Wire from "houndsight/wire"
import { Store, Waiters } from "../src/index.js"
import { type Client, leashRequest, type Running, startServer, uuid } from "./helpers.js"

const decodeState = Schema.decodeUnknownSync(Wire.LeashState)

/** Waits (briefly sleeping) until the server holds `n` long-polls. */
const heldPolls = (s: Running, n: number) =>
  Effect.gen(function*() {
    const waiters = Context.get(s.context, Waiters.Waiters)
    while ((yield* waiters.size) < n) yield* Effect.sleep("5 millis")
  })

/** A held long-poll must be answered well before its 30 s wait ends: it was woken, not timed out. */
const woken = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Fiber.join(fiber).pipe(
    Effect.timeoutFail({
      duration: "20 seconds",
      onTimeout: () => new Error("the held long-poll was not woken: it is still waiting")
    })
  )

const create = (client: Client, body: unknown) => client.post("/v1/leashes", { body })

describe("POST /v1/leashes", () => {
  it.scopedLive("creates a pending leash whose trace_link is the dashboard page of the leash", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ publicUrl: "https://gate.example.com/" })
      const leash = leashRequest()
      const answer = yield* create(s.agent, leash)
      expect(answer.status).toBe(200)
      expect(answer.body).toStrictEqual({
        leash_id: leash.leash_id,
        status: "pending",
        trace_link: `https://gate.example.com/leashes/${leash.leash_id}`
      })
      expect(() => decodeState(answer.body)).not.toThrow()
      const read = yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)
      expect(read.body).toStrictEqual(answer.body)
    }))

  it.scopedLive("a retry with the same body (any key order or spacing) answers the current state", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      const reordered = Object.fromEntries(Object.entries(leash).reverse())
      const retry = yield* create(s.agent, JSON.stringify(reordered, null, 2))
      expect(retry.status).toBe(200)
      expect(retry.body.status).toBe("pending")

      yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "ok" } })
      const late = yield* create(s.agent, leash)
      expect(late.status).toBe(200)
      expect(late.body).toMatchObject({ status: "decided", decision: { decision: "approved", reason: "ok" } })
    }))

  it.scopedLive("the same leash_id with a different body is a 422 naming the first difference; the leash is unchanged", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      const changed = { ...leash, payload: { customer: "cus_42", amount_usd: 99_000 } }
      const answer = yield* create(s.agent, changed)
      expect(answer.status).toBe(422)
      expect(answer.body.error.code).toBe("idempotency_conflict")
      expect(answer.body.error.message).toContain("payload.amount_usd")
      const stored = yield* s.reviewer.get(`/v1/leashes/${leash.leash_id}`)
      expect(stored.body.request.payload).toStrictEqual({ customer: "cus_42", amount_usd: 120 })
    }))

  it.scopedLive("a request that does not decode is a 400 naming the field", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      for (
        const [overrides, field] of [
          [{ timeout_seconds: 0 }, "timeout_seconds"],
          [{ timeout_seconds: 86_401 }, "timeout_seconds"],
          [{ leash_id: "leash-1" }, "leash_id"],
          [{ risk_signals: { amount_usd: "120" } }, "risk_signals.amount_usd"],
          [{ blocking: "yes" }, "blocking"]
        ] as const
      ) {
        const answer = yield* create(s.agent, leashRequest(overrides))
        expect(answer.status, field).toBe(400)
        expect(answer.body.error.code).toBe("bad_request")
        expect(answer.body.error.message, field).toContain(field)
      }
      const missing = yield* create(s.agent, { leash_id: uuid() })
      expect(missing.status).toBe(400)
      expect(missing.body.error.message).toContain("trail_id: is missing")
    }))
})

describe("POST /v1/leashes/{id}/decision", () => {
  it.scopedLive("approved, rejected and modified are written with who decided and when", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const reviewerName = s.info.keys.find((k) => k.role === "reviewer")!.name
      for (
        const body of [
          [{ decision: "approved", reason: "fine" }, {}],
          [{ decision: "rejected", reason: "too much" }, {}],
          [{ decision: "modified", reason: "lower it", modified_payload: { amount_usd: 50 } }, {
            modifiedPayload: { amount_usd: 50 }
          }]
        ] as const
      ) {
        const [sent, typed] = body
        const leash = leashRequest()
        yield* create(s.agent, leash)
        const answer = yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: sent })
        expect(answer.status).toBe(200)
        const state = decodeState(answer.body)
        expect(state).toMatchObject({
          leashId: leash.leash_id,
          status: "decided",
          decision: {
            decision: sent.decision,
            reason: sent.reason,
            ...typed,
            decidedBy: reviewerName,
            traceLink: `${s.url}/leashes/${leash.leash_id}`
          }
        })
        // the person who decided, by name and by key id (a first start's reviewer is "first reviewer")
        expect(reviewerName).toBe("first reviewer")
        expect(answer.body.decision.reviewer).toStrictEqual({
          id: s.info.keys.find((k) => k.role === "reviewer")!.id,
          name: reviewerName
        })
        expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body).toStrictEqual(answer.body)
      }
    }))

  it.scopedLive("a decision body that does not decode is a 400 naming the field", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      const path = `/v1/leashes/${leash.leash_id}/decision`
      const noPayload = yield* s.reviewer.post(path, { body: { decision: "modified", reason: "x" } })
      expect(noPayload.status).toBe(400)
      expect(noPayload.body.error.message).toContain("modified_payload")
      const extra = yield* s.reviewer.post(path, { body: { decision: "approved", reason: "x", modified_payload: {} } })
      expect(extra.status).toBe(400)
      expect(extra.body.error.message).toContain("modified_payload")
      const blocked = yield* s.reviewer.post(path, { body: { decision: "blocked", reason: "x" } })
      expect(blocked.status).toBe(400)
      expect(blocked.body.error.message).toContain("decision: expected one of approved, modified, rejected")
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body.status).toBe("pending")
    }))

  it.scopedLive("of 50 concurrent decisions exactly one wins; the other 49 get 409 already_decided", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      const answers = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) =>
          s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, {
            body: i % 2 === 0 ? { decision: "approved", reason: `reviewer ${i}` } : { decision: "rejected", reason: `reviewer ${i}` }
          }),
        { concurrency: "unbounded" }
      )
      const winners = answers.filter((a) => a.status === 200)
      const losers = answers.filter((a) => a.status === 409)
      expect(winners).toHaveLength(1)
      expect(losers).toHaveLength(49)
      for (const loser of losers) expect(loser.body.error.code).toBe("already_decided")
      const state = yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)
      expect(state.body.decision).toStrictEqual(winners[0]!.body.decision)
    }))

  it.scopedLive("a decision on a decided leash is a 409 that says so; on an unknown leash a 404", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      const path = `/v1/leashes/${leash.leash_id}/decision`
      expect((yield* s.reviewer.post(path, { body: { decision: "rejected", reason: "no" } })).status).toBe(200)
      const again = yield* s.reviewer.post(path, { body: { decision: "approved", reason: "changed my mind" } })
      expect(again.status).toBe(409)
      expect(again.body.error.message).toContain("already decided: rejected")
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body.decision.decision).toBe("rejected")
      const unknown = yield* s.reviewer.post(`/v1/leashes/${uuid()}/decision`, { body: { decision: "approved", reason: "x" } })
      expect(unknown.status).toBe(404)
      expect(unknown.body.error.code).toBe("not_found")
    }))
})

describe("POST /v1/leashes/{id}/cancel", () => {
  it.scopedLive("a pending leash becomes timeout, 'cancelled by the agent'; a later decision is a 409", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      const cancelled = yield* s.agent.post(`/v1/leashes/${leash.leash_id}/cancel`)
      expect(cancelled.status).toBe(200)
      expect(cancelled.body).toMatchObject({
        status: "decided",
        decision: { decision: "timeout", reason: "cancelled by the agent" }
      })
      const again = yield* s.agent.post(`/v1/leashes/${leash.leash_id}/cancel`)
      expect(again.body).toStrictEqual(cancelled.body)
      const late = yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "x" } })
      expect(late.status).toBe(409)
      expect(late.body.error.message).toContain("cancelled by the agent")
      expect((yield* s.reviewer.get("/v1/leashes")).body.leashes).toStrictEqual([])
    }))

  it.scopedLive("cancelling a decided leash answers its decision unchanged; an unknown leash is a 404", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "ok" } })
      const cancel = yield* s.agent.post(`/v1/leashes/${leash.leash_id}/cancel`)
      expect(cancel.status).toBe(200)
      expect(cancel.body.decision).toMatchObject({ decision: "approved", reason: "ok" })
      expect((yield* s.agent.post(`/v1/leashes/${uuid()}/cancel`)).status).toBe(404)
    }))
})

describe("GET /v1/leashes/{id}: long-poll and expiry", () => {
  it.scopedLive("a held long-poll is woken by the reviewer's decision", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      const poll = yield* Effect.fork(s.agent.get(`/v1/leashes/${leash.leash_id}?wait_seconds=30`))
      yield* heldPolls(s, 1)
      yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "go" } })
      const answer = yield* woken(poll)
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ status: "decided", decision: { decision: "approved", reason: "go" } })
    }))

  it.scopedLive("every held long-poll of a leash is woken, and by a cancel too", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      const polls = yield* Effect.forEach([1, 2, 3], () => Effect.fork(s.agent.get(`/v1/leashes/${leash.leash_id}?wait_seconds=99`)))
      yield* heldPolls(s, 3)
      yield* s.agent.post(`/v1/leashes/${leash.leash_id}/cancel`)
      for (const poll of polls) {
        const answer = yield* woken(poll)
        expect(answer.body.decision).toMatchObject({ decision: "timeout", reason: "cancelled by the agent" })
      }
    }))

  it.scopedLive("without wait_seconds (or with a negative one) the state is answered at once; a fraction is a 400", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* create(s.agent, leash)
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body.status).toBe("pending")
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}?wait_seconds=-5`)).body.status).toBe("pending")
      const fraction = yield* s.agent.get(`/v1/leashes/${leash.leash_id}?wait_seconds=1.5`)
      expect(fraction.status).toBe(400)
      expect(fraction.body.error.message).toContain("wait_seconds")
      expect((yield* s.agent.get(`/v1/leashes/${uuid()}?wait_seconds=0`)).status).toBe(404)
    }))

  it.scopedLive("a pending leash expires at created + timeout_seconds: a held long-poll answers timeout 'expired'", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest({ timeout_seconds: 0.3 })
      const created = yield* create(s.agent, leash)
      expect(created.body.status).toBe("pending")
      const answer = yield* woken(yield* Effect.fork(s.agent.get(`/v1/leashes/${leash.leash_id}?wait_seconds=30`)))
      expect(answer.body).toMatchObject({
        status: "decided",
        decision: { decision: "timeout", reason: "expired" }
      })
      const late = yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "x" } })
      expect(late.status).toBe(409)
      expect(late.body.error.message).toContain("expired")
      expect((yield* s.reviewer.get("/v1/leashes")).body.leashes).toStrictEqual([])
    }))

  it.scopedLive("the expiry timer writes the expiry at the deadline even when nobody reads the leash", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const store = Context.get(s.context, Store.Store)
      const leash = leashRequest({ timeout_seconds: 0.2 })
      yield* create(s.agent, leash)
      // read the store directly: a read through the API would expire the leash itself
      const expired = Effect.gen(function*() {
        while (true) {
          const row = Option.getOrThrow(yield* store.leash(leash.leash_id))
          if (row.status === "decided") return row
          yield* Effect.sleep("10 millis")
        }
      })
      const row = yield* expired.pipe(
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the expiry timer never fired") })
      )
      expect(row.decision).toMatchObject({ decision: "timeout", reason: "expired", decidedAt: row.expiresAt })
    }))

  it.scopedLive("expiry does not depend on a timer: a leash past its deadline is expired when it is read or decided", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const store = Context.get(s.context, Store.Store)
      const now = Date.now()
      // written straight to the store, so no timer was ever armed for them
      const ids = [uuid(), uuid(), uuid()]
      for (const leashId of ids) {
        expect(Option.isNone(
          yield* store.insertLeash({
            leashId,
            request: JSON.stringify(leashRequest({ leash_id: leashId })),
            createdAt: now - 10_000,
            expiresAt: now - 5_000,
            decision: undefined
          })
        )).toBe(true)
      }
      const read = yield* s.agent.get(`/v1/leashes/${ids[0]}?wait_seconds=30`)
      expect(read.body).toMatchObject({
        status: "decided",
        decision: { decision: "timeout", reason: "expired", decided_at: new Date(now - 5_000).toISOString() }
      })
      const decided = yield* s.reviewer.post(`/v1/leashes/${ids[1]}/decision`, { body: { decision: "approved", reason: "x" } })
      expect(decided.status).toBe(409)
      expect(decided.body.error.message).toContain("expired")
      expect((yield* s.reviewer.get("/v1/leashes")).body.leashes).toStrictEqual([])
      const row = yield* store.leash(ids[2]!)
      expect(Option.getOrThrow(row).status).toBe("decided") // the list expired it in the store too
    }))
})

describe("floor rules", () => {
  const rule = (action: string, when: ReadonlyArray<Wire.Rules.Condition>, reason = `${action} blocked`) => ({
    action,
    reason,
    when
  })
  const rules: Wire.Rules.RulesFile = {
    sensitive: [],
    rules: [
      rule("op.gt", [{ signal: "amount_usd", op: ">", value: 10_000 }]),
      rule("op.gte", [{ signal: "amount_usd", op: ">=", value: 10_000 }]),
      rule("op.lt", [{ signal: "amount_usd", op: "<", value: 1 }]),
      rule("op.lte", [{ signal: "amount_usd", op: "<=", value: 1 }]),
      rule("op.eq", [{ signal: "merchant_country", op: "==", value: "KP" }]),
      rule("op.ne", [{ signal: "currency", op: "!=", value: "usd" }]),
      rule("op.contains", [{ signal: "data_categories", op: "contains", value: "pii" }]),
      rule("op.in", [{ signal: "merchant_country", op: "in", value: ["KP", "IR"] }]),
      rule("stripe.*", [{ signal: "amount_usd", op: ">", value: 10_000 }, { signal: "merchant_country", op: "!=", value: "US" }], "charges over $10,000 abroad need finance"),
      rule("stripe.*", [{ signal: "amount_usd", op: ">", value: 50_000 }], "never over $50,000"),
      rule("email.send", [], "no email at all")
    ]
  }
  const cases: ReadonlyArray<readonly [action: string, signals: Record<string, unknown>, blocked: string | undefined]> = [
    ["op.gt", { amount_usd: 10_001 }, "op.gt blocked"],
    ["op.gt", { amount_usd: 10_000 }, undefined],
    ["op.gte", { amount_usd: 10_000 }, "op.gte blocked"],
    ["op.gte", { amount_usd: 9_999.99 }, undefined],
    ["op.lt", { amount_usd: 0.5 }, "op.lt blocked"],
    ["op.lt", { amount_usd: 1 }, undefined],
    ["op.lte", { amount_usd: 1 }, "op.lte blocked"],
    ["op.lte", { amount_usd: 1.01 }, undefined],
    ["op.eq", { merchant_country: "KP" }, "op.eq blocked"],
    ["op.eq", { merchant_country: "FR" }, undefined],
    ["op.ne", { currency: "eur" }, "op.ne blocked"],
    ["op.ne", { currency: "usd" }, undefined],
    ["op.ne", {}, undefined], // a missing signal never satisfies a condition, not even !=
    ["op.contains", { data_categories: ["payment", "pii"] }, "op.contains blocked"],
    ["op.contains", { data_categories: ["payment"] }, undefined],
    ["op.in", { merchant_country: "IR" }, "op.in blocked"],
    ["op.in", { merchant_country: "FR" }, undefined],
    ["op.in", {}, undefined],
    // every condition must hold; the first rule that fires gives the reason; prefix.* patterns
    ["stripe.charge", { amount_usd: 60_000, merchant_country: "FR" }, "charges over $10,000 abroad need finance"],
    ["stripe.charge", { amount_usd: 60_000, merchant_country: "US" }, "never over $50,000"],
    ["stripe.charge", { amount_usd: 20_000, merchant_country: "US" }, undefined],
    ["stripe", { amount_usd: 60_000 }, undefined],
    ["email.send", {}, "no email at all"],
    ["email.sender", {}, undefined]
  ]

  it.scopedLive("each operator: a rule that fires blocks the leash at creation, decided_by floor_rule; one that does not leaves it pending", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      for (const [action, signals, blocked] of cases) {
        const leash = leashRequest({ action_name: action, risk_signals: signals })
        const answer = yield* create(s.agent, leash)
        const label = `${action} ${JSON.stringify(signals)}`
        expect(answer.status, label).toBe(200)
        if (blocked === undefined) {
          expect(answer.body.status, label).toBe("pending")
        } else {
          expect(answer.body, label).toMatchObject({
            status: "decided",
            decision: { decision: "blocked", reason: blocked, decided_by: "floor_rule" }
          })
        }
      }
    }))

  it.scopedLive("rules see risk signals in snake_case even when a client sends another style; two keys that collide are a 400", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const camel = yield* create(s.agent, leashRequest({ action_name: "op.gt", risk_signals: { amountUsd: 20_000 } }))
      expect(camel.body.decision).toMatchObject({ decision: "blocked", reason: "op.gt blocked" })
      const both = yield* create(
        s.agent,
        leashRequest({ action_name: "op.gt", risk_signals: { amountUsd: 1, amount_usd: 20_000 } })
      )
      expect(both.status).toBe(400)
      expect(both.body.error.message).toContain("risk_signals")
      expect(both.body.error.message).toContain("amount_usd")
    }))

  it.scopedLive("a blocked leash cannot be decided, and a retry answers the same block", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const leash = leashRequest({ action_name: "email.send" })
      const first = yield* create(s.agent, leash)
      expect((yield* create(s.agent, leash)).body).toStrictEqual(first.body)
      const decide = yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "x" } })
      expect(decide.status).toBe(409)
      expect(decide.body.error.message).toContain("blocked by a floor rule")
      expect((yield* s.reviewer.get("/v1/leashes")).body.leashes).toStrictEqual([])
    }))
})

describe("GET /v1/leashes?status=pending", () => {
  it.scopedLive("lists pending leashes with their request (its payload as a preview), the closest to expiry first", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const later = leashRequest({ timeout_seconds: 600 })
      const sooner = leashRequest({ timeout_seconds: 60, risk_signals: { amount_usd: 5 } })
      const decided = leashRequest()
      for (const l of [later, sooner, decided]) yield* create(s.agent, l)
      yield* s.reviewer.post(`/v1/leashes/${decided.leash_id}/decision`, { body: { decision: "approved", reason: "ok" } })
      const list = yield* s.reviewer.get("/v1/leashes?status=pending&limit=10")
      expect(list.status).toBe(200)
      expect(list.body.leashes.map((l: any) => l.leash_id)).toStrictEqual([sooner.leash_id, later.leash_id])
      const [first] = list.body.leashes
      const { payload, ...withoutPayload } = sooner
      expect(first.request).toStrictEqual(withoutPayload)
      expect(first.payload_preview).toStrictEqual({ text: JSON.stringify(payload), bytes: JSON.stringify(payload).length, cut: false })
      expect(Date.parse(first.expires_at) - Date.parse(first.created_at)).toBe(60_000)
      expect(first.trace_link).toBe(`${s.url}/leashes/${sooner.leash_id}`)
      expect((yield* s.reviewer.get("/v1/leashes?status=decided")).status).toBe(400)
    }))
})
