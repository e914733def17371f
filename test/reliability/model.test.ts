/**
 * A model-based test of the gate server: random sequences of create, poll, decide, cancel, the
 * passing of time, ingest, read and restart, run against the real server (in-process, over real
 * HTTP, on a SQLite file), whose every answer must match a small model of the contract:
 *
 * - a leash is `pending` until a reviewer decides it, a floor rule blocks it at creation, it
 *   expires at `created + timeout_seconds`, or the agent cancels it; a decision on a leash that
 *   is not pending is `409`; a create with the same `leash_id` and the same body (any key order
 *   or spacing) answers the current state, a different body is `422`;
 * - a trail's first terminal record wins, a `running` record never replaces a terminal one, a
 *   step's first record wins, and everything already known is counted as a duplicate;
 * - a held long-poll is answered at once when a decision, a cancel or the deadline ends the wait,
 *   and with the current state when the server stops;
 * - all of it survives a restart on the same database file.
 *
 * Time is a `ManualClock` the test moves, so a leash expires exactly when the model says, at the
 * boundary too (at its deadline it has expired; a millisecond before, it has not).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Fiber } from "effect"
import * as Crypto from "node:crypto"
import type { Running } from "./server-side/harness.js"
import { Waiters } from "../../server/src/index.js"
import { isErrorBody, type Restartable, restartable, service, start } from "./server-side/harness.js"
import * as ManualClock from "./server-side/ManualClock.js"

// -----------------------------------------------------------------------------------------------
// The world: a few leash ids, trails and steps the commands pick from
// -----------------------------------------------------------------------------------------------

const publicUrl = "http://gate.test"
const blockReason = "charges over $10,000 need finance"
const rulesFile = {
  sensitive: [],
  rules: [{ action: "stripe.*", reason: blockReason, when: [{ signal: "amount_usd", op: ">" as const, value: 10_000 }] }]
}

/** Leash slots: what each one asks for (a floor rule blocks slot 1; slot 3 has a fractional timeout). */
const leashSlots = [
  { amount: 120, timeoutSeconds: 10 },
  { amount: 20_000, timeoutSeconds: 10 },
  { amount: 50, timeoutSeconds: 60 },
  { amount: 500, timeoutSeconds: 0.5 }
] as const

/** How long after its deadline the server answers a held long-poll (its expiry timer's slack). */
const timerSlackMillis = 2

/** Longer than any slot's timeout. */
const maxTimeoutMillis = 61_000

const trailSlots = 2
/** Step slots: step `i` belongs to trail `i % trailSlots` and has `seq` `i + 1`. */
const stepSlots = 4

type Status = "running" | "ok" | "error" | "interrupted"
type ReviewerChoice = "approved" | "rejected" | "modified"

interface Ids {
  readonly leashes: ReadonlyArray<{ readonly leashId: string; readonly trailId: string; readonly stepId: string }>
  readonly trails: ReadonlyArray<string>
  readonly steps: ReadonlyArray<string>
}

const freshIds = (): Ids => ({
  leashes: leashSlots.map(() => ({ leashId: Crypto.randomUUID(), trailId: Crypto.randomUUID(), stepId: Crypto.randomUUID() })),
  trails: Array.from({ length: trailSlots }, () => Crypto.randomUUID()),
  steps: Array.from({ length: stepSlots }, () => Crypto.randomUUID())
})

/** The body of a create for slot `slot`; `variant` changes the payload (same id, different body). */
const leashBody = (ids: Ids, slot: number, variant: 0 | 1) => {
  const { amount, timeoutSeconds } = leashSlots[slot]!
  return {
    leash_id: ids.leashes[slot]!.leashId,
    trail_id: ids.leashes[slot]!.trailId,
    step_id: ids.leashes[slot]!.stepId,
    agent: "billing-bot",
    action_name: "stripe.charge",
    action_summary: `Charge cus_${slot} $${amount}`,
    risk_signals: { amount_usd: amount, data_categories: ["payment"] },
    payload: { customer: `cus_${slot}`, amount_usd: amount, memo: variant === 0 ? "first" : "second" },
    timeout_seconds: timeoutSeconds,
    blocking: true
  }
}

