/**
 * The API keys the server accepts. Agent keys (`sk-hnd-…`) may ingest and create, read and
 * cancel leashes; reviewer keys (`rv-hnd-…`) may also decide leashes and read the dashboard.
 *
 * Keys come from two places:
 *
 * - the environment: `HOUNDSIGHT_AGENT_KEY` and `HOUNDSIGHT_REVIEWER_KEY` (checked for the right
 *   prefix; never written to the database);
 * - the database: a role with no key in the environment and none stored gets one generated at
 *   startup (24 random bytes), stored, and printed at every start.
 *
 * A key is known by a fingerprint (`reviewer:3f9a1c2e`, the first 8 hex digits of its SHA-256),
 * which is what a decision's `decided_by` shows: never the key itself.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { Wire } from "houndsight"
import * as Crypto from "node:crypto"
import { describeCause, StartupError } from "./ServerError.js"

/**
 * Who holds a key, and the name safe to show for it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Holder {
  readonly role: Wire.KeyRole
  readonly name: string
}

/**
 * A key the server accepts, for the startup banner.
 *
 * @since 0.1.0
 * @category models
 */
export interface KnownKey {
  readonly role: Wire.KeyRole
  /** The key, for keys the server generated and stored; `undefined` for a key from the environment. */
  readonly key: Redacted.Redacted<string>
  readonly source: "database" | "generated" | "HOUNDSIGHT_AGENT_KEY" | "HOUNDSIGHT_REVIEWER_KEY"
  readonly name: string
}

/**
 * The keys in force.
 *
 * @since 0.1.0
 * @category tags
 */
export class Keys extends Context.Tag("houndsight-server/Keys")<Keys, {
  /** Who holds `key`, if the server knows it. */
  readonly lookup: (key: string) => Option.Option<Holder>
  /** Every accepted key, agent keys first. */
  readonly known: ReadonlyArray<KnownKey>
}>() {}

/**
 * Keys given in the environment (or in code by tests).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly agentKey?: Redacted.Redacted<string> | undefined
  readonly reviewerKey?: Redacted.Redacted<string> | undefined
}

const hash = (key: string): string => Crypto.createHash("sha256").update(key).digest("hex")

/**
 * The name shown for a key: its role and a fingerprint.
 *
 * @since 0.1.0
 * @category utils
 */
export const nameOf = (role: Wire.KeyRole, key: string): string => `${role}:${hash(key).slice(0, 8)}`

/**
 * A fresh key for a role: the role's prefix and 24 random bytes in base64url.
 *
 * @since 0.1.0
 * @category constructors
 */
export const generate = (role: Wire.KeyRole): string =>
  `${role === "agent" ? Wire.agentKeyPrefix : Wire.reviewerKeyPrefix}${Crypto.randomBytes(24).toString("base64url")}`

const fromEnv = (
  role: Wire.KeyRole,
  variable: "HOUNDSIGHT_AGENT_KEY" | "HOUNDSIGHT_REVIEWER_KEY",
  value: Redacted.Redacted<string> | undefined
): Effect.Effect<Option.Option<KnownKey>, StartupError> => {
  if (value === undefined) return Effect.succeedNone
  const key = Redacted.value(value).trim()
  if (Wire.keyRole(key) !== role || /\s/.test(key)) {
    const prefix = role === "agent" ? Wire.agentKeyPrefix : Wire.reviewerKeyPrefix
    return Effect.fail(
      new StartupError({
        reason: "Keys",
        message: `${variable} is not ${role === "agent" ? "an agent" : "a reviewer"} key: it must start with ${prefix}, ` +
          `have more after the prefix and hold no spaces (${role === "agent" ? "agent and reviewer keys are kept apart" : "only reviewer keys may decide leashes"})`
      })
    )
  }
  return Effect.succeedSome({ role, key: Redacted.make(key), source: variable, name: nameOf(role, key) })
}

/**
 * Builds the key set: the environment's keys, the stored ones, and a generated key for each
 * role that has neither.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Context.Tag.Service<Keys>, StartupError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const env = [
      ...Option.toArray(yield* fromEnv("agent", "HOUNDSIGHT_AGENT_KEY", options.agentKey)),
      ...Option.toArray(yield* fromEnv("reviewer", "HOUNDSIGHT_REVIEWER_KEY", options.reviewerKey))
    ]
    const databaseError = (cause: unknown) =>
      new StartupError({ reason: "Database", message: `cannot read or store the API keys (${describeCause(cause)})` })
    const rows = yield* sql<{ key: string; role: Wire.KeyRole }>`SELECT key, role FROM keys ORDER BY created_at, key`.pipe(
      Effect.mapError(databaseError)
    )
    const stored: Array<KnownKey> = rows
      .filter((row) => Wire.keyRole(row.key) === row.role)
      .map((row) => ({ role: row.role, key: Redacted.make(row.key), source: "database", name: nameOf(row.role, row.key) }))
    const generated: Array<KnownKey> = []
    for (const role of ["agent", "reviewer"] as const) {
      if (env.some((k) => k.role === role) || stored.some((k) => k.role === role)) continue
      const key = generate(role)
      yield* sql`INSERT INTO keys (key, role, created_at) VALUES (${key}, ${role}, ${new Date().toISOString()})`.pipe(
        Effect.mapError(databaseError)
      )
      generated.push({ role, key: Redacted.make(key), source: "generated", name: nameOf(role, key) })
    }
    const known = [...env, ...stored, ...generated].sort((a, b) =>
      a.role === b.role ? 0 : a.role === "agent" ? -1 : 1
    )
    const byHash = new Map<string, Holder>()
    for (const k of known) byHash.set(hash(Redacted.value(k.key)), { role: k.role, name: k.name })
    return {
      known,
      lookup: (key: string) => Option.fromNullable(byHash.get(hash(key)))
    }
  })

/**
 * The key set as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Keys, StartupError, SqlClient.SqlClient> =>
  Layer.effect(Keys, make(options))
