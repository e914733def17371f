/**
 * The whole local gate server as one layer: rules, database, keys, store, gate and the HTTP
 * front, bound to a port. Startup failures are one `StartupError` naming the problem (a bad
 * rules file, a database that cannot be opened or written, a port in use).
 *
 * **Example**
 *
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Server } from "houndsight-server"
 *
 * const program = Effect.gen(function*() {
 *   const info = yield* Server.ServerInfo
 *   console.log(`listening on ${info.url}`)
 * }).pipe(Effect.provide(Server.layer({ port: 0, db: ":memory:" })))
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Wire } from "houndsight"
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import * as Connections from "./Connections.js"
import * as Database from "./Database.js"
import * as Dashboard from "./dashboard/Dashboard.js"
import * as Gate from "./Gate.js"
import * as Handlers from "./Handlers.js"
import * as HttpFront from "./Http.js"
import * as Keys from "./Keys.js"
import * as OpenApiDocument from "./OpenApiDocument.js"
import * as PublicUrl from "./PublicUrl.js"
import * as Rules from "./Rules.js"
import { describeCause, StartupError } from "./ServerError.js"
import * as Store from "./Store.js"
import * as Waiters from "./Waiters.js"

/**
 * The default port.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPort = 7411

/**
 * The default address to bind: loopback only.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHost = "127.0.0.1"

/**
 * How to run the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The port (default 7411; 0 picks a free one). */
  readonly port?: number | undefined
  /** The address to bind (default `127.0.0.1`). */
  readonly host?: string | undefined
  /** The SQLite file (default `.houndsight/houndsight.db`; its folder is created). */
  readonly db?: string | undefined
  /** A rules file to load. */
  readonly rules?: string | undefined
  /** Rules given in code instead of a file (tests). */
  readonly rulesFile?: Wire.Rules.RulesFile | undefined
  /** The base of trace links and the dashboard (default `http://{host}:{port}`). */
  readonly publicUrl?: string | undefined
  /** Keys from the environment (`HOUNDSIGHT_AGENT_KEY`, `HOUNDSIGHT_REVIEWER_KEY`). */
  readonly keys?: Keys.Options | undefined
  /** Bounds on connections: how many, and how long a request may take to arrive (see `Connections`). */
  readonly connections?: Connections.Options | undefined
}

/**
 * What a running server tells its user.
 *
 * @since 0.1.0
 * @category models
 */
export interface Info {
  /** Where the API answers, such as `http://127.0.0.1:7411`. */
  readonly url: string
  /** The dashboard and the base of trace links. */
  readonly publicUrl: string
  readonly port: number
  readonly db: string
  readonly rulesPath: string | undefined
  readonly rules: Wire.Rules.RulesFile
  readonly keys: ReadonlyArray<Keys.KnownKey>
}

/**
 * The running server's facts.
 *
 * @since 0.1.0
 * @category tags
 */
export class ServerInfo extends Context.Tag("houndsight-server/ServerInfo")<ServerInfo, Info>() {}

/** The node server behind the HttpServer, for closing idle connections at shutdown. */
class NodeServer extends Context.Tag("houndsight-server/NodeServer")<NodeServer, Http.Server>() {}

const portError = (host: string, port: number, cause: unknown): StartupError => {
  let inner: unknown = cause
  while (typeof inner === "object" && inner !== null && "cause" in inner && typeof (inner as any).code !== "string") {
    inner = (inner as { cause: unknown }).cause
  }
  const code = typeof inner === "object" && inner !== null ? (inner as { code?: unknown }).code : undefined
  const message = code === "EADDRINUSE"
    ? `port ${port} on ${host} is already in use (is another houndsight-server running?): stop it, or choose another port with --port`
    : code === "EACCES"
    ? `no permission to listen on ${host}:${port}: choose a port above 1024 with --port`
    : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
    ? `cannot listen on ${host}: it is not an address of this machine`
    : `cannot listen on ${host}:${port} (${describeCause(inner)})`
  return new StartupError({ reason: "Port", message })
}

/**
 * Answers a request Node's HTTP parser refused before the server saw it (bytes that are not
 * HTTP, a broken header, headers over 16 KiB, a body framed two ways, a request cut short) with
 * the contract's error body, where Node would answer an empty one, then closes the connection.
 */