/** A pending leash request with the given id (no floor rule fires for it). */
const leashBodyFor = (leashId: string) => ({
  leash_id: leashId,
  trail_id: Crypto.randomUUID(),
  step_id: Crypto.randomUUID(),
  agent: "billing-bot",
  action_name: "stripe.charge",
  action_summary: "Charge cus_42",
  risk_signals: { amount_usd: 120 },
  payload: {},
  timeout_seconds: 300,
  blocking: true
})

/** The same JSON value with its keys in reverse order at every level, and indented. */
const reordered = (value: unknown): string => {
  const reverse = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(reverse)
      : v !== null && typeof v === "object"
      ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)]))
      : v
  return JSON.stringify(reverse(value), null, 3)
}

const iso = (millis: number) => new Date(millis).toISOString()

const trailRecord = (ids: Ids, slot: number, status: Status, tag: string, startedAt: number) => ({
  id: ids.trails[slot]!,
  agent: "billing-bot",
  trigger: "user_message",
  payload: { text: "charge" },
  status,
  started_at: iso(startedAt),
  ...(status === "running" ? {} : { ended_at: iso(startedAt + 1), output: { tag } }),
  events: []
})

const stepRecord = (ids: Ids, slot: number, tag: string, startedAt: number) => ({
  id: ids.steps[slot]!,
  trail_id: ids.trails[slot % trailSlots]!,
  parent_id: null,
  seq: slot + 1,
  name: `step_${slot}`,
  layer: "execute",
  status: "ok",
  started_at: iso(startedAt),
  ended_at: iso(startedAt + 1),
  output: { tag },
  events: []
})

// -----------------------------------------------------------------------------------------------
// The model
// -----------------------------------------------------------------------------------------------

type Decided = {
  readonly decision: "approved" | "modified" | "rejected" | "blocked" | "timeout"
  readonly reason: string
  readonly modifiedPayload?: unknown
  readonly decidedBy: string
  /** A reviewer's decision names them: their key's id (with `decidedBy` as the name). */
  readonly reviewerId?: string
  readonly decidedAt: number
}

interface LeashModel {
  readonly variant: 0 | 1
  readonly expiresAt: number
  decided: Decided | undefined
}

interface Model {
  now: number
  readonly leashes: Map<number, LeashModel>
  /** The winning trail record by slot: its status and tag. */
  readonly trails: Map<number, { readonly status: Status; readonly tag: string }>
  /** Stored steps by slot: their tag. */
  readonly steps: Map<number, string>
}

/** The server expires a pending leash whose deadline has come: the model does the same, lazily. */
const expire = (m: Model) => {
  for (const leash of m.leashes.values()) {
    if (leash.decided === undefined && m.now >= leash.expiresAt) {
      leash.decided = { decision: "timeout", reason: "expired", decidedBy: "server", decidedAt: leash.expiresAt }
    }
  }
}

/** The leash state the server must answer for a slot, in wire form. */
const expectedState = (ids: Ids, m: Model, slot: number) => {
  const leash = m.leashes.get(slot)!
  const leashId = ids.leashes[slot]!.leashId
  const traceLink = `${publicUrl}/leashes/${leashId}`
  const d = leash.decided
  if (d === undefined) return { leash_id: leashId, status: "pending", trace_link: traceLink }
  return {
    leash_id: leashId,
    status: "decided",
    decision: {
      decision: d.decision,
      reason: d.reason,
      ...(d.modifiedPayload === undefined ? {} : { modified_payload: d.modifiedPayload }),
      decided_by: d.decidedBy,
      ...(d.reviewerId === undefined ? {} : { reviewer: { id: d.reviewerId, name: d.decidedBy } }),
      decided_at: iso(d.decidedAt),
      trace_link: traceLink
    }
  }
}

// -----------------------------------------------------------------------------------------------
// The real system and the commands
// -----------------------------------------------------------------------------------------------

interface Real {
  readonly ids: Ids
  readonly clock: ManualClock.ManualClock
  readonly server: Restartable
  readonly agentName: string
  readonly reviewerName: string
  readonly reviewerId: string
}

const run = <A>(effect: Effect.Effect<A>): Promise<A> => Effect.runPromise(effect)
const s = (r: Real): Running => r.server.current()

