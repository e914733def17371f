/**
 * The exporter's hand-written encoders against the contract's schemas. For any record, valid or
 * not, the fast path either writes exactly `JSON.stringify(Schema.encodeSync(schema)(record))`
 * or leaves the record to the schema, so it cannot drift from the contract: a field added to a
 * schema shows up here as a record the fast path gets wrong. Records the SDK builds always take
 * the fast path, a compacted step renders to the same JSON and byte count, and a lane turns a
 * record that does not encode into a tombstone with the schema's message.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schema, TestClock } from "effect"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import { Bark, collar, Leash, Sniff, Trail, Wire } from "houndsight"
import { FakeGate, HoundsightTest } from "houndsight/test"
import {
  encodeRecord,
  type Kind,
  readStep,
  renderStep,
  SchemaRejection,
  schemaJson,
  STEP,
  StepParts,
  TRAIL,
  trailJson
} from "../../src/internal/encode.js"
import { assemble, bodyOf, kindAt } from "../../src/internal/exporter/batch.js"
import { Lane } from "../../src/internal/lane.js"
import { utf8Length } from "../../src/schema/Common.js"

const minTime = Date.parse("0000-01-01T00:00:00.000Z")
const maxTime = Date.parse("9999-12-31T23:59:59.999Z")

/** What the contract says the wire JSON is. */
const viaSchema = (record: unknown, kind: Kind): string | undefined => {
  const result = schemaJson(record, kind)
  return result instanceof SchemaRejection ? undefined : result
}

/** What the fast path alone writes; undefined when it leaves the record to the schema (or throws). */
const viaFastPath = (record: unknown, kind: Kind): string | undefined => {
  try {
    if (kind === TRAIL) return trailJson(record)
    const parts = new StepParts()
    if (!readStep(record, parts)) return undefined
    const json = renderStep(parts)
    expect(parts.bytes).toBe(Buffer.byteLength(json, "utf8"))
    return json
  } catch {
    return undefined
  }
}

/** The fast path agrees with the schema; returns whether it took the record. */
const agrees = (record: unknown, kind: Kind): boolean => {
  const expected = viaSchema(record, kind)
  const fast = viaFastPath(record, kind)
  if (fast !== undefined) expect(fast).toBe(expected)
  const encoded = encodeRecord(record, kind)
  if (expected === undefined) expect(encoded).toBeInstanceOf(SchemaRejection)
  else expect(encoded).toBe(expected)
  return fast !== undefined
}

// ---------------------------------------------------------------------------------------------
// generators
// ---------------------------------------------------------------------------------------------

const fc = FastCheck

/** Any value a user may put in input, output, payload or attributes. */
const anyValue = fc.anything({
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withBoxedValues: true,
  withTypedArray: true,
  withSparseArray: true,
  withObjectString: true,
  maxDepth: 3
})
/** Strings of any UTF-16 units: quotes, backslashes, control characters, lone surrogates. */
const anyText = fc.oneof(fc.string(), fc.string16bits(), fc.fullUnicodeString(), fc.constantFrom("\"", "\\", "\u2028", "\ud800", "é", ""))
const name = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), anyText.filter((s) => s.length >= 1 && s.length <= 256), fc.constant("x".repeat(256)))
const uuid = fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()))
const inRange = fc.oneof(
  fc.date({ min: new Date(minTime), max: new Date(maxTime), noInvalidDate: true }),
  fc.constantFrom(new Date(minTime), new Date(maxTime), new Date(0), new Date(-1), new Date(1_790_000_000_123))
)
/** Attributes as the SDK makes them (an own `__proto__` key is left to the schema: see the edge cases). */
const attributes = fc.oneof(
  fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("toJSON", "0", "1")).filter((k) => k !== "__proto__"), anyValue, {
    maxKeys: 4
  }),
  fc.constant({})
)
const event = fc.record({ name, at: inRange, attributes })
const tokens = fc.record({ input: fc.nat(), output: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)) })
const cost = fc.oneof(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e-300, 1e21))
const decision = fc.constantFrom("approved", "modified", "rejected", "blocked", "timeout", "error", "async")
const leash = fc.record({
  leashId: uuid,
  actionName: name,
  decision,
  reason: anyText
}).map((l) => ({ ...l, approved: l.decision === "approved" || l.decision === "modified" }))

