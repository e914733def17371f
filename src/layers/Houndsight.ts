/**
 * The live layer: records go to a Houndsight server through the exporter (DESIGN.md section 4),
 * and `Leash.request` asks the same server's gate (`HttpGate`, section 3) with the same key.
 *
 * `layer(options)` takes the settings in code; `layerConfig()` reads them from the environment
 * through `Config` (`HOUNDSIGHT_API_KEY`, `HOUNDSIGHT_AGENT`, `HOUNDSIGHT_ENDPOINT`,
 * `HOUNDSIGHT_ENABLED`). Both check every setting first: a missing key, a key that is not an
 * agent key, or a malformed endpoint fails layer construction with a `HoundsightConfigError`
 * that names the setting and what to do. The exporter runs in the layer's Scope: closing the
 * Scope flushes it (see docs/exporter.md for each way of running Effect).
 *
 * HTTP goes through `FetchHttpClient` by default, so the SDK runs on Node, Bun, Deno and edge
 * runtimes; pass `httpClient` to use another `HttpClient` layer.
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect, Redacted } from "effect"
 * import { Houndsight, Sniff, Trail } from "houndsight"
 *
 * const agent = Sniff.run("plan", { layer: "plan" }, Effect.succeed("ok")).pipe(
 *   Trail.run({ trigger: "cron", payload: {} })
 * )
 *
 * // settings in code
 * const live = Houndsight.layer({
 *   apiKey: Redacted.make("sk-hnd-..."),
 *   agent: "sales-pipeline",
 *   endpoint: "http://127.0.0.1:7411"
 * })
 *
 * // or from HOUNDSIGHT_API_KEY, HOUNDSIGHT_AGENT, HOUNDSIGHT_ENDPOINT, HOUNDSIGHT_ENABLED
 * NodeRuntime.runMain(agent.pipe(Effect.provide(Houndsight.layerConfig())))
 * ```
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as internal from "../internal/exporter.js"
import type { ExporterSettings } from "../internal/exporter/model.js"
import {
  type Checked,
  checkEndpoint,
  checkKey,
  defaultEndpoint as localEndpoint,
  invalid,
  missing,
  quote
} from "../internal/settings.js"
import { maxIngestBytes } from "../schema/Ingest.js"
import { defaults, Exporter, type ExporterShape, type ExporterStats } from "../services/Exporter.js"
import { HoundsightConfigError } from "../services/HoundsightError.js"
import { Recorder, type RecorderShape, type Redact, withRedact } from "../services/Recorder.js"
import { Leash } from "../services/Leash.js"
import * as HttpGate from "./HttpGate.js"

/**
 * The local server's default address.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultEndpoint: string = localEndpoint

/**
 * Settings of the live layer. Only `apiKey` and `agent` are required; the exporter options
 * default to the numbers of DESIGN.md section 4 (`Exporter.defaults`) and exist so tests and
 * unusual deployments can tune them.
 *
 * @since 0.1.0
 * @category models
 */
