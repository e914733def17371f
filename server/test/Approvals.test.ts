/**
 * Two-person approval end to end: approval rules of the rules file make a leash need several
 * distinct reviewers. The first approvals answer the pending state with the approvals so far; the
 * same person again is 409 `already_approved`; a rejection rejects; a modification restarts the
 * count with its author as the first approver of the new payload; the approval that reaches the
 * count completes the leash (the compare-and-set of DESIGN.md section 2: one winner of a race);
 * a floor rule's block wins; the real SDK resumes once, with every approver in its Decision and
 * its review step.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Exit, Fiber, Layer, Option, Redacted, Schema } from "effect"
import { HttpGate, Leash, Memory, Trail } from "houndsight"
import type * as Wire from "houndsight/wire"
import * as WireSchema from "houndsight/wire"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Path from "node:path"
import * as Approvals from "../src/Approvals.js"
import { Database, Keys, LeashDesk, Notifier, PublicUrl, Rules, Store, Waiters } from "../src/index.js"
import { type Client, client, leashRequest, type Running, startServer, tempDir, uuid } from "./helpers.js"

const rulesFile: Wire.Rules.RulesFile = {
  sensitive: ["stripe.*"],
  rules: [{
    action: "stripe.*",
    reason: "charges over $10,000 need finance",
    when: [{ signal: "amount_usd", op: ">", value: 10_000 }]
  }],
  approvals: [
    { action: "stripe.*", approvals: 2, when: [{ signal: "amount_usd", op: ">", value: 100 }] },
    { action: "stripe.payout", approvals: 3, when: [] }
  ]
}

/** A reviewer key for `person`, as `keys create --reviewer` makes one. */
const reviewerNamed = (s: Running, person: string) =>
  Keys.create({ kind: "reviewer", person }).pipe(
    Effect.provide(Database.layer(s.db)),
    Effect.orDie,
    Effect.map((made) => ({ id: made.info.id, name: person, client: client(s.url, Redacted.value(made.key)) }))
  )

interface Person {
  readonly id: string
  readonly name: string
  readonly client: Client
}

const setup = Effect.gen(function*() {
  const s = yield* startServer({ rulesFile })
  const ada = yield* reviewerNamed(s, "Ada Lovelace")
  const bob = yield* reviewerNamed(s, "Bob Kahn")
  const cat = yield* reviewerNamed(s, "Cat Yong")
  return { s, ada, bob, cat }
})

const createLeash = (s: Running, overrides: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const body = leashRequest({ risk_signals: { amount_usd: 500 }, ...overrides })
    const answer = yield* s.agent.post("/v1/leashes", { body })
    expect(answer.status).toBe(200)
    return { id: body.leash_id as string, answer }
  })

const decide = (who: Person, leashId: string, body: Record<string, unknown>) =>
  who.client.post(`/v1/leashes/${leashId}/decision`, { body })

const approve = (who: Person, leashId: string) => decide(who, leashId, { decision: "approved" })

const named = (who: Person) => ({ id: who.id, name: who.name })

