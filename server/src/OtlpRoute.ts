/**
 * `POST /v1/traces`: OTLP/HTTP traces into trails and steps (`docs/otlp.md`). Here the OTLP/HTTP
 * specification wins over the contract's error body: every answer is an OTLP message in the
 * request's own encoding (protobuf for `application/x-protobuf`, JSON for `application/json`;
 * JSON when the content type is neither):
 *
 * | case | answer |
 * |---|---|
 * | every span stored (or already held) | `200` `ExportTraceServiceResponse` (empty) |
 * | some spans refused | `200` with `partial_success` (`rejected_spans`, `error_message`) |
 * | body not the declared encoding, not gzip, not an `ExportTraceServiceRequest` | `400` `google.rpc.Status` |
 * | no key / unknown or revoked key / reviewer key or another agent's trail | `401` / `401` / `403` |
 * | body over 5 MiB as sent, over `maxDecodedBytes` once inflated, or over `OtlpMapping.limits` | `413` |
 * | another `Content-Type`, or a `Content-Encoding` other than `gzip` | `415` |
 * | more than `maxConcurrent` requests decoding at once | `429` with `Retry-After: 1` |
 * | storage busy | `503` with `Retry-After: 1` |
 *
 * Records go through `Store.ingest` after the same ownership checks as `POST /v1/ingest`, so
 * the bypass audit and the cross-check run on them as on native records.
 *
 * @since 0.2.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Wire from "houndsight/wire"
import * as Zlib from "node:zlib"
import * as Connections from "./Connections.js"
import * as Http from "./Http.js"
import { Keys } from "./Keys.js"
import * as OtlpMapping from "./OtlpMapping.js"
import type * as OtlpProto from "./OtlpProto.js"
import * as Ownership from "./Ownership.js"
import { Rules } from "./Rules.js"
import { Store } from "./Store.js"

/**
 * The path OTLP/HTTP exporters send traces to.
 *
 * @since 0.2.0
 * @category constants
 */
export const path = "/v1/traces"

/**
 * The largest body once inflated: 8 MiB. A gzip body is inflated with this as its output limit
 * (never unbounded), so a gzip bomb is a `413` after at most this much work.
 *
 * @since 0.2.0
 * @category constants
 */
export const maxDecodedBytes = 8 * 1024 * 1024

/**
 * How many `/v1/traces` requests may be read and decoded at once; one more is a `429` with
 * `Retry-After: 1` (each holds up to `maxDecodedBytes` and its decoded form in memory).
 *
 * @since 0.2.0
 * @category constants
 */
export const maxConcurrent = 4

/** How a request's body and its answer are written: JSON, or protobuf through the codec. */
type Encoding = { readonly kind: "json" } | { readonly kind: "protobuf"; readonly proto: typeof OtlpProto }

const json: Encoding = { kind: "json" }

/**
 * The protobuf codec (`OtlpProto.ts` and `protobufjs` under it), loaded by the first protobuf
 * request: a server that is never sent OTLP/protobuf never evaluates them (BENCHMARKS.md,
 * Part 4).
 */
const protobuf: Effect.Effect<Encoding> = Effect.map(
  Effect.promise(() => import("./OtlpProto.js")),
  (proto) => ({ kind: "protobuf", proto })
)

/** An OTLP failure: its HTTP status and message. */
class Refusal {
  constructor(readonly status: number, readonly message: string, readonly retryAfter?: number) {}
}

/** The gRPC status code that goes with an HTTP status in a `google.rpc.Status` body. */
const grpcCode = (status: number): number =>
  status === 400 || status === 415
    ? 3 // INVALID_ARGUMENT
    : status === 401
    ? 16 // UNAUTHENTICATED
    : status === 403
    ? 7 // PERMISSION_DENIED
    : status === 404
    ? 5 // NOT_FOUND
    : status === 405
    ? 12 // UNIMPLEMENTED
    : status === 413 || status === 429
    ? 8 // RESOURCE_EXHAUSTED
    : status === 503
    ? 14 // UNAVAILABLE
    : 13 // INTERNAL