/** An answer that must be an error with `status` and `code`, in the contract's error shape. */
const expectError = (answer: { status: number; body: any }, status: number, code: string, context: string) => {
  expect(answer.status, `${context}: ${JSON.stringify(answer.body)}`).toBe(status)
  expect(isErrorBody(answer.body), `${context}: error body ${JSON.stringify(answer.body)}`).toBe(true)
  expect(answer.body.error.code).toBe(code)
}

class Create implements fc.AsyncCommand<Model, Real> {
  constructor(readonly slot: number, readonly variant: 0 | 1, readonly reorder: boolean) {}
  check = () => true
  async run(m: Model, r: Real) {
    expire(m)
    const body = leashBody(r.ids, this.slot, this.variant)
    const answer = await run(s(r).agent.post("/v1/leashes", { body: this.reorder ? reordered(body) : body }))
    const existing = m.leashes.get(this.slot)
    if (existing === undefined) {
      const blocked = leashSlots[this.slot]!.amount > 10_000
      m.leashes.set(this.slot, {
        variant: this.variant,
        expiresAt: m.now + Math.round(leashSlots[this.slot]!.timeoutSeconds * 1000),
        decided: blocked
          ? { decision: "blocked", reason: blockReason, decidedBy: "floor_rule", decidedAt: m.now }
          : undefined
      })
    } else if (existing.variant !== this.variant) {
      expectError(answer, 422, "idempotency_conflict", this.toString())
      expect(answer.body.error.message).toContain("payload.memo")
      return
    }
    expect(answer.status, `${this} → ${answer.text}`).toBe(200)
    expect(answer.body, this.toString()).toStrictEqual(expectedState(r.ids, m, this.slot))
  }
  toString = () => `create(${this.slot}, variant ${this.variant}${this.reorder ? ", reordered" : ""})`
}

class Poll implements fc.AsyncCommand<Model, Real> {
  constructor(readonly slot: number) {}
  check = () => true
  async run(m: Model, r: Real) {
    expire(m)
    const answer = await run(s(r).agent.get(`/v1/leashes/${r.ids.leashes[this.slot]!.leashId}?wait_seconds=0`))
    if (!m.leashes.has(this.slot)) return expectError(answer, 404, "not_found", this.toString())
    expect(answer.status, `${this} → ${answer.text}`).toBe(200)
    expect(answer.body, this.toString()).toStrictEqual(expectedState(r.ids, m, this.slot))
  }
  toString = () => `poll(${this.slot})`
}

class Decide implements fc.AsyncCommand<Model, Real> {
  constructor(readonly slot: number, readonly decision: ReviewerChoice, readonly reason: string, readonly asAgent: boolean) {}
  check = () => true
  async run(m: Model, r: Real) {
    expire(m)
    const modified = { customer: `cus_${this.slot}`, amount_usd: 99 }
    const body = {
      decision: this.decision,
      reason: this.reason,
      ...(this.decision === "modified" ? { modified_payload: modified } : {})
    }
    const who = this.asAgent ? s(r).agent : s(r).reviewer
    const answer = await run(who.post(`/v1/leashes/${r.ids.leashes[this.slot]!.leashId}/decision`, { body }))
    if (this.asAgent) return expectError(answer, 403, "forbidden", this.toString())
    const leash = m.leashes.get(this.slot)
    if (leash === undefined) return expectError(answer, 404, "not_found", this.toString())
    if (leash.decided !== undefined) return expectError(answer, 409, "already_decided", this.toString())
    leash.decided = {
      decision: this.decision,
      reason: this.reason,
      ...(this.decision === "modified" ? { modifiedPayload: modified } : {}),
      decidedBy: r.reviewerName,
      reviewerId: r.reviewerId,
      decidedAt: m.now
    }
    expect(answer.status, `${this} → ${answer.text}`).toBe(200)
    expect(answer.body, this.toString()).toStrictEqual(expectedState(r.ids, m, this.slot))
  }
  toString = () => `decide(${this.slot}, ${this.decision}, ${JSON.stringify(this.reason)}${this.asAgent ? ", agent key" : ""})`
}