/** Step records the schema accepts (dates within four-digit years). */
const validStep = fc.record({
  id: uuid,
  trailId: uuid,
  parentId: fc.oneof(fc.constant(null), uuid),
  seq: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  name,
  layer: fc.constantFrom("plan", "retrieve", "reason", "execute", "review", "respond"),
  status: fc.constantFrom("ok", "error", "interrupted"),
  startedAt: inRange,
  endedAt: inRange,
  input: anyValue,
  output: anyValue,
  costUsd: cost,
  tokens,
  events: fc.array(event, { maxLength: 3 }),
  error: fc.record({ type: anyText, message: anyText }),
  leash
}, {
  requiredKeys: ["id", "trailId", "parentId", "seq", "name", "layer", "status", "startedAt", "endedAt", "events"]
})

/** Trail records the schema accepts. */
const validTrail = fc.record({
  id: uuid,
  agent: name,
  trigger: name,
  payload: anyValue,
  output: anyValue,
  status: fc.constantFrom("running", "ok", "error", "interrupted"),
  startedAt: inRange,
  endedAt: inRange,
  costUsd: cost,
  tokens,
  events: fc.array(event, { maxLength: 3 }),
  tags: fc.dictionary(fc.string().filter((k) => k !== "__proto__"), anyText, { maxKeys: 4 })
}, { requiredKeys: ["id", "agent", "trigger", "payload", "status", "startedAt", "events"] })

/** UUIDs with one character changed: a letter past f, a misplaced dash, a space, a non-ASCII digit. */
const nearUuid = fc.tuple(fc.uuid(), fc.nat(35), fc.constantFrom("g", "G", "-", " ", "٣", "0", "F")).map(
  ([u, i, c]) => u.slice(0, i) + c + u.slice(i + 1)
)

/** Values that break a field: wrong types, out of bounds, odd objects. */
const badValue = fc.oneof(
  anyValue,
  nearUuid,
  fc.uuid().map((u) => `${u}0`),
  fc.constantFrom(
    undefined,
    null,
    "",
    "x".repeat(257),
    0,
    -1,
    1.5,
    Number.NaN,
    Infinity,
    2 ** 53,
    new Date(Number.NaN),
    new Date(maxTime + 1),
    new Date(minTime - 1),
    [],
    [1, 2],
    Object.create(null),
    new (class Custom {
      readonly id = "not a record"
    })(),
    10n,
    { input: -1, output: 1 },
    { type: 1, message: "m" },
    { leashId: "x", actionName: "a", decision: "approved", approved: false, reason: "" }
  )
)

/** Changes a valid record: a field set to a bad value, removed, or the record reshaped. */
const mutate = <A extends Record<string, unknown>>(valid: FastCheck.Arbitrary<A>, keys: ReadonlyArray<string>) =>
  fc.tuple(valid, fc.constantFrom(...keys, "extra"), badValue, fc.nat(4)).map(([record, key, bad, how]): unknown => {
    switch (how) {
      case 0: {
        const { [key]: _, ...rest } = record
        return rest
      }
      case 1:
        return Object.assign(Object.create(null), record, { [key]: bad })
      case 2: {
        class Record {}
        return Object.assign(new Record(), record)
      }
      default:
        return { ...record, [key]: bad }
    }
  })

const stepKeys = Object.keys(Wire.StepRecord.fields)
const trailKeys = Object.keys(Wire.TrailRecord.fields)

/**
 * A record of the schema's own arbitrary made one the fast path takes: every date moved into
 * four-digit years, and no own `__proto__` key in attributes.
 */