const failure = (refusal: Refusal, encoding: Encoding): HttpServerResponse.HttpServerResponse => {
  const code = grpcCode(refusal.status)
  const headers = refusal.retryAfter === undefined ? undefined : { "retry-after": String(refusal.retryAfter) }
  return encoding.kind === "protobuf"
    ? HttpServerResponse.uint8Array(encoding.proto.encodeStatus(code, refusal.message), {
      status: refusal.status,
      contentType: "application/x-protobuf",
      ...(headers === undefined ? {} : { headers })
    })
    : HttpServerResponse.unsafeJson({ code, message: refusal.message }, {
      status: refusal.status,
      ...(headers === undefined ? {} : { headers })
    })
}

const success = (mapped: OtlpMapping.Mapped, encoding: Encoding): HttpServerResponse.HttpServerResponse => {
  if (encoding.kind === "protobuf") {
    return HttpServerResponse.uint8Array(encoding.proto.encodeResponse(mapped.rejected, mapped.errorMessage), {
      status: 200,
      contentType: "application/x-protobuf"
    })
  }
  return HttpServerResponse.unsafeJson(
    mapped.rejected === 0
      ? {}
      : { partialSuccess: { rejectedSpans: mapped.rejected, errorMessage: mapped.errorMessage } },
    { status: 200 }
  )
}

const encodingOf = (contentType: string | undefined): Encoding["kind"] | undefined => {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase()
  return type === "application/x-protobuf" ? "protobuf" : type === "application/json" ? "json" : undefined
}

const fromApiError = (error: Wire.ApiError.ApiError): Refusal => new Refusal(Wire.ApiError.statusOf(error), error.message)

const inflate = (body: Buffer): Effect.Effect<Buffer, Refusal> =>
  Effect.async<Buffer, Refusal>((resume) => {
    Zlib.gunzip(body, { maxOutputLength: maxDecodedBytes }, (error, out) => {
      if (error === null) return resume(Effect.succeed(out))
      const code = (error as NodeJS.ErrnoException).code
      resume(Effect.fail(
        code === "ERR_BUFFER_TOO_LARGE"
          ? new Refusal(
            413,
            `the gzip body inflates past ${maxDecodedBytes} bytes (8 MiB), the limit once decompressed: send fewer spans per request`
          )
          : new Refusal(400, `the body is not valid gzip (${error.message}): send it compressed with gzip, or without Content-Encoding`)
      ))
    })
  })

const utf8 = new TextDecoder("utf-8", { fatal: true })

const decode = (bytes: Buffer, encoding: Encoding): Effect.Effect<unknown, Refusal> =>
  Effect.try({
    try: () => {
      if (encoding.kind === "protobuf") return encoding.proto.decodeRequest(bytes)
      const text = utf8.decode(bytes)
      if (Http.nestsDeeperThan(text)) throw new Error(`it nests more than ${Http.maxJsonDepth} levels deep`)
      return JSON.parse(text) as unknown
    },
    catch: (e) =>
      new Refusal(
        400,
        encoding.kind === "protobuf"
          ? `the body is not a protobuf ExportTraceServiceRequest (${e instanceof Error ? e.message : String(e)})`
          : `the body is not OTLP/JSON (${e instanceof Error ? e.message : String(e)})`
      )
  })

const mapRequest = (request: unknown, encoding: Encoding): Effect.Effect<OtlpMapping.Mapped, Refusal> =>
  Effect.try({
    try: () => OtlpMapping.map(request, encoding.kind === "protobuf" ? "bytes" : "hex"),
    catch: (e) =>
      e instanceof OtlpMapping.RequestTooLarge
        ? new Refusal(413, e.message)
        : e instanceof OtlpMapping.RequestInvalid
        ? new Refusal(400, `the body is not an ExportTraceServiceRequest: ${e.message}`)
        : new Refusal(400, `the body could not be read as traces (${e instanceof Error ? e.message : String(e)})`)
  })

