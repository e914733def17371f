/**
 * A real PostgreSQL server for the tests and the benches: Debian's `postgresql` binaries
 * (`/usr/lib/postgresql/<version>/bin`, or `HOUNDSIGHT_PG_BIN`), a fresh cluster made by `initdb`
 * in a temporary folder, started by `pg_ctl` on a free loopback port and stopped (and its folder
 * removed) when the scope closes.
 *
 * `initdb` and `postgres` refuse to run as root, and CI runs as root: then the cluster belongs to
 * the unprivileged `postgres` user that Debian's package creates, and every command runs through
 * `runuser`. Without the binaries the tests that need them are skipped with one line saying so,
 * unless `HOUNDSIGHT_REQUIRE_POSTGRES=1` (CI sets it), which makes a missing PostgreSQL a failure.
 *
 * ```ts
 * const pg = yield* Postgres.start        // in a scope
 * const url = yield* pg.database("t1")    // postgres://postgres@127.0.0.1:PORT/t1
 * yield* pg.stop; yield* pg.restart       // a fault: the server down, then up on the same port
 * ```
 */
import { Effect, type Scope } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/** Where the binaries are: `HOUNDSIGHT_PG_BIN`, else the newest `/usr/lib/postgresql/<v>/bin`. */
export const binDir: string | undefined = (() => {
  const given = process.env["HOUNDSIGHT_PG_BIN"]
  if (given !== undefined && given !== "") return given
  const root = "/usr/lib/postgresql"
  if (!Fs.existsSync(root)) return undefined
  const versions = Fs.readdirSync(root)
    .filter((v) => Fs.existsSync(Path.join(root, v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a))
  return versions.length === 0 ? undefined : Path.join(root, versions[0]!, "bin")
})()

/** Whether PostgreSQL can be started here. */
export const available = binDir !== undefined

/** Whether a missing PostgreSQL is a failure (CI) rather than a skip. */
export const required = process.env["HOUNDSIGHT_REQUIRE_POSTGRES"] === "1"

/** The line printed when the PostgreSQL tests are skipped. */
export const skipMessage =
  "PostgreSQL tests skipped: no PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql, or set HOUNDSIGHT_PG_BIN; HOUNDSIGHT_REQUIRE_POSTGRES=1 makes this a failure)"

/** The message of the failure when PostgreSQL is required and missing. */
export const missingMessage =
  "HOUNDSIGHT_REQUIRE_POSTGRES=1 but there are no PostgreSQL binaries under /usr/lib/postgresql: apt-get install postgresql, or set HOUNDSIGHT_PG_BIN"

const asRoot = typeof process.getuid === "function" && process.getuid() === 0

/** The user that owns the cluster when running as root. */
const clusterUser = "postgres"

/** Runs one of the binaries to completion (as `postgres` when root), failing with its output. */
const runBinary = (name: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const command = Path.join(binDir!, name)
    const [file, argv] = asRoot ? ["runuser", ["-u", clusterUser, "--", command, ...args]] : [command, [...args]]
    ChildProcess.execFile(file, argv, { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${name} ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`))
      else resolve(stdout + stderr)
    })
  })

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")))
    })
  })

/** A running PostgreSQL cluster. */
export interface Postgres {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number
  /** The URL of a database (no password: the cluster trusts loopback connections). */
  readonly url: (database?: string) => string
  /** Creates a fresh database and answers its URL. */
  readonly database: (name: string) => Effect.Effect<string>
  /** Runs one SQL statement with `psql` (as the cluster's superuser) and answers its output. */
  readonly psql: (statement: string, database?: string) => Effect.Effect<string>
  /** Stops the server now (`pg_ctl stop -m immediate`: like a crash, connections cut). */
  readonly stop: Effect.Effect<void>
  /** Starts it again on the same folder and port. */
  readonly restart: Effect.Effect<void>
}

/** Starts the server of an existing cluster folder on `port`, waiting until it accepts connections. */
const startCluster = (dir: string, port: number) =>
  runBinary("pg_ctl", [
    "-D",
    dir,
    "-l",
    Path.join(dir, "server.log"),
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    "start"
  ])

/** Stops it, `mode` being pg_ctl's (`fast` closes connections cleanly, `immediate` does not). */
const stopCluster = (dir: string, mode: "fast" | "immediate") =>
  runBinary("pg_ctl", ["-D", dir, "-m", mode, "-w", "-t", "60", "stop"])

/**
 * A fresh PostgreSQL cluster on a free loopback port, stopped and removed with the scope. Dies
 * (with the command's output) when it cannot start: call it only when {@link available}.
 */
export const start: Effect.Effect<Postgres, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(async () => {
    const parent = Fs.mkdtempSync(Path.join(Os.tmpdir(), "houndsight-pg-"))
    const dir = Path.join(parent, "data")
    Fs.mkdirSync(dir)
    if (asRoot) {
      Fs.chmodSync(parent, 0o755)
      ChildProcess.execFileSync("chown", [clusterUser, dir])
    }
    await runBinary("initdb", ["-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    const port = await freePort()
    await startCluster(dir, port)
    return { parent, dir, port }
  }),
  ({ dir, parent }) =>
    Effect.promise(async () => {
      await stopCluster(dir, "immediate").catch(() => undefined)
      Fs.rmSync(parent, { recursive: true, force: true })
    })
).pipe(
  Effect.map(({ dir, port }): Postgres => {
    const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`
    const psql = (statement: string, database = "postgres") =>
      Effect.promise(() => runBinary("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", statement]))
    return {
      port,
      url,
      psql,
      database: (name) => Effect.as(psql(`CREATE DATABASE "${name.replace(/"/g, "")}"`), url(name)),
      stop: Effect.asVoid(Effect.promise(() => stopCluster(dir, "immediate"))),
      restart: Effect.asVoid(Effect.promise(() => startCluster(dir, port)))
    }
  })
)
