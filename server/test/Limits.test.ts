/**
 * v1.1, what an agent may store, enforced by the server whatever client sends it: a leash
 * payload (and a reviewer's modified payload) of at most 262,144 bytes of compact UTF-8 JSON,
 * inclusive, else 413 naming the size and the limit (never truncated); risk signals of at most
 * 16 KiB; a trail or step record of at most 256 KiB, else 413 naming the record, the batch
 * stored all or nothing. Also v1.1's `reason`: optional when approving or modifying, required
 * when rejecting.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Wire from "houndsight/wire"
import { leashRequest, startServer, stepRecord, trailRecord, uuid } from "./helpers.js"

/** A JSON string value whose compact JSON (quotes included) is exactly `bytes` bytes. */
const stringOfBytes = (bytes: number, char = "a"): string => char.repeat(bytes - 2)

/** A payload `{"t":"…"}` of exactly `bytes` bytes of JSON, padded with a multi-byte char where asked. */
const payloadOfBytes = (bytes: number): { t: string } => {
  // {"t":""} is 8 bytes; "é" is 2 bytes in UTF-8 (1 UTF-16 unit): the measure must be bytes
  const rest = bytes - 8
  const value = "é".repeat(Math.floor(rest / 2)) + "a".repeat(rest % 2)
  const payload = { t: value }
  expect(Buffer.byteLength(JSON.stringify(payload))).toBe(bytes)
  return payload
}

describe("v1.1 leash limits", () => {
  it.scopedLive("a payload of exactly 262,144 bytes is accepted and read back whole; one byte more is 413 naming size and limit", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const atLimit = leashRequest({ payload: payloadOfBytes(Wire.maxPayloadBytes) })
      const ok = yield* s.agent.post("/v1/leashes", { body: atLimit })
      expect(ok.status).toBe(200)
      const over = leashRequest({ payload: payloadOfBytes(Wire.maxPayloadBytes + 1) })
      const refused = yield* s.agent.post("/v1/leashes", { body: over })
      expect(refused.status).toBe(413)
      expect(refused.body.error.code).toBe("payload_too_large")
      expect(refused.body.error.message).toContain("payload is 262,145 bytes")
      expect(refused.body.error.message).toContain("262,144")
      // nothing was stored under the refused id
      const read = yield* s.agent.get(`/v1/leashes/${over.leash_id}`)
      expect(read.status).toBe(404)
    }))

  it.scopedLive("risk signals over 16 KiB are 413", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const at = leashRequest({ risk_signals: { note: stringOfBytes(Wire.maxRiskSignalsBytes - 9) } })
      expect(Wire.jsonBytes(at.risk_signals)).toBe(Wire.maxRiskSignalsBytes)
      expect((yield* s.agent.post("/v1/leashes", { body: at })).status).toBe(200)
      const over = leashRequest({ risk_signals: { note: stringOfBytes(Wire.maxRiskSignalsBytes - 8) } })
      const refused = yield* s.agent.post("/v1/leashes", { body: over })
      expect(refused.status).toBe(413)
      expect(refused.body.error.message).toContain("risk_signals is 16,385 bytes")
    }))

  it.scopedLive("a modified_payload over the limit is 413 and the leash stays pending", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: leash })
      const over = yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, {
        body: { decision: "modified", reason: "edited", modified_payload: payloadOfBytes(Wire.maxPayloadBytes + 1) }
      })
      expect(over.status).toBe(413)
      expect(over.body.error.code).toBe("payload_too_large")
      expect(over.body.error.message).toContain("modified_payload is 262,145 bytes")
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body.status).toBe("pending")
      const ok = yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, {
        body: { decision: "modified", modified_payload: payloadOfBytes(Wire.maxPayloadBytes) }
      })
      expect(ok.status).toBe(200)
      expect(ok.body.decision.modified_payload).toStrictEqual(payloadOfBytes(Wire.maxPayloadBytes))
    }))
})

