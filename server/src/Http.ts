/**
 * The HTTP front of the server, built from the contract's own `HttpApi` description
 * (`Wire.Api.HoundsightApi`): every route (method and path), who may call it (the group's auth
 * middleware), how its path, query and body decode, and its success status and encoding come
 * from that description, so the server and the SDK's contract cannot drift. A handler is needed
 * for every endpoint, by group and name, or the server does not type-check.
 *
 * It is built on `HttpRouter` rather than `HttpApiBuilder` because the contract asks for things
 * `HttpApiBuilder` does not do: a `413` over 5 MiB, and a `400` with the one error shape
 * `{"error": {"code", "message"}}` naming the field for *every* bad input (a body that is not
 * JSON would otherwise be a 500 with an empty body). Errors are turned into answers in one
 * place, `toResponse`:
 *
 * | failure | answer |
 * |---|---|
 * | no route for the method and path | `404 not_found`, naming the methods the path takes |
 * | no key, unknown key / revoked key / agent key on a reviewer route | `401 unauthorized` / `401 key_revoked` / `403 forbidden` |
 * | body over 5 MiB | `413 payload_too_large` |
 * | body not UTF-8 or not JSON | `400 invalid_json` |
 * | body nested more than 512 levels deep | `400 bad_request` |
 * | path, query or body does not decode | `400 bad_request`, naming each field |
 * | a handler's `ApiError` | its status and code |
 * | storage busy, or the database unreachable (PostgreSQL down or restarting) | `503 unavailable` with `Retry-After: 1` |
 * | anything else | `500 internal` (logged); never for bad input |
 *
 * @since 0.1.0
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import { reflect } from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Wire from "houndsight/wire"
import * as Connections from "./Connections.js"
import * as Ids from "./Ids.js"
import * as IngestCodec from "./IngestCodec.js"
import * as IngestIssues from "./IngestIssues.js"
import * as Limits from "./Limits.js"
import { type Holder, Keys } from "./Keys.js"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Http from "node:http"

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/**
 * What a handler gets: the decoded path, query and body (as the endpoint declares them), the
 * body as parsed JSON before decoding (`rawPayload`), and the request. The caller is the
 * `Wire.Api.Caller` service.
 *
 * @since 0.1.0
 * @category models
 */
export type Request<Endpoint extends HttpApiEndpoint.HttpApiEndpoint.Any> =
  & HttpApiEndpoint.HttpApiEndpoint.Request<Endpoint>
  & { readonly rawPayload: unknown }

/**
 * The failures a handler may answer with: an API error, or anything else (a 500, or a 503 for a
 * busy database).
 *
 * @since 0.1.0
 * @category models
 */
export type HandlerError = Wire.ApiError.ApiError | { readonly _tag: "SqlError" }

/**
 * One endpoint's handler.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<Endpoint extends HttpApiEndpoint.HttpApiEndpoint.Any, R> = (
  request: Request<Endpoint>
) => Effect.Effect<HttpApiEndpoint.HttpApiEndpoint.Success<Endpoint>, HandlerError, R | Wire.Api.Caller>

/**
 * A handler for every endpoint of every group, by group name and endpoint name.
 *
 * @since 0.1.0
 * @category models
 */
