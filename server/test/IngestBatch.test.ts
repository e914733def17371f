/**
 * `POST /v1/ingest` with batches shaped like an exporter's under load: many trails in one batch,
 * some holding review steps and some not, the same step id twice in one batch, and records with
 * keys the contract does not know. The stored steps and flags are what the contract says,
 * whatever statements the store groups them into.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Audit, Wire } from "houndsight"
import { gatedReviewStep, startServer, stepRecord, uuid } from "./helpers.js"

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
})