class Cancel implements fc.AsyncCommand<Model, Real> {
  constructor(readonly slot: number) {}
  check = () => true
  async run(m: Model, r: Real) {
    expire(m)
    const answer = await run(s(r).agent.post(`/v1/leashes/${r.ids.leashes[this.slot]!.leashId}/cancel`))
    const leash = m.leashes.get(this.slot)
    if (leash === undefined) return expectError(answer, 404, "not_found", this.toString())
    if (leash.decided === undefined) {
      leash.decided = { decision: "timeout", reason: "cancelled by the agent", decidedBy: r.agentName, decidedAt: m.now }
    }
    expect(answer.status, `${this} → ${answer.text}`).toBe(200)
    expect(answer.body, this.toString()).toStrictEqual(expectedState(r.ids, m, this.slot))
  }
  toString = () => `cancel(${this.slot})`
}

/**
 * Moves time by a fixed amount, or to just before, at or just past the next pending deadline;
 * then reads every leash.
 */
class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly by: number | { readonly deadlineOffset: -1 | 0 | 1 }) {}
  check = () => true
  async run(m: Model, r: Real) {
    let millis = 1000
    if (typeof this.by === "number") {
      millis = this.by
    } else {
      const deadlines = [...m.leashes.values()]
        .filter((l) => l.decided === undefined && l.expiresAt > m.now)
        .map((l) => l.expiresAt)
      if (deadlines.length > 0) millis = Math.max(0, Math.min(...deadlines) - m.now + this.by.deadlineOffset)
    }
    m.now += millis
    r.clock.advance(millis)
    expect(r.clock.now()).toBe(m.now)
    // let the expiry timers that just woke write (or not: every read expires a due leash anyway)
    await new Promise((resolve) => setImmediate(resolve))
    // then every leash reads as the model says
    expire(m)
    for (const slot of m.leashes.keys()) {
      const answer = await run(s(r).agent.get(`/v1/leashes/${r.ids.leashes[slot]!.leashId}`))
      expect(answer.body, `${this}, then poll(${slot})`).toStrictEqual(expectedState(r.ids, m, slot))
    }
  }
  toString = () =>
    typeof this.by === "number"
      ? `advance(${this.by} ms)`
      : `advance(to the next deadline ${this.by.deadlineOffset === 0 ? "" : this.by.deadlineOffset < 0 ? "- 1 ms" : "+ 1 ms"})`
}

/**
 * A long-poll (`wait_seconds=30`) held while something ends the wait: a reviewer's decision, the
 * agent's cancel, the leash's deadline passing, or the server stopping. The held request must be
 * answered at once with the state the model says (still pending when the server stops).
 */
class HeldPoll implements fc.AsyncCommand<Model, Real> {
  constructor(readonly then: "decide" | "cancel" | "expire" | "restart") {}
  /** The leash it holds on: the first pending one (else slot 0, answered at once). */
  slot = 0
  check = () => true
  async run(m: Model, r: Real) {
    expire(m)
    this.slot = [...m.leashes].find(([, l]) => l.decided === undefined)?.[0] ?? 0
    const path = `/v1/leashes/${r.ids.leashes[this.slot]!.leashId}?wait_seconds=30`
    const leash = m.leashes.get(this.slot)
    if (leash === undefined || leash.decided !== undefined) {
      const answer = await run(s(r).agent.get(path))
      if (leash === undefined) return expectError(answer, 404, "not_found", this.toString())
      expect(answer.body, this.toString()).toStrictEqual(expectedState(r.ids, m, this.slot))
      return
    }
    const waiters = service(s(r), Waiters.Waiters)
    const before = await run(waiters.size)
    const held = run(s(r).agent.get(path))
    await run(
      Effect.gen(function*() {
        while ((yield* waiters.size) <= before) yield* Effect.sleep("2 millis")
      }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the long-poll was never held") }), Effect.orDie)
    )
    switch (this.then) {
      case "decide": {
        const answer = await run(s(r).reviewer.post(`/v1/leashes/${r.ids.leashes[this.slot]!.leashId}/decision`, {
          body: { decision: "approved", reason: "while you waited" }
        }))
        expect(answer.status, answer.text).toBe(200)
        leash.decided = { decision: "approved", reason: "while you waited", decidedBy: r.reviewerName, reviewerId: r.reviewerId, decidedAt: m.now }
        break
      }
      case "cancel": {
        expect((await run(s(r).agent.post(`/v1/leashes/${r.ids.leashes[this.slot]!.leashId}/cancel`))).status).toBe(200)
        leash.decided = { decision: "timeout", reason: "cancelled by the agent", decidedBy: r.agentName, decidedAt: m.now }
        break
      }
      case "expire": {
        // the server answers a held poll a moment (its timer slack, 2 ms) after the deadline
        const millis = leash.expiresAt - m.now + timerSlackMillis
        m.now += millis
        r.clock.advance(millis)
        expire(m)
        break
      }
      case "restart": {
        // held polls are answered with the current state as the server stops
        const expected = expectedState(r.ids, m, this.slot)
        const answer = run(Effect.orDie(r.server.restart))
        expect(await heldAnswer(held), this.toString()).toStrictEqual(expected)
        await answer
        return
      }
    }
    expect(await heldAnswer(held), this.toString()).toStrictEqual(expectedState(r.ids, m, this.slot))
  }
  toString = () => `held poll(first pending, ${this.slot}), then ${this.then}`
}

/** The body of a held long-poll's answer; fails if it was not answered within 10 s (not woken). */
const heldAnswer = (held: Promise<{ readonly status: number; readonly body: unknown }>) =>
  Promise.race([
    held.then((answer) => {
      expect(answer.status).toBe(200)
      return answer.body
    }),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("the held long-poll was not woken: still waiting after 10 s")), 10_000)
    )
  ])

