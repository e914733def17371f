/**
 * The hand-written ingest codec against the contract's schemas: on generated records and on
 * records broken one field at a time, `decodeBatch` accepts exactly what
 * `Schema.decodeUnknown(Wire.IngestBatch)` accepts and answers an equal value, and
 * `encodeStep`/`encodeTrail` answer the JSON text `Schema.encodeSync` does.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Util from "node:util"
import { decodeBatch, encodeStep, encodeTrail } from "../src/IngestCodec.js"
import { reviewStep, stepRecord, trailRecord, uuid } from "./helpers.js"

const schemaDecode = Schema.decodeUnknownEither(Wire.IngestBatch, { errors: "all", onExcessProperty: "ignore" })

/** The JSON a client would send for `value` (what the server's `JSON.parse` answers). */
const asJson = (value: unknown): unknown => {
  const text = JSON.stringify(value)
  return text === undefined ? undefined : JSON.parse(text)
}

/** Asserts that the codec and the schema agree on `input`; answers whether it was accepted. */
const agree = (input: unknown): boolean => {
  const expected = schemaDecode(input)
  const actual = decodeBatch(input)
  if (Either.isLeft(expected)) {
    if (actual !== undefined) {
      throw new Error(`the codec accepts what the schema refuses (${expected.left.message}): ${JSON.stringify(input)}`)
    }
    return false
  }
  if (actual === undefined) throw new Error(`the codec refuses what the schema accepts: ${JSON.stringify(input)}`)
  if (!Util.isDeepStrictEqual(actual, expected.right)) {
    expect(actual).toStrictEqual(expected.right)
  }
  for (const step of expected.right.steps) {
    expect(JSON.stringify(encodeStep(step))).toBe(JSON.stringify(Schema.encodeSync(Wire.StepRecord)(step)))
  }
  for (const trail of expected.right.trails) {
    expect(JSON.stringify(encodeTrail(trail))).toBe(JSON.stringify(Schema.encodeSync(Wire.TrailRecord)(trail)))
  }
  return true
}

/**
 * A date of the schema's arbitrary moved into the years the wire can carry (0000 to 9999), so
 * the record encodes (fast-check draws dates from the whole range of `Date`).
 */
const wireDate = (d: Date): Date => {
  const min = Date.parse("0000-01-01T00:00:00.000Z")
  const span = Date.parse("9999-12-31T23:59:59.999Z") - min
  return new Date(min + ((d.getTime() % span) + span) % span)
}

const withWireDates = <A extends { readonly events: ReadonlyArray<Wire.Event> }>(record: A, keys: ReadonlyArray<string>): A => {
  const out: Record<string, unknown> = { ...record, events: record.events.map((e) => ({ ...e, at: wireDate(e.at) })) }
  for (const key of keys) if (out[key] instanceof Date) out[key] = wireDate(out[key])
  return out as A
}

/** Wire records from the schemas' own arbitraries (ids of any case, any JSON, any names). */
const wireStep = Arbitrary.make(Wire.StepRecord).map((s) =>
  asJson(Schema.encodeSync(Wire.StepRecord)(withWireDates(s, ["startedAt", "endedAt"])))
)
const wireTrail = Arbitrary.make(Wire.TrailRecord).map((t) =>
  asJson(Schema.encodeSync(Wire.TrailRecord)(withWireDates(t, ["startedAt", "endedAt"])))
)

