/**
 * The real `houndsight-server` command as a child process, for tests that need to kill it: it
 * runs on 127.0.0.1 with a database in a temporary folder and fixed keys (given in the
 * environment, so they are the same after every restart), and a test can SIGKILL it and start
 * it again on the same database and the same port.
 *
 * ```ts
 * const server = yield* GateServer.start()          // waits for the banner
 * yield* server.kill()                              // SIGKILL, waits for the exit
 * yield* server.start                               // same database, same port, same keys
 * const rows = yield* server.store.query("SELECT id FROM steps")
 * ```
 *
 * `store` reads the SQLite file directly (read-only), so a test can check what the server
 * committed, even while the server is down. `agent` and `reviewer` call the server's API
 * directly (not through a proxy) with the agent and reviewer keys.
 *
 * Under `HOUNDSIGHT_TEST_BACKEND=postgres` (the `pg` project of vitest.config.ts) the server runs
 * on a fresh database of the run's PostgreSQL cluster instead (`--db postgres://…`), and `store`
 * reads that database over a connection of its own (the same statements, with `?` placeholders
 * numbered and `json_extract(column, '$.key')` / `'$.key.key'` spelled for PostgreSQL).
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Redacted, type Scope } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import * as FetchClient from "../../support/fetchClient.js"
import * as ServerProcess from "../../support/serverProcess.js"
import { pgTypes } from "../../../server/src/Database.js"
import * as TestPostgres from "../../../server/test/postgres.js"

/** The command's entry point. */
export const bin = ServerProcess.devBin

/** How long one start may take (tsx compiles the server's sources on a cold cache). */
export const startMillis = 30_000

/** An answer of the server. */
export type Answer = FetchClient.Answer

/** A `fetch` client bound to one key. */
export interface Client {
  readonly get: (path: string) => Effect.Effect<Answer>
  readonly post: (path: string, body?: unknown) => Effect.Effect<Answer>
}

/** A reviewer's decision. */
export interface ReviewerDecision {
  readonly decision: "approved" | "modified" | "rejected"
  readonly reason: string
  readonly modified_payload?: unknown
}

/** Read-only access to the server's database. */
export interface StoreReader {
  /** Runs one read-only statement; `?` placeholders take `params`. */
  readonly query: <T = Record<string, unknown>>(sql: string, ...params: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<T>>
  /** The stored review steps (wire records), of one leash or of all. */
  readonly reviewSteps: (leashId?: string) => Effect.Effect<ReadonlyArray<Record<string, any>>>
  /** The stored leash row (`undefined` when the server never stored it). */
  readonly leash: (leashId: string) => Effect.Effect<LeashRow | undefined>
}

/** A leash as the server stored it. */
export interface LeashRow {
  readonly leash_id: string
  readonly status: "pending" | "decided"
  readonly decision: string | null
  readonly reason: string | null
  readonly decided_by: string | null
  readonly created_at: number
  readonly expires_at: number
  readonly decided_at: number | null
}

/** How to start the server. */
export interface Options {
  /** The rules file's content (written to the temporary folder); default none. */
  readonly rules?: unknown
  /** The port of the first start; default 0 (a free one). Restarts reuse the port found. */
  readonly port?: number
  /** More environment variables for the process. */
  readonly env?: Readonly<Record<string, string>>
}

/** A server process that can be killed and started again. */
export interface GateServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /** The database setting: the SQLite file, or the PostgreSQL URL. */
  readonly db: string
  /** The temporary folder holding the database and the rules file. */
  readonly dir: string
  readonly agentKey: string
  readonly reviewerKey: string
  /** Whether the process runs now. */
  readonly running: () => boolean
  /** The pid of the running process (`undefined` when it is down). */
  readonly pid: () => number | undefined
  /** Everything every start printed so far. */
  readonly output: () => string
  /** Sends `signal` (default SIGKILL) and waits for the process to end; answers its exit code (`null` when killed). */
  readonly kill: (signal?: NodeJS.Signals) => Effect.Effect<number | null>
  /** Starts the process again on the same database, port and keys; waits for its banner. */
  readonly start: Effect.Effect<void, Error>
  /** Calls the API with the agent key. */
  readonly agent: Client
  /** Calls the API with the reviewer key. */
  readonly reviewer: Client
  /** `POST /v1/leashes/{id}/decision` with the reviewer key. */
  readonly decide: (leashId: string, decision: ReviewerDecision) => Effect.Effect<Answer>
  /** `GET /v1/leashes?status=pending` with the reviewer key: the pending leashes. */
  readonly pending: Effect.Effect<ReadonlyArray<{ readonly leash_id: string; readonly request: any }>>
  /** The server's SQLite file, read-only. */
  readonly store: StoreReader
}

/** A client for `base` with `key`: test/support/fetchClient.ts with the body as the second argument. */
export const client = (base: string, key: string | undefined): Client => {
  const shared = FetchClient.client(base, key)
  return { get: (path) => shared.get(path), post: (path, body) => shared.post(path, body === undefined ? {} : { body }) }
}

interface Sqlite {
  prepare(sql: string): { all(...params: ReadonlyArray<unknown>): Array<unknown> }
  close(): void
}
type SqliteConstructor = new(path: string, options: { readonly: boolean; fileMustExist: boolean }) => Sqlite
const require = createRequire(import.meta.url)

