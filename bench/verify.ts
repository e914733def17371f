/**
 * Before timing anything, checks that the three ways of carrying the current sniff record the
 * same parent links (nested, and across `Effect.forEach` with concurrency), so the bench compares
 * designs that work. A wrong link stops the bench with a message naming the design.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { Memory, Sniff, Trail } from "../src/index.js"
import type { StepLayer } from "../src/schema/Common.js"
import { runStepContext, runStepLocally } from "./altSniff.js"

type Runner = <A, E, R>(name: string, layer: StepLayer, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, any>

const designs: ReadonlyArray<readonly [string, Runner]> = [
  ["houndsight Sniff.run", (name, layer, self) => Sniff.run(name, { layer }, self)],
  ["alt.context", runStepContext],
  ["alt.locally", runStepLocally]
]

const check = (design: string, run: Runner) =>
  Effect.gen(function*() {
    const program = run(
      "a",
      "plan",
      Effect.forEach([1, 2], (i) => run(`b${i}`, "reason", run(`c${i}`, "execute", Effect.void)), {
        concurrency: 2,
        discard: true
      })
    ).pipe(Trail.run({ trigger: "verify", payload: {} })) as Effect.Effect<void, never, Memory.MemoryStore>
    yield* program
    const store = yield* Memory.MemoryStore
    const steps = yield* store.steps
    const byName = new Map(steps.map((s) => [s.name, s]))
    const expect: ReadonlyArray<readonly [string, string | null]> = [
      ["a", null],
      ["b1", "a"],
      ["b2", "a"],
      ["c1", "b1"],
      ["c2", "b2"]
    ]
    for (const [name, parent] of expect) {
      const step = byName.get(name)
      const want = parent === null ? null : byName.get(parent)?.id
      if (step === undefined || step.parentId !== want) {
        return yield* Effect.dieMessage(
          `bench: design ${design} recorded step ${name} with parent ${step?.parentId ?? "(missing step)"}, expected ${
            parent ?? "none"
          }; fix the design before comparing it`
        )
      }
    }
  }).pipe(Effect.provide(Memory.layer()))

/**
 * Checks every design; fails with a defect naming the first wrong link.
 *
 * @since 0.1.0
 * @category verification
 */
export const verifyDesigns: Effect.Effect<void> = Effect.forEach(designs, ([name, run]) => check(name, run), {
  discard: true
})
