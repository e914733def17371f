/**
 * Shared helpers of the core tests: run a program on the in-memory recorder and read back
 * what was recorded.
 */
import { Effect } from "effect"
import { Memory } from "houndsight"
import type { Wire } from "houndsight"

/** What a program recorded, with its result. */
export interface Recorded<A> {
  readonly result: A
  readonly trails: ReadonlyArray<Wire.TrailRecord>
  readonly trailRecords: ReadonlyArray<Wire.TrailRecord>
  readonly steps: ReadonlyArray<Wire.StepRecord>
}

/** Runs `self` with a fresh in-memory recorder and returns its exit and the records. */
export const recording = <A, E>(
  self: Effect.Effect<A, E, Memory.MemoryStore | import("houndsight").Recorder.Recorder>,
  options: Memory.MemoryOptions = {}
) =>
  Effect.gen(function*() {
    const result = yield* Effect.exit(self)
    const store = yield* Memory.MemoryStore
    return {
      result,
      trails: yield* store.trails,
      trailRecords: yield* store.trailRecords,
      steps: [...(yield* store.steps)].sort((a, b) => a.seq - b.seq)
    }
  }).pipe(Effect.provide(Memory.layer(options)))

/** The one step with a name. */
export const stepNamed = (steps: ReadonlyArray<Wire.StepRecord>, name: string): Wire.StepRecord => {
  const found = steps.filter((s) => s.name === name)
  if (found.length !== 1) throw new Error(`expected one step named ${name}, found ${found.length}`)
  return found[0]!
}