type Ingested =
  | { readonly kind: "trail"; readonly slot: number; readonly status: Status; readonly tag: string }
  | { readonly kind: "step"; readonly slot: number; readonly tag: string }

class Ingest implements fc.AsyncCommand<Model, Real> {
  constructor(readonly records: ReadonlyArray<Ingested>) {}
  check = () => true
  async run(m: Model, r: Real) {
    let accepted = 0
    let duplicates = 0
    const batch = { trails: [] as Array<unknown>, steps: [] as Array<unknown> }
    // The server stores trails, then steps, each in batch order: so does the model.
    for (const record of this.records) {
      if (record.kind !== "trail") continue
      batch.trails.push(trailRecord(r.ids, record.slot, record.status, record.tag, m.now))
      const winner = m.trails.get(record.slot)
      if (winner === undefined || (winner.status === "running" && record.status !== "running")) {
        m.trails.set(record.slot, { status: record.status, tag: record.tag })
        accepted++
      } else {
        duplicates++
      }
    }
    for (const record of this.records) {
      if (record.kind !== "step") continue
      batch.steps.push(stepRecord(r.ids, record.slot, record.tag, m.now))
      if (m.steps.has(record.slot)) {
        duplicates++
      } else {
        m.steps.set(record.slot, record.tag)
        accepted++
      }
    }
    const answer = await run(s(r).agent.post("/v1/ingest", { body: batch }))
    expect(answer.status, `${this} → ${answer.text}`).toBe(202)
    expect(answer.body, this.toString()).toStrictEqual({ accepted, duplicates })
  }
  toString = () =>
    `ingest(${
      this.records.map((x) => (x.kind === "trail" ? `trail ${x.slot} ${x.status} ${x.tag}` : `step ${x.slot} ${x.tag}`)).join(
        ", "
      )
    })`
}

class ReadTrail implements fc.AsyncCommand<Model, Real> {
  constructor(readonly slot: number) {}
  check = () => true
  async run(m: Model, r: Real) {
    const answer = await run(s(r).reviewer.get(`/v1/trails/${r.ids.trails[this.slot]!}`))
    const steps = [...m.steps].filter(([i]) => i % trailSlots === this.slot).sort(([a], [b]) => a - b)
    const winner = m.trails.get(this.slot)
    if (winner === undefined && steps.length === 0) return expectError(answer, 404, "not_found", this.toString())
    expect(answer.status, `${this} → ${answer.text}`).toBe(200)
    if (winner === undefined) {
      expect(answer.body.trail).toBeNull()
    } else {
      expect(answer.body.trail.status, this.toString()).toBe(winner.status)
      if (winner.status !== "running") expect(answer.body.trail.output, this.toString()).toStrictEqual({ tag: winner.tag })
    }
    expect(answer.body.steps.map((st: any) => [st.id, st.seq, st.output.tag]), this.toString()).toStrictEqual(
      steps.map(([i, tag]) => [r.ids.steps[i], i + 1, tag])
    )
  }
  toString = () => `read trail(${this.slot})`
}

