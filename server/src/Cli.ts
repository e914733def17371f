/**
 * The `houndsight-server` command: serve (flags and environment, the startup banner, exit codes)
 * and manage keys (`keys create`, `keys list`, `keys revoke`) and webhooks (`webhooks add`,
 * `webhooks list`, `webhooks remove`, `webhooks rotate-secret`). See `usage`.
 *
 * Every setting of the server is a flag and an environment variable; a flag wins over its
 * variable, and a bad value is a usage error naming the one that was used. A database URL's
 * password never appears in the banner, the logs or an error.
 *
 * Exit codes: 0 after Ctrl-C or SIGTERM (or a keys command done), 1 when the server cannot start
 * or a keys command fails (the message names the problem), 2 for a bad command line.
 *
 * @since 0.1.0
 */
import type * as Runtime from "@effect/platform/Runtime"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { parseArgs } from "node:util"
import * as Database from "./Database.js"
import * as Delivery from "./Delivery.js"
import * as Keys from "./Keys.js"
import * as Reminders from "./Reminders.js"
import * as Server from "./Server.js"
import { chainMessage, StartupError } from "./ServerError.js"
import * as Webhooks from "./Webhooks.js"

/**
 * Each setting of the server: its flag and its environment variable.
 *
 * @since 0.1.0
 * @category constants
 */
export const settings = {
  port: { flag: "--port", env: "HOUNDSIGHT_SERVER_PORT" },
  db: { flag: "--db", env: "HOUNDSIGHT_SERVER_DB" },
  dbPool: { flag: "--db-pool", env: "HOUNDSIGHT_SERVER_DB_POOL" },
  rules: { flag: "--rules", env: "HOUNDSIGHT_SERVER_RULES" },
  host: { flag: "--host", env: "HOUNDSIGHT_SERVER_HOST" },
  publicUrl: { flag: "--public-url", env: "HOUNDSIGHT_SERVER_PUBLIC_URL" },
  reminderAt: { flag: "--reminder-at", env: "HOUNDSIGHT_SERVER_REMINDER_AT" },
  webhookTimeout: { flag: "--webhook-timeout", env: "HOUNDSIGHT_SERVER_WEBHOOK_TIMEOUT" }
} as const

/**
 * The usage text.
 *
 * @since 0.1.0
 * @category constants
 */
export const usage = `Usage: houndsight-server [options]
       houndsight-server keys create --agent NAME [--db PATH]
       houndsight-server keys create --reviewer NAME [--email EMAIL] [--db PATH]
       houndsight-server keys list [--db PATH]
       houndsight-server keys revoke ID [--db PATH]
       houndsight-server webhooks add URL --events EVENTS [--actions PATTERNS] [--format standard|slack] [--db PATH]
       houndsight-server webhooks list [--db PATH]
       houndsight-server webhooks remove ID [--db PATH]
       houndsight-server webhooks rotate-secret ID [--db PATH]

The Houndsight gate server: the whole wire contract v1.1 on an embedded SQLite database,
with its reviewer dashboard.

Options (each also an environment variable; the flag wins):
  --port <n>          HOUNDSIGHT_SERVER_PORT        port to listen on (default ${Server.defaultPort}; 0 picks a free port)
  --db <path>         HOUNDSIGHT_SERVER_DB          SQLite database file (default ${Database.defaultPath}; its folder is created),
                                                    or a PostgreSQL URL postgres://USER:PASSWORD@HOST:PORT/DATABASE
  --db-pool <n>       HOUNDSIGHT_SERVER_DB_POOL     PostgreSQL only: connections of this server (default ${Database.defaultPool})
  --rules <path>      HOUNDSIGHT_SERVER_RULES       rules file: floor rules, approval rules, the sensitive actions (default: none)
  --host <address>    HOUNDSIGHT_SERVER_HOST        address to bind (default ${Server.defaultHost}, this machine only)
  --public-url <url>  HOUNDSIGHT_SERVER_PUBLIC_URL  base of trace links and the dashboard (default http://<host>:<port>)
  --reminder-at <share>  HOUNDSIGHT_SERVER_REMINDER_AT  share of a leash's timeout after which a pending leash sends
                                                   leash.reminder (default ${Reminders.defaultShare}; above 0, below 1)
  --webhook-timeout <s>  HOUNDSIGHT_SERVER_WEBHOOK_TIMEOUT  seconds a webhook receiver has to answer (default ${
  Delivery.defaults.requestTimeoutMillis / 1000})
  -h, --help                                        show this text

Keys (stored hashed in the database; a new key is shown once):
  keys create --agent NAME      an agent key bound to agent NAME: it may write only that agent's trails and leashes
  keys create --reviewer NAME   a reviewer key for the person NAME (--email to record theirs): reads and decides
  keys list                     every key: id, kind, agent or person, created, last used, revoked
  keys revoke ID                refuses the key from its next request on (401), and ends its dashboard sessions
  The first start of a database creates a development agent key (any agent name) and a reviewer key.

Webhooks (stored in the database; a secret is shown once):
  webhooks add URL --events E1,E2   notify URL (http or https) of these events: ${Webhooks.eventTypes.join(", ")}
      [--actions 'stripe.*,email.send']  only leashes of these actions (default: every action)
      [--format standard|slack]        a signed Standard Webhooks JSON body (default), or a Slack incoming-webhook message
  webhooks list                     every webhook: id, URL, events, actions, format (never the secrets)
  webhooks remove ID                stops notifying it (deliveries not yet made are dropped)
  webhooks rotate-secret ID         a new secret; the old one stays valid ${Webhooks.rotationGraceMillis / 3_600_000} h (both sign meanwhile)

Environment (more):
  HOUNDSIGHT_AGENT_KEY     one more agent key (sk-hnd-...) to accept, held in memory only (development: any agent)
  HOUNDSIGHT_REVIEWER_KEY  one more reviewer key (rv-hnd-...) to accept, held in memory only
`

