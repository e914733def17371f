/**
 * The server instances running on one database, and the rules each runs: instances that would
 * judge the same leash by different floor rules, or flag the same trail by different sensitive
 * lists, refuse to run together.
 *
 * Each instance keeps a row in `server_instances` while it runs: its id, the SHA-256 of its
 * rules in canonical form (`Canonical.stringify` of the rules file as the schema encodes it, so
 * key order and spacing do not count), where they came from, when it started, and when it was
 * last seen (written every `heartbeatMillis`). A start first forgets the rows not seen for
 * `staleMillis` (instances that were killed), writes its own, then looks for a running instance
 * with another hash: if there is one, it deletes its row and fails with a `StartupError` saying
 * which instance runs what, and what to do. Two instances starting together with different rules
 * each write before they look, so the later one to look sees the other (both may refuse: never
 * both run). A clean stop deletes the row.
 *
 * Changing the rules of several instances is therefore: stop them all, start them all with the
 * new file. No flag is needed, and none could be safe: the first instance up after the others
 * stopped is the one that finds no other running, which is exactly when replacing the rules is
 * safe. An instance killed without a clean stop counts as running for `staleMillis` after its
 * last heartbeat. The hash of the rules last started with is also kept in `meta` (`rules_hash`).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Crypto from "node:crypto"
import * as Canonical from "./Canonical.js"
import { Rules } from "./Rules.js"
import { chainMessage, StartupError } from "./ServerError.js"

/**
 * How often a running instance says it is still running.
 *
 * @since 0.1.0
 * @category constants
 */
export const heartbeatMillis = 5_000

/**
 * How long after its last heartbeat an instance counts as gone (killed without a clean stop).
 *
 * @since 0.1.0
 * @category constants
 */
export const staleMillis = 30_000

const encodeRules = Schema.encodeSync(Wire.Rules.RulesFile)

/**
 * The SHA-256 (hex) of a rules file in canonical form: equal for equal rules, whatever the
 * file's key order or spacing.
 *
 * @since 0.1.0
 * @category encoding
 */
export const rulesHash = (file: Wire.Rules.RulesFile): string =>
  Crypto.createHash("sha256").update(Canonical.stringify(encodeRules(file))).digest("hex")

const iso = (millis: number): string => new Date(millis).toISOString()

const describe = (hash: string, path: string | null | undefined): string =>
  `${path === null || path === undefined ? "no rules file" : `rules file ${path}`}, hash ${hash.slice(0, 12)}`

/**
 * Registers this instance and its rules on the database for as long as the layer's scope lasts;
 * fails with a `StartupError` (`Rules`) when another running instance has other rules.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, StartupError, SqlClient.SqlClient | Rules> = Layer.scopedDiscard(
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rules = yield* Rules
    const id = `inst_${Crypto.randomBytes(6).toString("hex")}`
    const hash = rulesHash(rules.file)
    const databaseError = (cause: unknown) =>
      new StartupError({ reason: "Database", message: `cannot register this instance on the database (${chainMessage(cause)})` })
    const now = Date.now()
    const others = yield* Effect.mapError(
      Effect.gen(function*() {
        yield* sql`DELETE FROM server_instances WHERE seen_at < ${iso(now - staleMillis)}`
        yield* sql`INSERT INTO server_instances (id, rules_hash, rules_path, started_at, seen_at)
          VALUES (${id}, ${hash}, ${rules.path ?? null}, ${iso(now)}, ${iso(now)})`
        return yield* sql<{ id: string; rules_hash: string; rules_path: string | null; started_at: string }>`
          SELECT id, rules_hash, rules_path, started_at FROM server_instances
          WHERE rules_hash <> ${hash} ORDER BY started_at, id`
      }),
      databaseError
    )
    const other = others[0]
    if (other !== undefined) {
      yield* Effect.ignore(sql`DELETE FROM server_instances WHERE id = ${id}`)
      return yield* new StartupError({
        reason: "Rules",
        message: `another server instance on this database runs different rules (${other.id}, started at ${other.started_at}: ${
          describe(other.rules_hash, other.rules_path)
        }; this one loaded ${describe(hash, rules.path)}): start every instance with the same rules file; ` +
          `to change the rules, stop every instance, then start them with the new file ` +
          `(an instance stopped without a clean shutdown counts as running for ${staleMillis / 1000} s after it was last seen)`
      })
    }
    yield* Effect.mapError(
      sql`INSERT INTO meta (key, value) VALUES ('rules_hash', ${hash}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      databaseError
    )
    // still running: a missed heartbeat (the database down a moment) is written at the next one
    const heartbeat = Effect.suspend(() => sql`UPDATE server_instances SET seen_at = ${iso(Date.now())} WHERE id = ${id}`).pipe(
      Effect.ignore,
      Effect.repeat(Schedule.spaced(Duration.millis(heartbeatMillis)))
    )
    yield* Effect.forkScoped(Effect.interruptible(heartbeat))
    yield* Effect.addFinalizer(() => Effect.ignore(sql`DELETE FROM server_instances WHERE id = ${id}`))
  })
)
