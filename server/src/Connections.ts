/**
 * Bounds on what a connection may hold before it is authenticated (issue 12, point 5).
 *
 * - **Time**: the headers of a request must arrive within `headersTimeoutMillis` (default
 *   10 s) and the whole request, body included, within `requestTimeoutMillis` (default 60 s):
 *   a late one is answered `408` with the error body and closed. These are Node's own
 *   `headersTimeout` and `requestTimeout`, which count only until the request is received, so
 *   a held long-poll (up to 30 s, plus the agent's margin) or a live-update stream is never cut:
 *   its request arrived long before.
 * - **Count**: at most `maxConnections` connections in all (default 4,096); a connection past it
 *   is answered `503` with the error body and closed. Of those, at most `maxUnauthenticated`
 *   (default 2,048) may be unauthenticated, that is, have not yet carried a request with a known
 *   key or a dashboard session: past it, the oldest unauthenticated connection is closed (a
 *   connection still sending its headers is answered `503` first) to make room for the new one,
 *   so connections held open by someone without a key can neither grow without bound nor keep
 *   agents out. An authenticated connection (an agent's, held in a long-poll or idle between
 *   requests) is never closed by this.
 *
 * What an unauthenticated connection can hold is thus bounded by its headers (16 KiB) and by
 * what the server reads before it checks a key: the API checks the key before reading a body,
 * and the sign-in form reads at most 8 KiB, and only with the sign-in page's cookie.
 *
 * @since 0.1.0
 */
import * as Wire from "houndsight/wire"
import * as Http from "node:http"
import type * as Net from "node:net"

/**
 * The bounds, each optional (see the defaults).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** All connections at once (default 4,096). */
  readonly maxConnections?: number | undefined
  /** Connections that have not yet authenticated (default 2,048). */
  readonly maxUnauthenticated?: number | undefined
  /** Time for a request's headers to arrive (default 10,000 ms). */
  readonly headersTimeoutMillis?: number | undefined
  /** Time for a whole request, body included, to arrive (default 60,000 ms). */
  readonly requestTimeoutMillis?: number | undefined
}

/**
 * The defaults of `Options`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  maxConnections: 4_096,
  maxUnauthenticated: 2_048,
  headersTimeoutMillis: 10_000,
  requestTimeoutMillis: 60_000
} as const

/**
 * The bounds with every default filled in.
 *
 * @since 0.1.0
 * @category models
 */
export type Settings = { readonly [K in keyof typeof defaults]: number }

/**
 * `options` with the defaults filled in; a bad value throws (it is the caller's code).
 *
 * @since 0.1.0
 * @category constructors
 */
export const settings = (options: Options = {}): Settings => {
  const out = {
    maxConnections: options.maxConnections ?? defaults.maxConnections,
    maxUnauthenticated: options.maxUnauthenticated ?? defaults.maxUnauthenticated,
    headersTimeoutMillis: options.headersTimeoutMillis ?? defaults.headersTimeoutMillis,
    requestTimeoutMillis: options.requestTimeoutMillis ?? defaults.requestTimeoutMillis
  }
  for (const [key, value] of Object.entries(out)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`houndsight-server: connections.${key} must be a whole number above 0, got ${value}`)
    }
  }
  return out
}

/** Set on a socket once a request on it authenticated. */
const authenticated: unique symbol = Symbol.for("houndsight-server/authenticated")
/** Set on a socket the guard tracks: called when it authenticates. */
const onAuthenticated: unique symbol = Symbol.for("houndsight-server/onAuthenticated")

type Tracked = Net.Socket & {
  [authenticated]?: boolean
  [onAuthenticated]?: () => void
  _httpMessage?: Http.ServerResponse | null
}

/**
 * Marks the connection of a request as authenticated (a known key, or a dashboard session): it
 * no longer counts against `maxUnauthenticated` and is never closed to make room.
 *
 * @since 0.1.0
 * @category authentication
 */
export const markAuthenticated = (source: unknown): void => {
  const socket = (source as Partial<Http.IncomingMessage> | undefined)?.socket as Tracked | undefined | null
  if (socket === undefined || socket === null || socket[authenticated] === true) return
  socket[authenticated] = true
  socket[onAuthenticated]?.()
}

const refusal = (message: string): string => {
  const body = JSON.stringify(Wire.ErrorBody.make("unavailable", message))
  return `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}

const tooMany = refusal("the server holds as many connections as it may: try again in a moment")
const evicted = refusal("this connection sent no authenticated request while others waited: connect again")

/** Answers a connection that has no answer under way with `text`, then closes it. */
const closeWith = (socket: Tracked, text: string): void => {
  if (socket.destroyed) return
  if (socket._httpMessage == null && socket.writable) {
    socket.end(text)
    // do not wait for the client to read it
    setTimeout(() => socket.destroy(), 1_000).unref()
  } else socket.destroy()
}

/**
 * What the guard counts, for tests and scripts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts {
  readonly open: number
  readonly unauthenticated: number
  readonly refused: number
  readonly evicted: number
}

/**
 * Applies the bounds to a node server: its timeouts, and a count of its connections.
 *
 * @since 0.1.0
 * @category constructors
 */
export const guard = (server: Http.Server, s: Settings): { readonly counts: () => Counts } => {
  server.headersTimeout = s.headersTimeoutMillis
  server.requestTimeout = s.requestTimeoutMillis
  let open = 0
  let refused = 0
  let evictedCount = 0
  // insertion order: the oldest unauthenticated connection first
  const unauthenticated = new Set<Tracked>()
  server.on("connection", (raw: Net.Socket) => {
    const socket = raw as Tracked
    if (open >= s.maxConnections) {
      refused++
      closeWith(socket, tooMany)
      return
    }
    open++
    socket.once("close", () => {
      open--
      unauthenticated.delete(socket)
    })
    if (unauthenticated.size >= s.maxUnauthenticated) {
      const oldest = unauthenticated.values().next().value
      if (oldest !== undefined) {
        unauthenticated.delete(oldest)
        evictedCount++
        closeWith(oldest, evicted)
      }
    }
    unauthenticated.add(socket)
    socket[onAuthenticated] = () => unauthenticated.delete(socket)
  })
  return { counts: () => ({ open, unauthenticated: unauthenticated.size, refused, evicted: evictedCount }) }
}
