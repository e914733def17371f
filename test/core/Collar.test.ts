import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Data, Effect, Exit } from "effect"
import { collar, Sniff, Trail } from "houndsight"
import { recording } from "./helpers.js"

class NotFound extends Data.TaggedError("NotFound")<{ readonly message: string }> {}

const search = collar("search_docs", { layer: "retrieve" }, (query: string, limit: number) =>
  query === "missing"
    ? Effect.fail(new NotFound({ message: `no docs for ${query}` }))
    : Effect.succeed([`${query}#1`, `${query}#2`].slice(0, limit)))

const inTrail = <A, E, R>(self: Effect.Effect<A, E, R>) => Trail.run({ trigger: "test", payload: {} }, self)

describe("collar", () => {
  it("keeps argument, success and error types and adds the trail to the requirements", () => {
    expectTypeOf(search).parameters.toEqualTypeOf<[string, number]>()
    expectTypeOf(search).returns.toEqualTypeOf<Effect.Effect<Array<string>, NotFound, Trail.Trail>>()
  })

  it.effect("records every call as a sniff with the arguments as input and the result as output", () =>
    Effect.gen(function*() {
      const { result, steps } = yield* recording(inTrail(Effect.all([search("q2", 1), search("q3", 2)])))
      expect(result).toStrictEqual(Exit.succeed([["q2#1"], ["q3#1", "q3#2"]]))
      expect(steps.map((s) => [s.name, s.layer, s.input, s.output, s.status])).toStrictEqual([
        ["search_docs", "retrieve", ["q2", 1], ["q2#1"], "ok"],
        ["search_docs", "retrieve", ["q3", 2], ["q3#1", "q3#2"], "ok"]
      ])
    }))

  it.effect("records a failure as the step's error and passes it on unchanged", () =>
    Effect.gen(function*() {
      const { result, steps } = yield* recording(inTrail(search("missing", 1).pipe(Effect.flip)))
      expect(Exit.isSuccess(result) && result.value).toBeInstanceOf(NotFound)
      expect(steps[0]).toMatchObject({ status: "error", error: { type: "NotFound", message: "no docs for missing" } })
      expect(steps[0]!.output).toBeUndefined()
    }))

  it.effect("nests under the sniff that calls it", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(inTrail(Sniff.run("plan", { layer: "plan" }, search("q", 1))))
      const plan = steps.find((s) => s.name === "plan")!
      expect(steps.find((s) => s.name === "search_docs")!.parentId).toBe(plan.id)
    }))

  it.effect("records a function that throws instead of returning an Effect as a defect", () =>
    Effect.gen(function*() {
      const broken = collar("broken", { layer: "execute" }, (_: number): Effect.Effect<number> => {
        throw new TypeError("not an effect")
      })
      const { result, steps } = yield* recording(inTrail(broken(1)))
      expect(Exit.isFailure(result)).toBe(true)
      expect(steps[0]).toMatchObject({ status: "error", error: { type: "TypeError", message: "not an effect" } })
    }))
})
