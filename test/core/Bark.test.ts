import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Ref, Schema } from "effect"
import { Bark, Sniff, Trail } from "houndsight"
import { recording } from "./helpers.js"

const CacheHit = Bark.define("cache_hit", Schema.Struct({ key: Schema.String, ageMs: Schema.Number }))
const inTrail = <A, E, R>(self: Effect.Effect<A, E, R>) => Trail.run({ trigger: "test", payload: {} }, self)

describe("Bark", () => {
  it.effect("attaches a typed bark to the current sniff", () =>
    Effect.gen(function*() {
      const { steps, trails } = yield* recording(
        inTrail(Sniff.run("lookup", { layer: "retrieve" }, CacheHit({ key: "forecast:Q2", ageMs: 30 })))
      )
      expect(steps[0]!.events).toHaveLength(1)
      expect(steps[0]!.events[0]).toMatchObject({ name: "cache_hit", attributes: { key: "forecast:Q2", ageMs: 30 } })
      expect(steps[0]!.events[0]!.at).toBeInstanceOf(Date)
      expect(trails[0]!.events).toHaveLength(0)
    }))

  it.effect("attaches to the trail when no sniff is open", () =>
    Effect.gen(function*() {
      const { steps, trails } = yield* recording(
        inTrail(
          Effect.zipRight(Sniff.run("lookup", { layer: "retrieve" }, Effect.void), Bark.emit("cache_miss", { key: "k" }))
        )
      )
      expect(steps[0]!.events).toHaveLength(0)
      expect(trails[0]!.events.map((e) => [e.name, e.attributes])).toStrictEqual([["cache_miss", { key: "k" }]])
    }))

  it.effect("encodes attributes with the bark's schema", () =>
    Effect.gen(function*() {
      const Charged = Bark.define("charged", Schema.Struct({ at: Schema.DateFromString, cents: Schema.BigInt }))
      const { trails } = yield* recording(inTrail(Charged({ at: new Date(0), cents: 1999n })))
      expect(trails[0]!.events[0]!.attributes).toStrictEqual({ at: "1970-01-01T00:00:00.000Z", cents: "1999" })
    }))

  it.effect("records attributes that escape the schema as given, and warns naming the field", () =>
    Effect.gen(function*() {
      const messages = yield* Ref.make<Array<string>>([])
      const logger = Logger.make(({ message }) => {
        Effect.runSync(Ref.update(messages, (m) => [...m, String(Array.isArray(message) ? message[0] : message)]))
      })
      const { trails } = yield* recording(inTrail(CacheHit({ key: 42 } as never))).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      expect(trails[0]!.events[0]!.attributes).toStrictEqual({ key: 42 })
      const warning = (yield* Ref.get(messages)).join("\n")
      expect(warning).toContain("cache_hit")
      expect(warning).toContain("key")
      expect(warning).toContain("ageMs")
    }))

  it("refuses an empty name at definition time", () => {
    expect(() => Bark.define("", Schema.Struct({}))).toThrow(/non-empty string/)
  })
})