/**
 * A keys command.
 *
 * @since 0.1.0
 * @category models
 */
export type KeysCommand =
  | { readonly _tag: "Create"; readonly db: string; readonly key: Keys.NewKey }
  | { readonly _tag: "List"; readonly db: string }
  | { readonly _tag: "Revoke"; readonly db: string; readonly id: string }

/**
 * A webhooks command.
 *
 * @since 0.1.0
 * @category models
 */
export type WebhooksCommand =
  | { readonly _tag: "Add"; readonly db: string; readonly hook: Webhooks.NewWebhook }
  | { readonly _tag: "List"; readonly db: string }
  | { readonly _tag: "Remove"; readonly db: string; readonly id: string }
  | { readonly _tag: "Rotate"; readonly db: string; readonly id: string }

/**
 * What the command line asks for.
 *
 * @since 0.1.0
 * @category models
 */
export type Command =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Serve"; readonly options: Server.Options }
  | { readonly _tag: "Keys"; readonly command: KeysCommand }
  | { readonly _tag: "Webhooks"; readonly command: WebhooksCommand }

const usageError = (message: string) =>
  new StartupError({ reason: "Usage", message: `${message}\nRun houndsight-server --help for the options.` })

/**
 * A URL with its password (and its user name's) replaced by `***`, for printing; anything else
 * unchanged. `postgres://gate:s3cret@db/houndsight` → `postgres://gate:***@db/houndsight`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const redactUrl = (value: string): string => {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value
  try {
    const url = new URL(value)
    if (url.password === "") return value
    url.password = "***"
    return url.toString()
  } catch {
    // not a URL after all: hide whatever sits between :// and the last @
    return value.replace(/(:\/\/)[^/]*@/, "$1***@")
  }
}

type Setting = keyof typeof settings

/** A value and where it came from: the flag or the environment variable. */
interface Given {
  readonly value: string
  readonly from: string
}

const parsePort = (given: Given): Effect.Effect<number, StartupError> =>
  /^\d{1,5}$/.test(given.value) && Number(given.value) <= 65535
    ? Effect.succeed(Number(given.value))
    : Effect.fail(usageError(`${given.from} must be a whole number from 0 to 65535, got ${JSON.stringify(given.value)}`))

const parseUrl = (given: Given): Effect.Effect<string, StartupError> => {
  try {
    const url = new URL(given.value)
    if (url.protocol === "http:" || url.protocol === "https:") return Effect.succeed(given.value)
  } catch {
    // answered below
  }
  return Effect.fail(
    usageError(
      `${given.from} must be an http(s) URL such as http://127.0.0.1:7411, got ${JSON.stringify(redactUrl(given.value))}`
    )
  )
}

