/**
 * The test layer: the in-memory Recorder and a fake gate in one, so an agent's trails, steps and
 * leashes run without a server, under `@effect/vitest` and `TestClock` (a 600-second leash
 * timeout takes no real time). Read back what was recorded and what the gate saw.
 *
 * @example
 * ```ts
 * import { it, expect } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { Leash, Trail } from "houndsight"
 * import { FakeGate, HoundsightTest } from "houndsight/test"
 *
 * it.effect("charges only when approved", () =>
 *   Effect.gen(function*() {
 *     const decision = yield* Leash.request({
 *       actionName: "stripe.charge",
 *       actionSummary: "Charge cus_42 $120",
 *       riskSignals: { amountUsd: 120 },
 *       payload: { customer: "cus_42", amountUsd: 120 }
 *     }).pipe(Trail.run({ trigger: "test", payload: {} }))
 *     expect(decision.decision).toBe("rejected")
 *     const [request] = yield* HoundsightTest.requests
 *     expect(request?.riskSignals).toStrictEqual({ amount_usd: 120 })
 *   }).pipe(Effect.provide(HoundsightTest.layer({ gate: FakeGate.rejectAll }))))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Flag } from "../schema/Flag.js"
import type { LeashRequest } from "../schema/LeashRequest.js"
import type { StepRecord } from "../schema/StepRecord.js"
import type { TrailRecord } from "../schema/TrailRecord.js"
import { type AuditRules, flags as auditFlags } from "../schema/Audit.js"
import type { Leash } from "../services/Leash.js"
import type { Recorder } from "../services/Recorder.js"
import * as FakeGate from "./FakeGate.js"
import * as Memory from "./Memory.js"

/**
 * Options of the test layer: the fake gate, and the in-memory Recorder's options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Memory.MemoryOptions {
  /** The fake gate that answers leashes, such as `FakeGate.approveAll`. */
  readonly gate: FakeGate.FakeGate
}

/**
 * What the test layer provides.
 *
 * @since 0.1.0
 * @category models
 */
export type Services = Recorder | Memory.MemoryStore | Leash | FakeGate.FakeGateLog

/**
 * The in-memory Recorder plus a fake gate.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Services> =>
  Layer.merge(Memory.layer(options), FakeGate.layer(options.gate))

/**
 * Every leash request the fake gate saw, in order (snake_case risk signals, payload as sent).
 *
 * @since 0.1.0
 * @category accessors
 */
export const requests: Effect.Effect<ReadonlyArray<LeashRequest>, never, FakeGate.FakeGateLog> = Effect.flatMap(
  FakeGate.FakeGateLog,
  (log) => log.requests
)

/**
 * The ids of the leashes the agent asked the fake gate to cancel.
 *
 * @since 0.1.0
 * @category accessors
 */
export const cancelled: Effect.Effect<ReadonlyArray<string>, never, FakeGate.FakeGateLog> = Effect.flatMap(
  FakeGate.FakeGateLog,
  (log) => log.cancelled
)

/**
 * The latest record of every trail.
 *
 * @since 0.1.0
 * @category accessors
 */
export const trails: Effect.Effect<ReadonlyArray<TrailRecord>, never, Memory.MemoryStore> = Effect.flatMap(
  Memory.MemoryStore,
  (store) => store.trails
)

/**
 * Every step record, sorted by trail (in the order trails opened) and `seq`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const steps: Effect.Effect<ReadonlyArray<StepRecord>, never, Memory.MemoryStore> = Effect.flatMap(
  Memory.MemoryStore,
  (store) =>
    Effect.zipWith(store.trails, store.steps, (trails, steps) => {
      const order = new Map(trails.map((t, i) => [t.id, i]))
      const rank = (s: StepRecord) => order.get(s.trailId) ?? Number.MAX_SAFE_INTEGER
      return steps.slice().sort((a, b) => rank(a) - rank(b) || a.seq - b.seq)
    })
)

/**
 * The `review` steps (one per leash call), sorted like `steps`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const reviewSteps: Effect.Effect<ReadonlyArray<StepRecord>, never, Memory.MemoryStore> = Effect.map(
  steps,
  (all) => all.filter((s) => s.layer === "review")
)

/**
 * The bypass flags (`Audit.flags`) of everything recorded so far.
 *
 * @since 0.1.0
 * @category accessors
 */
export const flags = (rules: AuditRules): Effect.Effect<ReadonlyArray<Flag>, never, Memory.MemoryStore> =>
  Effect.map(steps, (all) => auditFlags(all, rules))