export type Handlers<Groups extends HttpApiGroup.HttpApiGroup.Any, R> = {
  readonly [G in Groups as HttpApiGroup.HttpApiGroup.Name<G>]: {
    readonly [E in HttpApiGroup.HttpApiGroup.Endpoints<G> as HttpApiEndpoint.HttpApiEndpoint.Name<E>]: Handler<E, R>
  }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

const statusByTag: Record<string, number> = Wire.ApiError.statusByTag

const isApiError = (u: unknown): u is Wire.ApiError.ApiError =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" && u._tag in statusByTag &&
  "code" in u && "message" in u

/**
 * A JSON error answer: `{"error": {"code", "message"}}` with the error's status.
 *
 * @since 0.1.0
 * @category errors
 */
export const errorResponse = (error: Wire.ApiError.ApiError): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(Wire.ErrorBody.make(error.code, error.message), {
    status: Wire.ApiError.statusOf(error),
    ...(error._tag === "ServiceUnavailable" ? { headers: { "retry-after": "1" } } : {})
  })

/**
 * Whether a failure is SQLite's "busy" or "locked" (answered `503` with `Retry-After: 1`).
 *
 * @since 0.2.0
 * @category errors
 */
export const isBusy = (error: unknown): boolean =>
  Wire.causeChain(error, 4).some((link) => {
    const code = typeof link === "object" ? (link as { code?: unknown }).code : undefined
    return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED"
  })

/** PostgreSQL's SQLSTATEs of a server shutting down or not accepting connections yet, and of a lost connection. */
const unavailableStates = new Set(["57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"])

/** Node's socket errors of a database that cannot be reached. */
const unreachableCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"])

/**
 * Whether a failure is the database being unreachable: refused or lost connections, PostgreSQL
 * shutting down or starting up (answered `503` with `Retry-After: 1`; the pool reconnects by
 * itself once it is back).
 *
 * @since 0.2.0
 * @category errors
 */
export const isUnavailable = (error: unknown): boolean =>
  Wire.causeChain(error, 6).some((link) => {
    if (typeof link !== "object" || link === null) return false
    const { code, message } = link as { code?: unknown; message?: unknown }
    if (typeof code === "string" && (unavailableStates.has(code) || unreachableCodes.has(code))) return true
    return typeof message === "string" &&
      /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/.test(message)
  })

/**
 * Turns any failure of a request into its answer (the one place where errors become HTTP).
 *
 * @since 0.1.0
 * @category errors
 */
export const toResponse = (
  cause: Cause.Cause<unknown>,
  request: HttpServerRequest.HttpServerRequest,
  routes: ReadonlyArray<Pick<Route, "method" | "path">> = []
): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (isApiError(error)) return Effect.succeed(errorResponse(error))
    if (typeof error === "object" && error !== null && "_tag" in error) {
      if (error._tag === "RouteNotFound") return Effect.succeed(errorResponse(routeNotFound(request, routes)))
      if (error._tag === "SqlError" && isBusy(error)) {
        return Effect.succeed(errorResponse(
          new Wire.ApiError.ServiceUnavailable({ message: "the database is busy; try again in a moment" })
        ))
      }
      if (error._tag === "SqlError" && isUnavailable(error)) {
        return Effect.as(
          Effect.logWarning(`${request.method} ${pathOf(request.url)}: the database is unavailable`),
          errorResponse(
            new Wire.ApiError.ServiceUnavailable({
              message: "the database is unavailable (restarting or unreachable): try again in a moment"
            })
          )
        )
      }
    }
  }
  return Effect.as(
    Effect.logError(`${request.method} ${request.url} failed`, cause),
    errorResponse(
      new Wire.ApiError.InternalServerError({
        message: `the server failed while answering ${request.method} ${pathOf(request.url)}; see the server's log`
      })
    )
  )
}

const pathOf = (url: string): string => {
  const i = url.indexOf("?")
  return i === -1 ? url : url.slice(0, i)
}

const patternOf = (path: string): RegExp =>
  new RegExp(`^${path.split("/").map((s) => (s.startsWith(":") ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/")}/?$`)

const routeNotFound = (
  request: HttpServerRequest.HttpServerRequest,
  routes: ReadonlyArray<Pick<Route, "method" | "path">>
): Wire.ApiError.NotFound => {
  const path = pathOf(request.url)
  const methods = [...new Set(routes.filter((r) => patternOf(r.path).test(path)).map((r) => r.method))]
  return new Wire.ApiError.NotFound({
    message: methods.length > 0
      ? `${request.method} ${path} is not an endpoint: ${path} takes ${methods.join(", ")}`
      : `no endpoint ${request.method} ${path}: see the endpoints of contract v1 (GET /healthz, POST /v1/ingest, /v1/leashes, …)`
  })
}

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

type Access = "public" | "agent" | "reviewer"

const accessOf = (
  middleware: ReadonlySet<unknown>,
  where: string
): Access => {
  let access: Access = "public"
  for (const m of middleware) {
    if (m === Wire.Api.ReviewerAuth) access = "reviewer"
    else if (m === Wire.Api.AgentAuth) access = access === "reviewer" ? access : "agent"
    else throw new Error(`houndsight-server: ${where} uses a middleware the server does not implement`)
  }
  return access
}

const bearer = /^Bearer\s+(\S+)\s*$/i

/**
 * Checks a request's `Authorization: Bearer <key>` for an endpoint of `access` (the checks of
 * every API route, also used by `POST /v1/traces`).
 *
 * @since 0.2.0
 * @category authentication
 */