describe("approval rules on the server", () => {
  it.scopedLive("first approval: 200, still pending, with the approvals so far; the same person again: 409 already_approved; a second person completes", () =>
    Effect.gen(function*() {
      const { ada, bob, s } = yield* setup
      const { answer, id } = yield* createLeash(s)
      expect(answer.body).toMatchObject({ status: "pending", approvals_required: 2, approvals: [] })

      const first = yield* approve(ada, id)
      expect(first.status).toBe(200)
      expect(first.body).toMatchObject({
        leash_id: id,
        status: "pending",
        approvals_required: 2,
        approvals: [{ reviewer: named(ada), decision: "approved" }]
      })
      expect(Date.parse(first.body.approvals[0].at)).toBeGreaterThan(0)
      // the agent sees it pending, with the approval count, and nothing decided
      expect((yield* s.agent.get(`/v1/leashes/${id}`)).body).toMatchObject({ status: "pending", approvals_required: 2 })

      const again = yield* approve(ada, id)
      expect(again.status).toBe(409)
      expect(again.body.error.code).toBe("already_approved")
      expect(again.body.error.message).toContain("Ada Lovelace already approved")
      // another key of the same person is the same person
      const adaAgain = yield* reviewerNamed(s, " ada lovelace")
      expect((yield* approve(adaAgain, id)).body.error?.code).toBe("already_approved")

      const second = yield* approve(bob, id)
      expect(second.status).toBe(200)
      expect(second.body).toMatchObject({
        status: "decided",
        decision: {
          decision: "approved",
          decided_by: "Bob Kahn",
          reviewer: named(bob),
          approvers: [named(ada), named(bob)]
        }
      })
      // and so it stays, for the agent and for a later decision
      expect((yield* s.agent.get(`/v1/leashes/${id}`)).body.decision.approvers).toEqual([named(ada), named(bob)])
      const late = yield* approve(ada, id)
      expect(late.status).toBe(409)
      expect(late.body.error.code).toBe("already_decided")
    }))

  it.scopedLive("a rejection after one approval rejects", () =>
    Effect.gen(function*() {
      const { ada, bob, s } = yield* setup
      const { id } = yield* createLeash(s)
      expect((yield* approve(ada, id)).body.status).toBe("pending")
      const rejected = yield* decide(bob, id, { decision: "rejected", reason: "not this customer" })
      expect(rejected.status).toBe(200)
      expect(rejected.body).toMatchObject({
        status: "decided",
        decision: { decision: "rejected", reason: "not this customer", reviewer: named(bob) }
      })
      expect(rejected.body.decision.approvers).toBeUndefined()
      expect((yield* approve(bob, id)).status).toBe(409)
    }))

  it.scopedLive("a modification restarts the count: its author is the first approver of the new payload", () =>
    Effect.gen(function*() {
      const { ada, bob, cat, s } = yield* setup
      const { id } = yield* createLeash(s, { action_name: "stripe.payout", risk_signals: {} })
      expect((yield* approve(ada, id)).body.approvals).toHaveLength(1)
      expect((yield* approve(cat, id)).body.approvals).toHaveLength(2)
      const capped = { customer: "cus_42", amount_usd: 100 }
      const modified = yield* decide(bob, id, { decision: "modified", reason: "capped", modified_payload: capped })
      expect(modified.status).toBe(200)
      expect(modified.body).toMatchObject({
        status: "pending",
        approvals_required: 3,
        modified_payload: capped,
        approvals: [{ reviewer: named(bob), decision: "modified" }]
      })
      expect((yield* approve(bob, id)).body.error?.code).toBe("already_approved")
      // Ada and Cat approved the old payload: they approve the new one anew, and both are needed
      const adaAgain = yield* approve(ada, id)
      expect(adaAgain.body).toMatchObject({ status: "pending", approvals: [{ reviewer: named(bob) }, { reviewer: named(ada) }] })
      const done = yield* approve(cat, id)
      expect(done.body).toMatchObject({
        status: "decided",
        decision: {
          decision: "modified",
          modified_payload: capped,
          reviewer: named(cat),
          approvers: [named(bob), named(ada), named(cat)]
        }
      })
    }))

  it.scopedLive("a floor rule's block wins over an approval rule; an action no approval rule matches needs one approval", () =>
    Effect.gen(function*() {
      const { ada, s } = yield* setup
      const { answer, id } = yield* createLeash(s, { risk_signals: { amount_usd: 50_000 } })
      expect(answer.body).toMatchObject({
        status: "decided",
        decision: { decision: "blocked", reason: "charges over $10,000 need finance" }
      })
      expect(answer.body.approvals_required).toBeUndefined()
      expect((yield* approve(ada, id)).body.error.code).toBe("already_decided")

      const small = yield* createLeash(s, { risk_signals: { amount_usd: 50 } })
      expect(small.answer.body).toStrictEqual({ leash_id: small.id, status: "pending", trace_link: small.answer.body.trace_link })
      expect((yield* approve(ada, small.id)).body).toMatchObject({ status: "decided", decision: { decision: "approved" } })
    }))

  it.scopedLive("racing completions: of two distinct reviewers approving a leash one approval short, exactly one completes it", () =>
    Effect.gen(function*() {
      const { ada, bob, cat, s } = yield* setup
      for (let round = 0; round < 10; round++) {
        const { id } = yield* createLeash(s)
        yield* approve(ada, id)
        const answers = yield* Effect.all([approve(bob, id), approve(cat, id)], { concurrency: "unbounded" })
        const won = answers.filter((a) => a.status === 200)
        const lost = answers.filter((a) => a.status === 409)
        expect(won).toHaveLength(1)
        expect(lost).toHaveLength(1)
        expect(lost[0]!.body.error.code).toBe("already_decided")
        const winner = won[0]!.body.decision.reviewer
        expect(won[0]!.body.decision.approvers).toEqual([named(ada), winner])
        expect((yield* s.agent.get(`/v1/leashes/${id}`)).body.decision.approvers).toEqual([named(ada), winner])
      }
    }))

  it.scopedLive("racing approvals of a leash needing three: neither is lost, the later one completes it", () =>
    Effect.gen(function*() {
      const { ada, bob, cat, s } = yield* setup
      for (let round = 0; round < 10; round++) {
        const { id } = yield* createLeash(s, { action_name: "stripe.payout" })
        yield* approve(ada, id)
        const answers = yield* Effect.all([approve(bob, id), approve(cat, id)], { concurrency: "unbounded" })
        expect(answers.map((a) => a.status)).toEqual([200, 200])
        expect(answers.map((a) => a.body.status).sort()).toEqual(["decided", "pending"])
        const state = (yield* s.agent.get(`/v1/leashes/${id}`)).body
        expect(state.decision.decision).toBe("approved")
        expect(state.decision.approvers).toHaveLength(3)
      }
    }))

  it.scopedLive("the pending list shows the approvals so far", () =>
    Effect.gen(function*() {
      const { ada, s } = yield* setup
      const { id } = yield* createLeash(s)
      yield* approve(ada, id)
      const list = yield* s.reviewer.get("/v1/leashes")
      expect(list.body.leashes[0]).toMatchObject({
        leash_id: id,
        approvals_required: 2,
        approvals: [{ reviewer: named(ada), decision: "approved" }]
      })
    }))
})

