/**
 * The server side of the reliability suite: the real gate server in-process (on 127.0.0.1,
 * port 0, a temporary SQLite file), optionally on a `ManualClock` and with its log lines
 * captured; a restart on the same database; a snapshot of everything the database holds; and raw
 * HTTP, by `node:http` (exact body bytes and headers) or by a bare socket (exact request bytes).
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Context, Effect, Exit, FiberRef, HashSet, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Path from "node:path"
import { type Answer, client, type Running, startServer, tempDir } from "../../../server/test/helpers.js"
import { Server } from "../../../server/src/index.js"
import type { StartupError } from "../../../server/src/ServerError.js"
import type { ManualClock } from "./ManualClock.js"

/** How the server runs. */
export interface Options extends Server.Options {
  /** Time for the server (its leash clock and expiry timers); the live clock when absent. */
  readonly clock?: ManualClock | undefined
  /** Where the server's log lines go (every level, logfmt); printed as usual when absent. */
  readonly logs?: Array<string> | undefined
}

/** A logger that appends each line, in logfmt with its cause, to `lines`. */
export const capturingLogger = (lines: Array<string>): Logger.Logger<unknown, void> =>
  Logger.map(Logger.logfmtLogger, (line) => {
    lines.push(line)
  })

/** Runs `effect` with its log lines (every level) appended to `lines` instead of printed. */
export const capturingLogs = (lines: Array<string>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.locally(FiberRef.currentLoggers, HashSet.make(capturingLogger(lines))),
    Effect.locally(FiberRef.currentMinimumLogLevel, LogLevel.All)
  )

/**
 * Starts the server in the scope, on `options.clock` and with its logs in `options.logs` when
 * given. Every fiber of the server (request handlers, expiry timers) inherits both.
 */
export const start = (options: Options = {}): Effect.Effect<Running, StartupError, Scope.Scope> => {
  const { clock, logs, ...server } = options
  let effect = startServer(server)
  if (logs !== undefined) effect = capturingLogs(logs)(effect)
  if (clock !== undefined) effect = Effect.withClock(effect, clock)
  return effect
}

/**
 * A server that can be restarted on the same database file: `restart` closes it (its scope, as
 * Ctrl-C would) and starts it again with the same options. `current` is the running one.
 */
export interface Restartable {
  readonly current: () => Running
  readonly restart: Effect.Effect<Running, StartupError>
  readonly stop: Effect.Effect<void>
  readonly db: string
}

/** Starts a restartable server on a database file in a temporary folder of the scope. */
export const restartable = (options: Options = {}): Effect.Effect<Restartable, StartupError, Scope.Scope> =>
  Effect.gen(function*() {
    const db = options.db ?? Path.join(yield* tempDir, "gate.db")
    // The same keys at every start: a server stores its keys hashed and prints them only at the
    // first start, so the keys come from the environment here (as HOUNDSIGHT_AGENT_KEY and
    // HOUNDSIGHT_REVIEWER_KEY would), unless the options give some.
    const keys = options.keys ?? {
      agentKey: Redacted.make(`sk-hnd-${Crypto.randomBytes(24).toString("base64url")}`),
      reviewerKey: Redacted.make(`rv-hnd-${Crypto.randomBytes(24).toString("base64url")}`)
    }
    options = { ...options, keys }
    let scope = yield* Scope.make()
    let running = yield* Scope.extend(start({ ...options, db }), scope)
    const stop = Effect.suspend(() => Scope.close(scope, Exit.void))
    yield* Effect.addFinalizer(() => stop)
    return {
      db,
      current: () => running,
      stop,
      restart: Effect.gen(function*() {
        yield* Scope.close(scope, Exit.void)
        scope = yield* Scope.make()
        running = yield* Scope.extend(start({ ...options, db }), scope)
        return running
      })
    }
  })

/** The tables of the server's database. */
export const tables = ["keys", "meta", "trails", "steps", "flags", "leashes"] as const

/** Every row of every table, in a stable order: what the server has stored. */
export type Snapshot = Record<(typeof tables)[number], ReadonlyArray<Record<string, unknown>>>

/** A read-only connection to the server's database, open beside the running server. */
export interface Reader {
  /** Every row of every table. */
  readonly snapshot: Effect.Effect<Snapshot>
  /**
   * SQLite's `data_version`: it changes when any other connection (the server) commits a write,
   * even one that leaves every row as it was. Cheap enough to read around every request.
   */
  readonly version: Effect.Effect<number>
  /**
   * The rows the server writes on its own, after or without any request: the instances'
   * heartbeats (`server_instances.seen_at`, every few seconds) and the webhook worker's fan-out
   * and claims (`outbox_events`, `webhook_deliveries`), so a watch can tell such a commit from a
   * request's write.
   */
  readonly background: Effect.Effect<string>
}

