/**
 * The error answers of the HTTP API, one class per status. In TypeScript each is a
 * `Schema.TaggedError` (`{ _tag, code, message }`); on the wire every one of them is the same
 * `{"error": {"code": "<snake_case>", "message": "<human text>"}}` body (see `ErrorBody`), and the
 * status tells them apart. The `…Body` schemas do that mapping and carry the status for `HttpApi`.
 *
 * | status | class | codes the server uses |
 * |---|---|---|
 * | 400 | `BadRequest` | `bad_request`: a body, path or query that does not decode (the message names the field); `invalid_json` |
 * | 401 | `Unauthorized` | `unauthorized`: no key, or a key the server does not know |
 * | 403 | `Forbidden` | `forbidden`: an agent key on a reviewer route |
 * | 404 | `NotFound` | `not_found` |
 * | 409 | `Conflict` | `already_decided`: the leash was decided, expired or cancelled, or another decision won; `already_approved`: this reviewer (the same key or the same person) already approved the payload under review of a leash that needs several approvals; `payload_changed`: that payload was modified after the reviewer read it, so their approval was not recorded |
 * | 413 | `PayloadTooLarge` | `payload_too_large` |
 * | 422 | `Unprocessable` | `idempotency_conflict`: the same `leash_id` with a different body |
 * | 500 | `InternalServerError` | `internal` |
 * | 503 | `ServiceUnavailable` | `unavailable` |
 *
 * Never a 5xx for bad input, never an empty body.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Wire } from "houndsight"
 *
 * const decided = Effect.fail(
 *   new Wire.ApiError.Conflict({ code: "already_decided", message: "leash 0190… was already decided: approved" })
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as ErrorBody from "./ErrorBody.js"

const Code = Schema.String.pipe(
  Schema.pattern(/^[a-z][a-z0-9_]*$/, { message: () => "expected a snake_case error code" })
)

const fields = (defaultCode: string) => ({
  code: Schema.optionalWith(Code, { default: () => defaultCode, exact: true }),
  message: Schema.String
})

/**
 * 400: the request does not decode. The message names the field (`trails[0].started_at: …`).
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", fields("bad_request")) {}

/**
 * 401: no `Authorization: Bearer <key>`, or a key the server does not know.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", fields("unauthorized")) {}

/**
 * 403: the key is genuine but may not do this (an agent key deciding a leash).
 *
 * @since 0.1.0
 * @category errors
 */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", fields("forbidden")) {}

/**
 * 404: no such leash or trail.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fields("not_found")) {}

/**
 * 409: a decision on a leash that is no longer pending (decided, expired, cancelled, or another
 * concurrent decision won).
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", fields("already_decided")) {}

/**
 * 413: the body is over the limit (5 MiB for `POST /v1/ingest`).
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge
  extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", fields("payload_too_large"))
{}

/**
 * 422: the request is well formed but contradicts what the server has: the same `leash_id` with
 * a different body (compared as canonical JSON).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unprocessable
  extends Schema.TaggedError<Unprocessable>()("Unprocessable", fields("idempotency_conflict"))
{}

/**
 * 500: the server failed. Never used for bad input.
 *
 * @since 0.1.0
 * @category errors
 */
export class InternalServerError
  extends Schema.TaggedError<InternalServerError>()("InternalServerError", fields("internal"))
{}

/**
 * 503: the server cannot answer now (starting, shutting down, storage busy); try later.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceUnavailable
  extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", fields("unavailable"))
{}

/**
 * Any error answer of the API.
 *
 * @since 0.1.0
 * @category models
 */
export type ApiError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | PayloadTooLarge
  | Unprocessable
  | InternalServerError
  | ServiceUnavailable

/**
 * The HTTP status of each error answer, by tag.
 *
 * @since 0.1.0
 * @category constants
 */
export const statusByTag = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  Unprocessable: 422,
  InternalServerError: 500,
  ServiceUnavailable: 503
} as const satisfies Record<ApiError["_tag"], number>

/**
 * The HTTP status of an error answer.
 *
 * @since 0.1.0
 * @category utils
 */
export const statusOf = (error: ApiError): number => statusByTag[error._tag]

/**
 * The wire schema of one error answer: the class in TypeScript, `ErrorBody` on the wire, with
 * the status annotation `HttpApi` reads.
 *
 * @since 0.1.0
 * @category models
 */