class ListPending implements fc.AsyncCommand<Model, Real> {
  check = () => true
  async run(m: Model, r: Real) {
    expire(m)
    const answer = await run(s(r).reviewer.get("/v1/leashes?status=pending&limit=500"))
    expect(answer.status, `${this} → ${answer.text}`).toBe(200)
    const ours = new Set(r.ids.leashes.map((l) => l.leashId))
    const expected = [...m.leashes]
      .filter(([, leash]) => leash.decided === undefined)
      .map(([slot, leash]) => ({ id: r.ids.leashes[slot]!.leashId, expiresAt: leash.expiresAt }))
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1))
    expect(answer.body.leashes.filter((l: any) => ours.has(l.leash_id)).map((l: any) => [l.leash_id, l.expires_at]), this.toString()).toStrictEqual(
      expected.map((l) => [l.id, iso(l.expiresAt)])
    )
  }
  toString = () => "list pending"
}

class Restart implements fc.AsyncCommand<Model, Real> {
  check = () => true
  async run(_m: Model, r: Real) {
    const before = s(r).agentKey
    await run(Effect.orDie(r.server.restart))
    expect(s(r).agentKey).toBe(before)
  }
  toString = () => "restart"
}

// -----------------------------------------------------------------------------------------------
// Arbitraries
// -----------------------------------------------------------------------------------------------

const leashSlot = fc.integer({ min: 0, max: leashSlots.length - 1 })
const tag = fc.constantFrom("a", "b", "c", "d")

const record: fc.Arbitrary<Ingested> = fc.oneof(
  fc.record({
    kind: fc.constant("trail" as const),
    slot: fc.integer({ min: 0, max: trailSlots - 1 }),
    status: fc.constantFrom<Status>("running", "ok", "error", "interrupted"),
    tag
  }),
  fc.record({ kind: fc.constant("step" as const), slot: fc.integer({ min: 0, max: stepSlots - 1 }), tag })
)

const create = fc.tuple(leashSlot, fc.constantFrom<0 | 1>(0, 1), fc.boolean()).map(([slot, v, re]) =>
  new Create(slot, v, re)
)

const heldPoll = fc.constantFrom("decide" as const, "cancel" as const, "expire" as const, "restart" as const).map((then) =>
  new HeldPoll(then)
)

const commands = fc.commands<Model, Real, false>([
  create,
  create, // twice as likely as the others: most commands need a leash

  leashSlot.map((slot) => new Poll(slot)),
  fc.tuple(
    leashSlot,
    fc.constantFrom<ReviewerChoice>("approved", "rejected", "modified"),
    fc.constantFrom("looks fine", "not this customer", "capped at $99"),
    fc.integer({ min: 0, max: 9 }).map((n) => n < 2)
  ).map(([slot, d, reason, agent]) => new Decide(slot, d, reason, agent)),
  leashSlot.map((slot) => new Cancel(slot)),
  fc.oneof(
    fc.constantFrom(1, 500, 1000, 10_000, 30_000),
    fc.constantFrom<-1 | 0 | 1>(-1, 0, 1).map((deadlineOffset) => ({ deadlineOffset }))
  ).map((by) => new Advance(by)),
  fc.array(record, { minLength: 1, maxLength: 4 }).map((records) => new Ingest(records)),
  fc.integer({ min: 0, max: trailSlots - 1 }).map((slot) => new ReadTrail(slot)),
  fc.constant(new ListPending()),
  heldPoll,
  heldPoll,
  fc.constant(new Restart())
], { maxCommands: 30, size: "medium" })

// -----------------------------------------------------------------------------------------------
// The property
// -----------------------------------------------------------------------------------------------

