/**
 * Shared helpers of the leash tests: run a leash in a trail on the test layer, and check the
 * one review step every leash call records.
 */
import { expect } from "@effect/vitest"
import { Effect, Either, Exit, Layer, Schema } from "effect"
import type { Decision } from "houndsight"
import { Leash, Trail, Wire } from "houndsight"
import { type FakeGate, HoundsightTest, Memory } from "houndsight/test"

/** Runs `self` inside a trail. */
export const inTrail = <A, E, R>(self: Effect.Effect<A, E, R>) => Trail.run({ trigger: "test", payload: {} }, self)

/** What a leash program left behind. */
export interface Ran<A, E = unknown> {
  readonly exit: Exit.Exit<A, E>
  readonly steps: ReadonlyArray<Wire.StepRecord>
  readonly reviews: ReadonlyArray<Wire.StepRecord>
  readonly requests: ReadonlyArray<Wire.LeashRequest>
  readonly cancelled: ReadonlyArray<string>
}

/** Runs `self` in a trail with a fake gate and the in-memory recorder. */
export const withFake = <A, E>(
  gate: FakeGate.FakeGate,
  self: Effect.Effect<A, E, Trail.Trail | Leash.Leash>,
  memory: Memory.MemoryOptions = {}
): Effect.Effect<Ran<A, E>> =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(inTrail(self))
    return {
      exit,
      steps: yield* HoundsightTest.steps,
      reviews: yield* HoundsightTest.reviewSteps,
      requests: yield* HoundsightTest.requests,
      cancelled: yield* HoundsightTest.cancelled
    } satisfies Ran<A, E>
  }).pipe(Effect.provide(HoundsightTest.layer({ ...memory, gate })))

/** Runs `self` in a trail with a hand-made gate transport and the in-memory recorder. */
export const withGate = <A, E>(
  gate: Leash.Gate,
  self: Effect.Effect<A, E, Trail.Trail | Leash.Leash>,
  memory: Memory.MemoryOptions = {}
) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(inTrail(self))
    const store = yield* Memory.MemoryStore
    const steps = [...(yield* store.steps)].sort((a, b) => a.seq - b.seq)
    return { exit, steps, reviews: steps.filter((s) => s.layer === "review") }
  }).pipe(Effect.provide(Layer.merge(Memory.layer(memory), Layer.succeed(Leash.Leash, gate))))

/** Checks that a step record encodes to the wire contract (the exporter drops one that does not). */
export const expectWireValid = (step: Wire.StepRecord): void => {
  const encoded = Schema.encodeEither(Wire.StepRecord)(step)
  if (Either.isLeft(encoded)) throw new Error(`the step record does not encode: ${encoded.left.message}`)
}

/** The success value of an exit, or a test failure. */
export const value = <A>(exit: Exit.Exit<A, unknown>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected a success, got a failure: ${String(exit.cause)}`)
  return exit.value
}

/**
 * Checks the one review step of a leash call: named after the action, `review` layer, the
 * decision in wire form as output, the leash summary, and `status` (`ok` unless interrupted).
 */
export const expectOneReview = (
  reviews: ReadonlyArray<Wire.StepRecord>,
  decision: Decision.Decision<unknown>,
  options: { readonly status?: "ok" | "interrupted"; readonly modifiedPayload?: unknown } = {}
): Wire.StepRecord => {
  expect(reviews).toHaveLength(1)
  const step = reviews[0]!
  const output: Record<string, unknown> = {
    decision: decision.decision,
    approved: decision.approved,
    reason: decision.reason
  }
  if ("modifiedPayload" in options) output["modified_payload"] = options.modifiedPayload
  else if (decision.decision === "modified") output["modified_payload"] = decision.modifiedPayload
  output["leash_id"] = decision.leashId
  output["trace_link"] = decision.traceLink
  expect(step).toMatchObject({
    name: decision.actionName,
    layer: "review",
    status: options.status ?? "ok",
    leash: {
      leashId: decision.leashId,
      actionName: decision.actionName,
      decision: decision.decision,
      approved: decision.approved,
      reason: decision.reason
    }
  })
  expect(step.output).toStrictEqual(output)
  expectWireValid(step)
  return step
}