const parseDbPool = (given: Given): Effect.Effect<number, StartupError> =>
  /^\d{1,6}$/.test(given.value.trim())
    ? Database.checkPool(Number(given.value.trim()), given.from)
    : Effect.fail(
      usageError(`${given.from} must be a whole number from 1 to ${Database.maxPool}, got ${JSON.stringify(given.value)}`)
    )

const parseDb = (given: Given): Effect.Effect<string, StartupError> => {
  if (Database.isPostgres(given.value)) return Effect.succeed(given.value.trim())
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(given.value)
  if (scheme !== null && scheme[1]!.toLowerCase() !== "file") {
    return Effect.fail(
      usageError(
        `${given.from} is a ${scheme[1]}:// URL (${redactUrl(given.value)}): this server keeps its data in a SQLite ` +
          "file or in PostgreSQL; give the path of that file or a postgres:// URL"
      )
    )
  }
  return Effect.succeed(scheme !== null ? decodeURIComponent(given.value.slice("file://".length)) : given.value)
}

/** The environment's settings, read with Effect `Config` (an empty variable counts as unset). */
const fromEnvironment = (env: Readonly<Record<string, string | undefined>>) => {
  const read = (name: string) =>
    Config.option(Config.string(name)).pipe(Config.map((o) => Option.filter(o, (v) => v.trim() !== "")))
  const config = Config.all({
    port: read(settings.port.env),
    db: Config.option(Config.redacted(settings.db.env)).pipe(
      Config.map((o) => Option.filter(o, (v) => Redacted.value(v).trim() !== ""))
    ),
    dbPool: read(settings.dbPool.env),
    rules: read(settings.rules.env),
    host: read(settings.host.env),
    publicUrl: read(settings.publicUrl.env),
    reminderAt: read(settings.reminderAt.env),
    webhookTimeout: read(settings.webhookTimeout.env),
    agentKey: Config.option(Config.redacted("HOUNDSIGHT_AGENT_KEY")),
    reviewerKey: Config.option(Config.redacted("HOUNDSIGHT_REVIEWER_KEY"))
  })
  const entries = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)
  return Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(entries))).pipe(
    Effect.mapError((error) => usageError(`the environment could not be read (${String(error)})`))
  )
}

const agentNamePattern = /^[^\s\u0000-\u001f\u007f](?:[^\u0000-\u001f\u007f]*[^\s\u0000-\u001f\u007f])?$/

const checkName = (flag: string, value: string | undefined, max: number): Effect.Effect<string, StartupError> => {
  if (value === undefined || value.trim() === "") return Effect.fail(usageError(`${flag} needs a name`))
  if (value.length > max) return Effect.fail(usageError(`${flag} takes at most ${max} characters, got ${value.length}`))
  if (!agentNamePattern.test(value)) {
    return Effect.fail(usageError(`${flag} ${JSON.stringify(value)} must not start or end with spaces or hold control characters`))
  }
  return Effect.succeed(value)
}

