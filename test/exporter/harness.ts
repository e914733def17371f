/**
 * Helpers of the exporter tests: build the live layer against a collector in a Scope the test
 * closes itself, make valid records, and capture log lines.
 */
import { Context, Effect, Exit, FiberRef, HashSet, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import type { Wire } from "houndsight"
import { Exporter, Houndsight, Recorder } from "houndsight"
import type { Collector } from "./collector.js"

/** The test agent key. */
export const apiKey = "sk-hnd-test-0123456789abcdef"

/** A running live layer: its Recorder, its Exporter, and how to close its Scope. */
export interface Live {
  readonly recorder: Recorder.RecorderShape
  readonly exporter: Exporter.ExporterShape
  readonly close: Effect.Effect<void>
}

/** Builds `Houndsight.layer` against the collector, in a Scope closed by `close`. */
export const start = (
  collector: Collector,
  options: Partial<Houndsight.HoundsightOptions> = {}
): Effect.Effect<Live, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    // a failing test still closes the layer (closing twice is harmless)
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const context = yield* Layer.buildWithScope(
      Houndsight.layer({ apiKey: Redacted.make(apiKey), agent: "test-agent", endpoint: collector.url, ...options }),
      scope
    ).pipe(Effect.orDie)
    return {
      recorder: Context.get(context, Recorder.Recorder),
      exporter: Context.get(context, Exporter.Exporter),
      close: Scope.close(scope, Exit.void)
    }
  })

let counter = 0
const uuid = (): string => globalThis.crypto.randomUUID()
const at = new Date("2026-11-24T09:00:00.000Z")

/** A valid trail record. */
export const trailRecord = (overrides: Partial<Wire.TrailRecord> = {}): Wire.TrailRecord => ({
  id: uuid(),
  agent: "test-agent",
  trigger: "test",
  payload: { n: ++counter },
  status: "running",
  startedAt: at,
  events: [],
  ...overrides
})

/** A valid step record (an `execute` step unless told otherwise). */
export const stepRecord = (overrides: Partial<Wire.StepRecord> = {}): Wire.StepRecord => ({
  id: uuid(),
  trailId: uuid(),
  parentId: null,
  seq: ++counter,
  name: "step",
  layer: "execute",
  status: "ok",
  startedAt: at,
  endedAt: at,
  events: [],
  ...overrides
})

/** A valid review step, as a leash records it. */
export const reviewStep = (overrides: Partial<Wire.StepRecord> = {}): Wire.StepRecord =>
  stepRecord({ name: "stripe.charge", layer: "review", ...overrides })

/** One captured log line. */
export interface Line {
  readonly level: string
  readonly message: string
}

/** A logger that keeps every line (all levels), and the lines it kept. */
export const captureLogs = (): { readonly lines: Array<Line>; readonly provide: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> } => {
  const lines: Array<Line> = []
  const logger = Logger.make(({ logLevel, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    lines.push({ level: logLevel.label, message: parts.map((p) => (typeof p === "string" ? p : String(p))).join(" ") })
  })
  return {
    lines,
    provide: (self) =>
      self.pipe(
        Effect.locally(FiberRef.currentLoggers, HashSet.make<Array<Logger.Logger<unknown, any>>>(logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
  }
}

/** Ids of records, in order. */
export const ids = (records: ReadonlyArray<{ readonly id?: unknown }>): Array<string> => records.map((r) => String(r.id))

/** `offered = exported + dropped + queued + inFlight`. */
export const balanced = (stats: Exporter.ExporterStats): boolean =>
  stats.offered === stats.exported + stats.dropped + stats.queued + stats.inFlight
