/**
 * What the types promise: everything that records needs the current trail in `R`, so using it
 * outside `Trail.run` is a type error. `npm run check` fails if an `@ts-expect-error` below stops
 * being an error.
 */
import { describe, expectTypeOf, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Bark, collar, Memory, type Recorder, Sniff, Trail } from "houndsight"

describe("types", () => {
  it("requires a trail for sniffs, barks and collars, and Trail.run removes it", () => {
    const step = Sniff.run("s", { layer: "plan" }, Effect.succeed(1))
    expectTypeOf(step).toEqualTypeOf<Effect.Effect<number, never, Trail.Trail>>()
    expectTypeOf(Bark.emit("e")).toEqualTypeOf<Effect.Effect<void, never, Trail.Trail>>()
    expectTypeOf(Bark.define("e", Schema.Struct({ k: Schema.String }))({ k: "v" })).toEqualTypeOf<
      Effect.Effect<void, never, Trail.Trail>
    >()
    expectTypeOf(collar("c", { layer: "plan" }, () => Effect.void)()).toEqualTypeOf<Effect.Effect<void, never, Trail.Trail>>()
    const run = Trail.run({ trigger: "t", payload: {} }, step)
    expectTypeOf(run).toEqualTypeOf<Effect.Effect<number, never, Recorder.Recorder>>()

    // A program that sniffs outside a trail cannot be run: its requirement is never provided.
    // (Only type-checked, never called.)
    const outsideATrail = () => {
      // @ts-expect-error Trail is missing from the context
      Effect.runPromise(step.pipe(Effect.provide(Memory.layer())))
      // @ts-expect-error Sniff.cost needs a trail too
      Effect.runPromise(Sniff.cost(1))
    }
    expectTypeOf(outsideATrail).toBeFunction()
  })
})
