/**
 * `POST /v1/ingest` with batches shaped like an exporter's under load: many trails in one batch,
 * some holding review steps and some not, the same step id twice in one batch, and records with
 * keys the contract does not know. The stored steps and flags are what the contract says,
 * whatever statements the store groups them into.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Audit, Wire } from "houndsight"
import * as Ingest from "../src/Ingest.js"
import { gatedReviewStep, startServer, stepRecord, trailRecord, uuid } from "./helpers.js"

const rules = { sensitive: ["stripe.*", "email.send"], rules: [] }

describe("POST /v1/ingest, large batches", () => {
  it.scopedLive("the first record of a step id wins, also within one batch", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const t = uuid()
      const first = stepRecord(t, 1, "plan", { output: "first" })
      const again = { ...first, output: "second" }
      const other = stepRecord(t, 2, "search")
      const answer = yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [first, again, other] } })
      expect(answer.body).toStrictEqual({ accepted: 2, duplicates: 1 })
      const detail = yield* s.reviewer.get(`/v1/trails/${t}`)
      expect(detail.body.steps.map((st: any) => [st.seq, st.output])).toStrictEqual([[1, "first"], [2, undefined]])
    }))

  it.scopedLive("many trail records in one batch count and store as if sent one at a time", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const ended = "2026-11-24T09:05:00.000Z"
      const post = (trails: ReadonlyArray<unknown>, steps: ReadonlyArray<unknown> = []) =>
        Effect.map(s.agent.post("/v1/ingest", { body: { trails, steps } }), (a) => a.body)
      // stored before the batch: a running trail, a finished one, and steps of a trail with no record yet
      const running = uuid()
      const finished = uuid()
      const early = uuid()
      expect(yield* post([trailRecord({ id: running }), trailRecord({ id: finished, status: "ok", output: "first", ended_at: ended })], [
        stepRecord(early, 1, "plan")
      ])).toStrictEqual({ accepted: 3, duplicates: 0 })
      // the batch: 20 new trails, each running then ok; the running one finished; the finished one
      // sent again running and then with another ending; the early trail's record, twice
      const fresh = Array.from({ length: 20 }, () => uuid())
      const batch = [
        ...fresh.flatMap((id) => [trailRecord({ id }), trailRecord({ id, status: "ok", output: id, ended_at: ended })]),
        trailRecord({ id: running, status: "error", output: "failed", ended_at: ended }),
        trailRecord({ id: finished }),
        trailRecord({ id: finished, status: "error", output: "second", ended_at: ended }),
        trailRecord({ id: early, status: "ok", output: "late record", ended_at: ended }),
        trailRecord({ id: early })
      ]
      expect(yield* post(batch)).toStrictEqual({ accepted: 42, duplicates: 3 })
      const trailOf = (id: string) => Effect.map(s.reviewer.get(`/v1/trails/${id}`), (a) => a.body.trail)
      for (const id of fresh) expect(yield* trailOf(id)).toMatchObject({ status: "ok", output: id })
      expect(yield* trailOf(running)).toMatchObject({ status: "error", output: "failed" })
      expect(yield* trailOf(finished)).toMatchObject({ status: "ok", output: "first" })
      expect(yield* trailOf(early)).toMatchObject({ status: "ok", output: "late record" })
      // every trail listed once
      const listed = (yield* s.reviewer.get("/v1/trails?limit=100")).body.trails.map((t: any) => t.id)
      expect([...listed].sort()).toStrictEqual([...fresh, running, finished, early].sort())
      // the same batch again: all duplicates
      expect(yield* post(batch)).toStrictEqual({ accepted: 0, duplicates: batch.length })
    }))

  it.scopedLive("keys the contract does not know are not stored", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const t = uuid()
      const step = { ...stepRecord(t, 1, "plan", { tokens: { input: 1, output: 2, cached: 3 } }), debug: "x" }
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [step] } })).status).toBe(202)
      const { debug: _, ...known } = step
      const stored = (yield* s.reviewer.get(`/v1/trails/${t}`)).body.steps[0]
      expect(stored).toStrictEqual({ ...known, tokens: { input: 1, output: 2 } })
    }))

  it.scopedLive("flags of many trails in one batch, reviewed or not, are the audit's over all their steps", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      // 12 trails: every third holds a review (approved, rejected), the others only actions
      const trails = Array.from({ length: 12 }, (_, i) => ({ id: uuid(), reviewed: i % 3 === 0, approved: i % 2 === 0 }))
      const all: Array<Wire.StepRecordWire> = []
      for (const trail of trails) {
        const t = trail.id
        if (trail.reviewed) {
          all.push(yield* gatedReviewStep(s, t, 1, "stripe.charge", trail.approved ? "approved" : "rejected"))
          all.push(stepRecord(t, 2, "stripe.charge"))
          all.push(stepRecord(t, 3, "stripe.charge"))
        } else {
          all.push(stepRecord(t, 1, "search_docs"))
          all.push(stepRecord(t, 2, "email.send"))
          all.push(stepRecord(t, 3, "stripe.refund"))
        }
      }
      // two batches, each holding part of every trail, the later seqs first
      const late = all.filter((st) => st.seq >= 2)
      const early = all.filter((st) => st.seq < 2)
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: late } })).body)
        .toStrictEqual({ accepted: late.length, duplicates: 0 })
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: early } })).body)
        .toStrictEqual({ accepted: early.length, duplicates: 0 })
      // the same batches again change nothing
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: all } })).body)
        .toStrictEqual({ accepted: 0, duplicates: all.length })

      for (const trail of trails) {
        const steps = all.filter((st) => st.trail_id === trail.id).map((st) => Schema.decodeUnknownSync(Wire.StepRecord)(st))
        const expected = Audit.flags(steps, rules).map((f) => Schema.encodeSync(Wire.Flag)(f))
        const flags = (yield* s.reviewer.get(`/v1/flags?trail_id=${trail.id}`)).body.flags
        expect(flags).toStrictEqual(expected)
        // approved: the second charge reuses the approval; rejected: both ignore it; no review:
        // email.send and stripe.refund are unleashed
        expect(flags.map((f: any) => f.kind)).toStrictEqual(
          !trail.reviewed
            ? ["unleashed_action", "unleashed_action"]
            : trail.approved
            ? ["reused_approval"]
            : ["ignored_decision", "ignored_decision"]
        )
      }
    }))

  it.scopedLive("a batch stored in several slices: every record once, the counts and flags of one batch", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      // 40 trails of 6 steps, each trail's records and steps spread over the batch: several slices
      const ids = Array.from({ length: 40 }, () => uuid())
      const trailRecords = ids.flatMap((id) => [trailRecord({ id }), trailRecord({ id, status: "ok", ended_at: "2026-11-24T09:05:00.000Z" })])
      const reviewed = ids.slice(0, 4)
      const reviews = yield* Effect.forEach(reviewed, (id) => gatedReviewStep(s, id, 1, "stripe.charge", "approved"))
      const steps = [
        ...reviews,
        ...ids.flatMap((id) => [2, 3, 4, 5, 6].map((seq) => stepRecord(id, seq, seq === 3 ? "stripe.charge" : "plan")))
      ]
      // the other 36 trails' first steps come last: each trail's steps lie in more than one slice
      steps.push(...ids.slice(4).map((id) => stepRecord(id, 1, "plan")))
      const batch = { trails: trailRecords, steps }
      const parts = Ingest.slices(Schema.decodeUnknownSync(Wire.IngestBatch)(batch))
      expect(parts.length).toBeGreaterThan(2)
      expect((yield* s.agent.post("/v1/ingest", { body: batch })).body)
        .toStrictEqual({ accepted: trailRecords.length + steps.length, duplicates: 0 })
      expect((yield* s.agent.post("/v1/ingest", { body: batch })).body)
        .toStrictEqual({ accepted: 0, duplicates: trailRecords.length + steps.length })
      for (const id of ids) {
        const detail = (yield* s.reviewer.get(`/v1/trails/${id}?limit=100`)).body
        expect(detail.trail.status).toBe("ok")
        expect(detail.steps.map((st: any) => st.seq)).toStrictEqual([1, 2, 3, 4, 5, 6])
        const decoded = steps.filter((st) => st.trail_id === id).map((st) => Schema.decodeUnknownSync(Wire.StepRecord)(st))
        const flags = (yield* s.reviewer.get(`/v1/flags?trail_id=${id}`)).body.flags
        expect(flags).toStrictEqual(Audit.flags(decoded, rules).map((f) => Schema.encodeSync(Wire.Flag)(f)))
        // an approved charge is no flag; an unreviewed one is
        expect(flags.length).toBe(reviewed.includes(id) ? 0 : 1)
      }
    }))

  it("slices keep the batch's records in order, trail records first, each slice within its budget", () => {
    const t = Schema.decodeUnknownSync(Wire.TrailRecord)(trailRecord())
    const st = Schema.decodeUnknownSync(Wire.StepRecord)(stepRecord(t.id, 1, "plan"))
    const small = { trails: [t], steps: [st, st] }
    expect(Ingest.slices(small)).toStrictEqual([small])
    const trails = Array.from({ length: 100 }, (_, i) => ({ ...t, trigger: `t${i}` }))
    const steps = Array.from({ length: 300 }, (_, i) => ({ ...st, seq: i + 1 }))
    const parts = Ingest.slices({ trails, steps })
    expect(parts.flatMap((p) => p.trails)).toStrictEqual(trails)
    expect(parts.flatMap((p) => p.steps)).toStrictEqual(steps)
    for (const p of parts) expect(p.trails.length * 2 + p.steps.length).toBeLessThanOrEqual(128)
    // full slices but the last: 200 + 300 units in 128-unit slices
    expect(parts.length).toBe(4)
  })
})