const takeable = (record: any): any => {
  const span = maxTime - minTime
  const clamp = (d: Date) => new Date(minTime + (((d.getTime() - minTime) % span) + span) % span)
  const withoutProto = (o: object) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== "__proto__"))
  const out = { ...record, startedAt: clamp(record.startedAt) }
  if (record.endedAt !== undefined) out.endedAt = clamp(record.endedAt)
  if (record.tags !== undefined) out.tags = withoutProto(record.tags)
  out.events = record.events.map((e: any) => ({ ...e, at: clamp(e.at), attributes: withoutProto(e.attributes) }))
  return out
}

const runs = { numRuns: Number(process.env["HOUNDSIGHT_PROPERTY_RUNS"] ?? 1000) }

describe("the fast path writes what the schema writes", () => {
  it("for valid step records, and takes every one", () => {
    fc.assert(fc.property(validStep, (step) => {
      expect(agrees(step, STEP)).toBe(true)
    }), runs)
  })

  it("for valid trail records, and takes every one", () => {
    fc.assert(fc.property(validTrail, (trail) => {
      expect(agrees(trail, TRAIL)).toBe(true)
    }), runs)
  })

  it("for step records with a broken, missing or extra field, or of another shape", () => {
    fc.assert(fc.property(mutate(validStep, stepKeys), (record) => void agrees(record, STEP)), runs)
  })

  it("for trail records with a broken, missing or extra field, or of another shape", () => {
    fc.assert(fc.property(mutate(validTrail, trailKeys), (record) => void agrees(record, TRAIL)), runs)
  })

  it("for anything the schemas' own arbitraries generate (so a new schema field is covered)", () => {
    fc.assert(fc.property(Arbitrary.make(Wire.StepRecord), (step) => {
      void agrees(step, STEP)
      expect(agrees(takeable(step), STEP)).toBe(true)
    }), runs)
    fc.assert(fc.property(Arbitrary.make(Wire.TrailRecord), (trail) => {
      void agrees(trail, TRAIL)
      expect(agrees(takeable(trail), TRAIL)).toBe(true)
    }), runs)
  })

  it("for anything at all, and never throws", () => {
    fc.assert(fc.property(badValue, (value) => {
      void agrees(value, STEP)
      void agrees(value, TRAIL)
    }), runs)
  })

  it("at the edges: escapes, bounds, dates, JSON oddities", () => {
    const base = {
      id: "0b7e2a36-6c55-4d2c-9d8f-1f9a4f6f3b10",
      trailId: "6f1d8d8e-2f0b-4b9b-8a53-1f4d2a0c9e77",
      parentId: null,
      seq: 1,
      name: "step",
      layer: "execute",
      status: "ok",
      startedAt: new Date("2026-11-24T09:00:00.000Z"),
      endedAt: new Date("2026-11-24T09:00:00.001Z"),
      events: []
    }
    const taken = [
      { ...base, name: "say \"hi\"\\\n\u0000\u2028é😀\ud800" },
      { ...base, name: "x".repeat(256), seq: Number.MAX_SAFE_INTEGER },
      { ...base, startedAt: new Date(minTime), endedAt: new Date(maxTime) },
      { ...base, input: { toJSON: () => "custom" }, output: () => 1 },
      { ...base, input: undefined, output: new Map([[1, 2]]), costUsd: -0 },
      { ...base, events: [{ name: "e", at: new Date(0), attributes: { toJSON: () => [1] } }] },
      { ...base, events: [{ name: "e", at: new Date(0), attributes: Object.create(null) }] },
      { ...base, id: base.id.toUpperCase(), extra: "ignored" }
    ]
    for (const record of taken) expect(agrees(record, STEP)).toBe(true)
    const left = [
      { ...base, name: "x".repeat(257) },
      { ...base, seq: 0 },
      { ...base, startedAt: new Date(maxTime + 1) },
      { ...base, startedAt: new Date(minTime - 1) },
      { ...base, input: 1n },
      { ...base, events: [{ name: "e", at: new Date(0), attributes: JSON.parse("{\"__proto__\": {\"a\": 1}}") }] },
      { ...base, events: [{ name: "e", at: new Date(0), attributes: [1, 2] }] },
      { ...base, events: [{ name: "e", at: new Date(0), attributes: new Date(0) }] },
      { ...base, startedAt: new (class extends Date {})(0) },
      { ...base, leash: { leashId: base.id, actionName: "a", decision: "rejected", approved: true, reason: "" } },
      Object.assign(Object.create({ inherited: true }), base)
    ]
    for (const record of left) expect(agrees(record, STEP)).toBe(false)
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic
    expect(encodeRecord({ ...base, input: cyclic }, STEP)).toBeInstanceOf(SchemaRejection)
    const trail = {
      id: base.id,
      agent: "agent",
      trigger: "cron",
      payload: {},
      status: "running",
      startedAt: base.startedAt,
      events: []
    }
    expect(agrees(trail, TRAIL)).toBe(true)
    expect(agrees({ ...trail, tags: { a: "b", "é\"": "\n" } }, TRAIL)).toBe(true)
    expect(agrees({ ...trail, payload: undefined }, TRAIL)).toBe(true)
    expect(agrees({ ...trail, tags: { a: 1 } }, TRAIL)).toBe(false)
  })
})

