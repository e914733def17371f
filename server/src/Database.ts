/**
 * The database, on one of two backends chosen by the database setting (`--db`,
 * `HOUNDSIGHT_SERVER_DB`):
 *
 * - a `postgres://` or `postgresql://` URL: PostgreSQL (`@effect/sql-pg`, a pool of
 *   {@link defaultPool} connections unless told otherwise), for several instances on one database;
 * - anything else: the embedded SQLite file at that path (`better-sqlite3` through
 *   `@effect/sql-sqlite-node`, WAL mode), the default.
 *
 * Opening it runs the migrations (on PostgreSQL under an advisory lock, so instances starting
 * together migrate once) and proves the database is writable, so a bad setting stops the server at
 * startup with a message naming the file or the host (never a password), not at the first request.
 * `Dialect.backend(sql)` tells the rest of the server which backend runs.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as PgTypes from "pg-types"
import * as Migrations from "./Migrations.js"
import { chainMessage, StartupError } from "./ServerError.js"

/**
 * The default database path, relative to the working directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPath = ".houndsight/houndsight.db"

/**
 * The default number of PostgreSQL connections of one server.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPool = 10

/**
 * The largest pool size accepted (PostgreSQL's default `max_connections` is 100, shared by every
 * instance).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxPool = 1000

/**
 * Whether a database setting names a PostgreSQL database (a `postgres://` or `postgresql://` URL).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isPostgres = (setting: string): boolean => /^postgres(ql)?:\/\//i.test(setting.trim())

/**
 * The options of {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** PostgreSQL only: the pool's number of connections (default {@link defaultPool}). */
  readonly pool?: number | undefined
}

/**
 * Checks a pool size: a whole number from 1 to {@link maxPool}.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkPool = (pool: number, from = "the database pool size"): Effect.Effect<number, StartupError> =>
  Number.isInteger(pool) && pool >= 1 && pool <= maxPool
    ? Effect.succeed(pool)
    : Effect.fail(
      new StartupError({
        reason: "Usage",
        message: `${from} must be a whole number from 1 to ${maxPool}, got ${JSON.stringify(pool)}: give the number of ` +
          `PostgreSQL connections of this server (default ${defaultPool})`
      })
    )

// ---------------------------------------------------------------------------------------------
// SQLite

const failFile = (path: string, what: string, cause: unknown) =>
  new StartupError({
    reason: "Database",
    message: `cannot ${what} the database at ${path} (${chainMessage(cause)}): choose a writable path with --db`
  })

const prepare = (path: string): Effect.Effect<void, StartupError> =>
  Effect.try({
    try: () => {
      Fs.mkdirSync(Path.dirname(Path.resolve(path)), { recursive: true })
    },
    catch: (cause) => failFile(path, "create the folder of", cause)
  })

/** Proves the database writable now (a read-only file opens, and the migrations may have run before). */
const markStart = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`INSERT INTO meta (key, value) VALUES ('last_start', ${new Date().toISOString()})
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`
})

const setupFile = (path: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`PRAGMA busy_timeout = 5000`
    // WAL mode (set by the client) with synchronous = NORMAL: a commit is written to the WAL
    // before the answer is sent, so it survives the server crashing or being killed; only the
    // checkpoints fsync, so a power loss or an OS crash can lose the last commits (never corrupt
    // the file). FULL would fsync every commit, on every leash and decision an agent waits for.
    yield* sql`PRAGMA synchronous = NORMAL`
    yield* Migrations.run
    yield* markStart
  }).pipe(
    Effect.catchAllCause((cause) => Effect.fail(failFile(path, "open", Cause.squash(cause))))
  )

const sqliteLayer = (path: string): Layer.Layer<SqlClient.SqlClient, StartupError> =>
  Layer.effectDiscard(setupFile(path)).pipe(
    Layer.provideMerge(
      SqliteClient.layer({ filename: path }).pipe(
        Layer.catchAllCause((cause) => Layer.fail(failFile(path, "open", Cause.squash(cause))))
      )
    ),
    Layer.provide(Layer.effectDiscard(prepare(path)))
  )

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** Where a PostgreSQL URL points, for messages: `host:port/database`, never the user or password. */
const describeUrl = (url: URL): string =>
  `${url.hostname || "localhost"}:${url.port || "5432"}${url.pathname.length > 1 ? url.pathname : "/postgres"}`