describe("v1.1 record limit", () => {
  it.scopedLive("a batch holding a step over 256 KiB is 413 naming it, and stores nothing; the rest alone is accepted", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const trail = trailRecord()
      const good = stepRecord(trail.id, 1, "fetch")
      const big = stepRecord(trail.id, 2, "huge", { input: "x".repeat(300_000) })
      const refused = yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [good, big] } })
      expect(refused.status).toBe(413)
      expect(refused.body.error.code).toBe("payload_too_large")
      expect(refused.body.error.message).toContain(`steps[1] (id ${big.id})`)
      expect(refused.body.error.message).toContain("262,144")
      expect((yield* s.reviewer.get(`/v1/trails/${trail.id}`)).status).toBe(404)
      // what the SDK does on a 413: it splits the batch; the other records are accepted
      const rest = yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [good] } })
      expect(rest.status).toBe(202)
      expect(rest.body.accepted).toBe(2)
    }))

  it.scopedLive("a trail record over 256 KiB is 413; one at the limit is stored", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const base = trailRecord({ payload: "" })
      const pad = 262_144 - Wire.jsonBytes(base)
      const atLimit = { ...base, payload: "y".repeat(pad) }
      expect(Wire.jsonBytes(atLimit)).toBe(262_144)
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [atLimit], steps: [] } })).status).toBe(202)
      const over = { ...base, id: uuid(), payload: "y".repeat(pad + 1) }
      const refused = yield* s.agent.post("/v1/ingest", { body: { trails: [over], steps: [] } })
      expect(refused.status).toBe(413)
      expect(refused.body.error.message).toContain("trails[0]")
    }))
})

describe("v1.1 reason of a decision", () => {
  it.scopedLive("approving or modifying without a reason is stored and answered as \"\"", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const a = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: a })
      const approved = yield* s.reviewer.post(`/v1/leashes/${a.leash_id}/decision`, { body: { decision: "approved" } })
      expect(approved.status).toBe(200)
      expect(approved.body.decision.reason).toBe("")
      expect((yield* s.agent.get(`/v1/leashes/${a.leash_id}`)).body.decision.reason).toBe("")
      const m = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: m })
      const modified = yield* s.reviewer.post(`/v1/leashes/${m.leash_id}/decision`, {
        body: { decision: "modified", modified_payload: { amount_usd: 1 } }
      })
      expect(modified.status).toBe(200)
      expect(modified.body.decision.reason).toBe("")
    }))

  it.scopedLive("rejecting without a reason is 400 naming reason; the leash stays pending", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const r = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: r })
      const refused = yield* s.reviewer.post(`/v1/leashes/${r.leash_id}/decision`, { body: { decision: "rejected" } })
      expect(refused.status).toBe(400)
      expect(refused.body.error.message).toContain("reason: a rejection needs a reason")
      expect((yield* s.agent.get(`/v1/leashes/${r.leash_id}`)).body.status).toBe("pending")
      const ok = yield* s.reviewer.post(`/v1/leashes/${r.leash_id}/decision`, {
        body: { decision: "rejected", reason: "too much" }
      })
      expect(ok.body.decision.reason).toBe("too much")
    }))
})

describe("v1.1 ids in lowercase", () => {
  it.scopedLive("a leash created in upper case is the same leash in lower case, by path and by retry", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      const upper = { ...leash, leash_id: leash.leash_id.toUpperCase(), trail_id: leash.trail_id.toUpperCase() }
      const created = yield* s.agent.post("/v1/leashes", { body: upper })
      expect(created.status).toBe(200)
      expect(created.body.leash_id).toBe(leash.leash_id)
      // the same request in lower case is a retry of it, not a 422 and not a second leash
      const retry = yield* s.agent.post("/v1/leashes", { body: leash })
      expect(retry.status).toBe(200)
      const decided = yield* s.reviewer.post(`/v1/leashes/${leash.leash_id.toUpperCase()}/decision`, {
        body: { decision: "approved", reason: "ok" }
      })
      expect(decided.status).toBe(200)
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body.status).toBe("decided")
      expect((yield* s.reviewer.get("/v1/leashes")).body.leashes).toHaveLength(0)
    }))

  it.scopedLive("a trail and step sent in upper case are the records of the lowercase ids, not second ones", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const trail = trailRecord()
      const step = stepRecord(trail.id, 1, "fetch", { input: { ID: "KEEP-CASE" } })
      const upperTrail = { ...trail, id: trail.id.toUpperCase() }
      const upperStep = { ...step, id: step.id.toUpperCase(), trail_id: trail.id.toUpperCase() }
      const first = yield* s.agent.post("/v1/ingest", { body: { trails: [upperTrail], steps: [upperStep] } })
      expect(first.body).toStrictEqual({ accepted: 2, duplicates: 0 })
      const again = yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [step] } })
      expect(again.body).toStrictEqual({ accepted: 0, duplicates: 2 })
      const read = yield* s.reviewer.get(`/v1/trails/${trail.id.toUpperCase()}`)
      expect(read.status).toBe(200)
      expect(read.body.trail.id).toBe(trail.id)
      expect(read.body.steps).toHaveLength(1)
      expect(read.body.steps[0].id).toBe(step.id)
      // values inside input keep their case
      expect(read.body.steps[0].input).toStrictEqual({ ID: "KEEP-CASE" })
    }))
})