describe("records the SDK builds", () => {
  it.effect("take the fast path, whatever users put in them", () =>
    Effect.gen(function*() {
      const Hit = Bark.define("cache_hit", Schema.Struct({ key: Schema.String }))
      const lookup = collar("lookup", { layer: "retrieve" }, (id: string) => Effect.succeed({ id, at: new Date(0) }))
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          yield* Sniff.run("plan \"quoted\" é", { layer: "plan", input: { big: 10n, when: new Date(5), err: new Error("x") } }, Effect.gen(function*() {
            yield* Sniff.cost(0.25)
            yield* Sniff.tokens({ input: 10, output: 20 })
            yield* Sniff.event("note", { map: new Map([["k", 1]]), set: new Set([1]) })
            yield* Hit({ key: "k" })
            yield* lookup("cus_1")
            return "x".repeat(40_000)
          }))
          yield* Sniff.run("fails", { layer: "execute" }, Effect.fail(new Error("boom"))).pipe(Effect.ignore)
          yield* Sniff.run("sleeps", { layer: "reason" }, Effect.sleep("1 hour")).pipe(
            Effect.timeoutOption("1 second")
          )
          for (const amountUsd of [5, 50_000]) {
            yield* Leash.request({
              actionName: "stripe.charge",
              actionSummary: `Charge $${amountUsd}`,
              riskSignals: { amountUsd },
              payload: { amountUsd, note: "\u2028 \"x\"" }
            })
          }
          yield* Trail.setOutput({ done: true })
        }).pipe(Trail.run({ trigger: "test", payload: { user: "u" }, tags: { team: "sales" } }))
      )
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      const trails = yield* HoundsightTest.trails
      const steps = yield* HoundsightTest.steps
      expect(steps.length).toBeGreaterThanOrEqual(6)
      for (const step of steps) expect(agrees(step, STEP)).toBe(true)
      for (const trail of trails) expect(agrees(trail, TRAIL)).toBe(true)
    }).pipe(Effect.provide(HoundsightTest.layer({ gate: FakeGate.approveAll }))))
})

