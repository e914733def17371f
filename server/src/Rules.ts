/**
 * The rules file the server runs: the floor rules checked when a leash is created, the approval
 * rules checked after them (how many distinct reviewers a leash needs: two-person approval), and
 * the sensitive-action list the bypass audit uses. Validated with the SDK's own schema
 * (`Wire.Rules.RulesFile`), so the server and the SDK's `Audit.flags` read the same file the same
 * way. Without `--rules` there are no floor rules and no sensitive actions.
 *
 * ```json
 * { "sensitive": ["stripe.*", "email.send"],
 *   "rules": [ { "action": "stripe.*", "reason": "charges over $10,000 need finance",
 *                "when": [ { "signal": "amount_usd", "op": ">", "value": 10000 } ] } ],
 *   "approvals": [ { "action": "stripe.*", "approvals": 2,
 *                    "when": [ { "signal": "amount_usd", "op": ">", "value": 1000 } ] } ] }
 * ```
 *
 * A floor rule that fires blocks at once (a block wins); otherwise the largest `approvals` of the
 * approval rules that fire is fixed on the leash when it is created (a later rules file does not
 * change a leash already stored).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Fs from "node:fs/promises"
import { chainMessage, StartupError } from "./ServerError.js"

/**
 * The rules in force.
 *
 * @since 0.1.0
 * @category tags
 */
export class Rules extends Context.Tag("houndsight-server/Rules")<Rules, {
  readonly file: Wire.Rules.RulesFile
  /** Where the rules came from, for the startup banner (`undefined`: no rules file). */
  readonly path: string | undefined
}>() {}

/**
 * No floor rules, no sensitive actions.
 *
 * @since 0.1.0
 * @category constants
 */
export const empty: Wire.Rules.RulesFile = { sensitive: [], rules: [] }

const decode = Schema.decodeUnknownEither(Wire.Rules.RulesFile)

/**
 * Parses and validates the text of a rules file. The error message names the file and the
 * field that is wrong.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (path: string, text: string): Either.Either<Wire.Rules.RulesFile, StartupError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    return Either.left(
      new StartupError({ reason: "Rules", message: `rules file ${path} is not JSON (${chainMessage(cause)})` })
    )
  }
  return Either.mapLeft(decode(json), (error) =>
    new StartupError({
      reason: "Rules",
      message: `rules file ${path} does not match the rules schema: ${
        Wire.ApiError.describeIssues(ParseResult.ArrayFormatter.formatErrorSync(error))
      }`
    }))
}

/**
 * Reads and validates a rules file.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (path: string): Effect.Effect<Wire.Rules.RulesFile, StartupError> =>
  Effect.tryPromise({
    try: () => Fs.readFile(path, "utf8"),
    catch: (cause) =>
      new StartupError({
        reason: "Rules",
        message: (cause as { code?: unknown }).code === "ENOENT"
          ? `rules file ${path} does not exist: check the --rules path`
          : `cannot read rules file ${path} (${chainMessage(cause)})`
      })
  }).pipe(Effect.flatMap((text) => parse(path, text)))

/**
 * The rules from a file, or no rules when `path` is `undefined`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (path: string | undefined): Layer.Layer<Rules, StartupError> =>
  Layer.effect(
    Rules,
    path === undefined ? Effect.succeed({ file: empty, path }) : Effect.map(load(path), (file) => ({ file, path }))
  )

/**
 * Rules given in code (tests).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (file: Wire.Rules.RulesFile): Layer.Layer<Rules> =>
  Layer.succeed(Rules, { file, path: undefined })