export const authenticate = (
  access: "agent" | "reviewer",
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<Holder, Wire.ApiError.Unauthorized | Wire.ApiError.Forbidden | SqlError, Keys> =>
  Effect.flatMap(Keys, (keys): Effect.Effect<Holder, Wire.ApiError.Unauthorized | Wire.ApiError.Forbidden | SqlError> => {
    const header = request.headers["authorization"]
    if (header === undefined || header.trim() === "") {
      return Effect.fail(
        new Wire.ApiError.Unauthorized({
          message: `missing Authorization: Bearer <key> header: ${
            access === "reviewer" ? "this endpoint needs a reviewer key (rv-hnd-…)" : "use an agent key (sk-hnd-…)"
          }`
        })
      )
    }
    const match = bearer.exec(header)
    if (match === null) {
      return Effect.fail(
        new Wire.ApiError.Unauthorized({ message: "the Authorization header must be `Bearer <key>`" })
      )
    }
    return Effect.flatMap(keys.find(match[1]!), (found): Effect.Effect<Holder, Wire.ApiError.Unauthorized | Wire.ApiError.Forbidden> => {
      if (found._tag === "Unknown") {
        return Effect.fail(
          new Wire.ApiError.Unauthorized({
            message: "unknown key: this server does not know it. Create one with `houndsight-server keys create --agent NAME` " +
              "(or `--reviewer NAME`): a key is shown once, when it is created or at the server's first start"
          })
        )
      }
      if (found._tag === "Revoked") {
        return Effect.fail(
          new Wire.ApiError.Unauthorized({
            code: "key_revoked",
            message: `key ${found.id} was revoked at ${found.revokedAt}: ask for a new one (houndsight-server keys create)`
          })
        )
      }
      const role = found.holder.role
      if (access === "reviewer" && !Wire.canReview(role)) {
        return Effect.fail(
          new Wire.ApiError.Forbidden({
            message: "an agent key may not decide leashes or read the dashboard: use a reviewer key (rv-hnd-…)"
          })
        )
      }
      if (access === "agent" && !Wire.canActAsAgent(role)) {
        return Effect.fail(new Wire.ApiError.Forbidden({ message: `a ${role} key may not call agent endpoints` }))
      }
      return Effect.succeed(found.holder)
    })
  })

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * The largest body the server reads: 5 MiB (`Wire.maxIngestBytes`), for every endpoint.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxBodyBytes = Wire.maxIngestBytes

/** How much of an oversized body without a Content-Length is read and dropped before the connection is cut. */
const maxDrainBytes = 64 * 1024 * 1024

const tooLarge = (size: string) =>
  new Wire.ApiError.PayloadTooLarge({
    message: `the body is ${size}; the limit is 5 MiB (${maxBodyBytes} bytes): send smaller batches`
  })

const unreadable = (why: string) => new Wire.ApiError.BadRequest({ message: `the body could not be read (${why})` })

/**
 * A body of a known length (at most `maxBodyBytes`) read straight from Node's request: Node's
 * parser ends the body at its Content-Length, so no limit is checked per chunk. The platform's
 * `request.stream` does the same through a channel of chunks, whose fibers and operators cost
 * a share of every request an agent waits on (BENCHMARKS.md, "Full runs of 2026-12-02,
 * evening").
 */
const readKnownLength = (source: Http.IncomingMessage, length: number): Effect.Effect<Buffer, Wire.ApiError.ApiError> =>
  Effect.async<Buffer, Wire.ApiError.ApiError>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    }
    const onError = (error: Error) => {
      stop()
      resume(Effect.fail(unreadable(error.message)))
    }
    const onClose = () => {
      if (source.complete) return
      stop()
      resume(Effect.fail(unreadable(`the connection closed after ${size} of ${length} bytes`)))
    }
    const stop = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
      source.off("close", onClose)
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    source.on("close", onClose)
    return Effect.sync(stop)
  })

/** Node's request behind `request`, when nothing has read its body yet. */
const unreadSource = (request: HttpServerRequest.HttpServerRequest): Http.IncomingMessage | undefined => {
  const source = request.source as Partial<Http.IncomingMessage> | undefined
  return source !== undefined && typeof source.on === "function" && source.readable === true &&
      source.readableDidRead === false && source.complete === false
    ? source as Http.IncomingMessage
    : undefined
}

