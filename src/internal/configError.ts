/**
 * The typed error of a missing or wrong setting, defined below the services so the settings
 * checks (`internal/settings.ts`) and the public module (`services/HoundsightError.ts`, which
 * re-exports it) share one class without an import running back up.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/**
 * What was wrong with a setting: it was not given (`Missing`) or it was given but cannot be used
 * (`Invalid`).
 *
 * @since 0.1.0
 * @category models
 */
export const ConfigErrorReason = Schema.Literal("Missing", "Invalid")

/**
 * @since 0.1.0
 * @category models
 */
export type ConfigErrorReason = typeof ConfigErrorReason.Type

/**
 * A setting of `Houndsight.layer` / `Houndsight.layerConfig`, or of `HttpGate.layer` /
 * `HttpGate.make` (`endpoint`, `apiKey`), that is missing or wrong. `setting` is the option name
 * (`apiKey`, `endpoint` …) or, for `layerConfig`, the environment variable
 * (`HOUNDSIGHT_API_KEY` …) the value came from.
 *
 * @since 0.1.0
 * @category errors
 */
export class HoundsightConfigError extends Schema.TaggedError<HoundsightConfigError>("houndsight/HoundsightConfigError")(
  "HoundsightConfigError",
  {
    setting: Schema.String,
    reason: ConfigErrorReason,
    message: Schema.String
  }
) {}