describe("Leash.request against a leash that needs two reviewers", () => {
  it.scopedLive("the agent waits through the first approval and resumes once, with both approvers in its Decision and review step", () =>
    Effect.gen(function*() {
      const { ada, bob, s } = yield* setup
      const layer = Layer.merge(
        Memory.layer({ endpoint: s.url, agent: "billing-bot" }),
        HttpGate.layer({ endpoint: s.url, apiKey: Redacted.make(s.agentKey) }).pipe(Layer.provide(FetchHttpClient.layer))
      )
      const agent = yield* Effect.fork(
        Effect.gen(function*() {
          const decision = yield* Trail.run(
            { trigger: "test", payload: {} },
            Leash.request({
              actionName: "stripe.charge",
              actionSummary: "Charge cus_42 $500.00",
              riskSignals: { amountUsd: 500 },
              payload: { customer: "cus_42", amountUsd: 500 },
              timeoutSeconds: 30
            })
          )
          const steps = yield* Effect.flatMap(Memory.MemoryStore, (store) => store.steps)
          return { decision, reviews: steps.filter((st) => st.layer === "review") }
        }).pipe(Effect.provide(layer))
      )
      const waiters = Context.get(s.context, Waiters.Waiters)
      let leashId: string | undefined
      while (leashId === undefined || (yield* waiters.size) < 1) {
        leashId = (yield* s.reviewer.get("/v1/leashes")).body.leashes[0]?.leash_id
        yield* Effect.sleep("10 millis")
      }
      expect((yield* approve(ada, leashId)).body.status).toBe("pending")
      // the held long-poll is not answered by the first approval
      yield* Effect.sleep("300 millis")
      expect(Option.isNone(yield* Fiber.poll(agent))).toBe(true)
      expect(yield* waiters.size).toBe(1)

      expect((yield* approve(bob, leashId)).body.status).toBe("decided")
      const exit = yield* Fiber.await(agent)
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      const { decision, reviews } = exit.value
      expect(decision).toMatchObject({ decision: "approved", approved: true, leashId })
      expect(decision.approvers).toEqual([named(ada), named(bob)])
      expect(reviews).toHaveLength(1)
      expect(reviews[0]!.leash).toMatchObject({ leashId, decision: "approved", approvers: [named(ada), named(bob)] })
    }))
})

describe("approval rules in the rules file", () => {
  it("a bad approval rule is refused at startup, naming the file and the rule's position", () => {
    const bad = Rules.parse(
      "rules.json",
      JSON.stringify({ approvals: [{ action: "stripe.*", approvals: 2 }, { action: "db.drop", approvals: 1 }] })
    )
    expect(Either.isLeft(bad)).toBe(true)
    if (Either.isLeft(bad)) {
      expect(bad.left.message).toContain("rules file rules.json does not match the rules schema")
      expect(bad.left.message).toContain("approvals[1].approvals: expected a whole number of distinct reviewers from 2 to 5, got 1")
    }
    const good = Rules.parse("rules.json", JSON.stringify({ approvals: [{ action: "db.drop", approvals: 5 }] }))
    expect(Either.getOrThrow(good).approvals).toEqual([{ action: "db.drop", approvals: 5, when: [] }])
  })
})