const onClientError = (error: Error & { readonly code?: string; readonly reason?: string }, socket: Duplex): void => {
  const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (error.code === "ECONNRESET" || !socket.writable || answering?.headersSent === true) {
    socket.destroy()
    return
  }
  const [status, message] = error.code === "HPE_HEADER_OVERFLOW"
    ? [431, "the request's headers are larger than 16 KiB: send fewer or shorter headers (and keep ids out of long paths)"]
    : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
    ? [408, "the request was not received in time: send it again"]
    : error.code === "HPE_INVALID_EOF_STATE"
    ? [400, "the connection ended before the request was complete: send the whole request"]
    : [400, `the request is not valid HTTP/1.1 (${error.reason ?? error.code ?? "unreadable"}): check the request line, headers and body framing`]
  const body = JSON.stringify(Wire.ErrorBody.make(status === 408 ? "request_timeout" : "bad_request", message))
  socket.end(
    `HTTP/1.1 ${status} ${Http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  )
}

/**
 * Answers a request with an `Expect:` header other than `100-continue` (which Node would answer
 * `417` with an empty body) with the contract's error body.
 */
const onCheckExpectation = (request: Http.IncomingMessage, response: Http.ServerResponse): void => {
  const expect = String(request.headers["expect"] ?? "").slice(0, 80)
  const body = JSON.stringify(Wire.ErrorBody.make(
    "expectation_failed",
    `the server does not support Expect: ${JSON.stringify(expect)}; send the request without it (or with Expect: 100-continue)`
  ))
  response.writeHead(417, { "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" })
  response.end(body)
}

const httpServerLayer = (host: string, port: number, connections: Connections.Settings) =>
  Layer.scopedContext(Effect.gen(function*() {
    // timeouts are checked every second (Node's default, 30 s, would let a slow client hold a
    // connection 30 s past its deadline)
    const server = Http.createServer({ requireHostHeader: false, connectionsCheckingInterval: 1_000 })
    Connections.guard(server, connections)
    server.on("clientError", onClientError)
    server.on("checkExpectation", onCheckExpectation)
    const httpServer = yield* NodeHttpServer.make(() => server, { host, port }).pipe(
      Effect.mapError((error) => portError(host, port, error))
    )
    return Context.make(HttpServer.HttpServer, httpServer).pipe(Context.add(NodeServer, server))
  }))

const publicUrlLayer = (options: Options, host: string) =>
  Layer.effect(
    PublicUrl.PublicUrl,
    Effect.map(HttpServer.HttpServer, (server) => {
      if (options.publicUrl !== undefined) return PublicUrl.normalize(options.publicUrl)
      const address = server.address
      return address._tag === "TcpAddress" ? `http://${urlHost(host)}:${address.port}` : `http://${urlHost(host)}`
    })
  )

const urlHost = (host: string): string =>
  host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host

/** Recomputes every trail's flags when the sensitive list changed since the last start. */
const refreshFlags = Effect.gen(function*() {
  const store = yield* Store.Store
  const rules = yield* Rules.Rules
  const sensitive = JSON.stringify(rules.file.sensitive)
  const previous = yield* store.getMeta("sensitive")
  if (Option.isSome(previous) && previous.value === sensitive) return
  yield* store.recomputeAllFlags(rules.file)
  yield* store.setMeta("sensitive", sensitive)
}).pipe(
  Effect.mapError((cause) =>
    new StartupError({ reason: "Database", message: `cannot recompute the bypass flags (${describeCause(cause)})` })
  )
)

/**
 * Requests Node's parser lets through that HTTP/1.1 says to refuse (RFC 9112), answered `400`
 * with the contract's error body: an HTTP/1.1 request without a `Host` header (Node would answer
 * it with an empty body before the app saw it, so the node server is created with
 * `requireHostHeader: false` and the check is made here), and a request target that is neither a
 * path (`/v1/ingest`) nor an absolute URL, such as `GET *` (which the router would otherwise
 * serve as `/`).
 */
const checkRequest = <E, R>(
  app: HttpApp.Default<E, R>,
  front: { readonly dashboardHosts: ReadonlySet<string> | undefined; readonly publicUrl: string; readonly openApi: string }
): HttpApp.Default<E, R> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const source = request.source as Partial<Http.IncomingMessage>
    const refuse = (message: string) =>
      Effect.succeed(HttpFront.errorResponse(new Wire.ApiError.BadRequest({ message })))
    if (source.httpVersion === "1.1" && request.headers["host"] === undefined) {
      return refuse("an HTTP/1.1 request needs a Host header: send Host: <host>:<port>")
    }
    const target = source.url ?? request.url
    if (!target.startsWith("/") && !/^https?:\/\//i.test(target)) {
      return refuse(`the request target ${JSON.stringify(target.slice(0, 80))} is not a path: send a path such as /v1/ingest`)
    }
    const query = request.url.indexOf("?")
    const path = query === -1 ? request.url : request.url.slice(0, query)
    if (path.startsWith("/v1/")) {
      // one canonical form of every API path: without a trailing slash
      if (path.length > 4 && path.endsWith("/")) {
        return Effect.succeed(HttpFront.errorResponse(
          new Wire.ApiError.NotFound({
            message: `no endpoint ${request.method} ${path.slice(0, 200)}: API paths have no trailing slash; use ${
              path.replace(/\/+$/, "").slice(0, 200)
            }`
          })
        ))
      }
      if (path === "/v1/openapi.json" && (request.method === "GET" || request.method === "HEAD")) {
        return Effect.succeed(HttpServerResponse.text(front.openApi, { contentType: "application/json" }))
      }
    } else if (front.dashboardHosts !== undefined && path !== "/healthz") {
      // DNS rebinding: on loopback, the dashboard answers only to this machine's own names
      const name = hostName(request.headers["host"])
      if (name === undefined || !front.dashboardHosts.has(name)) {
        return Effect.succeed(HttpFront.errorResponse(
          new Wire.ApiError.Forbidden({
            message: `this dashboard listens on loopback and answers only at ${front.publicUrl} or localhost (Host: ${
              JSON.stringify(String(request.headers["host"] ?? "").slice(0, 80))
            } is not a name of this machine; a page elsewhere may have pointed its name here): open ${front.publicUrl}, or start the server with --public-url naming the host you use`
          })
        ))
      }
    }
    if (!path.startsWith("/v1/")) {
      // v1.1: a dashboard page of a leash or a trail with its id in upper case is the page of the
      // lowercase id (the API lowercases its path parameters itself)
      const lowered = path.replace(anyUuid, (id) => id.toLowerCase())
      if (lowered !== path) {
        return Effect.provideService(
          app,
          HttpServerRequest.HttpServerRequest,
          request.modify({ url: lowered + request.url.slice(path.length) })
        )
      }
    }
    return app
  })

const anyUuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi

/** The host name of a `Host` header, lowercase, without its port (`[::1]` for IPv6). */
const hostName = (host: string | undefined): string | undefined => {
  if (host === undefined) return undefined
  const h = host.trim().toLowerCase()
  if (h.startsWith("[")) {
    const end = h.indexOf("]")
    return end === -1 ? undefined : h.slice(0, end + 1)
  }
  const colon = h.lastIndexOf(":")
  return colon === -1 ? h : h.slice(0, colon)
}

/** Whether the server listens on this machine only. */
const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)

/** The host names the dashboard answers to when it listens on loopback; `undefined` otherwise. */
const dashboardHostsOf = (host: string, publicUrl: string): ReadonlySet<string> | undefined => {
  if (!isLoopback(host)) return undefined
  const names = new Set(["localhost", "127.0.0.1", "[::1]"])
  if (/^127\./.test(host)) names.add(host)
  try {
    names.add(new URL(publicUrl).hostname.toLowerCase())
  } catch {
    // a public URL is normalized at startup; nothing to add
  }
  return names
}

/** Serves the API; on shutdown, answers held long-polls first so the server closes at once. */
const serveLayer = (host: string) => Layer.scopedDiscard(Effect.gen(function*() {
  const handlers = yield* Handlers.make
  const app = yield* Dashboard.mount(yield* HttpFront.make(Wire.Api.HoundsightApi, handlers))
  const publicUrl = yield* PublicUrl.PublicUrl
  const front = {
    dashboardHosts: dashboardHostsOf(host, publicUrl),
    publicUrl,
    openApi: JSON.stringify(OpenApiDocument.make())
  }
  // No spans: the server exports no traces, and a span per request (URL parsing, header
  // redaction, a dozen attributes) and per SQL statement only cost CPU time.
  yield* HttpServer.serveEffect(checkRequest(app, front)).pipe(
    Effect.locally(HttpMiddleware.currentTracerDisabledWhen, () => true),
    Effect.withTracerEnabled(false)
  )
  const gate = yield* Gate.Gate
  const server = yield* NodeServer
  yield* Effect.addFinalizer(() =>
    Effect.andThen(gate.shutdown, Effect.sync(() => server.closeIdleConnections()))
  )
}))

/**
 * The server: binds the port, opens the database, loads the rules and keys, and serves.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<ServerInfo | Gate.Gate | Store.Store | Waiters.Waiters, StartupError> => {
  const host = options.host ?? defaultHost
  const port = options.port ?? defaultPort
  const db = options.db ?? Database.defaultPath
  const rules = options.rulesFile !== undefined ? Rules.layerFile(options.rulesFile) : Rules.layer(options.rules)
  // Built in this order, so the first problem found is reported: rules, database, port.
  const storage = Layer.mergeAll(Store.layer, Keys.layer(options.keys ?? {})).pipe(
    Layer.provideMerge(Database.layer(db))
  )
  const stored = Layer.provideMerge(
    Layer.effectDiscard(refreshFlags),
    Layer.provideMerge(Layer.mergeAll(storage, Waiters.layer), rules)
  )
  const connections = Connections.settings(options.connections)
  const bound = Layer.provideMerge(httpServerLayer(host, port, connections), stored)
  const withUrl = Layer.provideMerge(publicUrlLayer(options, host), bound)
  const withGate = Layer.provideMerge(Gate.layer, withUrl)
  const info = Layer.effect(
    ServerInfo,
    Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const keys = yield* Keys.Keys
      const r = yield* Rules.Rules
      const publicUrl = yield* PublicUrl.PublicUrl
      const address = server.address
      const boundPort = address._tag === "TcpAddress" ? address.port : port
      return {
        url: `http://${urlHost(host)}:${boundPort}`,
        publicUrl,
        port: boundPort,
        db,
        rulesPath: r.path,
        rules: r.file,
        keys: keys.known
      }
    })
  )
  const ready = Layer.mergeAll(info, serveLayer(host))
  return Layer.provideMerge(ready, withGate).pipe(
    Layer.map((context) => context as Context.Context<ServerInfo | Gate.Gate | Store.Store | Waiters.Waiters>)
  )
}