export interface HoundsightOptions {
  /** The agent key (`sk-hnd-…`). A reviewer key (`rv-hnd-…`) is refused: an agent may not approve itself. */
  readonly apiKey: Redacted.Redacted<string>
  /** The agent's name, written on every trail (1 to 256 characters). */
  readonly agent: string
  /** The server's base URL; default `http://127.0.0.1:7411`. A path prefix is kept. */
  readonly endpoint?: string | URL | undefined
  /**
   * `false` turns tracing into a no-op (the exporter does not run); default `true`. The key is
   * still required and checked: the gate still runs.
   */
  readonly enabled?: boolean | undefined
  /** Applied to every record before it is queued. */
  readonly redact?: Redact | undefined
  /** The HTTP client; default `FetchHttpClient.layer`. */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
  /** Ordinary queue bound in records; default 2,048. */
  readonly maxQueue?: number | undefined
  /** Audit lane bound in records (trails and review steps); default 10,000. */
  readonly maxAuditQueue?: number | undefined
  /** Most records per batch; default 512. */
  readonly maxBatchRecords?: number | undefined
  /** Most bytes per batch body; default 1 MiB, at most 5 MiB (the server's limit). */
  readonly maxBatchBytes?: number | undefined
  /** Longest a record waits before its batch is sent; default 1 second. */
  readonly flushInterval?: Duration.DurationInput | undefined
  /** Longest one request may take; default 10 seconds. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** First back-off step after a retryable failure; default 500 ms (doubling, full jitter). */
  readonly retryBaseDelay?: Duration.DurationInput | undefined
  /** Largest back-off step; default 30 seconds. */
  readonly retryMaxDelay?: Duration.DurationInput | undefined
  /** How long closing the Scope may take to flush; default 5 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/**
 * Settings after `validate`: every default filled in, the endpoint normalised (no trailing
 * slash), durations in milliseconds. The key stays `Redacted`. This is what the live services
 * (the exporter, and the gate) are built from.
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidatedOptions extends Omit<ExporterSettings, "httpClient"> {
  readonly agent: string
  readonly enabled: boolean
  readonly redact: Redact | undefined
  readonly httpClient: Layer.Layer<HttpClient.HttpClient>
}

/** Names the settings in errors: option names for `layer`, variable names where `layerConfig` read them. */
type Names = Readonly<Record<"apiKey" | "agent" | "endpoint" | "enabled", string>>

const optionNames: Names = { apiKey: "apiKey", agent: "agent", endpoint: "endpoint", enabled: "enabled" }

const checkAgent = (value: unknown, name: string): Checked<string> => {
  const help = `name the agent that records, like "sales-pipeline" (1 to 256 characters): trails are grouped by it`
  if (value === undefined || value === null || value === "") return missing(name, `${name} is not set: ${help}.`)
  if (typeof value !== "string") return invalid(name, `${name} must be a string: ${help}.`)
  if (value.length > 256) return invalid(name, `${name} is ${value.length} characters long: ${help}.`)
  return Either.right(value)
}

const checkEnabled = (value: unknown, name: string): Checked<boolean> => {
  if (value === undefined || value === null) return Either.right(true)
  if (typeof value === "boolean") return Either.right(value)
  return invalid(name, `${name} must be true or false.`)
}

const checkRedact = (value: unknown): Checked<Redact | undefined> => {
  if (value === undefined || value === null) return Either.right(undefined)
  const hook = value as Redact
  if (
    typeof value !== "object" ||
    (hook.trail !== undefined && typeof hook.trail !== "function") ||
    (hook.step !== undefined && typeof hook.step !== "function")
  ) {
    return invalid("redact", "redact must be an object { trail?, step? } of functions that take a record and return it.")
  }
  return Either.right(hook)
}

const checkHttpClient = (value: unknown): Checked<Layer.Layer<HttpClient.HttpClient>> => {
  if (value === undefined || value === null) return Either.right(FetchHttpClient.layer)
  if (!Layer.isLayer(value)) {
    return invalid("httpClient", "httpClient must be a Layer providing HttpClient, such as FetchHttpClient.layer.")
  }
  return Either.right(value as Layer.Layer<HttpClient.HttpClient>)
}

const checkCount = (value: unknown, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): Checked<number> => {
  if (value === undefined || value === null) return Either.right(fallback)
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    return invalid(
      name,
      `${name} must be a whole number from 1 to ${max.toLocaleString("en-US")} (got ${
        quote(String(value))
      }); leave it out for the default, ${fallback.toLocaleString("en-US")}.`
    )
  }
  return Either.right(value)
}

const checkDuration = (value: unknown, name: string, fallback: number): Checked<number> => {
  if (value === undefined || value === null) return Either.right(fallback)
  const decoded = Duration.decodeUnknown(value)
  if (Option.isNone(decoded) || !Duration.isFinite(decoded.value) || Duration.toMillis(decoded.value) <= 0) {
    return invalid(
      name,
      `${name} must be a finite, positive duration such as "500 millis" or Duration.seconds(2) (got ${
        quote(String(value))
      }); leave it out for the default, ${fallback} ms.`
    )
  }
  return Either.right(Duration.toMillis(decoded.value))
}