/**
 * The type parsers of the server's PostgreSQL client: `BIGINT` and `NUMERIC` results
 * (`count(*)`, epoch milliseconds) as numbers, as SQLite gives them.
 *
 * @since 0.1.0
 * @category constants
 */
export const pgTypes = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === 20 || oid === 1700 ? (value: string) => Number(value) : PgTypes.getTypeParser(oid, format as never)
}

/**
 * `@effect/sql-pg` (and `pg` under it), loaded only for a PostgreSQL database: a server on
 * SQLite never evaluates them, which keeps their code's objects out of its heap (BENCHMARKS.md,
 * Part 4).
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadPgClient: Effect.Effect<typeof PgClient> = Effect.promise(() => import("@effect/sql-pg/PgClient"))

/** The lock key that serializes the migrations of instances starting together. */
const migrationLock = 0x686f756e64 // "hound"

const setupPostgres = (where: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // The advisory lock, held by a connection of its own while the migrations run on the pool: a
    // second instance starting at the same time waits for it, then finds every migration applied.
    // (Not in one transaction: the migrator probes its table with a statement that may fail.)
    yield* Effect.scoped(
      Effect.gen(function*() {
        const lock = yield* sql.reserve
        yield* lock.executeRaw(`SELECT pg_advisory_lock(${migrationLock})`, [])
        yield* Effect.ensuring(
          Migrations.run,
          Effect.ignore(lock.executeRaw(`SELECT pg_advisory_unlock(${migrationLock})`, []))
        )
      })
    )
    yield* markStart
  }).pipe(
    Effect.catchAllCause((cause) =>
      Effect.fail(
        new StartupError({
          reason: "Database",
          message: `cannot migrate or write the PostgreSQL database at ${where} (${
            chainMessage(Cause.squash(cause))
          }): check that the user of --db may create tables in it`
        })
      )
    )
  )

const postgresLayer = (
  setting: Redacted.Redacted<string>,
  pool: number
): Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, StartupError> => {
  let url: URL
  try {
    url = new URL(Redacted.value(setting))
  } catch {
    return Layer.fail(
      new StartupError({
        reason: "Usage",
        message: "--db is not a valid PostgreSQL URL: write it as postgres://USER:PASSWORD@HOST:PORT/DATABASE " +
          "(percent-encode special characters in the password)"
      })
    )
  }
  const where = describeUrl(url)
  return Layer.unwrapEffect(Effect.map(loadPgClient, (PgClient) =>
    Layer.effectDiscard(setupPostgres(where)).pipe(
      Layer.provideMerge(
        PgClient.layer({
          url: setting,
          maxConnections: pool,
          connectTimeout: Duration.seconds(10),
          applicationName: "houndsight-server",
          types: pgTypes
        }).pipe(
          Layer.catchAllCause((cause) =>
            Layer.fail(
              new StartupError({
                reason: "Database",
                message: `cannot connect to the PostgreSQL database at ${where} (${
                  chainMessage(Cause.squash(cause))
                }): check that PostgreSQL runs there and accepts this user, or correct --db`
              })
            )
          )
        )
      )
    )))
}

/**
 * The database named by `setting`, migrated and checked writable: PostgreSQL for a
 * `postgres://`/`postgresql://` URL (then `PgClient.PgClient` is in the context too), else the
 * SQLite file at that path. Fails with a `StartupError` (`Database`, or `Usage` for a bad URL or
 * pool size) that names the file or the host and port (never the password) and what to do.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (setting: string, options: Options = {}): Layer.Layer<SqlClient.SqlClient, StartupError> =>
  isPostgres(setting)
    ? Layer.unwrapEffect(
      Effect.map(
        checkPool(options.pool ?? defaultPool),
        (pool) => postgresLayer(Redacted.make(setting.trim()), pool) as Layer.Layer<SqlClient.SqlClient, StartupError>
      )
    )
    : sqliteLayer(setting)
