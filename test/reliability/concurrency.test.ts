/**
 * Concurrency against the real server, through the real SDK: 200 agent runs leash at once
 * through `Houndsight.layer` (its HTTP gate and its exporter) while 200 reviewers decide, each a
 * different decision and reason; every agent gets its own decision, acts on it, and every review
 * step reaches the server. Many decisions racing on one leash: one wins, the rest get 409, and
 * one outcome is recorded, by the server and by the agent. Creates and ingests repeated at once
 * are idempotent: one leash, one record per id, every repeat counted.
 *
 * Sized for CI on 2 cores: 200 agents share one layer (one process, many concurrent runs, the
 * way a worker runs agents), so 200 long-polls are held at once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Redacted, Schema } from "effect"
import { Houndsight, Leash, Sniff, Trail } from "houndsight"
import { leashRequest, stepRecord, trailRecord } from "../../server/test/helpers.js"
import { capturingLogs, isErrorBody, type Running, snapshot, start } from "./server-side/harness.js"

const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number, agent: Schema.Number })
type Charge = typeof Charge.Type

const choices = ["approved", "rejected", "modified"] as const

/** What reviewer `i` decides for agent `i`'s leash. */
const reviewFor = (i: number) => {
  const decision = choices[i % choices.length]!
  return {
    decision,
    reason: `reviewer ${i} says ${decision}`,
    ...(decision === "modified" ? { modified_payload: { customer: `cus_${i}`, amountUsd: 1_000 + i, agent: i } } : {})
  }
}

/** One agent run: ask the gate for charge `i`, and charge only what was approved. */
const agentRun = (i: number) =>
  Effect.gen(function*() {
    const charge: Charge = { customer: `cus_${i}`, amountUsd: i, agent: i }
    const decision = yield* Leash.request({
      actionName: "stripe.charge",
      actionSummary: `Charge cus_${i} $${i}`,
      riskSignals: { amountUsd: i },
      payload: charge,
      payloadSchema: Charge,
      timeoutSeconds: 120
    })
    if (decision.approved) {
      const final = decision.decision === "modified" ? decision.modifiedPayload : charge
      yield* Sniff.run("stripe.charge", { layer: "execute", input: final }, Effect.void)
    }
    return { decision, trailId: yield* Trail.id }
  }).pipe(Trail.run({ trigger: "batch", payload: { agent: i } }))

