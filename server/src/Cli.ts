/**
 * The `houndsight-server` command: flags, environment, the startup banner, and exit codes.
 *
 * ```
 * houndsight-server [--port 7411] [--db .houndsight/houndsight.db] [--rules rules.json]
 *                   [--host 127.0.0.1] [--public-url http://127.0.0.1:7411]
 * ```
 *
 * Exit codes: 0 after Ctrl-C or SIGTERM, 1 when the server cannot start (the message names the
 * problem), 2 for a bad command line.
 *
 * @since 0.1.0
 */
import type * as Runtime from "@effect/platform/Runtime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { parseArgs } from "node:util"
import * as Database from "./Database.js"
import type * as Keys from "./Keys.js"
import * as Server from "./Server.js"
import { StartupError } from "./ServerError.js"

/**
 * The usage text.
 *
 * @since 0.1.0
 * @category constants
 */
export const usage = `Usage: houndsight-server [options]

The local Houndsight gate server: the whole wire contract v1 on an embedded SQLite database.

Options:
  --port <n>          port to listen on (default ${Server.defaultPort}; 0 picks a free port)
  --db <path>         SQLite database file (default ${Database.defaultPath}; its folder is created)
  --rules <path>      rules file: floor rules and the sensitive-action list (default: none)
  --host <address>    address to bind (default ${Server.defaultHost}, this machine only)
  --public-url <url>  base of trace links and the dashboard (default http://<host>:<port>)
  -h, --help          show this text

Environment:
  HOUNDSIGHT_AGENT_KEY     an agent key (sk-hnd-...) to accept
  HOUNDSIGHT_REVIEWER_KEY  a reviewer key (rv-hnd-...) to accept
  A role with no key in the environment uses the key stored in the database,
  generated at the first start.
`

/**
 * What the command line asks for.
 *
 * @since 0.1.0
 * @category models
 */
export type Command =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Serve"; readonly options: Server.Options }

const usageError = (message: string) =>
  new StartupError({ reason: "Usage", message: `${message}\nRun houndsight-server --help for the options.` })

const parsePort = (value: string): Effect.Effect<number, StartupError> =>
  /^\d{1,5}$/.test(value) && Number(value) <= 65535
    ? Effect.succeed(Number(value))
    : Effect.fail(usageError(`--port must be a whole number from 0 to 65535, got ${JSON.stringify(value)}`))

const parseUrl = (value: string): Effect.Effect<string, StartupError> => {
  try {
    const url = new URL(value)
    if (url.protocol === "http:" || url.protocol === "https:") return Effect.succeed(value)
  } catch {
    // answered below
  }
  return Effect.fail(usageError(`--public-url must be an http(s) URL such as http://127.0.0.1:7411, got ${JSON.stringify(value)}`))
}

const nonEmpty = (flag: string, value: string | undefined): Effect.Effect<string | undefined, StartupError> =>
  value !== undefined && value.trim() === ""
    ? Effect.fail(usageError(`${flag} needs a value`))
    : Effect.succeed(value)

/**
 * Reads the command line and the environment.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<Command, StartupError> =>
  Effect.gen(function*() {
    const parsed = yield* Effect.try({
      try: () =>
        parseArgs({
          args: [...argv],
          strict: true,
          allowPositionals: false,
          options: {
            port: { type: "string" },
            db: { type: "string" },
            rules: { type: "string" },
            host: { type: "string" },
            "public-url": { type: "string" },
            help: { type: "boolean", short: "h" }
          }
        }),
      catch: (e) => usageError(e instanceof Error ? e.message : String(e))
    })
    const v = parsed.values
    if (v.help === true) return { _tag: "Help" } as const
    const agentKey = env["HOUNDSIGHT_AGENT_KEY"]
    const reviewerKey = env["HOUNDSIGHT_REVIEWER_KEY"]
    const keys: Keys.Options = {
      ...(agentKey !== undefined && agentKey !== "" ? { agentKey: Redacted.make(agentKey) } : {}),
      ...(reviewerKey !== undefined && reviewerKey !== "" ? { reviewerKey: Redacted.make(reviewerKey) } : {})
    }
    const options: Server.Options = {
      port: v.port === undefined ? Server.defaultPort : yield* parsePort(v.port),
      host: (yield* nonEmpty("--host", v.host)) ?? Server.defaultHost,
      db: (yield* nonEmpty("--db", v.db)) ?? Database.defaultPath,
      rules: yield* nonEmpty("--rules", v.rules),
      publicUrl: v["public-url"] === undefined ? undefined : yield* parseUrl(v["public-url"]),
      keys
    }
    return { _tag: "Serve", options } as const
  })

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`

/**
 * The startup banner: where the server is, the dashboard, the database, the rules and the keys.
 *
 * @since 0.1.0
 * @category formatting
 */
export const banner = (info: Server.Info): string => {
  const rules = info.rulesPath === undefined
    ? "none (no floor rules, no sensitive actions; pass --rules)"
    : `${info.rulesPath}: ${plural(info.rules.rules.length, "floor rule")}, ${
      plural(info.rules.sensitive.length, "sensitive pattern")
    }`
  const keyLine = (k: Keys.KnownKey) => {
    const label = k.role === "agent" ? "agent key   " : "reviewer key"
    const shown = k.source === "database" || k.source === "generated"
      ? Redacted.value(k.key)
      : `from ${k.source} (${k.name})`
    const hint = k.role === "agent"
      ? "give it to your agent as HOUNDSIGHT_API_KEY"
      : "sign in to the dashboard with it, or decide with POST /v1/leashes/{id}/decision"
    return `  ${label}   ${shown}${k.source === "generated" ? "  (new)" : ""}\n                 ${hint}`
  }
  return [
    `houndsight-server is listening on ${info.url}`,
    "",
    `  dashboard      ${info.publicUrl}`,
    `  database       ${info.db}`,
    `  rules          ${rules}`,
    ...info.keys.map(keyLine),
    "",
    "Stop it with Ctrl-C.",
    ""
  ].join("\n")
}

/**
 * Runs the command: prints the usage, or starts the server, prints the banner and serves until
 * interrupted.
 *
 * @since 0.1.0
 * @category main
 */
export const main = (
  argv: ReadonlyArray<string>,
  env: Readonly<Record<string, string | undefined>>
): Effect.Effect<void, StartupError> =>
  Effect.gen(function*() {
    const command = yield* parse(argv, env)
    if (command._tag === "Help") return yield* Console.log(usage)
    yield* Effect.scoped(Effect.gen(function*() {
      const context = yield* Layer.build(Server.layer(command.options))
      yield* Console.log(banner(Context.get(context, Server.ServerInfo)))
      return yield* Effect.never
    }))
  }).pipe(
    Effect.tapErrorCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.void
      const failure = Cause.failureOption(cause)
      return Console.error(
        failure._tag === "Some"
          ? `houndsight-server: ${failure.value.message}`
          : `houndsight-server stopped on an unexpected error:\n${Cause.pretty(cause)}`
      )
    })
  )

/**
 * Exit codes: 2 for a bad command line, 1 for any other failure, 0 otherwise.
 *
 * @since 0.1.0
 * @category main
 */
export const teardown: Runtime.Teardown = (exit, onExit) => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return onExit(0)
  const failure = Cause.failureOption(exit.cause)
  onExit(failure._tag === "Some" && failure.value instanceof StartupError && failure.value.reason === "Usage" ? 2 : 1)
}
