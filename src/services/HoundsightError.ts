/**
 * Errors of building a live layer (`Houndsight.layer`, `Houndsight.layerConfig`, or
 * `HttpGate.layer` / `HttpGate.make` alone). A setting that is missing or wrong fails layer
 * construction with one `HoundsightConfigError`, whose `setting` names the option or environment variable and
 * whose message says what to do. The API key never appears in it: a wrong key is described by
 * its kind (a reviewer key, a key of another service), never by its text.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Redacted } from "effect"
 * import { Houndsight } from "houndsight"
 *
 * const program = Layer.launch(
 *   Houndsight.layer({ apiKey: Redacted.make("rv-hnd-oops"), agent: "sales-pipeline" })
 * ).pipe(
 *   Effect.catchTag("HoundsightConfigError", (error) =>
 *     Effect.logError(`${error.setting}: ${error.message}`)
 *   )
 * )
 * ```
 *
 * @since 0.1.0
 */
export {
  /**
   * What was wrong with a setting: it was not given (`Missing`) or it was given but cannot be
   * used (`Invalid`).
   *
   * @since 0.1.0
   * @category models
   */
  ConfigErrorReason,
  /**
   * A setting of `Houndsight.layer` / `Houndsight.layerConfig`, or of `HttpGate.layer` /
   * `HttpGate.make` (`endpoint`, `apiKey`), that is missing or wrong. `setting` is the option
   * name (`apiKey`, `endpoint` …) or, for `layerConfig`, the environment variable
   * (`HOUNDSIGHT_API_KEY` …) the value came from.
   *
   * @since 0.1.0
   * @category errors
   */
  HoundsightConfigError
} from "../internal/configError.js"