/** Waits until the server lists `n` pending leashes; answers them. */
/** Every pending leash, page after page (v1.1: a page holds at most 100). */
const allPending = (s: Running) =>
  Effect.gen(function*() {
    const out: Array<any> = []
    let cursor: string | undefined
    do {
      const list = yield* s.reviewer.get(
        `/v1/leashes?status=pending&limit=100${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
      )
      out.push(...list.body.leashes)
      cursor = list.body.next_cursor
    } while (cursor !== undefined)
    return out
  })

/** A listed leash's payload: the list carries its preview, whole for these small payloads. */
const payloadOf = (leash: any): any => {
  expect(leash.payload_preview.cut).toBe(false)
  return JSON.parse(leash.payload_preview.text)
}

const pendingLeashes = (s: Running, n: number) =>
  Effect.gen(function*() {
    while (true) {
      const leashes = yield* allPending(s)
      if (leashes.length >= n) return leashes as ReadonlyArray<any>
      yield* Effect.sleep("20 millis")
    }
  }).pipe(
    Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`fewer than ${n} leashes became pending`) })
  )

const live = (s: Running) =>
  Houndsight.layer({ apiKey: Redacted.make(s.agentKey), agent: "fleet", endpoint: s.url })

describe("200 agents and 200 reviewers at once", () => {
  it.scopedLive(
    "each agent gets its own reviewer's decision, acts on it, and every review step reaches the server",
    () =>
      Effect.gen(function*() {
        const n = 200
        const s = yield* start({ rulesFile: { sensitive: ["stripe.*"], rules: [] } })
        const logs: Array<string> = []
        // the agents: 200 runs at once on one live layer; closing it flushes the exporter
        const agents = yield* Effect.fork(
          Effect.forEach(Array.from({ length: n }, (_, i) => i), agentRun, { concurrency: "unbounded" }).pipe(
            Effect.provide(live(s)),
            Effect.scoped,
            capturingLogs(logs)
          )
        )
        // the reviewers: each decides one leash, all at once
        const pending = yield* pendingLeashes(s, n)
        expect(pending).toHaveLength(n)
        const answers = yield* Effect.forEach(
          pending,
          (leash) =>
            s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, {
              body: reviewFor(payloadOf(leash).agent)
            }),
          { concurrency: "unbounded" }
        )
        expect(answers.map((a) => a.status)).toStrictEqual(answers.map(() => 200))

        const runs = yield* Fiber.join(agents).pipe(
          Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error("the agents did not all get a decision") })
        )
        // every agent got its own decision: its reviewer's, on its own leash
        const byLeash = new Map(pending.map((l) => [l.leash_id as string, payloadOf(l).agent as number]))
        for (const [i, { decision }] of runs.entries()) {
          const review = reviewFor(i)
          expect(byLeash.get(decision.leashId), `agent ${i} got leash ${decision.leashId}`).toBe(i)
          expect(decision, `agent ${i}`).toMatchObject({ decision: review.decision, reason: review.reason })
          if (decision.decision === "modified") {
            expect(decision.modifiedPayload).toStrictEqual({ customer: `cus_${i}`, amountUsd: 1_000 + i, agent: i })
          }
        }
        expect(new Set(runs.map((r) => r.decision.leashId)).size).toBe(n)

        // the server recorded each decision once, and every run's trail arrived with its review step
        const db = yield* snapshot(s.db)
        const leashes = new Map(db.leashes.map((row) => [row["leash_id"] as string, row]))
        expect(leashes.size).toBe(n)
        const steps = db.steps.map((row) => JSON.parse(row["record"] as string))
        for (const [i, { decision, trailId }] of runs.entries()) {
          const row = leashes.get(decision.leashId)!
          expect(row).toMatchObject({ status: "decided", decision: reviewFor(i).decision, reason: reviewFor(i).reason })
          const ofTrail = steps.filter((st) => st.trail_id === trailId)
          const reviews = ofTrail.filter((st) => st.layer === "review")
          expect(reviews, `agent ${i}'s review steps`).toHaveLength(1)
          expect(reviews[0].leash).toMatchObject({ leash_id: decision.leashId, decision: decision.decision, reason: decision.reason })
          const executed = ofTrail.filter((st) => st.layer === "execute")
          expect(executed.map((st) => st.input), `agent ${i} charged`).toStrictEqual(
            decision.approved ? [decision.decision === "modified" ? decision.modifiedPayload : { customer: `cus_${i}`, amountUsd: i, agent: i }] : []
          )
        }
        expect(db.trails.filter((t) => t["status"] === "ok")).toHaveLength(n)
        expect(db.flags).toStrictEqual([]) // every charge was leashed, and no rejected one ran
        expect(logs.filter((l) => /level=(ERROR|WARN)/.test(l) && !/ended in rejected/.test(l))).toStrictEqual([])
      }),
    120_000
  )
})

