/**
 * `POST /v1/ingest` and the dashboard reads: idempotency by record id, the first terminal trail
 * record wins, steps before their trail, bad bodies named by field, the 5 MiB limit, and bypass
 * flags recomputed per trail whatever order the batches arrive in.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Audit, Wire } from "houndsight"
import { maxBodyBytes } from "../src/Http.js"
import * as Path from "node:path"
import { gatedReviewStep, startServer, stepRecord, tempDir, trailRecord, uuid } from "./helpers.js"

describe("POST /v1/ingest", () => {
  it.scopedLive("accepts new records and counts a repeated batch as duplicates", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const trail = trailRecord()
      const batch = { trails: [trail], steps: [stepRecord(trail.id, 1, "plan"), stepRecord(trail.id, 2, "search")] }
      const first = yield* s.agent.post("/v1/ingest", { body: batch })
      expect(first.status).toBe(202)
      expect(first.body).toStrictEqual({ accepted: 3, duplicates: 0 })
      const again = yield* s.agent.post("/v1/ingest", { body: batch })
      expect(again.status).toBe(202)
      expect(again.body).toStrictEqual({ accepted: 0, duplicates: 3 })
      const detail = yield* s.reviewer.get(`/v1/trails/${trail.id}`)
      expect(detail.body.steps.map((st: any) => st.name)).toStrictEqual(["plan", "search"])
    }))

  it.scopedLive("the first terminal trail record wins and a running record never replaces it", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const id = uuid()
      const running = trailRecord({ id })
      const ok = trailRecord({ id, status: "ok", output: "posted", ended_at: "2026-11-24T09:05:00.000Z" })
      const error = trailRecord({ id, status: "error", output: "late", ended_at: "2026-11-24T09:06:00.000Z" })
      const post = (t: unknown) => Effect.map(s.agent.post("/v1/ingest", { body: { trails: [t], steps: [] } }), (a) => a.body)
      expect(yield* post(running)).toStrictEqual({ accepted: 1, duplicates: 0 })
      expect(yield* post(running)).toStrictEqual({ accepted: 0, duplicates: 1 })
      expect(yield* post(ok)).toStrictEqual({ accepted: 1, duplicates: 0 })
      expect(yield* post(error)).toStrictEqual({ accepted: 0, duplicates: 1 })
      expect(yield* post(running)).toStrictEqual({ accepted: 0, duplicates: 1 })
      const detail = yield* s.reviewer.get(`/v1/trails/${id}`)
      expect(detail.body.trail).toMatchObject({ status: "ok", output: "posted", ended_at: "2026-11-24T09:05:00.000Z" })

      // a terminal record that arrives before the running one is not replaced either
      const other = uuid()
      expect(yield* post(trailRecord({ id: other, status: "interrupted", ended_at: "2026-11-24T09:01:00.000Z" })))
        .toStrictEqual({ accepted: 1, duplicates: 0 })
      expect(yield* post(trailRecord({ id: other }))).toStrictEqual({ accepted: 0, duplicates: 1 })
      expect((yield* s.reviewer.get(`/v1/trails/${other}`)).body.trail.status).toBe("interrupted")
    }))

  it.scopedLive("within one batch, a running and a terminal record of the same trail: the terminal one is kept", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const id = uuid()
      const answer = yield* s.agent.post("/v1/ingest", {
        body: { trails: [trailRecord({ id }), trailRecord({ id, status: "ok", ended_at: at5 })], steps: [] }
      })
      expect(answer.body).toStrictEqual({ accepted: 2, duplicates: 0 })
      expect((yield* s.reviewer.get(`/v1/trails/${id}`)).body.trail.status).toBe("ok")
    }))

  it.scopedLive("steps may arrive before their trail; the trail appears in the list once its record arrives", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const trail = trailRecord({ status: "ok", ended_at: at5, cost_usd: 0.5, tokens: { input: 10, output: 4 } })
      const steps = [stepRecord(trail.id, 2, "respond", { layer: "respond" }), stepRecord(trail.id, 1, "plan")]
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [], steps } })).body).toStrictEqual({
        accepted: 2,
        duplicates: 0
      })
      const early = yield* s.reviewer.get(`/v1/trails/${trail.id}`)
      expect(early.status).toBe(200)
      expect(early.body.trail).toBeNull()
      expect(early.body.steps.map((st: any) => st.seq)).toStrictEqual([1, 2])
      expect((yield* s.reviewer.get("/v1/trails")).body.trails).toStrictEqual([])

      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [] } })
      const listed = yield* s.reviewer.get("/v1/trails")
      expect(listed.body.trails).toStrictEqual([{
        id: trail.id,
        agent: "billing-bot",
        trigger: "user_message",
        status: "ok",
        started_at: trail.started_at,
        ended_at: at5,
        cost_usd: 0.5,
        tokens: { input: 10, output: 4 },
        step_count: 2,
        flag_count: 0
      }])
    }))

  it.scopedLive("lists trails newest first, up to limit; an unknown trail is 404", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const older = trailRecord({ started_at: "2026-11-24T08:00:00.000Z" })
      const newer = trailRecord({ started_at: "2026-11-24T10:00:00.000Z" })
      yield* s.agent.post("/v1/ingest", { body: { trails: [older, newer], steps: [] } })
      const all = yield* s.reviewer.get("/v1/trails")
      expect(all.body.trails.map((t: any) => t.id)).toStrictEqual([newer.id, older.id])
      const one = yield* s.reviewer.get("/v1/trails?limit=1")
      expect(one.body.trails.map((t: any) => t.id)).toStrictEqual([newer.id])
      const missing = yield* s.reviewer.get(`/v1/trails/${uuid()}`)
      expect(missing.status).toBe(404)
      expect(missing.body.error.code).toBe("not_found")
    }))

  it.scopedLive("a record that does not decode is a 400 naming the field, and nothing of the batch is stored", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const trail = trailRecord()
      const answer = yield* s.agent.post("/v1/ingest", {
        body: {
          trails: [trail],
          steps: [stepRecord(trail.id, 1, "plan"), stepRecord(trail.id, 2, "x", { layer: "thinking" })]
        }
      })
      expect(answer.status).toBe(400)
      expect(answer.body.error.code).toBe("bad_request")
      expect(answer.body.error.message).toContain("steps[1].layer")
      expect(answer.body.error.message).toContain("expected one of plan, retrieve, reason, execute, review, respond")
      expect((yield* s.reviewer.get(`/v1/trails/${trail.id}`)).status).toBe(404)

      const time = yield* s.agent.post("/v1/ingest", {
        body: { trails: [trailRecord({ started_at: "2026-11-24 09:00" })], steps: [] }
      })
      expect(time.status).toBe(400)
      expect(time.body.error.message).toContain("trails[0].started_at")
    }))

  it.scopedLive("a body that is not JSON, empty or not UTF-8 is a 400 invalid_json, never a 5xx", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      for (
        const body of ["{\"trails\": [", "", "null", "[]", "\"text\"", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])]
      ) {
        const answer = body instanceof Uint8Array
          ? yield* Effect.promise(() =>
            fetch(`${s.url}/v1/ingest`, {
              method: "POST",
              headers: { authorization: `Bearer ${s.agentKey}`, "content-type": "application/json" },
              body
            }).then(async (r) => ({ status: r.status, body: await r.json() as any }))
          )
          : yield* s.agent.post("/v1/ingest", { body })
        expect(answer.status, JSON.stringify(body)).toBe(400)
        expect(Schema.is(Wire.ErrorBody.ErrorBody)(answer.body)).toBe(true)
      }
      const invalid = yield* s.agent.post("/v1/ingest", { body: "{\"trails\": [" })
      expect(invalid.body.error.code).toBe("invalid_json")
      const empty = yield* s.agent.post("/v1/ingest", { body: "" })
      expect(empty.body.error.message).toContain("empty")
    }))

  it.scopedLive("a body over 5 MiB is a 413, with or without a Content-Length; one of exactly 5 MiB is read", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      // v1.1: a record is at most 256 KiB, so the body is made of 24 trails of up to 240,000 bytes
      const trails = Array.from({ length: 24 }, () => trailRecord({ payload: "" }))
      const sized = (bytes: number) => {
        let pad = bytes - JSON.stringify({ trails, steps: [] }).length
        const padded = trails.map((t) => {
          const n = Math.min(pad, 240_000)
          pad -= n
          return { ...t, payload: "x".repeat(n) }
        })
        return JSON.stringify({ trails: padded, steps: [] })
      }
      const exactly = sized(maxBodyBytes)
      expect(Buffer.byteLength(exactly)).toBe(maxBodyBytes)
      const fits = yield* s.agent.post("/v1/ingest", { body: exactly })
      expect(fits.status).toBe(202)

      const over = yield* s.agent.post("/v1/ingest", { body: sized(maxBodyBytes + 1) })
      expect(over.status).toBe(413)
      expect(over.body.error).toMatchObject({ code: "payload_too_large" })
      expect(over.body.error.message).toContain("5 MiB")

      // chunked: no Content-Length, the server counts
      const chunked = yield* Effect.promise(async () => {
        const bytes = new TextEncoder().encode(sized(maxBodyBytes + 64 * 1024))
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            for (let i = 0; i < bytes.length; i += 256 * 1024) controller.enqueue(bytes.subarray(i, i + 256 * 1024))
            controller.close()
          }
        })
        const response = await fetch(`${s.url}/v1/ingest`, {
          method: "POST",
          headers: { authorization: `Bearer ${s.agentKey}`, "content-type": "application/json" },
          body: stream,
          duplex: "half"
        } as RequestInit)
        return { status: response.status, headers: response.headers, body: await response.json() as any }
      })
      expect(chunked.status).toBe(413)
      expect(chunked.body.error.code).toBe("payload_too_large")
    }))
})

const at5 = "2026-11-24T09:05:00.000Z"

describe("bypass flags", () => {
  const rules = { sensitive: ["stripe.*", "email.send"], rules: [] }

  it.scopedLive("are recomputed per trail over all its steps, whatever order the batches arrive in", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const trail = trailRecord()
      const t = trail.id
      const rejected = yield* gatedReviewStep(s, t, 1, "stripe.charge", "rejected")
      const approved = yield* gatedReviewStep(s, t, 3, "stripe.charge", "approved")
      const steps = [
        rejected,
        stepRecord(t, 2, "stripe.charge"), // ignored decision
        approved,
        stepRecord(t, 4, "stripe.charge"), // uses the approval
        stepRecord(t, 5, "stripe.charge"), // reused approval
        stepRecord(t, 6, "email.send"), // unleashed
        stepRecord(t, 7, "search_docs") // not sensitive: never flagged
      ]
      const flagsOf = Effect.map(s.reviewer.get(`/v1/flags?trail_id=${t}`), (a) => a.body.flags)

      // the last steps first: step 5 has no review yet, so it is an unleashed action for now
      yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [steps[4], steps[5], steps[6]] } })
      expect((yield* flagsOf).map((f: any) => [f.seq, f.kind])).toStrictEqual([
        [5, "unleashed_action"],
        [6, "unleashed_action"]
      ])
      yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [steps[2], steps[3]] } })
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [steps[0], steps[1]] } })

      const flags = yield* flagsOf
      expect(flags).toStrictEqual([
        {
          kind: "ignored_decision",
          trail_id: t,
          step_id: steps[1]!.id,
          seq: 2,
          action_name: "stripe.charge",
          review_step_id: rejected.id
        },
        {
          kind: "reused_approval",
          trail_id: t,
          step_id: steps[4]!.id,
          seq: 5,
          action_name: "stripe.charge",
          review_step_id: approved.id
        },
        { kind: "unleashed_action", trail_id: t, step_id: steps[5]!.id, seq: 6, action_name: "email.send" }
      ])
      // the same flags the SDK's audit computes from the same steps
      const decoded = steps.map((st) => Schema.decodeUnknownSync(Wire.StepRecord)(st))
      expect(flags).toStrictEqual(Audit.flags(decoded, rules).map((f) => Schema.encodeSync(Wire.Flag)(f)))
      expect((yield* s.reviewer.get(`/v1/trails/${t}`)).body.flags).toStrictEqual(flags)
      expect((yield* s.reviewer.get("/v1/trails")).body.trails[0].flag_count).toBe(3)
    }))

  it.scopedLive("GET /v1/flags lists every trail's flags, the newest trail first, seq order within a trail", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const older = trailRecord({ started_at: "2026-11-24T08:00:00.000Z" })
      const newer = trailRecord({ started_at: "2026-11-24T10:00:00.000Z" })
      yield* s.agent.post("/v1/ingest", {
        body: {
          trails: [older, newer],
          steps: [
            stepRecord(older.id, 1, "email.send"),
            stepRecord(newer.id, 2, "stripe.refund"),
            stepRecord(newer.id, 1, "email.send")
          ]
        }
      })
      const all = yield* s.reviewer.get("/v1/flags")
      expect(all.body.flags.map((f: any) => [f.trail_id, f.seq])).toStrictEqual([
        [newer.id, 1],
        [newer.id, 2],
        [older.id, 1]
      ])
      expect((yield* s.reviewer.get("/v1/flags?limit=1")).body.flags).toHaveLength(1)
    }))

  it.scopedLive("are recomputed for every stored trail when the sensitive list changed since the last start", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "flags.db")
      const trail = trailRecord()
      yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* startServer({ db, rulesFile: { sensitive: [], rules: [] } })
        yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [stepRecord(trail.id, 1, "email.send")] } })
        expect((yield* s.reviewer.get("/v1/flags")).body.flags).toStrictEqual([])
      }))
      const s = yield* startServer({ db, rulesFile: rules })
      expect((yield* s.reviewer.get("/v1/flags")).body.flags).toMatchObject([
        { kind: "unleashed_action", trail_id: trail.id, seq: 1, action_name: "email.send" }
      ])
    }))

  it.scopedLive("a step that wraps its own leash is not flagged; a non-sensitive action with no review never is", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const trail = trailRecord()
      const wrapper = stepRecord(trail.id, 1, "stripe.charge")
      const review = yield* gatedReviewStep(s, trail.id, 2, "stripe.charge", "approved", { parent_id: wrapper.id })
      yield* s.agent.post("/v1/ingest", {
        body: { trails: [trail], steps: [review, wrapper, stepRecord(trail.id, 3, "search_docs")] }
      })
      expect((yield* s.reviewer.get(`/v1/flags?trail_id=${trail.id}`)).body.flags).toStrictEqual([])
    }))
})