/** Checks every setting in a fixed order; the first wrong one is the error. */
const validateWith = (options: HoundsightOptions, names: Names): Checked<ValidatedOptions> =>
  Either.gen(function*() {
    if (options === null || typeof options !== "object") {
      return yield* invalid("options", "Houndsight.layer needs options { apiKey, agent, endpoint? }.")
    }
    const o = options as Partial<HoundsightOptions>
    const retryBaseDelayMillis = yield* checkDuration(o.retryBaseDelay, "retryBaseDelay", defaults.retryBaseDelayMillis)
    const retryMaxDelayMillis = yield* checkDuration(o.retryMaxDelay, "retryMaxDelay", defaults.retryMaxDelayMillis)
    if (retryMaxDelayMillis < retryBaseDelayMillis) {
      return yield* invalid(
        "retryMaxDelay",
        `retryMaxDelay (${retryMaxDelayMillis} ms) must not be shorter than retryBaseDelay (${retryBaseDelayMillis} ms).`
      )
    }
    // one property at a time, in this order: the first wrong setting is the one reported
    const validated: ValidatedOptions = {
      apiKey: yield* checkKey(o.apiKey, names.apiKey),
      agent: yield* checkAgent(o.agent, names.agent),
      endpoint: yield* checkEndpoint(o.endpoint, names.endpoint),
      enabled: yield* checkEnabled(o.enabled, names.enabled),
      redact: yield* checkRedact(o.redact),
      httpClient: yield* checkHttpClient(o.httpClient),
      maxQueue: yield* checkCount(o.maxQueue, "maxQueue", defaults.maxQueue),
      maxAuditQueue: yield* checkCount(o.maxAuditQueue, "maxAuditQueue", defaults.maxAuditQueue),
      maxBatchRecords: yield* checkCount(o.maxBatchRecords, "maxBatchRecords", defaults.maxBatchRecords),
      maxBatchBytes: yield* checkCount(o.maxBatchBytes, "maxBatchBytes", defaults.maxBatchBytes, maxIngestBytes),
      flushIntervalMillis: yield* checkDuration(o.flushInterval, "flushInterval", defaults.flushIntervalMillis),
      requestTimeoutMillis: yield* checkDuration(o.requestTimeout, "requestTimeout", defaults.requestTimeoutMillis),
      retryBaseDelayMillis,
      retryMaxDelayMillis,
      shutdownTimeoutMillis: yield* checkDuration(o.shutdownTimeout, "shutdownTimeout", defaults.shutdownTimeoutMillis)
    }
    return validated
  })

const validateEffect = (options: HoundsightOptions, names: Names): Effect.Effect<ValidatedOptions, HoundsightConfigError> =>
  Effect.suspend(() => validateWith(options, names))

/**
 * Checks the settings of the live layer and fills in the defaults. Fails with a
 * `HoundsightConfigError` naming the first wrong setting and what to do; the key is never part
 * of the message. Other live services that talk to the server (the gate) build on the result.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Houndsight } from "houndsight"
 *
 * const endpoint = Houndsight.validate({ apiKey: Redacted.make("sk-hnd-abc"), agent: "sales-pipeline" }).pipe(
 *   Effect.map((validated) => validated.endpoint) // "http://127.0.0.1:7411"
 * )
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (options: HoundsightOptions): Effect.Effect<ValidatedOptions, HoundsightConfigError> =>
  validateEffect(options, optionNames)

/** Reads `HOUNDSIGHT_ENABLED`: true/false, 1/0, yes/no, on/off. */
const parseEnabled = (text: string): Checked<boolean> => {
  switch (text.trim().toLowerCase()) {
    case "true":
    case "1":
    case "yes":
    case "on":
      return Either.right(true)
    case "false":
    case "0":
    case "no":
    case "off":
      return Either.right(false)
    default:
      return invalid("HOUNDSIGHT_ENABLED", `HOUNDSIGHT_ENABLED must be true or false (got ${quote(text)}).`)
  }
}