/**
 * Reads a request's body, at most `maxBodyBytes` (a larger one is a `413`, read and dropped so
 * the client gets the answer). A body with a Content-Length within the limit is read straight
 * from Node's request (`readKnownLength`); any other through the platform's stream, which counts
 * and bounds what arrives.
 *
 * @since 0.2.0
 * @category decoding
 */
export const readBody = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Buffer, Wire.ApiError.ApiError> =>
  Effect.suspend(() => {
    const length = request.headers["content-length"]
    const known = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
    if (known === undefined) return readCounted(request)
    if (known > maxBodyBytes) return Effect.fail(tooLarge(`${length} bytes`))
    const source = unreadSource(request)
    return source === undefined ? readCounted(request) : readKnownLength(source, known)
  })

/** A body read through the platform's stream, bounded chunk by chunk. */
const readCounted = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<Buffer, Wire.ApiError.ApiError> =>
  Effect.gen(function*() {
    // Past the limit the rest of the body is still read (and dropped), up to `maxDrainBytes`, so
    // the client gets the 413 instead of a reset connection.
    const read = yield* request.stream.pipe(
      Stream.mapError((error) => unreadable(error.description ?? error.reason)),
      Stream.runFoldEffect(
        { size: 0, chunks: Chunk.empty<Uint8Array>() },
        (acc, chunk) => {
          const size = acc.size + chunk.length
          if (size > maxDrainBytes) return Effect.fail(tooLarge(`over ${maxDrainBytes} bytes`))
          return Effect.succeed({ size, chunks: size > maxBodyBytes ? acc.chunks : Chunk.append(acc.chunks, chunk) })
        }
      )
    )
    if (read.size > maxBodyBytes) return yield* tooLarge(`${read.size} bytes`)
    return Buffer.concat(Chunk.toReadonlyArray(read.chunks))
  })

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * The deepest nesting of arrays and objects the server reads in a body: 512 levels. A deeper
 * body is a `400` before it is parsed, so it can neither stall the server in `JSON.parse` nor
 * overflow the stack of whatever walks it later (decoding, error messages, canonical JSON,
 * storage). The SDK keeps recorded values to 64 levels, so its records stay far below it.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxJsonDepth = 512

/**
 * Whether JSON text nests arrays and objects deeper than `limit` (default `maxJsonDepth`),
 * counted without parsing it (text inside strings is skipped). Anything that reads JSON from a
 * client (a body, a form field) checks it before `JSON.parse`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const nestsDeeperThan = (text: string, limit: number = maxJsonDepth): boolean => {
  // text with at most `limit` opening brackets cannot nest deeper: counted by the engine's own
  // search, which a body of millions of flat values passes in a few milliseconds
  let opened = 0
  for (let i = text.indexOf("["); i !== -1 && opened <= limit; i = text.indexOf("[", i + 1)) opened++
  for (let i = text.indexOf("{"); i !== -1 && opened <= limit; i = text.indexOf("{", i + 1)) opened++
  if (opened <= limit) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) {
      inString = true
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return true
    } else if (c === 93 || c === 125) {
      depth--
    }
  }
  return false
}

/** A body as `JSON.parse` answered it, and its size in bytes. */
interface JsonBody {
  readonly value: unknown
  readonly bytes: number
}

const readJson = (request: HttpServerRequest.HttpServerRequest): Effect.Effect<JsonBody, Wire.ApiError.ApiError> =>
  Effect.flatMap(readBody(request), (bytes): Effect.Effect<JsonBody, Wire.ApiError.ApiError> => {
    if (bytes.length === 0) {
      return Effect.fail(
        new Wire.ApiError.BadRequest({ code: "invalid_json", message: "the body is empty: send a JSON object" })
      )
    }
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      return Effect.fail(new Wire.ApiError.BadRequest({ code: "invalid_json", message: "the body is not UTF-8 text" }))
    }
    if (nestsDeeperThan(text, maxJsonDepth)) {
      return Effect.fail(
        new Wire.ApiError.BadRequest({
          message: `the body nests arrays and objects more than ${maxJsonDepth} levels deep: flatten the deepest values`
        })
      )
    }
    try {
      return Effect.succeed({ value: JSON.parse(text) as unknown, bytes: bytes.length })
    } catch (e) {
      return Effect.fail(
        new Wire.ApiError.BadRequest({
          code: "invalid_json",
          message: `the body is not JSON (${e instanceof Error ? e.message : String(e)})`
        })
      )
    }
  })

