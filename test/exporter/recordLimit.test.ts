/**
 * v1.1, the limit of a record (DESIGN.md section 2): every trail and step record the exporter
 * sends is at most 262,144 bytes of compact UTF-8 JSON as the server measures it, whatever part
 * made it large (event attributes, an error, tags, a trail's payload and output, a review step's
 * input), cut with a visible marker in a fixed order, never cutting what the audit needs (ids,
 * seq, name, layer, status, a review step's leash summary). The collector answers as the real
 * server's limit does (`recordOverLimit`, 413), and one test sends to the real server.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { Exporter, Houndsight, Recorder, Wire } from "houndsight"
import * as FastCheck from "effect/FastCheck"
import { encodeRecord, recordBytes, SchemaRejection, STEP, TRAIL } from "../../src/internal/encode.js"
import { fitRecord } from "../../src/internal/recordLimit.js"
import { recordOverLimit } from "../../server/src/Limits.js"
import { startServer } from "../../server/test/helpers.js"
import { accept, collector, errorReply, type Received } from "./collector.js"
import { balanced, reviewStep, start, stepRecord, trailRecord } from "./harness.js"

const limit = 262_144
const noTimer = { flushInterval: "60 seconds" } as const

/** Answers as the gate server does: 413 naming the record when one is over the limit, else 202. */
const asServer = (request: Received) => {
  const tooLarge = recordOverLimit(JSON.parse(request.text), request.bytes)
  return tooLarge === undefined ? accept(request) : errorReply(413, "payload_too_large", tooLarge.message)
}

const marker = "[truncated: "
const hasMarker = (value: unknown): boolean => JSON.stringify(value).includes(marker)

/** Offers the records, flushes, and answers the wire records delivered (every one must be). */
const deliver = (offer: (recorder: Recorder.RecorderShape) => void) =>
  Effect.gen(function*() {
    const c = yield* collector(asServer)
    const live = yield* start(c, noTimer)
    offer(live.recorder)
    yield* live.exporter.flush
    const stats = yield* live.exporter.stats
    yield* live.close
    expect(stats.droppedByReason.too_large).toBe(0)
    expect(stats.dropped).toBe(0)
    expect(balanced(stats)).toBe(true)
    for (const r of c.requests) expect(r.status).toBe(202)
    const delivered = c.delivered()
    for (const record of [...delivered.trails, ...delivered.steps]) {
      expect(Wire.jsonBytes(record)).toBeLessThanOrEqual(limit)
    }
    return delivered
  })

const at = new Date("2026-11-24T09:00:00.000Z")
const kib = (n: number, c = "x") => c.repeat(n * 1024)