describe("the approval gate's compare-and-set (Approvals.add)", () => {
  const storeLayer = Layer.unwrapScoped(
    Effect.map(tempDir, (dir) => Store.layer.pipe(Layer.provideMerge(Database.layer(Path.join(dir, "gate.db")))))
  )
  const ada = { id: "key_ada", name: "Ada" }
  const bob = { id: "key_bob", name: "Bob" }
  const cat = { id: "key_cat", name: "Cat" }

  it.scoped("an approval or modification written on a gate read before another's write changes nothing and answers false", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const store = yield* Store.Store
      const leashId = uuid()
      const request = JSON.stringify(leashRequest({ leash_id: leashId }))
      yield* store.insertLeash({ leashId, request, createdAt: 0, expiresAt: 10_000, decision: undefined })
      yield* Approvals.open(sql, leashId, 3)
      const seen = (yield* Approvals.progressOf(sql, leashId))!
      expect(seen).toMatchObject({ required: 3, round: 0, count: 0, approvals: [] })
      // two reviewers read the same gate; the first write wins, the second lost
      expect(yield* Approvals.add(sql, leashId, seen, { reviewer: ada, decision: "approved", at: 1 })).toBe(true)
      expect(yield* Approvals.add(sql, leashId, seen, { reviewer: bob, decision: "approved", at: 2 })).toBe(false)
      expect(yield* Approvals.add(sql, leashId, seen, { reviewer: bob, decision: "modified", payload: "{}", at: 2 }))
        .toBe(false)
      const now = (yield* Approvals.progressOf(sql, leashId))!
      expect(now).toMatchObject({ round: 0, count: 1, approvals: [{ reviewer: ada, decision: "approved", at: 1 }] })
      // read again, it counts next; a modification opens the next round with its author first
      expect(yield* Approvals.add(sql, leashId, now, { reviewer: bob, decision: "modified", payload: "{\"a\":1}", at: 3 }))
        .toBe(true)
      const modified = (yield* Approvals.progressOf(sql, leashId))!
      expect(modified).toMatchObject({ round: 1, count: 1, payload: "{\"a\":1}", approvals: [{ reviewer: bob }] })
      // nothing is added to a leash that is due or no longer pending
      expect(yield* Approvals.add(sql, leashId, modified, { reviewer: cat, decision: "approved", at: 10_000 })).toBe(false)
      yield* store.decide(leashId, { decision: "rejected", reason: "no", modifiedPayload: undefined, decidedBy: "Cat", decidedAt: 5 }, 5)
      expect(yield* Approvals.add(sql, leashId, modified, { reviewer: cat, decision: "approved", at: 6 })).toBe(false)
      expect((yield* Approvals.progressOf(sql, leashId))!.count).toBe(1)
    }).pipe(Effect.provide(storeLayer)))
})

