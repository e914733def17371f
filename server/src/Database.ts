/**
 * The embedded SQLite database (`better-sqlite3` through `@effect/sql-sqlite-node`, WAL mode).
 * Opening it creates its folder, runs the migrations and proves the file is writable, so a bad
 * `--db` stops the server at startup with a message naming the path, not at the first request.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Migrations from "./Migrations.js"
import { chainMessage, StartupError } from "./ServerError.js"

/**
 * The default database path, relative to the working directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPath = ".houndsight/houndsight.db"

const fail = (path: string, what: string, cause: unknown) =>
  new StartupError({
    reason: "Database",
    message: `cannot ${what} the database at ${path} (${chainMessage(cause)}): choose a writable path with --db`
  })

const prepare = (path: string): Effect.Effect<void, StartupError> =>
  Effect.try({
    try: () => {
      Fs.mkdirSync(Path.dirname(Path.resolve(path)), { recursive: true })
    },
    catch: (cause) => fail(path, "create the folder of", cause)
  })

const setup = (path: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`PRAGMA busy_timeout = 5000`
    // WAL mode (set by the client) with synchronous = NORMAL: a commit is written to the WAL
    // before the answer is sent, so it survives the server crashing or being killed; only the
    // checkpoints fsync, so a power loss or an OS crash can lose the last commits (never corrupt
    // the file). FULL would fsync every commit, on every leash and decision an agent waits for.
    yield* sql`PRAGMA synchronous = NORMAL`
    yield* Migrations.run
    // Proves the file is writable now (a read-only file opens, and the migrations may have run before).
    yield* sql`INSERT INTO meta (key, value) VALUES ('last_start', ${new Date().toISOString()})
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`
  }).pipe(
    Effect.catchAllCause((cause) => Effect.fail(fail(path, "open", Cause.squash(cause))))
  )

/**
 * The SQLite client on `path`, migrated and checked writable. Fails with a `StartupError`
 * (`Database`) that names the path and the reason.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (path: string): Layer.Layer<SqlClient.SqlClient | SqliteClient.SqliteClient, StartupError> =>
  Layer.effectDiscard(setup(path)).pipe(
    Layer.provideMerge(
      SqliteClient.layer({ filename: path }).pipe(
        Layer.catchAllCause((cause) => Layer.fail(fail(path, "open", Cause.squash(cause))))
      )
    ),
    Layer.provide(Layer.effectDiscard(prepare(path)))
  )