describe("a lane", () => {
  const valid = () => FastCheck.sample(validStep, 1)[0]!

  it("keeps compacted records in order and renders each as encodeRecord does", () => {
    fc.assert(fc.property(fc.array(fc.oneof(validStep, validTrail, mutate(validStep, stepKeys)), { maxLength: 150 }), (records) => {
      const lane = new Lane(100)
      const accepted: Array<[unknown, Kind]> = []
      for (const record of records) {
        const kind: Kind = typeof record === "object" && record !== null && "agent" in record ? TRAIL : STEP
        if (lane.push(record, kind)) accepted.push([record, kind])
      }
      expect(lane.size).toBe(Math.min(100, records.length))
      const invalid: Array<string> = []
      const parts = new StepParts()
      // compacting in budgets gives the same as compacting at once
      while (lane.compact(7, parts, (_, message) => invalid.push(message)) > 0) {
        // next budget
      }
      const expected = accepted.map(([record, kind]) => encodeRecord(record, kind))
      expect(invalid).toEqual(expected.filter((e) => e instanceof SchemaRejection).map((e) => (e as SchemaRejection).message))
      expect(lane.live).toBe(expected.filter((e) => typeof e === "string").length)
      const out: Array<string> = []
      while (lane.ready()) {
        const json = lane.headJson(parts)
        expect(lane.headBytes()).toBe(utf8Length(json))
        out.push(json)
        lane.shift()
      }
      expect(out).toEqual(expected.filter((e) => typeof e === "string"))
      expect(lane.size).toBe(0)
      expect(lane.taken).toBe(lane.pushed)
    }), { numRuns: 200 })
  })

  it("is bounded, grows as it fills, and wraps around", () => {
    const lane = new Lane(300)
    const parts = new StepParts()
    const ids: Array<string> = []
    for (let round = 0; round < 5; round++) {
      while (lane.push(valid(), STEP)) {
        // fill it
      }
      expect(lane.size).toBe(300)
      lane.compact(Number.MAX_SAFE_INTEGER, parts, () => {})
      for (let i = 0; i < 170; i++) {
        expect(lane.ready()).toBe(true)
        ids.push(JSON.parse(lane.headJson(parts)).id)
        lane.shift()
      }
    }
    expect(lane.pushed).toBe(300 + 4 * 170)
    expect(new Set(ids).size).toBe(ids.length)
    expect(lane.clear()).toBe(130)
    expect(lane.taken).toBe(lane.pushed)
  })
})

describe("a batch", () => {
  const utf8 = new TextDecoder()

  it("is its records' JSON in order, the audit lane first, trails before steps, each record found where its starts say", () => {
    fc.assert(fc.property(fc.array(fc.oneof(validStep, validTrail, mutate(validStep, stepKeys)), { maxLength: 120 }), fc.integer({ min: 1, max: 70 }), (records, maxRecords) => {
      const audit = new Lane(200)
      const ordinary = new Lane(200)
      const reference = [new Lane(200), new Lane(200)] as const
      for (const record of records) {
        const kind: Kind = typeof record === "object" && record !== null && "agent" in record ? TRAIL : STEP
        const lane = kind === TRAIL ? 0 : 1
        ;[audit, ordinary][lane]!.push(record, kind)
        reference[lane].push(record, kind)
      }
      const parts = new StepParts()
      for (const lane of [audit, ordinary, ...reference]) lane.compact(Number.MAX_SAFE_INTEGER, parts, () => {})
      // what the batch should hold: the audit lane first, then the ordinary one
      const expected: Array<[string, Kind]> = []
      for (const lane of reference) {
        while (lane.ready()) {
          expected.push([lane.headJson(parts), lane.headKind()])
          lane.shift()
        }
      }
      while (expected.length > 0) {
        const batch = assemble(audit, ordinary, parts, maxRecords, 1024 * 1024)
        const taken = expected.splice(0, maxRecords)
        expect(batch.count).toBe(taken.length)
        const trails = taken.filter(([, kind]) => kind === TRAIL).map(([json]) => json)
        const steps = taken.filter(([, kind]) => kind === STEP).map(([json]) => json)
        expect(utf8.decode(batch.body)).toBe(`{"trails":[${trails.join(",")}],"steps":[${steps.join(",")}]}`)
        for (let from = 0; from < taken.length; from++) {
          const to = Math.min(taken.length, from + 1 + (from % 3))
          const run = taken.slice(from, to)
          expect(JSON.parse(utf8.decode(bodyOf(batch, from, to)))).toEqual({
            trails: run.filter(([, kind]) => kind === TRAIL).map(([json]) => JSON.parse(json)),
            steps: run.filter(([, kind]) => kind === STEP).map(([json]) => JSON.parse(json))
          })
          expect(kindAt(batch, from)).toBe(taken[from]![1])
        }
      }
      expect(audit.live + ordinary.live).toBe(0)
    }), { numRuns: 200 })
  })
})