/**
 * Serves `POST /v1/traces` in front of `app` (every other request goes to `app`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const serve = <E, R>(
  app: HttpApp.Default<E, R>
): Effect.Effect<HttpApp.Default<E, R | Keys>, never, Store | Rules | Ownership.Ownership> =>
  Effect.gen(function*() {
    const store = yield* Store
    const rules = yield* Rules
    const ownership = yield* Ownership.Ownership
    let inFlight = 0

    const handle = (request: HttpServerRequest.HttpServerRequest, encoding: Encoding) =>
      Effect.gen(function*() {
        const caller = yield* Effect.mapError(Http.authenticate("agent", request), (error) =>
          error._tag === "SqlError" ? error : fromApiError(error))
        Connections.markAuthenticated(request.source)
        const contentEncoding = (request.headers["content-encoding"] ?? "identity").trim().toLowerCase()
        if (contentEncoding !== "gzip" && contentEncoding !== "identity") {
          return yield* Effect.fail(
            new Refusal(
              415,
              `Content-Encoding ${JSON.stringify(contentEncoding.slice(0, 40))} is not supported: send gzip or no encoding`
            )
          )
        }
        const raw = yield* Effect.mapError(Http.readBody(request), fromApiError)
        const bytes = contentEncoding === "gzip" ? yield* inflate(raw) : raw
        const mapped = yield* mapRequest(yield* decode(bytes, encoding), encoding)
        if (mapped.batch.trails.length + mapped.batch.steps.length > 0) {
          const claim = yield* ownership.checkIngest(caller, mapped.batch)
            .pipe(Effect.mapError((error) => error._tag === "SqlError" ? error : fromApiError(error)))
          yield* store.ingest(mapped.batch, rules.file)
          yield* claim
        }
        yield* Effect.ignore(Effect.flatMap(Keys, (keys) => keys.touch(caller.id)))
        return success(mapped, encoding)
      })

    const traces = (request: HttpServerRequest.HttpServerRequest) => {
      const kind = encodingOf(request.headers["content-type"])
      return kind === "protobuf"
        ? Effect.flatMap(protobuf, (encoding) => tracesIn(request, encoding))
        : tracesIn(request, kind === undefined ? undefined : json)
    }

    /** `POST /v1/traces` in its encoding (`undefined`: a Content-Type that is not OTLP/HTTP). */
    const tracesIn = (request: HttpServerRequest.HttpServerRequest, encoding: Encoding | undefined) => {
      if (request.method !== "POST") {
        return Effect.succeed(
          failure(new Refusal(405, `${path} takes POST only (OTLP/HTTP traces)`), encoding ?? json).pipe(
            HttpServerResponse.setHeader("allow", "POST")
          )
        )
      }
      if (encoding === undefined) {
        return Effect.succeed(failure(
          new Refusal(
            415,
            `Content-Type ${JSON.stringify(String(request.headers["content-type"] ?? "").slice(0, 80))} is not OTLP/HTTP: ` +
              "send application/x-protobuf or application/json"
          ),
          json
        ))
      }
      if (inFlight >= maxConcurrent) {
        return Effect.succeed(failure(
          new Refusal(429, `the server is decoding ${maxConcurrent} trace requests already: retry after 1 s`, 1),
          encoding
        ))
      }
      inFlight++
      return handle(request, encoding).pipe(
        Effect.catchAllCause((cause) => {
          const error = Cause.failureOption(cause)
          if (error._tag === "Some" && error.value instanceof Refusal) return Effect.succeed(failure(error.value, encoding))
          if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
          const squashed = Cause.squash(cause)
          if (Http.isBusy(squashed)) {
            return Effect.succeed(failure(new Refusal(503, "the database is busy: retry after 1 s", 1), encoding))
          }
          return Effect.as(
            Effect.logError("POST /v1/traces failed", cause),
            failure(new Refusal(500, "the server failed to store the traces (logged): retry later"), encoding)
          )
        }),
        Effect.ensuring(Effect.sync(() => inFlight--))
      )
    }

    const served: HttpApp.Default<E, R | Keys> = Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request): HttpApp.Default<E, R | Keys> => {
        const query = request.url.indexOf("?")
        const requestPath = query === -1 ? request.url : request.url.slice(0, query)
        return requestPath === path ? traces(request) : app
      }
    )
    return served
  })