/** Opens a read-only connection to the database at `db` for the scope. */
export const reader = (db: string): Effect.Effect<Reader, never, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(SqliteClient.layer({ filename: db, readonly: true, disableWAL: true }))
    const sql = Context.get(context, SqliteClient.SqliteClient)
    const snapshot = Effect.gen(function*() {
      const out: Partial<Snapshot> = {}
      for (const table of tables) {
        out[table] = yield* sql.unsafe<Record<string, unknown>>(`SELECT * FROM ${table} ORDER BY rowid`)
      }
      return out as Snapshot
    }).pipe(Effect.orDie)
    const version = Effect.orDie(Effect.map(sql.unsafe<{ data_version: number }>("PRAGMA data_version"), (rows) => rows[0]!.data_version))
    const background = Effect.orDie(Effect.map(
      Effect.all([
        sql.unsafe<Record<string, unknown>>("SELECT id, seen_at FROM server_instances ORDER BY id"),
        sql.unsafe<Record<string, unknown>>("SELECT id, fanned_out FROM outbox_events ORDER BY id"),
        sql.unsafe<Record<string, unknown>>("SELECT * FROM webhook_deliveries ORDER BY id")
      ]),
      (rows) => JSON.stringify(rows)
    ))
    return { snapshot, version, background }
  }).pipe(Effect.orDie)

/** Reads every row of the database at `db` (read-only, beside the running server). */
export const snapshot = (db: string): Effect.Effect<Snapshot> =>
  Effect.scoped(Effect.flatMap(reader(db), (r) => r.snapshot))

/** The number of rows of each table. */
export const counts = (s: Snapshot): Record<string, number> =>
  Object.fromEntries(Object.entries(s).map(([table, rows]) => [table, rows.length]))

/** The server context's service, such as `LeashDesk.LeashDesk` or `Store.Store`. */
export const service = <I, S>(s: Running, tag: Context.Tag<I, S>): S =>
  Context.get(s.context as Context.Context<I>, tag)

/** A request written with exact body bytes and exact headers (besides `Host`). */
export interface RawRequest {
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string> | undefined
  readonly body?: string | Uint8Array | undefined
}

/** Sends `request` with `node:http` (no added `Content-Type`, no keep-alive) and reads the answer. */
export const rawHttp = (base: string, request: RawRequest): Effect.Effect<Answer> =>
  Effect.async<Answer>((resume) => {
    const url = new URL(base)
    const body = request.body === undefined
      ? undefined
      : typeof request.body === "string"
      ? Buffer.from(request.body, "utf8")
      : Buffer.from(request.body)
    const req = Http.request({
      host: url.hostname,
      port: Number(url.port),
      method: request.method,
      path: request.path,
      agent: false,
      headers: {
        ...(body === undefined ? {} : { "content-length": String(body.length) }),
        ...request.headers
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("error", (error) => resume(Effect.die(error)))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        const headers = new Headers()
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v)
        }
        resume(Effect.succeed({ status: res.statusCode ?? 0, headers, text, body: parse(text) }))
      })
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.end(body)
    return Effect.sync(() => req.destroy())
  })

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** What came back on a bare socket: the status line's code, the headers and the body. */
export interface RawAnswer {
  readonly raw: string
  readonly status: number
  readonly headers: Record<string, string>
  readonly text: string
  readonly body: unknown
}

/**
 * Writes `bytes` on a fresh connection, closes its sending side, and reads the first answer (up
 * to its `Content-Length`, or until the server closes the connection).
 */
export const rawExchange = (base: string, bytes: string | Uint8Array): Effect.Effect<RawAnswer> =>
  Effect.async<RawAnswer>((resume) => {
    const url = new URL(base)
    const socket = Net.connect(Number(url.port), url.hostname)
    let buffer = Buffer.alloc(0)
    let done = false
    const finish = () => {
      if (done) return
      done = true
      socket.destroy()
      const raw = buffer.toString("latin1")
      const end = raw.indexOf("\r\n\r\n")
      const head = end === -1 ? raw : raw.slice(0, end)
      const [statusLine = "", ...lines] = head.split("\r\n")
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const i = line.indexOf(":")
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
      }
      const text = end === -1 ? "" : buffer.subarray(Buffer.byteLength(raw.slice(0, end + 4), "latin1")).toString("utf8")
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0)
      resume(Effect.succeed({ raw, status, headers, text, body: parse(text) }))
    }
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      const raw = buffer.toString("latin1")
      const end = raw.indexOf("\r\n\r\n")
      if (end === -1) return
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(raw.slice(0, end))
      if (length !== null && buffer.length >= end + 4 + Number(length[1])) finish()
    })
    socket.on("end", finish)
    socket.on("close", finish)
    socket.on("error", finish)
    // Half-close after the bytes, so a request cut short is seen as cut short, not as slow.
    socket.end(bytes)
    return Effect.sync(() => {
      done = true
      socket.destroy()
    })
  })

/** The error body's shape: `{"error": {"code": "<snake_case>", "message": "<text>"}}`, nothing else. */
export const isErrorBody = (body: unknown): boolean => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false
  const keys = Object.keys(body)
  if (keys.length !== 1 || keys[0] !== "error") return false
  const error = (body as { error: unknown }).error
  if (typeof error !== "object" || error === null || Array.isArray(error)) return false
  const e = error as Record<string, unknown>
  return Object.keys(e).sort().join(",") === "code,message" &&
    typeof e["code"] === "string" && /^[a-z][a-z0-9_]*$/.test(e["code"]) &&
    typeof e["message"] === "string" && e["message"].length > 0
}

export { type Answer, client, type Running }
