/**
 * The real SDK's live layer (`Houndsight.layer`: exporter and HTTP gate) built in a Scope the
 * test closes itself, with the SDK's log lines captured instead of printed, so a test can close
 * the layer (which flushes the exporter) at the moment it chooses and read what the SDK said.
 *
 * ```ts
 * const sdk = yield* Sdk.live({ endpoint: proxy.url, apiKey: server.agentKey })
 * yield* agent.pipe(Effect.provide(sdk.context))
 * yield* sdk.close                    // flushes, bounded by shutdownTimeout
 * sdk.exporter.unsafeStats()
 * sdk.logs().filter((l) => l.level === "ERROR")
 * ```
 */
import { Context, Effect, Exit, Layer, Logger, Redacted, Scope } from "effect"
import { Exporter, Houndsight, type Leash, type Recorder } from "houndsight"

/**
 * How late a leash may return after its deadline in these tests: scheduling only (timers and the
 * event loop of a loaded CI machine running other test files beside this one). The SDK itself
 * ends at the deadline: measured on an idle machine a call returns 0 to 30 ms after it, and a
 * few hundred ms under heavy load.
 */
export const deadlineSlackMillis = 1_000

/** One line the SDK logged. */
export interface LogLine {
  /** `DEBUG`, `INFO`, `WARN`, `ERROR` … */
  readonly level: string
  readonly message: string
  readonly at: number
}

/** A live layer under test. */
export interface Live {
  readonly context: Context.Context<Recorder.Recorder | Exporter.Exporter | Leash.Leash>
  readonly exporter: Exporter.ExporterShape
  /** Closes the layer's Scope (the exporter flushes, within its shutdownTimeout). */
  readonly close: Effect.Effect<void>
  /** Every line logged so far by the layer's fibers and by effects run with `context`. */
  readonly logs: () => ReadonlyArray<LogLine>
}

/** The layer's options; `apiKey` as a plain string, `agent` defaults to "reliability". */
export type Options = Omit<Houndsight.HoundsightOptions, "apiKey" | "agent"> & {
  readonly apiKey: string
  readonly agent?: string
}

/** A logger that keeps the lines in `lines`. */
export const capturingLogger = (lines: Array<LogLine>): Logger.Logger<unknown, void> =>
  Logger.make(({ logLevel, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    lines.push({ level: logLevel.label, message: text, at: Date.now() })
  })

/** Builds `Houndsight.layer(options)` in a scope of its own (closed with the test's scope at the latest). */
export const live = (options: Options): Effect.Effect<Live, Houndsight.HoundsightConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const lines: Array<LogLine> = []
    const logger = Logger.replace(Logger.defaultLogger, capturingLogger(lines))
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const { agent, apiKey, ...rest } = options
    const context = yield* Layer.buildWithScope(
      Houndsight.layer({ ...rest, apiKey: Redacted.make(apiKey), agent: agent ?? "reliability" }),
      scope
    ).pipe(Effect.provide(logger))
    return {
      context,
      exporter: Context.get(context, Exporter.Exporter),
      close: Scope.close(scope, Exit.void).pipe(Effect.provide(logger)),
      logs: () => lines
    }
  })

/** Runs `effect` with the live layer's services and its log capture. */
export const provide = (sdk: Live) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(sdk.context),
    Effect.provide(Logger.replace(Logger.defaultLogger, capturingLogger(sdk.logs() as Array<LogLine>)))
  )