/** Values that sit on an edge of some field's rule. */
const edgeValues: ReadonlyArray<unknown> = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53,
  2 ** 53 - 1,
  1e308,
  "",
  "x",
  "a".repeat(256),
  "a".repeat(257),
  "ok",
  "running",
  "review",
  "approved",
  "rejected",
  "modified",
  "00000000-0000-0000-0000-000000000000",
  "ABCDEF01-2345-6789-ABCD-EF0123456789",
  "abcdef01-2345-6789-abcd-ef012345678",
  "abcdef01-2345-6789-abcd-ef0123456789 ",
  "2026-11-24T09:00:00.000Z",
  "2026-02-30T09:00:00.000Z",
  "2026-11-24T09:00:00Z",
  "2026-11-24T09:00:00.000+00:00",
  "0000-01-01T00:00:00.000Z",
  "9999-12-31T23:59:59.999Z",
  "+010000-01-01T00:00:00.000Z",
  "2026-11-24 09:00:00.000Z",
  "2026-11-24T25:00:00.000Z",
  "xxxxxxxxxxxxxxxxxxxxxxxx",
  [],
  [1],
  {},
  { input: 1, output: 2 },
  { input: -1, output: 2 },
  { type: "Boom", message: "no" },
  { type: "Boom" },
  { name: "e", at: "2026-11-24T09:00:00.000Z", attributes: {} },
  [{ name: "e", at: "2026-11-24T09:00:00.000Z", attributes: { a: 1 } }],
  [{ name: "e", at: "2026-11-24T09:00:00.000Z", attributes: [] }],
  [{ name: "", at: "2026-11-24T09:00:00.000Z", attributes: {} }],
  JSON.parse(`{"__proto__": {"polluted": 1}, "b": "2"}`),
  { a: "1", b: 2 },
  { a: "1", b: "2" }
]

const anyValue: FastCheck.Arbitrary<unknown> = FastCheck.oneof(
  FastCheck.constantFrom(...edgeValues),
  FastCheck.jsonValue({ maxDepth: 2 })
)

type Json = Record<string, unknown>

/** Keys a step or trail may carry, and nested paths worth breaking. */
const paths: ReadonlyArray<ReadonlyArray<string | number>> = [
  ["id"],
  ["trail_id"],
  ["parent_id"],
  ["seq"],
  ["name"],
  ["layer"],
  ["status"],
  ["started_at"],
  ["ended_at"],
  ["input"],
  ["output"],
  ["payload"],
  ["agent"],
  ["trigger"],
  ["cost_usd"],
  ["tokens"],
  ["tokens", "input"],
  ["tokens", "output"],
  ["events"],
  ["events", 0],
  ["events", 0, "name"],
  ["events", 0, "at"],
  ["events", 0, "attributes"],
  ["error"],
  ["error", "type"],
  ["error", "message"],
  ["leash"],
  ["leash", "leash_id"],
  ["leash", "action_name"],
  ["leash", "decision"],
  ["leash", "approved"],
  ["leash", "reason"],
  ["tags"],
  ["tags", "team"],
  ["extra"]
]

type Mutation =
  | { readonly op: "set"; readonly path: ReadonlyArray<string | number>; readonly value: unknown }
  | { readonly op: "delete"; readonly path: ReadonlyArray<string | number> }

const mutation: FastCheck.Arbitrary<Mutation> = FastCheck.oneof(
  FastCheck.record({ op: FastCheck.constant("set" as const), path: FastCheck.constantFrom(...paths), value: anyValue }),
  FastCheck.record({ op: FastCheck.constant("delete" as const), path: FastCheck.constantFrom(...paths) })
)

/** Applies `m` to a copy of `record` (creating the objects on the way when a set needs them). */
const mutate = (record: unknown, m: Mutation): unknown => {
  const copy = structuredClone(record) as Json
  let node: any = copy
  for (let i = 0; i < m.path.length - 1; i++) {
    const key = m.path[i]!
    if (typeof node[key] !== "object" || node[key] === null) {
      if (m.op === "delete") return copy
      node[key] = typeof m.path[i + 1] === "number" ? [] : {}
    }
    node = node[key]
  }
  const last = m.path[m.path.length - 1]!
  if (m.op === "delete") delete node[last]
  else node[last] = m.value
  return copy
}