export interface Body<Self> extends Schema.Schema<Self, ErrorBody.ErrorBody> {}

interface ErrorClass<Self> extends Schema.Schema<Self, any> {
  new(props: { readonly code: string; readonly message: string }): Self
}

const body = <Self extends { readonly code: string; readonly message: string }>(
  cls: ErrorClass<Self>,
  status: number,
  identifier: string,
  description: string
): Body<Self> =>
  Schema.transform(ErrorBody.ErrorBody, Schema.typeSchema(cls), {
    strict: true,
    decode: (wire) => new cls({ code: wire.error.code, message: wire.error.message }),
    encode: (error) => ErrorBody.make(error.code, error.message)
  }).annotations(HttpApiSchema.annotations({ status, identifier, description }))

/**
 * @since 0.1.0
 * @category schemas
 */
export const BadRequestBody: Body<BadRequest> = body(
  BadRequest,
  400,
  "BadRequestBody",
  "The request does not decode; the message names the field"
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const UnauthorizedBody: Body<Unauthorized> = body(
  Unauthorized,
  401,
  "UnauthorizedBody",
  "No bearer key, or an unknown key"
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const ForbiddenBody: Body<Forbidden> = body(
  Forbidden,
  403,
  "ForbiddenBody",
  "The key may not do this (an agent key on a reviewer route)"
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const NotFoundBody: Body<NotFound> = body(NotFound, 404, "NotFoundBody", "No such leash or trail")

/**
 * @since 0.1.0
 * @category schemas
 */
export const ConflictBody: Body<Conflict> = body(
  Conflict,
  409,
  "ConflictBody",
  "The leash is no longer pending (decided, expired or cancelled)"
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const PayloadTooLargeBody: Body<PayloadTooLarge> = body(
  PayloadTooLarge,
  413,
  "PayloadTooLargeBody",
  "The body is over the limit"
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const UnprocessableBody: Body<Unprocessable> = body(
  Unprocessable,
  422,
  "UnprocessableBody",
  "The same leash_id with a different body"
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const InternalServerErrorBody: Body<InternalServerError> = body(
  InternalServerError,
  500,
  "InternalServerErrorBody",
  "The server failed"
)

/**
 * @since 0.1.0
 * @category schemas
 */
export const ServiceUnavailableBody: Body<ServiceUnavailable> = body(
  ServiceUnavailable,
  503,
  "ServiceUnavailableBody",
  "The server cannot answer now; try later"
)

/**
 * One issue of a failed decode, as `ParseResult.ArrayFormatter` reports it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Issue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/**
 * Formats a path the way a user reads it: `trails[0].started_at`.
 *
 * @since 0.1.0
 * @category utils
 */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else out += out === "" ? String(key) : `.${String(key)}`
  }
  return out
}

const maxIssues = 5

/**
 * One line naming each field that failed (`trail_id: is missing; layer: expected one of …`),
 * at most five, duplicates dropped.
 *
 * @since 0.1.0
 * @category utils
 */
export const describeIssues = (issues: ReadonlyArray<Issue>): string => {
  const lines: Array<string> = []
  for (const issue of issues) {
    const where = formatPath(issue.path)
    const line = where === "" ? issue.message : `${where}: ${issue.message}`
    if (!lines.includes(line)) lines.push(line)
  }
  if (lines.length === 0) return "the request does not match the contract"
  const shown = lines.slice(0, maxIssues).join("; ")
  return lines.length > maxIssues ? `${shown}; and ${lines.length - maxIssues} more` : shown
}

/**
 * The `400 bad_request` answer for a failed decode, with a message that names the field.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromParseError = (error: ParseResult.ParseError): BadRequest =>
  new BadRequest({ code: "bad_request", message: describeIssues(ParseResult.ArrayFormatter.formatErrorSync(error)) })

/**
 * The `400 bad_request` answer for the `HttpApiDecodeError` that `HttpApiBuilder` raises when a
 * path, query or body does not decode. `HttpApi` always lists that error with its own body shape
 * (`{_tag, issues, message}`); a server built on `HttpApiBuilder` maps it with this function (for
 * example in an `HttpApiBuilder.middleware`) so the wire keeps one error shape.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromDecodeError = (error: HttpApiError.HttpApiDecodeError): BadRequest =>
  new BadRequest({ code: "bad_request", message: describeIssues(error.issues) })