describe("races on one leash", () => {
  it.scopedLive("50 concurrent decisions: one wins, 49 get 409, and one outcome is recorded by the server and the agent", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const agent = yield* Effect.fork(
        agentRun(7).pipe(Effect.provide(live(s)), Effect.scoped, capturingLogs([]))
      )
      const [leash] = yield* pendingLeashes(s, 1)
      const bodies = Array.from({ length: 50 }, (_, i) => ({ ...reviewFor(i), reason: `contender ${i}` }))
      const answers = yield* Effect.forEach(
        bodies,
        (body) => s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body }),
        { concurrency: "unbounded" }
      )
      const won = answers.flatMap((a, i) => (a.status === 200 ? [i] : []))
      expect(won).toHaveLength(1)
      const losers = answers.filter((a) => a.status !== 200)
      expect(losers).toHaveLength(49)
      for (const loser of losers) {
        expect(loser.status).toBe(409)
        expect(isErrorBody(loser.body)).toBe(true)
        expect(loser.body.error.code).toBe("already_decided")
      }
      const winner = bodies[won[0]!]!
      const { decision, trailId } = yield* Fiber.join(agent)
      expect(decision).toMatchObject({ decision: winner.decision, reason: winner.reason, leashId: leash.leash_id })

      const db = yield* snapshot(s.db)
      expect(db.leashes).toHaveLength(1)
      expect(db.leashes[0]).toMatchObject({ decision: winner.decision, reason: winner.reason })
      const reviews = db.steps.map((r) => JSON.parse(r["record"] as string)).filter((st) => st.layer === "review")
      expect(reviews).toHaveLength(1)
      expect(reviews[0]).toMatchObject({ trail_id: trailId, leash: { leash_id: leash.leash_id, reason: winner.reason } })
    }), 60_000)

  it.scopedLive("decisions racing the agent's cancel: exactly one outcome, and every other call sees it", () =>
    Effect.gen(function*() {
      const s = yield* start()
      for (let round = 0; round < 10; round++) {
        const leash = leashRequest()
        expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
        const path = `/v1/leashes/${leash.leash_id}`
        const calls = [
          ...Array.from({ length: 10 }, (_, i) =>
            s.reviewer.post(`${path}/decision`, { body: { decision: "approved", reason: `reviewer ${i}` } })),
          s.agent.post(`${path}/cancel`)
        ]
        const answers = yield* Effect.all(calls, { concurrency: "unbounded" })
        const cancel = answers[answers.length - 1]!
        const decisions = answers.slice(0, -1)
        const final = (yield* s.agent.get(path)).body
        expect(cancel.status).toBe(200)
        expect(cancel.body).toStrictEqual(final) // the cancel answers the outcome, whoever won
        const won = decisions.filter((a) => a.status === 200)
        expect(decisions.filter((a) => a.status !== 200).every((a) => a.status === 409)).toBe(true)
        if (final.decision.reason === "cancelled by the agent") {
          expect(won).toHaveLength(0)
        } else {
          expect(won).toHaveLength(1)
          expect(won[0]!.body).toStrictEqual(final)
        }
      }
    }), 60_000)

  it.scopedLive("50 concurrent creates of one leash: one leash; the same body answers its state, another body 422", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const leash = leashRequest()
      const other = { ...leash, payload: { customer: "cus_42", amount_usd: 99_000 } }
      const answers = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => (i % 5 === 4 ? other : leash)),
        (body) => s.agent.post("/v1/leashes", { body }),
        { concurrency: "unbounded" }
      )
      const stored = payloadOf((yield* s.reviewer.get("/v1/leashes")).body.leashes[0]).amount_usd
      // whichever body was stored first, every create with it answered 200 and the other 422
      for (const [i, answer] of answers.entries()) {
        const sent = i % 5 === 4 ? other : leash
        if ((sent.payload as { amount_usd: number }).amount_usd === stored) {
          expect(answer.status).toBe(200)
          expect(answer.body).toMatchObject({ leash_id: leash.leash_id, status: "pending" })
        } else {
          expect(answer.status).toBe(422)
          expect(answer.body.error.code).toBe("idempotency_conflict")
        }
      }
      expect((yield* snapshot(s.db)).leashes).toHaveLength(1)
    }), 60_000)

  it.scopedLive("the same batch ingested 50 times at once: each record stored once, every repeat counted", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const trail = trailRecord({ status: "ok", ended_at: "2026-11-24T09:00:05.000Z" })
      const batch = {
        trails: [trail],
        steps: [stepRecord(trail.id, 1, "search"), stepRecord(trail.id, 2, "draft")]
      }
      const answers = yield* Effect.forEach(
        Array.from({ length: 50 }),
        () => s.agent.post("/v1/ingest", { body: batch }),
        { concurrency: "unbounded" }
      )
      expect(answers.every((a) => a.status === 202)).toBe(true)
      const accepted = answers.reduce((n, a) => n + a.body.accepted, 0)
      const duplicates = answers.reduce((n, a) => n + a.body.duplicates, 0)
      expect(accepted).toBe(3)
      expect(duplicates).toBe(49 * 3)
      const db = yield* snapshot(s.db)
      expect(db.trails).toHaveLength(1)
      expect(db.steps).toHaveLength(2)
    }), 60_000)
})