/** A store reader on `query` (either backend's; the statements are SQLite's, translated by `query`). */
const readerOf = (query: StoreReader["query"]): StoreReader => ({
  query,
  reviewSteps: (leashId) =>
    Effect.map(
      leashId === undefined
        ? query<{ record: string }>("SELECT record FROM steps WHERE layer = 'review' ORDER BY trail_id, seq")
        : query<{ record: string }>(
          "SELECT record FROM steps WHERE layer = 'review' AND json_extract(record, '$.leash.leash_id') = ? ORDER BY trail_id, seq",
          leashId
        ),
      (rows) => rows.map((r) => JSON.parse(r.record) as Record<string, any>)
    ),
  leash: (leashId) =>
    Effect.map(
      query<LeashRow>(
        "SELECT leash_id, status, decision, reason, decided_by, created_at, expires_at, decided_at FROM leashes WHERE leash_id = ?",
        leashId
      ),
      (rows) => rows[0]
    )
})

/** Read-only queries on a SQLite file (opened for each query, so it never holds the file). */
export const storeReader = (db: string): StoreReader => {
  const query = <T>(sql: string, ...params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<T>> =>
    Effect.sync(() => {
      const Database = require("better-sqlite3") as SqliteConstructor
      const connection = new Database(db, { readonly: true, fileMustExist: true })
      try {
        return connection.prepare(sql).all(...params) as Array<T>
      } finally {
        connection.close()
      }
    })
  return readerOf(query)
}

/** Read-only queries on a PostgreSQL database (a connection for each query, as for SQLite). */
export const pgStoreReader = (url: string): StoreReader => {
  const query = <T>(text: string, ...params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<T>> => {
    let n = 0
    // SQLite's `json_extract(column, '$.key')` of the tests' statements, as PostgreSQL spells it
    const numbered = text
      .replace(/json_extract\((\w+), '\$\.(\w+)\.(\w+)'\)/g, "($1::jsonb -> '$2' ->> '$3')")
      .replace(/json_extract\((\w+), '\$\.(\w+)'\)/g, "($1::jsonb ->> '$2')")
      .replace(/\?/g, () => `$${++n}`)
    return Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe<T & object>(numbered, [...params])).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1, types: pgTypes })),
      Effect.orDie
    ) as Effect.Effect<ReadonlyArray<T>>
  }
  return readerOf(query)
}

/**
 * Starts `houndsight-server` in a new temporary folder and waits for its banner. The process is
 * SIGKILLed and the folder removed when the scope closes.
 */
export const start = (options: Options = {}): Effect.Effect<GateServer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "houndsight-reliability-"))),
      (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
    )
    const onPostgres = TestPostgres.backend === "postgres"
    const db = onPostgres ? yield* TestPostgres.freshDatabase : Path.join(dir, "gate.db")
    const token = Crypto.randomBytes(12).toString("hex")
    const agentKey = `sk-hnd-reliability-${token}`
    const reviewerKey = `rv-hnd-reliability-${token}`
    const args = ["--db", db]
    if (options.rules !== undefined) {
      const rulesPath = Path.join(dir, "rules.json")
      Fs.writeFileSync(rulesPath, JSON.stringify(options.rules))
      args.push("--rules", rulesPath)
    }
    const env = { ...options.env, HOUNDSIGHT_AGENT_KEY: agentKey, HOUNDSIGHT_REVIEWER_KEY: reviewerKey }

    let child: ServerProcess.ServerChild | undefined = undefined
    let output = ""
    let port = options.port ?? 0

    const kill = (signal: NodeJS.Signals = "SIGKILL"): Effect.Effect<number | null> =>
      Effect.promise(() => child === undefined ? Promise.resolve(null) : child.stop(signal))

    const launch: Effect.Effect<void, Error> = Effect.gen(function*() {
      if (child !== undefined && child.running()) {
        return yield* Effect.fail(new Error(`houndsight-server already runs (pid ${child.pid}); kill it first`))
      }
      child = undefined
      const started = yield* Effect.tryPromise({
        try: () =>
          ServerProcess.spawnServer({
            bin,
            args: [...args, "--port", String(port)],
            cwd: dir,
            env,
            startMillis,
            onOutput: (chunk) => (output += chunk)
          }),
        catch: (e) => (e instanceof Error ? e : new Error(String(e)))
      })
      child = started
      port = started.port
    })

    yield* Effect.addFinalizer(() => kill("SIGKILL"))
    yield* launch

    const url = `http://127.0.0.1:${port}`
    const agent = client(url, agentKey)
    const reviewer = client(url, reviewerKey)
    const server: GateServer = {
      url,
      port,
      db,
      dir,
      agentKey,
      reviewerKey,
      running: () => child !== undefined && child.running(),
      pid: () => (child !== undefined && child.running() ? child.pid : undefined),
      output: () => output,
      kill,
      start: launch,
      agent,
      reviewer,
      decide: (leashId, decision) => reviewer.post(`/v1/leashes/${leashId}/decision`, decision),
      pending: Effect.map(reviewer.get("/v1/leashes?status=pending&limit=500"), (a) => a.body?.leashes ?? []),
      store: onPostgres ? pgStoreReader(db) : storeReader(db)
    }
    return server
  })