const parseKeys = (
  positionals: ReadonlyArray<string>,
  v: Record<string, string | boolean | undefined>,
  db: string
): Effect.Effect<KeysCommand, StartupError> =>
  Effect.gen(function*() {
    const [, sub, ...rest] = positionals
    const serveOnly = (["port", "rules", "host", "public-url"] as const).filter((k) => v[k] !== undefined)
    if (serveOnly.length > 0) return yield* usageError(`keys ${sub ?? ""} takes no --${serveOnly[0]}`)
    const extra = (allowed: ReadonlyArray<string>) =>
      (["agent", "reviewer", "email"] as const).find((k) => v[k] !== undefined && !allowed.includes(k))
    if (sub === "create") {
      if (rest.length > 0) return yield* usageError(`keys create takes no ${JSON.stringify(rest[0])}`)
      const agent = v["agent"] as string | undefined
      const reviewer = v["reviewer"] as string | undefined
      if ((agent === undefined) === (reviewer === undefined)) {
        return yield* usageError("keys create needs one of --agent NAME (an agent key) or --reviewer NAME (a reviewer key)")
      }
      if (agent !== undefined) {
        if (v["email"] !== undefined) return yield* usageError("--email goes with --reviewer, not --agent")
        return { _tag: "Create", db, key: { kind: "agent", agent: yield* checkName("--agent", agent, 256) } } as const
      }
      const email = v["email"] as string | undefined
      if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email)) {
        return yield* usageError(`--email must be an address such as ada@example.com, got ${JSON.stringify(email)}`)
      }
      return {
        _tag: "Create",
        db,
        key: {
          kind: "reviewer",
          person: yield* checkName("--reviewer", reviewer, Keys.maxNameLength),
          ...(email !== undefined ? { email } : {})
        }
      } as const
    }
    if (sub === "list") {
      const bad = extra([])
      if (bad !== undefined || rest.length > 0) {
        return yield* usageError(`keys list takes no ${bad !== undefined ? `--${bad}` : JSON.stringify(rest[0])}`)
      }
      return { _tag: "List", db } as const
    }
    if (sub === "revoke") {
      const bad = extra([])
      if (bad !== undefined) return yield* usageError(`keys revoke takes no --${bad}`)
      if (rest.length !== 1 || rest[0]!.trim() === "") {
        return yield* usageError("keys revoke needs one key id (keys list shows them), such as keys revoke key_3f9a1c2e7b10")
      }
      return { _tag: "Revoke", db, id: rest[0]!.trim() } as const
    }
    return yield* usageError(
      sub === undefined
        ? "keys needs a command: create, list or revoke"
        : `keys ${JSON.stringify(sub)} is not a command: use create, list or revoke`
    )
  })

const webhookFlags = ["events", "actions", "format"] as const

const parseWebhooks = (
  positionals: ReadonlyArray<string>,
  v: Record<string, string | boolean | undefined>,
  db: string
): Effect.Effect<WebhooksCommand, StartupError> =>
  Effect.gen(function*() {
    const [, sub, ...rest] = positionals
    const other = (["port", "rules", "host", "public-url", "agent", "reviewer", "email", "reminder-at", "webhook-timeout"] as const)
      .find((k) => v[k] !== undefined)
    if (other !== undefined) return yield* usageError(`webhooks ${sub ?? ""} takes no --${other}`)
    const check = <A>(result: A | Webhooks.Invalid): Effect.Effect<A, StartupError> =>
      typeof result === "object" && result !== null && (result as Webhooks.Invalid)._tag === "Invalid"
        ? Effect.fail(usageError((result as Webhooks.Invalid).message))
        : Effect.succeed(result as A)
    if (sub === "add") {
      if (rest.length !== 1) {
        return yield* usageError("webhooks add needs one URL, such as webhooks add https://hooks.example.com/h --events leash.pending")
      }
      const url = yield* check(Webhooks.checkUrl(rest[0]!))
      const events = yield* check(Webhooks.checkEvents(v["events"] as string | undefined))
      const actions = yield* check(Webhooks.checkActions(v["actions"] as string | undefined))
      const format = yield* check(Webhooks.checkFormat(v["format"] as string | undefined))
      return { _tag: "Add", db, hook: { url, events, actions, format } } as const
    }
    const bad = webhookFlags.find((k) => v[k] !== undefined)
    if (bad !== undefined) return yield* usageError(`--${bad} goes with webhooks add`)
    if (sub === "list") {
      if (rest.length > 0) return yield* usageError(`webhooks list takes no ${JSON.stringify(rest[0])}`)
      return { _tag: "List", db } as const
    }
    if (sub === "remove" || sub === "rotate-secret") {
      if (rest.length !== 1 || rest[0]!.trim() === "") {
        return yield* usageError(`webhooks ${sub} needs one webhook id (webhooks list shows them), such as wh_3f9a1c2e7b10`)
      }
      return { _tag: sub === "remove" ? "Remove" : "Rotate", db, id: rest[0]!.trim() } as const
    }
    return yield* usageError(
      sub === undefined
        ? "webhooks needs a command: add, list, remove or rotate-secret"
        : `webhooks ${JSON.stringify(sub)} is not a command: use add, list, remove or rotate-secret`
    )
  })

