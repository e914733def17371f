/**
 * An in-memory Recorder: records every trail and step so tests (and the demo, until a server
 * runs) can read them. Nothing leaves the process.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Memory, Sniff, Trail } from "houndsight"
 *
 * const program = Effect.gen(function*() {
 *   yield* Sniff.run("plan", { layer: "plan" }, Effect.void).pipe(Trail.run({ trigger: "test", payload: {} }))
 *   const store = yield* Memory.MemoryStore
 *   return yield* store.steps
 * }).pipe(Effect.provide(Memory.layer()))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { StepRecord } from "../schema/StepRecord.js"
import type { TrailRecord } from "../schema/TrailRecord.js"
import { Recorder, type RecorderShape, type Redact, withRedact } from "../services/Recorder.js"

/**
 * Reads what the in-memory Recorder holds.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryStoreShape {
  /** Every trail record in the order offered (a trail appears as `running`, then terminal). */
  readonly trailRecords: Effect.Effect<ReadonlyArray<TrailRecord>>
  /** The latest record of each trail, in the order trails opened. */
  readonly trails: Effect.Effect<ReadonlyArray<TrailRecord>>
  /** Every step record in the order steps ended. */
  readonly steps: Effect.Effect<ReadonlyArray<StepRecord>>
  /** The steps of one trail, sorted by `seq`. */
  readonly stepsOf: (trailId: string) => Effect.Effect<ReadonlyArray<StepRecord>>
  /** Forgets everything recorded so far. */
  readonly clear: Effect.Effect<void>
}

/**
 * The tag of the in-memory store.
 *
 * @since 0.1.0
 * @category tags
 */
export class MemoryStore extends Context.Tag("houndsight/MemoryStore")<MemoryStore, MemoryStoreShape>() {}

/**
 * Options of the in-memory layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /** Agent name on trails; default `"test-agent"`. */
  readonly agent?: string | undefined
  /** Base of dashboard links; default `http://127.0.0.1:7411`. */
  readonly endpoint?: string | undefined
  /** Applied to every record before it is stored, as the live layer does before queueing. */
  readonly redact?: Redact | undefined
  /** `false` records nothing, as `HOUNDSIGHT_ENABLED=false` does. */
  readonly enabled?: boolean | undefined
}

/**
 * Builds an in-memory Recorder and its store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: MemoryOptions = {}): { recorder: RecorderShape; store: MemoryStoreShape } => {
  let trailRecords: Array<TrailRecord> = []
  let steps: Array<StepRecord> = []
  const base: RecorderShape = {
    agent: options.agent ?? "test-agent",
    endpoint: (options.endpoint ?? "http://127.0.0.1:7411").replace(/\/+$/, ""),
    enabled: options.enabled ?? true,
    offerTrail: (record) => {
      trailRecords.push(record)
    },
    offerStep: (record) => {
      steps.push(record)
    }
  }
  const store: MemoryStoreShape = {
    trailRecords: Effect.sync(() => trailRecords.slice()),
    trails: Effect.sync(() => {
      const latest = new Map<string, TrailRecord>()
      for (const r of trailRecords) latest.set(r.id, r)
      return Array.from(latest.values())
    }),
    steps: Effect.sync(() => steps.slice()),
    stepsOf: (trailId) => Effect.sync(() => steps.filter((s) => s.trailId === trailId).sort((a, b) => a.seq - b.seq)),
    clear: Effect.sync(() => {
      trailRecords = []
      steps = []
    })
  }
  return { recorder: withRedact(base, options.redact), store }
}

/**
 * A layer providing the in-memory Recorder and its `MemoryStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: MemoryOptions = {}): Layer.Layer<Recorder | MemoryStore> =>
  Layer.effectContext(
    Effect.sync(() => {
      const { recorder, store } = make(options)
      return Context.make(Recorder, recorder).pipe(Context.add(MemoryStore, store))
    })
  )