describe("a record over 256 KiB is cut to fit, and delivered", () => {
  it.scopedLive("a step whose events' attributes total 400 KiB: the largest attributes are cut, every event kept", () =>
    Effect.gen(function*() {
      const events = Array.from({ length: 20 }, (_, i) => ({
        name: `chunk.${i}`,
        at,
        attributes: { index: i, text: kib(20, String.fromCharCode(97 + i)) }
      }))
      const step = stepRecord({ name: "summarise", events })
      const { steps } = yield* deliver((r) => r.offerStep(step))
      expect(steps).toHaveLength(1)
      const sent = steps[0]!
      expect(sent).toMatchObject({ id: step.id, trail_id: step.trailId, seq: step.seq, name: "summarise", status: "ok" })
      expect(sent.events).toHaveLength(20)
      expect(sent.events.map((e: any) => e.name)).toEqual(events.map((e) => e.name))
      // every event keeps its small attribute; the large ones carry the marker
      for (const [i, e] of sent.events.entries()) expect(e.attributes.index).toBe(i)
      expect(sent.events.filter((e: any) => String(e.attributes.text).includes(marker)).length).toBeGreaterThan(0)
      // only what was needed: the record is close to the limit, not emptied
      expect(Wire.jsonBytes(sent)).toBeGreaterThan(limit - 4096)
    }))

  it.scopedLive("a step with a 300 KiB error message: the message keeps its beginning and the marker", () =>
    Effect.gen(function*() {
      const message = `boom: ${kib(300)}`
      const step = stepRecord({ status: "error", error: { type: "UpstreamError", message } })
      const { steps } = yield* deliver((r) => r.offerStep(step))
      expect(steps).toHaveLength(1)
      expect(steps[0]!.status).toBe("error")
      expect(steps[0]!.error.type).toBe("UpstreamError")
      expect(steps[0]!.error.message.startsWith("boom: xxxx")).toBe(true)
      expect(steps[0]!.error.message).toContain(`${marker}error.message was `)
    }))

  it.scopedLive("a trail whose tags, payload and output are large: payload and output first, then tags", () =>
    Effect.gen(function*() {
      const tags = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`tag${i}`, kib(30)]))
      const trail = trailRecord({
        payload: { question: "q", context: kib(30), documents: [kib(30), kib(30), kib(30)] },
        output: { answer: kib(30), notes: [kib(30), kib(30)] },
        tags,
        status: "ok",
        endedAt: at
      })
      const { trails } = yield* deliver((r) => r.offerTrail(trail))
      expect(trails).toHaveLength(1)
      const sent = trails[0]!
      expect(sent).toMatchObject({ id: trail.id, agent: "test-agent", trigger: "test", status: "ok" })
      // payload and output are cut to markers in their largest members; small members stay
      expect(sent.payload.question).toBe("q")
      expect(hasMarker(sent.payload)).toBe(true)
      expect(hasMarker(sent.output)).toBe(true)
      // tags stay a record of strings, each key kept
      expect(Object.keys(sent.tags)).toEqual(Object.keys(tags))
      for (const v of Object.values(sent.tags)) expect(typeof v).toBe("string")
      expect(hasMarker(sent.tags)).toBe(true)
    }))

  it.scopedLive("a review step with a huge input: its input is cut (payload first), its leash summary and decision stay whole", () =>
    Effect.gen(function*() {
      const leashId = globalThis.crypto.randomUUID()
      const leash = { leashId, actionName: "stripe.charge", decision: "rejected", approved: false, reason: kib(2, "r") } as const
      const output = { decision: "rejected", approved: false, reason: leash.reason, leash_id: leashId, trace_link: "x" }
      const input = {
        action_summary: "Charge cus_42 $120.00",
        risk_signals: { amount_usd: 120 },
        payload: { rows: Array.from({ length: 40 }, (_, i) => ({ i, blob: kib(10) })) }
      }
      const step = reviewStep({ input, output, leash })
      const { steps } = yield* deliver((r) => r.offerStep(step))
      expect(steps).toHaveLength(1)
      const sent = steps[0]!
      expect(sent).toMatchObject({ id: step.id, name: "stripe.charge", layer: "review", status: "ok" })
      expect(sent.leash).toEqual({ leash_id: leashId, action_name: "stripe.charge", decision: "rejected", approved: false, reason: leash.reason })
      expect(sent.output).toEqual(output)
      expect(sent.input.action_summary).toBe(input.action_summary)
      expect(sent.input.risk_signals).toEqual(input.risk_signals)
      expect(hasMarker(sent.input.payload)).toBe(true)
    }))

  it.scopedLive("a review step whose leash summary alone is near the limit: the input goes whole, never the leash", () =>
    Effect.gen(function*() {
      const leashId = globalThis.crypto.randomUUID()
      const reason = kib(200, "r")
      const leash = { leashId, actionName: "email.send", decision: "blocked", approved: false, reason } as const
      const step = reviewStep({ name: "email.send", input: { payload: kib(30), more: [kib(30), kib(30)] }, output: { reason }, leash })
      const { steps } = yield* deliver((r) => r.offerStep(step))
      expect(steps).toHaveLength(1)
      expect(steps[0]!.leash.reason).toBe(reason)
      expect(hasMarker(steps[0]!.input)).toBe(true)
      expect(hasMarker(steps[0]!.output)).toBe(true)
    }))

  it.scopedLive("thousands of small events: the last ones are replaced by one houndsight.truncated event", () =>
    Effect.gen(function*() {
      const events = Array.from({ length: 6000 }, (_, i) => ({ name: `tick`, at, attributes: { i, note: "n".repeat(40) } }))
      const step = stepRecord({ events })
      const { steps } = yield* deliver((r) => r.offerStep(step))
      const sent = steps[0]!.events as Array<any>
      expect(sent.length).toBeLessThan(6000)
      // the earliest events are kept, in order
      expect(sent.slice(0, -1).map((e) => e.attributes.i)).toEqual(Array.from({ length: sent.length - 1 }, (_, i) => i))
      const last = sent[sent.length - 1]
      expect(last.name).toBe("houndsight.truncated")
      expect(last.attributes.truncated).toContain(`${6000 - sent.length + 1} events`)
    }))

  it.scopedLive("a record of exactly 262,144 bytes is sent as it is; one byte more is cut", () =>
    Effect.gen(function*() {
      const sized = (bytes: number): Wire.StepRecord => {
        const base = stepRecord({ input: "" })
        const json = encodeRecord(base, STEP)
        if (json instanceof SchemaRejection) throw new Error(json.message)
        return { ...base, input: "y".repeat(bytes - json.length) }
      }
      const exact = sized(limit)
      const over = sized(limit + 1)
      expect(encodeRecord(exact, STEP)).toHaveLength(limit)
      const { steps } = yield* deliver((r) => {
        r.offerStep(exact)
        r.offerStep(over)
      })
      expect(steps.map((s) => s.id)).toEqual([exact.id, over.id])
      expect(steps[0]!.input).toBe(exact.input)
      expect(Wire.jsonBytes(steps[0])).toBe(limit)
      expect(steps[1]!.input).toContain(`${marker}input was `)
      expect(String(steps[1]!.input).startsWith("yyyy")).toBe(true)
    }))

  it.scopedLive("records within the limit are sent byte for byte as before", () =>
    Effect.gen(function*() {
      const step = stepRecord({ input: { q: kib(100) }, output: kib(100), events: [{ name: "e", at, attributes: { a: kib(40) } }] })
      const trail = trailRecord({ payload: kib(120), tags: { a: kib(100) } })
      const { steps, trails } = yield* deliver((r) => {
        r.offerStep(step)
        r.offerTrail(trail)
      })
      expect(JSON.stringify(steps[0])).toBe(encodeRecord(step, STEP))
      expect(JSON.stringify(trails[0])).toBe(encodeRecord(trail, TRAIL))
    }))
})