describe("the gate server against a model of the contract", () => {
  it.scopedLive(
    "every answer to create, poll, decide, cancel, expiry, ingest, read and restart matches the model",
    () =>
      Effect.gen(function*() {
        // One server for every run (each run has fresh ids, so runs do not see each other's leashes).
        const clock = ManualClock.make()
        const server = yield* restartable({ clock, publicUrl, rulesFile })
        const nameOf = (role: string) => server.current().info.keys.find((k) => k.role === role)!.name
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(commands, async (cmds) => {
              const real: Real = {
                ids: freshIds(),
                clock,
                server,
                agentName: nameOf("agent"),
                reviewerName: nameOf("reviewer"),
                reviewerId: server.current().info.keys.find((k) => k.role === "reviewer")!.id
              }
              const model: Model = { now: clock.now(), leashes: new Map(), trails: new Map(), steps: new Map() }
              try {
                await fc.asyncModelRun(() => ({ model, real }), cmds)
              } finally {
                clock.advance(maxTimeoutMillis) // every leash of this run is due: the next run starts clean
              }
            }),
            { numRuns: 100 }
          )
        )
      }),
    240_000
  )
})

describe("the leash body is kept as sent", () => {
  it.scopedLive(
    "a payload key named __proto__ is stored, shown to the reviewer and compared on a retry like any other key",
    () =>
      Effect.gen(function*() {
        const s = yield* start()
        const leashId = Crypto.randomUUID()
        const base = { ...leashBodyFor(leashId), payload: { customer: "cus_42" } }
        const body = (amount: number) =>
          JSON.stringify(base).replace(
            "\"payload\":{",
            `"payload":{"__proto__":{"amount_usd":${amount}},`
          )
        const first = yield* s.agent.post("/v1/leashes", { body: body(120) })
        expect(first.status).toBe(200)
        // the reviewer sees what the agent sent, hidden-looking key and all
        // (v1.1: the list carries the payload's preview, the leash itself the whole request)
        const pending = yield* s.reviewer.get("/v1/leashes")
        const preview = pending.body.leashes.find((l: any) => l.leash_id === leashId).payload_preview
        expect(preview.cut).toBe(false)
        expect(Object.getOwnPropertyDescriptor(JSON.parse(preview.text), "__proto__")?.value).toStrictEqual({ amount_usd: 120 })
        const read = yield* s.reviewer.get(`/v1/leashes/${leashId}`)
        const shown = read.body.request.payload
        expect(Object.getOwnPropertyDescriptor(shown, "__proto__")?.value).toStrictEqual({ amount_usd: 120 })
        // the same body again is a retry; a different amount under that key is a different request
        const retry = yield* s.agent.post("/v1/leashes", { body: body(120) })
        expect(retry.status, retry.text).toBe(200)
        const changed = yield* s.agent.post("/v1/leashes", { body: body(99_000) })
        expect(changed.status).toBe(422)
        expect(changed.body.error.message).toContain("payload.__proto__.amount_usd")
      })
  )
})

describe("a held long-poll near the deadline", () => {
  it.scopedLive(
    "held 1 ms before the deadline by the server's clock, it waits for the decision instead of answering pending early",
    () =>
      Effect.gen(function*() {
        const clock = ManualClock.make()
        const s = yield* start({ clock })
        const leashId = Crypto.randomUUID()
        const body = leashBodyFor(leashId)
        expect((yield* s.agent.post("/v1/leashes", { body })).status).toBe(200)
        clock.advance(body.timeout_seconds * 1000 - 1)
        const waiters = service(s, Waiters.Waiters)
        const held = yield* Effect.fork(s.agent.get(`/v1/leashes/${leashId}?wait_seconds=30`))
        while ((yield* waiters.size) < 1) yield* Effect.sleep("2 millis")
        // real time passes beyond the 1 ms (+ timer slack) left on the server's clock: the leash
        // is still pending there, so the poll must still be held
        yield* Effect.sleep("50 millis")
        expect(yield* waiters.size).toBe(1)
        const decided = yield* s.reviewer.post(`/v1/leashes/${leashId}/decision`, {
          body: { decision: "approved", reason: "just in time" }
        })
        expect(decided.status, decided.text).toBe(200)
        const answer = yield* Fiber.join(held)
        expect(answer.body).toMatchObject({ status: "decided", decision: { decision: "approved", reason: "just in time" } })
      })
  )
})