describe("racing decisions on the desk, interleaved", () => {
  // The store's leash read yields to the other fiber: each decision reads the gate, then the other
  // decision runs up to its own write, so both act on the same gate (as two instances would).
  const deskLayer = Layer.unwrapScoped(Effect.map(tempDir, (dir) => {
    const stored = Store.layer.pipe(Layer.provideMerge(Database.layer(Path.join(dir, "race.db"))))
    const slowStore = Layer.effect(
      Store.Store,
      Effect.map(Store.Store, (store) => ({
        ...store,
        leash: (id: string) => Effect.zipLeft(store.leash(id), Effect.sleep("20 millis"))
      }))
    ).pipe(Layer.provideMerge(stored))
    return LeashDesk.layer.pipe(
      Layer.provideMerge(Layer.mergeAll(slowStore, Waiters.layer, Notifier.layer(), Rules.layerFile(rulesFile))),
      Layer.provideMerge(Layer.succeed(PublicUrl.PublicUrl, "http://127.0.0.1:7411"))
    )
  }))
  const ada = { id: "key_ada", name: "Ada" }
  const bob = { id: "key_bob", name: "Bob" }
  const cat = { id: "key_cat", name: "Cat" }
  const approved = { decision: "approved", reason: "" } as const

  const newLeash = (actionName: string) =>
    Effect.gen(function*() {
      const desk = yield* LeashDesk.LeashDesk
      const raw = leashRequest({ action_name: actionName, risk_signals: { amount_usd: 500 } })
      const request = Schema.decodeUnknownSync(WireSchema.LeashRequest)(raw)
      yield* desk.create(request, raw)
      return request.leashId
    })

  it.scopedLive("two reviewers completing a leash one approval short: exactly one wins, the other is 409 already_decided", () =>
    Effect.gen(function*() {
      const desk = yield* LeashDesk.LeashDesk
      const id = yield* newLeash("stripe.charge")
      expect((yield* desk.decide(id, approved, ada)).status).toBe("pending")
      const results = yield* Effect.all(
        [Effect.either(desk.decide(id, approved, bob)), Effect.either(desk.decide(id, approved, cat))],
        { concurrency: "unbounded" }
      )
      const won = results.filter(Either.isRight).map((r) => r.right)
      const lost = results.filter(Either.isLeft).map((r) => r.left)
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      expect(lost[0]).toMatchObject({ _tag: "Conflict", code: "already_decided" })
      const state = won[0]!
      if (state.status !== "decided") throw new Error("expected the winner to complete the leash")
      expect(state.decision.approvers).toEqual([ada, state.decision.reviewer])
      const read = yield* desk.get(id, 0)
      expect(read.status === "decided" && read.decision.approvers).toEqual(state.decision.approvers)
    }).pipe(Effect.provide(deskLayer)))

  it.scopedLive("two reviewers approving a leash that needs three after one approval: neither approval is lost", () =>
    Effect.gen(function*() {
      const desk = yield* LeashDesk.LeashDesk
      const id = yield* newLeash("stripe.payout")
      yield* desk.decide(id, approved, ada)
      const results = yield* Effect.all([desk.decide(id, approved, bob), desk.decide(id, approved, cat)], {
        concurrency: "unbounded"
      })
      expect(results.map((r) => r.status).sort()).toEqual(["decided", "pending"])
      const read = yield* desk.get(id, 0)
      expect(read.status === "decided" && read.decision.approvers?.map((r) => r.name).sort()).toEqual(["Ada", "Bob", "Cat"])
    }).pipe(Effect.provide(deskLayer)))

  it.scopedLive("an approval of a payload modified after the reviewer read it is 409 payload_changed", () =>
    Effect.gen(function*() {
      const desk = yield* LeashDesk.LeashDesk
      const id = yield* newLeash("stripe.charge")
      yield* desk.decide(id, approved, ada)
      // Bob reads the leash (round 0); Cat modifies it; Bob's approval, of round 0, is refused
      yield* desk.decide(id, { decision: "modified", reason: "cap", modifiedPayload: { amount_usd: 1 } }, cat)
      const stale = yield* Effect.flip(desk.decide(id, approved, bob, { round: 0 }))
      expect(stale).toMatchObject({ _tag: "Conflict", code: "payload_changed" })
      expect(stale.message).toContain("modified by Cat after you read it")
      const fresh = yield* desk.decide(id, approved, bob, { round: 1 })
      expect(fresh).toMatchObject({ status: "decided", decision: { decision: "modified", approvers: [cat, bob] } })
    }).pipe(Effect.provide(deskLayer)))

  it.scopedLive("a modification racing a completing approval: the completion approves the payload its approvers saw, or loses", () =>
    Effect.gen(function*() {
      const desk = yield* LeashDesk.LeashDesk
      const id = yield* newLeash("stripe.charge")
      yield* desk.decide(id, approved, ada)
      const results = yield* Effect.all([
        Effect.either(desk.decide(id, approved, bob)),
        Effect.either(desk.decide(id, { decision: "modified", reason: "cap", modifiedPayload: { amount_usd: 1 } }, cat))
      ], { concurrency: "unbounded" })
      const read = yield* desk.get(id, 0)
      if (read.status === "decided") {
        // Bob's approval completed the original payload, with Ada's; Cat's modification lost
        expect(read.decision).toMatchObject({ decision: "approved", approvers: [ada, bob] })
        expect(results[1]).toMatchObject({ _tag: "Left", left: { code: "already_decided" } })
      } else {
        // Cat's modification came first: Bob approved a payload that is no longer under review
        expect(read).toMatchObject({ status: "pending", modifiedPayload: { amount_usd: 1 } })
        expect(read.approvals?.map((a) => a.reviewer)).toEqual([cat])
        expect(results[0]).toMatchObject({ _tag: "Left", left: { code: "payload_changed" } })
      }
    }).pipe(Effect.provide(deskLayer)))
})