/** The synchronous decoder of each endpoint schema, made once (`errors: "all"`, excess keys ignored). */
const decoders = new WeakMap<object, (input: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

const decodeWith = (
  schema: Schema.Schema<any, any, any>,
  where: "path" | "query" | "body",
  input: unknown
): Effect.Effect<any, Wire.ApiError.BadRequest> => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown, never>, {
      errors: "all",
      onExcessProperty: "ignore"
    })
    decoders.set(schema, decode)
  }
  const decoded = decode(input)
  if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
  const message = Wire.ApiError.describeIssues(ParseResult.ArrayFormatter.formatErrorSync(decoded.left))
  return Effect.fail(new Wire.ApiError.BadRequest({ message: where === "body" ? message : `${where}: ${message}` }))
}

/**
 * How a body of one payload schema is read, beyond the schema's decode:
 *
 * - `prepare`: changes the parsed body in place before anything else (v1.1: a leash request's ids
 *   lowercased, before they are compared as canonical JSON).
 * - `decode`: a hand-written decoder for the hot path; it accepts exactly what the schema
 *   accepts and answers the same value (server/test/IngestCodec.test.ts proves it against the
 *   schema), or `undefined`.
 * - `describe`: the message for a body `decode` refused, bounded in the work it does (the
 *   schema's `errors: "all"` decode of a body of a million wrong records is not).
 * - `check`: a failure for a body that decodes but that the server refuses (v1.1: a record over
 *   its limit).
 * - `normalize`: changes the decoded body (v1.1: an ingest batch's ids lowercased).
 */
interface BodyReader {
  readonly prepare?: (raw: unknown) => void
  readonly decode?: (raw: unknown) => unknown
  readonly describe?: (raw: unknown) => string | undefined
  readonly check?: (raw: unknown, bytes: number) => Wire.ApiError.ApiError | undefined
  readonly normalize?: (decoded: any) => unknown
}

const bodyReaders: ReadonlyMap<unknown, BodyReader> = new Map<unknown, BodyReader>([
  [Wire.IngestBatch, {
    normalize: Ids.lowercaseBatch,
    decode: IngestCodec.decodeBatch,
    // measured once the records decode, so a body of a million wrong values is not measured
    // value by value
    check: Limits.recordOverLimit,
    describe: (raw) => {
      const described = IngestIssues.describeBatch(raw)
      return described.named === 0 ? undefined : described.message
    }
  }],
  [Wire.LeashRequest, { prepare: Ids.lowercaseLeashRequest }]
])

/** Query parameters that hold an id, lowercased on receipt (v1.1). */
const idQueryParams: ReadonlyArray<string> = ["trail_id"]

const lowercaseIdParams = (
  search: Readonly<Record<string, string | ReadonlyArray<string>>>
): Readonly<Record<string, string | ReadonlyArray<string>>> => {
  if (!idQueryParams.some((key) => key in search)) return search
  const out: Record<string, string | ReadonlyArray<string>> = { ...search }
  for (const key of idQueryParams) {
    const value = out[key]
    if (value !== undefined) out[key] = typeof value === "string" ? value.toLowerCase() : value.map((v) => v.toLowerCase())
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------------

/**
 * One served endpoint, as the router found it in the API description.
 *
 * @since 0.1.0
 * @category models
 */
export interface Route {
  readonly group: string
  readonly name: string
  readonly method: HttpMethod.HttpMethod
  readonly path: string
  readonly access: Access
  readonly status: number
}

/**
 * The routes an API description declares, in declaration order.
 *
 * @since 0.1.0
 * @category reflection
 */
export const routesOf = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): ReadonlyArray<Route & { readonly endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps }> => {
  const routes: Array<Route & { readonly endpoint: HttpApiEndpoint.HttpApiEndpoint.AnyWithProps }> = []
  reflect(api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group, middleware }) => {
      const where = `${group.identifier}.${endpoint.name}`
      routes.push({
        group: group.identifier,
        name: endpoint.name,
        method: endpoint.method,
        path: endpoint.path,
        access: accessOf(middleware, where),
        status: HttpApiSchema.getStatusSuccess(endpoint.successSchema),
        endpoint: endpoint as unknown as HttpApiEndpoint.HttpApiEndpoint.AnyWithProps
      })
    }
  })
  return routes
}