describe("against the real gate server", () => {
  it.scopedLive("nothing is refused with 413; the server stores every record, the markers visible", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const scope = yield* Scope.make()
      yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
      const context = yield* Layer.buildWithScope(
        Houndsight.layer({ apiKey: Redacted.make(s.agentKey), agent: "test-agent", endpoint: s.url, flushInterval: "60 seconds" }),
        scope
      ).pipe(Effect.orDie)
      const recorder = Context.get(context, Recorder.Recorder)
      const exporter = Context.get(context, Exporter.Exporter)
      const trail = trailRecord({ payload: kib(300), output: { a: kib(200) }, tags: { big: kib(100) }, status: "ok", endedAt: at })
      const leashId = globalThis.crypto.randomUUID()
      const leash = { leashId, actionName: "stripe.charge", decision: "approved", approved: true, reason: "ok" } as const
      const steps = [
        stepRecord({
          trailId: trail.id,
          events: Array.from({ length: 20 }, (_, i) => ({ name: "chunk", at, attributes: { text: kib(20), i } }))
        }),
        stepRecord({ trailId: trail.id, status: "error", error: { type: "Boom", message: kib(300) } }),
        reviewStep({
          trailId: trail.id,
          input: { action_summary: "Charge", risk_signals: {}, payload: kib(400) },
          output: { decision: "approved", approved: true, reason: "ok", leash_id: leashId, trace_link: "x" },
          leash
        })
      ]
      recorder.offerTrail(trail)
      for (const step of steps) recorder.offerStep(step)
      yield* exporter.flush
      const stats = yield* exporter.stats
      expect(stats.droppedByReason.too_large).toBe(0)
      expect(stats.exported).toBe(4)
      const detail = yield* s.reviewer.get(`/v1/trails/${trail.id}`)
      expect(detail.status).toBe(200)
      expect(detail.body.trail.id).toBe(trail.id)
      expect(String(detail.body.trail.payload)).toContain(`${marker}payload was `)
      const stored = new Map<string, any>(detail.body.steps.map((st: any) => [st.id, st]))
      expect([...stored.keys()].sort()).toEqual(steps.map((st) => st.id).sort())
      expect(hasMarker(stored.get(steps[0]!.id).events)).toBe(true)
      expect(stored.get(steps[1]!.id).error.message).toContain(`${marker}error.message was `)
      expect(stored.get(steps[2]!.id).leash).toEqual({ leash_id: leashId, action_name: "stripe.charge", decision: "approved", approved: true, reason: "ok" })
      expect(String(stored.get(steps[2]!.id).input.payload)).toContain(`${marker}input.payload was `)
    }))
})