/** A variable read as text; an empty one counts as unset. */
const text = (variable: string): Config.Config<Option.Option<string>> =>
  Config.string(variable).pipe(Config.option, Config.map(Option.filter((s) => s.trim().length > 0)))

/** The variables `layerConfig` reads, each with `Config` (an empty one counts as unset). */
const variables = {
  apiKey: Config.redacted("HOUNDSIGHT_API_KEY").pipe(
    Config.option,
    Config.map(Option.filter((key) => Redacted.value(key).length > 0))
  ),
  agent: text("HOUNDSIGHT_AGENT"),
  endpoint: text("HOUNDSIGHT_ENDPOINT"),
  enabled: text("HOUNDSIGHT_ENABLED").pipe(Config.map(Option.map(parseEnabled)))
}

/**
 * Reads the settings from `Config` (the environment by default) and validates them. What the code
 * says explicitly wins: a setting given in `options` is used as given, and the environment fills
 * in only what `options` leaves out (as the SDKs of OpenTelemetry, Langfuse and LangSmith do).
 * `options` also carries what the environment cannot (`redact`, `httpClient`, the exporter
 * options). An empty variable counts as unset.
 *
 * | variable | setting |
 * |---|---|
 * | `HOUNDSIGHT_API_KEY` | `apiKey` (read with `Config.redacted`) |
 * | `HOUNDSIGHT_AGENT` | `agent` |
 * | `HOUNDSIGHT_ENDPOINT` | `endpoint` |
 * | `HOUNDSIGHT_ENABLED` | `enabled`: true/false, 1/0, yes/no, on/off |
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Houndsight } from "houndsight"
 *
 * const endpoint = Houndsight.validateConfig({ agent: "sales-pipeline" }).pipe(Effect.map((v) => v.endpoint))
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const validateConfig = (
  options: Partial<HoundsightOptions> = {}
): Effect.Effect<ValidatedOptions, HoundsightConfigError> =>
  Effect.gen(function*() {
    const read = <A>(name: string, config: Config.Config<A>) =>
      Effect.mapError(
        config,
        (error) =>
          new HoundsightConfigError({
            setting: name,
            reason: "Invalid",
            message: `${name} could not be read: ${String(error).replace(/^\(?Invalid data at [^)]*\)?:?\s*/, "")}`
          })
      )
    const given = <A>(value: A | null | undefined): value is A => value !== undefined && value !== null
    // code first: a variable is only read for a setting the code leaves out
    const fromEnv = <A>(code: unknown, variable: string, config: Config.Config<Option.Option<A>>) =>
      given(code) ? Effect.succeed(Option.none<A>()) : read(variable, config)
    const apiKey = yield* fromEnv(options.apiKey, "HOUNDSIGHT_API_KEY", variables.apiKey)
    const agent = yield* fromEnv(options.agent, "HOUNDSIGHT_AGENT", variables.agent)
    const endpoint = yield* fromEnv(options.endpoint, "HOUNDSIGHT_ENDPOINT", variables.endpoint)
    const enabledRead = yield* fromEnv(options.enabled, "HOUNDSIGHT_ENABLED", variables.enabled)
    const enabled = Option.isSome(enabledRead) ? yield* enabledRead.value : options.enabled
    // errors name where the value came from: the option when the code gave it, else the variable
    const names: Names = {
      apiKey: given(options.apiKey) ? "apiKey" : "HOUNDSIGHT_API_KEY",
      agent: given(options.agent) ? "agent" : "HOUNDSIGHT_AGENT",
      endpoint: given(options.endpoint) ? "endpoint" : "HOUNDSIGHT_ENDPOINT",
      enabled: given(options.enabled) ? "enabled" : "HOUNDSIGHT_ENABLED"
    }
    const merged = {
      ...options,
      apiKey: given(options.apiKey) ? options.apiKey : Option.getOrUndefined(apiKey),
      agent: given(options.agent) ? options.agent : Option.getOrUndefined(agent),
      endpoint: given(options.endpoint) ? options.endpoint : Option.getOrUndefined(endpoint),
      enabled
    } as HoundsightOptions
    return yield* validateEffect(merged, names)
  })

const zeroStats: ExporterStats = {
  offered: 0,
  exported: 0,
  retried: 0,
  dropped: 0,
  droppedByReason: {
    queue_full: 0,
    audit_lost: 0,
    invalid: 0,
    too_large: 0,
    rejected: 0,
    shutdown: 0,
    unconfirmed: 0
  },
  rejectedByStatus: {},
  auditLost: 0,
  queued: 0,
  inFlight: 0,
  closed: false
}

/** The exporter of a disabled layer: nothing is ever offered, so there is nothing to send. */
const idleExporter: ExporterShape = {
  flush: Effect.void,
  stats: Effect.succeed(zeroStats),
  unsafeStats: () => zeroStats
}

const ignore = (): void => {}

/**
 * The Recorder and the Exporter from validated settings, given an `HttpClient`. With
 * `enabled: false` the Recorder is a no-op and no exporter runs.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerExporter = (
  validated: ValidatedOptions
): Layer.Layer<Recorder | Exporter, never, HttpClient.HttpClient> =>
  Layer.scopedContext(Effect.gen(function*() {
    if (!validated.enabled) {
      const recorder: RecorderShape = {
        agent: validated.agent,
        endpoint: validated.endpoint,
        enabled: false,
        offerTrail: ignore,
        offerStep: ignore
      }
      return Context.make(Recorder, recorder).pipe(Context.add(Exporter, idleExporter))
    }
    const { exporter, offers } = yield* internal.make(validated)
    const recorder = withRedact({
      agent: validated.agent,
      endpoint: validated.endpoint,
      enabled: true,
      offerTrail: offers.offerTrail,
      offerStep: offers.offerStep
    }, validated.redact)
    return Context.make(Recorder, recorder).pipe(Context.add(Exporter, exporter))
  }))

/**
 * Every live service built from validated settings, sharing one `HttpClient`. This is the one
 * place to add another service that talks to the server (the gate): merge its layer here.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerValidated = (
  validated: ValidatedOptions
): Layer.Layer<Recorder | Exporter | Leash, never, HttpClient.HttpClient> =>
  Layer.merge(layerExporter(validated), Layer.effect(Leash, HttpGate.makeChecked(validated.endpoint, validated.apiKey)))

const fromValidated = (
  validated: Effect.Effect<ValidatedOptions, HoundsightConfigError>
): Layer.Layer<Recorder | Exporter | Leash, HoundsightConfigError> =>
  Layer.unwrapEffect(Effect.map(validated, (v) => layerValidated(v).pipe(Layer.provide(v.httpClient))))

/**
 * The live layer from settings in code. Fails to build with a `HoundsightConfigError` when a
 * setting is missing or wrong.
 *
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Houndsight, Trail } from "houndsight"
 *
 * const program = Trail.run({ trigger: "cron", payload: {} }, Effect.void).pipe(
 *   Effect.provide(Houndsight.layer({ apiKey: Redacted.make("sk-hnd-..."), agent: "nightly-report" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: HoundsightOptions): Layer.Layer<Recorder | Exporter | Leash, HoundsightConfigError> =>
  fromValidated(validate(options))

/**
 * The live layer from the environment (see `validateConfig` for the variables and how `options`
 * fill in what is unset).
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Houndsight, Trail } from "houndsight"
 *
 * Trail.run({ trigger: "cron", payload: {} }, Effect.void).pipe(
 *   Effect.provide(Houndsight.layerConfig()),
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Partial<HoundsightOptions> = {}
): Layer.Layer<Recorder | Exporter | Leash, HoundsightConfigError> => fromValidated(validateConfig(options))

export {
  /**
   * The error of a missing or wrong setting (see `HoundsightError.ts`).
   *
   * @since 0.1.0
   * @category errors
   */
  HoundsightConfigError
} from "../services/HoundsightError.js"