/**
 * The HTTP app serving `api` with `handlers`. Every failure is answered by `toResponse`; the app
 * itself never fails.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, AR, R>(
  api: HttpApi.HttpApi<Id, Groups, E, AR>,
  handlers: Handlers<Groups, R>
): Effect.Effect<HttpApp.Default<never, Exclude<R, Wire.Api.Caller> | Keys>> => {
  const routes = routesOf(api)
  const table = handlers as unknown as Record<string, Record<string, (request: any) => Effect.Effect<any, any, any>>>
  for (const group of Object.keys(table)) {
    for (const name of Object.keys(table[group]!)) {
      if (!routes.some((r) => r.group === group && r.name === name)) {
        throw new Error(`houndsight-server: a handler ${group}.${name} has no endpoint in the API description`)
      }
    }
  }
  let router = HttpRouter.empty as HttpRouter.HttpRouter<unknown, unknown>
  for (const route of routes) {
    const handler = table[route.group]?.[route.name]
    if (handler === undefined) {
      throw new Error(`houndsight-server: no handler for ${route.group}.${route.name} (${route.method} ${route.path})`)
    }
    const { endpoint } = route
    const reader = Option.isSome(endpoint.payloadSchema) ? bodyReaders.get(endpoint.payloadSchema.value) : undefined
    const serve = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const caller: Holder = route.access === "public"
        ? { role: "agent", name: "anonymous", id: "anonymous", agent: undefined, email: undefined, development: false }
        : yield* authenticate(route.access, request)
      if (route.access !== "public") Connections.markAuthenticated(request.source)
      const args: Record<string, unknown> = { request, rawPayload: undefined }
      if (Option.isSome(endpoint.pathSchema)) {
        const context = yield* HttpRouter.RouteContext
        args.path = yield* decodeWith(endpoint.pathSchema.value, "path", Ids.lowercaseParams(context.params))
      }
      if (Option.isSome(endpoint.urlParamsSchema)) {
        const search = yield* HttpServerRequest.ParsedSearchParams
        args.urlParams = yield* decodeWith(endpoint.urlParamsSchema.value, "query", lowercaseIdParams(search))
      }
      if (Option.isSome(endpoint.payloadSchema)) {
        const body = yield* readJson(request)
        const raw = body.value
        reader?.prepare?.(raw)
        args.rawPayload = raw
        const decoded = reader?.decode === undefined ? undefined : reader.decode(raw)
        if (decoded !== undefined) args.payload = decoded
        else if (reader?.describe !== undefined) {
          // the fast decoder refused it: describe it within bounds (a schema decode only if
          // the description found nothing wrong, which the codec tests say cannot happen)
          const message = reader.describe(raw)
          if (message !== undefined) return yield* Effect.fail(new Wire.ApiError.BadRequest({ message }))
          args.payload = yield* decodeWith(endpoint.payloadSchema.value, "body", raw)
        } else args.payload = yield* decodeWith(endpoint.payloadSchema.value, "body", raw)
        const refused = reader?.check?.(raw, body.bytes)
        if (refused !== undefined) return yield* Effect.fail(refused)
        if (reader?.normalize !== undefined) args.payload = reader.normalize(args.payload)
      }
      const value = yield* Effect.provideService(handler(args), Wire.Api.Caller, caller)
      // an answered request marks its key used (a refused one writes nothing)
      if (route.access !== "public") yield* Effect.ignore(Effect.flatMap(Keys, (keys) => keys.touch(caller.id)))
      const body = yield* Effect.orDie(Schema.encode(endpoint.successSchema as Schema.Schema<unknown, unknown, never>)(value))
      return HttpServerResponse.unsafeJson(body, { status: route.status })
    })
    router = HttpRouter.route(route.method)(route.path as HttpRouter.PathInput, serve)(router) as HttpRouter.HttpRouter<unknown, unknown>
  }
  return Effect.map(HttpRouter.toHttpApp(router), (app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.catchAllCause(app, (cause) =>
        Cause.isInterruptedOnly(cause) ? Effect.failCause(cause as Cause.Cause<never>) : toResponse(cause, request, routes)
      )) as HttpApp.Default<never, Exclude<R, Wire.Api.Caller> | Keys>)
}