describe("fitRecord, on generated records", () => {
  const bigString = FastCheck.oneof(
    FastCheck.constant("a"),
    FastCheck.constantFrom("x", "é", "€", "😀", "\"", "\n", "\u0001").chain((c) =>
      FastCheck.integer({ min: 1, max: 60_000 }).map((n) => c.repeat(n))
    )
  )
  const json = FastCheck.letrec((tie) => ({
    value: FastCheck.oneof(
      { depthSize: "small" },
      bigString,
      FastCheck.integer(),
      FastCheck.constant(null),
      FastCheck.array(tie("value"), { maxLength: 6 }),
      FastCheck.dictionary(FastCheck.string({ maxLength: 8 }), tie("value"), { maxKeys: 6 })
    )
  })).value
  const events = FastCheck.array(
    FastCheck.record({ name: FastCheck.string({ minLength: 1, maxLength: 20 }), attributes: FastCheck.dictionary(FastCheck.string({ maxLength: 6 }), json, { maxKeys: 4 }) }),
    { maxLength: 30 }
  ).map((list) => list.map((e) => ({ ...e, at })))

  it("every step fits, and ids, seq, name, layer, status and the leash summary are kept whole", () => {
    let over = 0
    FastCheck.assert(
      FastCheck.property(json, json, events, bigString, FastCheck.boolean(), (input, output, evs, message, review) => {
        const leash = { leashId: globalThis.crypto.randomUUID(), actionName: "a.b", decision: "approved", approved: true, reason: "fine" } as const
        const step = stepRecord({
          input,
          output,
          events: evs,
          status: "error",
          error: { type: "E", message: message.repeat(5) },
          ...(review ? { layer: "review", leash } : {})
        })
        const bytes = recordBytes(step, STEP)
        if (bytes > limit) over++
        const fitted = bytes > limit ? fitRecord(step, true, bytes, (r) => recordBytes(r, STEP)) : step
        const sent = JSON.parse(encodeRecord(fitted, STEP) as string)
        expect(Wire.jsonBytes(sent)).toBeLessThanOrEqual(limit)
        expect(sent).toMatchObject({ id: step.id, trail_id: step.trailId, seq: step.seq, name: step.name, layer: step.layer, status: "error" })
        if (review) expect(sent.leash).toEqual({ leash_id: leash.leashId, action_name: "a.b", decision: "approved", approved: true, reason: "fine" })
        if (bytes <= limit) expect(fitted).toBe(step)
        else expect(JSON.stringify(sent)).toContain(marker)
      }),
      { numRuns: 60 }
    )
    // the generator makes records over the limit often enough to test the cut
    expect(over).toBeGreaterThan(5)
  })

  it("every trail fits, its ids, agent, trigger and status kept", () => {
    let over = 0
    FastCheck.assert(
      FastCheck.property(json, json, events, FastCheck.dictionary(FastCheck.string({ maxLength: 6 }), bigString, { maxKeys: 8 }), (payload, output, evs, tags) => {
        const trail = trailRecord({ payload, output, events: evs, tags })
        const bytes = recordBytes(trail, TRAIL)
        if (bytes > limit) over++
        const fitted = bytes > limit ? fitRecord(trail, false, bytes, (r) => recordBytes(r, TRAIL)) : trail
        const sent = JSON.parse(encodeRecord(fitted, TRAIL) as string)
        expect(Wire.jsonBytes(sent)).toBeLessThanOrEqual(limit)
        expect(sent).toMatchObject({ id: trail.id, agent: trail.agent, trigger: trail.trigger, status: trail.status })
        for (const v of Object.values(sent.tags ?? {})) expect(typeof v).toBe("string")
      }),
      { numRuns: 60 }
    )
    // the generator makes records over the limit often enough to test the cut
    expect(over).toBeGreaterThan(5)
  })
})