const sampleTrail = trailRecord()
const samples: ReadonlyArray<unknown> = [
  stepRecord(sampleTrail.id, 1, "llm.call"),
  { ...stepRecord(sampleTrail.id, 2, "crm.lookup"), tokens: { input: 5, output: 7 }, cost_usd: 0.01 },
  {
    ...stepRecord(sampleTrail.id, 3, "send"),
    status: "error",
    error: { type: "Boom", message: "it broke" },
    events: [{ name: "retry", at: "2026-11-24T09:00:01.000Z", attributes: { attempt: 2 } }]
  },
  reviewStep(sampleTrail.id, 4, "stripe.charge", "approved"),
  reviewStep(sampleTrail.id, 5, "stripe.charge", "rejected")
].map(asJson)
const sampleTrails: ReadonlyArray<unknown> = [
  sampleTrail,
  trailRecord({ status: "ok", ended_at: "2026-11-24T09:05:00.000Z", cost_usd: 1, tokens: { input: 1, output: 2 } }),
  trailRecord({ tags: { team: "growth" } })
].map(asJson)

describe("IngestCodec", () => {
  it("agrees with the schema on the records the SDK sends", () => {
    expect(agree({ trails: sampleTrails, steps: samples })).toBe(true)
    expect(agree({ trails: [], steps: [] })).toBe(true)
  })

  it("agrees with the schema on generated records", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(wireTrail, { maxLength: 3 }),
        FastCheck.array(wireStep, { maxLength: 3 }),
        (trails, steps) => {
          agree({ trails, steps })
        }
      ),
      { numRuns: 400 }
    )
  })

  it("agrees with the schema on every edge value in every field", () => {
    let accepted = 0
    let refused = 0
    for (const path of paths) {
      for (const m of [{ op: "delete" as const, path }, ...edgeValues.map((value) => ({ op: "set" as const, path, value }))]) {
        for (const step of samples) {
          if (agree({ trails: [], steps: [mutate(step, m)] })) accepted++
          else refused++
        }
        for (const trail of sampleTrails) {
          if (agree({ trails: [mutate(trail, m)], steps: [] })) accepted++
          else refused++
        }
      }
    }
    expect(accepted).toBeGreaterThan(1000)
    expect(refused).toBeGreaterThan(1000)
  })

  it("agrees with the schema on records broken at random", () => {
    let accepted = 0
    let refused = 0
    FastCheck.assert(
      FastCheck.property(
        FastCheck.constantFrom(...samples),
        FastCheck.constantFrom(...sampleTrails),
        FastCheck.array(mutation, { minLength: 1, maxLength: 2 }),
        FastCheck.boolean(),
        (step, trail, mutations, onStep) => {
          const broken = mutations.reduce((r, m) => mutate(r, m), onStep ? step : trail)
          if (agree(onStep ? { trails: [trail], steps: [broken] } : { trails: [broken], steps: [step] })) accepted++
          else refused++
        }
      ),
      { numRuns: 3000 }
    )
    // both sides of the rule were exercised
    expect(accepted).toBeGreaterThan(100)
    expect(refused).toBeGreaterThan(100)
  })

  it("agrees with the schema on generated records broken one field at a time", () => {
    FastCheck.assert(
      FastCheck.property(wireStep, wireTrail, mutation, (step, trail, m) => {
        agree({ trails: [trail], steps: [mutate(step, m)] })
        agree({ trails: [mutate(trail, m)], steps: [step] })
      }),
      { numRuns: 1000 }
    )
  })

  it("agrees with the schema on bodies that are not batches", () => {
    FastCheck.assert(
      FastCheck.property(anyValue, anyValue, (a, b) => {
        agree(a)
        agree({ trails: a, steps: b })
        agree({ trails: [], steps: [a] })
        agree({ trails: [a], steps: [] })
      }),
      { numRuns: 1000 }
    )
    agree({ trails: [], steps: [uuid()] })
    agree([])
  })
})