/**
 * Reads the command line and the environment (flags win over variables).
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
          allowPositionals: true,
          options: {
            port: { type: "string" },
            db: { type: "string" },
            "db-pool": { type: "string" },
            rules: { type: "string" },
            host: { type: "string" },
            "public-url": { type: "string" },
            agent: { type: "string" },
            reviewer: { type: "string" },
            email: { type: "string" },
            events: { type: "string" },
            actions: { type: "string" },
            format: { type: "string" },
            "reminder-at": { type: "string" },
            "webhook-timeout": { type: "string" },
            help: { type: "boolean", short: "h" }
          }
        }),
      catch: (e) => usageError(e instanceof Error ? e.message : String(e))
    })
    const v = parsed.values
    if (v.help === true) return { _tag: "Help" } as const
    const fromEnv = yield* fromEnvironment(env)

    /** The flag's value, else the variable's; `undefined` when neither is set. */
    const given = (setting: Setting, flag: string | undefined, variable: Option.Option<string>) =>
      Effect.gen(function*() {
        if (flag !== undefined) {
          if (flag.trim() === "") return yield* usageError(`${settings[setting].flag} needs a value`)
          return { value: flag, from: settings[setting].flag } satisfies Given
        }
        return Option.match(variable, {
          onNone: () => undefined,
          onSome: (value): Given => ({ value, from: settings[setting].env })
        })
      })
    const dbGiven = yield* given("db", v.db, Option.map(fromEnv.db, Redacted.value))
    const db = dbGiven === undefined ? Database.defaultPath : yield* parseDb(dbGiven)

    const [first] = parsed.positionals
    if (first === "webhooks") return { _tag: "Webhooks", command: yield* parseWebhooks(parsed.positionals, v, db) } as const
    if (first === "keys") {
      const hookFlag = [...webhookFlags, "reminder-at", "webhook-timeout"].find((k) => v[k as keyof typeof v] !== undefined)
      if (hookFlag !== undefined) return yield* usageError(`keys takes no --${hookFlag}`)
      return { _tag: "Keys", command: yield* parseKeys(parsed.positionals, v, db) } as const
    }
    if (first !== undefined) {
      return yield* usageError(
        `unexpected argument ${JSON.stringify(first)}: the commands are keys (create, list, revoke) and webhooks (add, list, remove, rotate-secret)`
      )
    }
    for (const k of ["agent", "reviewer", "email"] as const) {
      if (v[k] !== undefined) return yield* usageError(`--${k} goes with keys create`)
    }
    for (const k of webhookFlags) {
      if (v[k] !== undefined) return yield* usageError(`--${k} goes with webhooks add`)
    }

    const port = yield* given("port", v.port, fromEnv.port)
    const dbPool = yield* given("dbPool", v["db-pool"], fromEnv.dbPool)
    const host = yield* given("host", v.host, fromEnv.host)
    const rules = yield* given("rules", v.rules, fromEnv.rules)
    const publicUrl = yield* given("publicUrl", v["public-url"], fromEnv.publicUrl)
    const reminderGiven = yield* given("reminderAt", v["reminder-at"], fromEnv.reminderAt)
    const reminderAt = reminderGiven === undefined ? undefined : Reminders.checkShare(reminderGiven.value)
    if (typeof reminderAt === "string") return yield* usageError(`${reminderGiven!.from} ${reminderAt}`)
    const timeoutGiven = yield* given("webhookTimeout", v["webhook-timeout"], fromEnv.webhookTimeout)
    const timeout = timeoutGiven === undefined ? undefined : Number(timeoutGiven.value)
    if (timeoutGiven !== undefined && !(/^\d*\.?\d+$/.test(timeoutGiven.value.trim()) && timeout! > 0 && timeout! <= 600)) {
      return yield* usageError(
        `${timeoutGiven.from} must be a number of seconds above 0 and at most 600, got ${JSON.stringify(timeoutGiven.value.slice(0, 40))}`
      )
    }
    const keys: Keys.Options = {
      ...Option.match(Option.filter(fromEnv.agentKey, (k) => Redacted.value(k) !== ""), {
        onNone: () => ({}),
        onSome: (agentKey) => ({ agentKey })
      }),
      ...Option.match(Option.filter(fromEnv.reviewerKey, (k) => Redacted.value(k) !== ""), {
        onNone: () => ({}),
        onSome: (reviewerKey) => ({ reviewerKey })
      })
    }
    const options: Server.Options = {
      port: port === undefined ? Server.defaultPort : yield* parsePort(port),
      host: host?.value ?? Server.defaultHost,
      db,
      ...(dbPool === undefined ? {} : { dbPool: yield* parseDbPool(dbPool) }),
      rules: rules?.value,
      publicUrl: publicUrl === undefined ? undefined : yield* parseUrl(publicUrl),
      keys,
      ...(reminderAt === undefined ? {} : { reminderAt }),
      ...(timeout === undefined ? {} : { webhooks: { requestTimeoutMillis: Math.round(timeout * 1000) } })
    }
    return { _tag: "Serve", options } as const
  })

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`

/** Who holds a stored key, in a few words. */
const holderText = (k: Keys.KeyInfo): string =>
  k.kind === "agent"
    ? k.agent !== undefined ? `agent ${k.agent}` : "any agent (development key)"
    : `${k.person ?? "?"}${k.email !== undefined ? ` <${k.email}>` : ""}`

/**
 * The startup banner: where the server is, the dashboard, the database, the rules and the keys
 * (a key generated by this start in full, once; stored keys by id).
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
    const shown = k.source === "generated" ? Redacted.value(k.key) : `from ${k.source}`
    const what = k.role === "agent"
      ? k.development
        ? "a development key: accepted for any agent name; give it to your agent as HOUNDSIGHT_API_KEY"
        : "give it to your agent as HOUNDSIGHT_API_KEY"
      : `for ${k.name}: sign in to the dashboard with it, or decide with POST /v1/leashes/{id}/decision`
    return `  ${label}   ${shown}${k.source === "generated" ? `  (new, ${k.id}; shown only now)` : ""}\n                 ${what}`
  }
  const generated = new Set(info.keys.map((k) => k.id))
  const stored = (info.storedKeys ?? []).filter((k) => k.revokedAt === undefined && !generated.has(k.id))
  const storedLines = stored.length === 0 ? [] : [
    `  stored keys    ${plural(stored.length, "key")} in force (the keys themselves are not stored: houndsight-server keys list)`,
    ...stored.slice(0, 8).map((k) => `                 ${k.id}  ${k.kind === "agent" ? "agent   " : "reviewer"}  ${holderText(k)}`),
    ...(stored.length > 8 ? [`                 … and ${stored.length - 8} more`] : [])
  ]
  return [
    `houndsight-server is listening on ${info.url}`,
    "",
    `  dashboard      ${info.publicUrl}`,
    `  database       ${redactUrl(info.db)}`,
    `  rules          ${rules}`,
    ...info.keys.map(keyLine),
    ...storedLines,
    "",
    "Stop it with Ctrl-C.",
    ""
  ].join("\n")
}

/**
 * The table `keys list` prints.
 *
 * @since 0.1.0
 * @category formatting
 */
export const keysTable = (keys: ReadonlyArray<Keys.KeyInfo>): string => {
  if (keys.length === 0) return "No keys yet: houndsight-server keys create --agent NAME (or --reviewer NAME).\n"
  const rows = [
    ["ID", "KIND", "AGENT OR PERSON", "CREATED", "LAST USED", "REVOKED"],
    ...keys.map((k) => [
      k.id,
      k.kind,
      holderText(k),
      k.createdAt,
      k.lastUsedAt ?? "never",
      k.revokedAt ?? "no"
    ])
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n"
}

const keysFailure = (db: string, cause: unknown) =>
  new StartupError({ reason: "Database", message: `cannot read or write the keys in ${redactUrl(db)} (${chainMessage(cause)})` })

/**
 * Runs a keys command on its database and answers what to print.
 *
 * @since 0.1.0
 * @category main
 */
export const runKeys = (command: KeysCommand): Effect.Effect<string, StartupError> => {
  const work: Effect.Effect<string, StartupError, SqlClient.SqlClient> = Effect.gen(function*() {
    if (command._tag === "List") return keysTable(yield* Effect.mapError(Keys.list, (e) => keysFailure(command.db, e)))
    if (command._tag === "Revoke") {
      const revoked = yield* Effect.mapError(Keys.revoke(command.id), (e) => keysFailure(command.db, e))
      if (Option.isNone(revoked)) {
        return yield* new StartupError({
          reason: "Keys",
          message: `no key has the id ${JSON.stringify(command.id)}: houndsight-server keys list shows the ids`
        })
      }
      return `revoked ${revoked.value.kind} key ${revoked.value.id} (${holderText(revoked.value)}) at ${revoked.value.revokedAt}: ` +
        "a running server refuses it from its next request on, and its dashboard sessions end.\n"
    }
    const made = yield* Effect.mapError(Keys.create(command.key), (e) => keysFailure(command.db, e))
    const who = holderText(made.info)
    const use = made.info.kind === "agent"
      ? `Give it to that agent as HOUNDSIGHT_API_KEY: it may write only trails and leashes of agent ${made.info.agent}.`
      : "Give it to that person: they sign in to the dashboard with it, or decide with POST /v1/leashes/{id}/decision."
    return [
      `created ${made.info.kind} key ${made.info.id} for ${who}:`,
      "",
      `  ${Redacted.value(made.key)}`,
      "",
      "It is shown only this once: the database keeps only its hash.",
      use,
      ""
    ].join("\n")
  })
  return Effect.provide(work, Database.layer(command.db))
}

/**
 * The table `webhooks list` prints (never a secret).
 *
 * @since 0.1.0
 * @category formatting
 */
export const webhooksTable = (hooks: ReadonlyArray<Webhooks.Webhook>): string => {
  if (hooks.length === 0) return "No webhooks yet: houndsight-server webhooks add URL --events leash.pending,leash.decided\n"
  const rows = [
    ["ID", "URL", "EVENTS", "ACTIONS", "FORMAT", "CREATED"],
    ...hooks.map((h) => [h.id, h.url, h.events.join(","), h.actions.length === 0 ? "*" : h.actions.join(","), h.format, h.createdAt])
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") + "\n"
}

const secretLines = (hook: Webhooks.Webhook, what: string) => [
  what,
  "",
  `  ${Redacted.value(hook.secret)}`,
  "",
  "It is shown only this once: the receiver checks each delivery's webhook-signature with it (README: Webhooks).",
  ""
]

/**
 * Runs a webhooks command on its database and answers what to print.
 *
 * @since 0.1.0
 * @category main
 */
export const runWebhooks = (command: WebhooksCommand): Effect.Effect<string, StartupError> => {
  const failure = (cause: unknown) =>
    new StartupError({ reason: "Database", message: `cannot read or write the webhooks in ${redactUrl(command.db)} (${chainMessage(cause)})` })
  const missing = (id: string) =>
    new StartupError({ reason: "Webhooks", message: `no webhook has the id ${JSON.stringify(id)}: houndsight-server webhooks list shows the ids` })
  const work: Effect.Effect<string, StartupError, SqlClient.SqlClient> = Effect.gen(function*() {
    if (command._tag === "List") return webhooksTable(yield* Effect.mapError(Webhooks.list, failure))
    if (command._tag === "Remove") {
      if (!(yield* Effect.mapError(Webhooks.remove(command.id), failure))) return yield* missing(command.id)
      return `removed webhook ${command.id}: it is notified of nothing from now on.\n`
    }
    if (command._tag === "Rotate") {
      const hook = yield* Effect.mapError(Webhooks.rotateSecret(command.id), failure)
      if (Option.isNone(hook)) return yield* missing(command.id)
      return [
        ...secretLines(hook.value, `new signing secret of webhook ${hook.value.id} (${hook.value.url}):`),
        `the previous secret stays valid until ${new Date(hook.value.previousUntil!).toISOString()}: meanwhile each delivery is signed by both.`,
        ""
      ].join("\n")
    }
    const hook = yield* Effect.mapError(Webhooks.add(command.hook), failure)
    return [
      ...secretLines(hook, `created webhook ${hook.id} for ${hook.url} (${hook.events.join(", ")}${
        hook.actions.length === 0 ? "" : `; actions ${hook.actions.join(", ")}`
      }; ${hook.format} format), signing secret:`),
      ""
    ].join("\n")
  })
  return Effect.provide(work, Database.layer(command.db))
}

/**
 * Runs the command: prints the usage, runs a keys command, or starts the server, prints the
 * banner and serves until interrupted.
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
    if (command._tag === "Keys") return yield* Effect.flatMap(runKeys(command.command), (text) => Console.log(text.trimEnd()))
    if (command._tag === "Webhooks") {
      return yield* Effect.flatMap(runWebhooks(command.command), (text) => Console.log(text.trimEnd()))
    }
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
