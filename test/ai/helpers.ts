/**
 * Runs an `@effect/ai` agent in a trail with the recording layer over the real OpenAI client
 * (pointed at the fake Responses API) and the test layer, and hands back its exit and its steps.
 */
import type { LanguageModel } from "@effect/ai"
import { Effect, type Exit, Layer } from "effect"
import { Trail, type Wire } from "houndsight"
import * as HoundsightAi from "houndsight/ai"
import { FakeGate, HoundsightTest } from "houndsight/test"
import type { Leash } from "../../src/services/Leash.js"
import { openAiModel } from "./fakeOpenAi.js"

export interface Ran<A, E> {
  readonly exit: Exit.Exit<A, E>
  readonly steps: ReadonlyArray<Wire.StepRecord>
  readonly trails: ReadonlyArray<Wire.TrailRecord>
}

type Needs = LanguageModel.LanguageModel | Trail.Trail | Leash

/** A model layer for `run`: the recording layer over the real OpenAI client and the fake. */
export const recorded = (url: string, options?: HoundsightAi.Options) =>
  HoundsightAi.layer(options).pipe(Layer.provide(openAiModel(url)))

export const run = <A, E, R extends Needs>(
  model: Layer.Layer<LanguageModel.LanguageModel>,
  agent: Effect.Effect<A, E, R>,
  options: { readonly gate?: FakeGate.FakeGate; readonly redact?: { readonly step?: (record: Wire.StepRecord) => Wire.StepRecord } } = {}
): Effect.Effect<Ran<A, E>, never, Exclude<R, Needs>> =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Trail.run({ trigger: "test", payload: {} }, agent))
    const steps = yield* HoundsightTest.steps
    const trails = yield* HoundsightTest.trails
    return { exit, steps, trails }
  }).pipe(
    Effect.provide(Layer.merge(model, HoundsightTest.layer({ gate: options.gate ?? FakeGate.approveAll, redact: options.redact })))
  ) as any

/** The step named `name` (the only one, or the n-th). */
export const step = (steps: ReadonlyArray<Wire.StepRecord>, name: string, n = 0): Wire.StepRecord => {
  const found = steps.filter((s) => s.name === name)
  if (found[n] === undefined) {
    throw new Error(`no step ${name} #${n}; steps: ${steps.map((s) => `${s.seq}:${s.name}`).join(", ")}`)
  }
  return found[n]!
}
