/**
 * The HTTP API of contract v1 (DESIGN.md section 2), described once as an `@effect/platform`
 * `HttpApi`: every endpoint with its path, query, body, answer and error answers, and who may call
 * it. The local gate server builds its `HttpRouter` from this description (method, path, auth,
 * decoding and success status of every route come from here; see `server/src/Http.ts`), so the two
 * cannot drift; `OpenApi.fromApi(HoundsightApi)` documents it.
 *
 * | method, path | group | body → answer |
 * |---|---|---|
 * | `GET /healthz` | `health` (anyone) | → 200 `Health` |
 * | `POST /v1/ingest` | `agent` | `IngestBatch` → 202 `IngestAccepted` |
 * | `POST /v1/leashes` | `agent` | `LeashRequest` → 200 `LeashState` |
 * | `GET /v1/leashes/{leash_id}?wait_seconds=N` | `agent` | → 200 `LeashState` |
 * | `POST /v1/leashes/{leash_id}/cancel` | `agent` | → 200 `LeashState` |
 * | `POST /v1/leashes/{leash_id}/decision` | `reviewer` | `ReviewerDecision` → 200 `LeashState` |
 * | `GET /v1/trails?limit=N&cursor=…&agent=…&status=…&trigger=…&flagged=…&tag=…&from=…&to=…` | `reviewer` | → 200 `TrailList` |
 * | `GET /v1/trails/{id}?limit=N&cursor=…` | `reviewer` | → 200 `TrailDetail` |
 * | `GET /v1/leashes?status=pending&limit=N&cursor=…` | `reviewer` | → 200 `PendingLeashList` |
 * | `GET /v1/flags?trail_id=…&limit=N&cursor=…` | `reviewer` | → 200 `FlagList` |
 *
 * v1.1: every list is a page of at most 100 bounded items (`limit` above 100 is clamped); the
 * answer's `next_cursor`, absent on the last page, is passed back as `?cursor=`.
 *
 * Every error answer is `{"error": {"code", "message"}}` (see `ApiError`). `HttpApi` also lists
 * its own `HttpApiDecodeError` (400, a different body): a server built on `HttpApiBuilder` instead
 * must map it to `ApiError.BadRequest` with `ApiError.fromDecodeError`, so the wire keeps one error
 * shape:
 *
 * ```ts
 * import { HttpApiBuilder } from "@effect/platform"
 * import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
 * import type { HttpApp } from "@effect/platform"
 * import { Effect } from "effect"
 * import { Wire } from "houndsight"
 *
 * const DecodeErrorsAsBadRequest = HttpApiBuilder.middleware(Wire.Api.HoundsightApi, (app) =>
 *   Effect.mapError(app as HttpApp.Default<unknown>, (e) =>
 *     e instanceof HttpApiDecodeError ? Wire.ApiError.fromDecodeError(e) : e
 *   ) as HttpApp.Default<Wire.ApiError.BadRequest>
 * )
 * ```
 *
 * The SDK's own client does **not** use `HttpApiClient` with this description: it calls plain
 * `HttpClient` and decodes with the same record schemas, because it must classify every status
 * itself (retry 5xx, 408 and 429 with back-off and `Retry-After`, turn other 4xx into an `error`
 * decision, split a batch on 413), which a derived client that fails on the first unexpected
 * status cannot do.
 *
 * **Example**
 *
 * ```ts
 * import { OpenApi } from "@effect/platform"
 * import { Wire } from "houndsight"
 *
 * const spec = OpenApi.fromApi(Wire.Api.HoundsightApi)
 * // spec.paths["/v1/leashes/{leash_id}/decision"].post
 * ```
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import * as ApiError from "./ApiError.js"
import type { KeyRole } from "./ApiKey.js"
import { Id, Timestamp } from "./Common.js"
import {
  defaultListLimit,
  FlagCursor,
  FlagList,
  Health,
  LeashCursor,
  ListLimit,
  PendingLeashList,
  StepCursor,
  TrailCursor,
  TrailDetail,
  TrailList
} from "./Dashboard.js"
import { IngestAccepted, IngestBatch } from "./Ingest.js"
import { LeashRequest } from "./LeashRequest.js"
import { LeashState } from "./LeashState.js"
import { TrailStatus } from "./TrailRecord.js"
import { ReviewerDecision } from "./ReviewerDecision.js"

// ---------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------

/**
 * Who made the request, as the auth middleware found it: the key's role and a name for the key
 * that is safe to store and show (never the key itself), used as a decision's `decided_by`.
 *
 * @since 0.1.0
 * @category auth
 */
export class Caller extends Context.Tag("houndsight/Caller")<Caller, {
  readonly role: KeyRole
  readonly name: string
}>() {}

/**
 * Bearer authentication for agent routes: an agent key (`sk-hnd-…`) or a reviewer key
 * (`rv-hnd-…`), since a reviewer may do everything an agent may. No key or an unknown key → 401.
 *
 * @since 0.1.0
 * @category auth
 */
export class AgentAuth extends HttpApiMiddleware.Tag<AgentAuth>()("houndsight/AgentAuth", {
  security: { bearer: HttpApiSecurity.bearer },
  provides: Caller,
  failure: ApiError.UnauthorizedBody
}) {}

/**
 * Bearer authentication for reviewer routes: a reviewer key (`rv-hnd-…`). No key or an unknown
 * key → 401; an agent key → 403, so an agent can never decide its own leash.
 *
 * @since 0.1.0
 * @category auth
 */
export class ReviewerAuth extends HttpApiMiddleware.Tag<ReviewerAuth>()("houndsight/ReviewerAuth", {
  security: { bearer: HttpApiSecurity.bearer },
  provides: Caller,
  failure: Schema.Union(ApiError.UnauthorizedBody, ApiError.ForbiddenBody)
}) {}

// ---------------------------------------------------------------------------------------------
// Path and query parameters
// ---------------------------------------------------------------------------------------------

/**
 * The longest `GET /v1/leashes/{leash_id}` holds a request, in seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxWaitSeconds = 30

/**
 * `wait_seconds`: a whole number of seconds, clamped to 0–30 (a larger value waits 30 s, a
 * negative one answers at once).
 *
 * @since 0.1.0
 * @category schemas
 */
export const WaitSeconds = Schema.NumberFromString.pipe(
  Schema.int({ message: () => "expected a whole number of seconds" }),
  Schema.clamp(0, maxWaitSeconds)
).annotations({
  identifier: "WaitSeconds",
  description: "whole seconds to hold the request until the leash is decided, clamped to 0-30"
})

/**
 * `{leash_id}` in a leash path.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashPath = Schema.Struct({
  leashId: Schema.propertySignature(Id).pipe(Schema.fromKey("leash_id"))
})

/**
 * `{id}` in `/v1/trails/{id}`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailPath = Schema.Struct({
  id: Id
})

/**
 * The query of `GET /v1/leashes/{leash_id}`: `wait_seconds` (absent: answer at once).
 *
 * @since 0.1.0
 * @category schemas
 */
export const GetLeashParams = Schema.Struct({
  waitSeconds: Schema.optional(WaitSeconds).pipe(Schema.fromKey("wait_seconds"))
})

const limit = Schema.optionalWith(ListLimit, { default: () => defaultListLimit, exact: true })

/**
 * A trail tag filter: `key` (any value) or `key:value` (split at the first colon).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TagFilter = Schema.transform(
  Schema.String.pipe(Schema.minLength(1, { message: () => "expected a tag key, or key:value" })),
  Schema.Struct({ key: Schema.String, value: Schema.optional(Schema.String) }),
  {
    strict: true,
    decode: (s) => {
      const colon = s.indexOf(":")
      return colon === -1 ? { key: s } : { key: s.slice(0, colon), value: s.slice(colon + 1) }
    },
    encode: (t) => (t.value === undefined ? t.key : `${t.key}:${t.value}`)
  }
).annotations({ identifier: "TagFilter", description: "a tag key, or key:value" })

/**
 * `flagged=true` (only trails with a bypass flag) or `flagged=false` (only trails without).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlaggedFilter = Schema.transform(
  Schema.Literal("true", "false"),
  Schema.Boolean,
  { strict: true, decode: (s) => s === "true", encode: (b) => (b ? "true" : "false") }
).annotations({ identifier: "FlaggedFilter" })

/**
 * The query of `GET /v1/trails` (v1.1): a page (`limit`, `cursor`) and filters, all optional and
 * all applied together: `agent`, `status`, `trigger` (exact), `flagged`, `tag` (`key` or
 * `key:value`), and the start time range `from` (inclusive) to `to` (exclusive).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailListParams = Schema.Struct({
  limit,
  cursor: Schema.optional(TrailCursor),
  agent: Schema.optional(Schema.String),
  status: Schema.optional(TrailStatus),
  trigger: Schema.optional(Schema.String),
  flagged: Schema.optional(FlaggedFilter),
  tag: Schema.optional(TagFilter),
  from: Schema.optional(Timestamp),
  to: Schema.optional(Timestamp)
})

/**
 * The query of `GET /v1/trails/{id}` (v1.1): a page of the trail's steps.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailParams = Schema.Struct({
  limit,
  cursor: Schema.optional(StepCursor)
})

/**
 * The query of `GET /v1/leashes`: `status=pending` (the only list there is, and the default),
 * and a page.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashListParams = Schema.Struct({
  status: Schema.optionalWith(Schema.Literal("pending"), { default: () => "pending" as const, exact: true }),
  limit,
  cursor: Schema.optional(LeashCursor)
})

/**
 * The query of `GET /v1/flags`: all flags, or one trail's, a page at a time.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlagListParams = Schema.Struct({
  trailId: Schema.optional(Id).pipe(Schema.fromKey("trail_id")),
  limit,
  cursor: Schema.optional(FlagCursor)
})

// ---------------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------------

/**
 * `GET /healthz`, open to anyone.
 *
 * @since 0.1.0
 * @category groups
 */
export class HealthGroup extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Health)
) {}

/**
 * What an agent key may do: ingest records; create, read and cancel leashes.
 *
 * @since 0.1.0
 * @category groups
 */
export class AgentGroup extends HttpApiGroup.make("agent")
  .add(
    HttpApiEndpoint.post("ingest", "/v1/ingest")
      .setPayload(IngestBatch)
      .addSuccess(IngestAccepted, { status: 202 })
      .addError(ApiError.PayloadTooLargeBody)
  )
  .add(
    HttpApiEndpoint.post("createLeash", "/v1/leashes")
      .setPayload(LeashRequest)
      .addSuccess(LeashState)
      .addError(ApiError.PayloadTooLargeBody)
      .addError(ApiError.UnprocessableBody)
  )
  .add(
    HttpApiEndpoint.get("getLeash", "/v1/leashes/:leash_id")
      .setPath(LeashPath)
      .setUrlParams(GetLeashParams)
      .addSuccess(LeashState)
      .addError(ApiError.NotFoundBody)
  )
  .add(
    HttpApiEndpoint.post("cancelLeash", "/v1/leashes/:leash_id/cancel")
      .setPath(LeashPath)
      .addSuccess(LeashState)
      .addError(ApiError.NotFoundBody)
  )
  .middleware(AgentAuth)
{}

/**
 * What only a reviewer key may do: decide leashes and read the dashboard lists.
 *
 * @since 0.1.0
 * @category groups
 */
export class ReviewerGroup extends HttpApiGroup.make("reviewer")
  .add(
    HttpApiEndpoint.post("decideLeash", "/v1/leashes/:leash_id/decision")
      .setPath(LeashPath)
      .setPayload(ReviewerDecision)
      .addSuccess(LeashState)
      .addError(ApiError.NotFoundBody)
      .addError(ApiError.ConflictBody)
      .addError(ApiError.PayloadTooLargeBody)
  )
  .add(
    HttpApiEndpoint.get("listTrails", "/v1/trails")
      .setUrlParams(TrailListParams)
      .addSuccess(TrailList)
  )
  .add(
    HttpApiEndpoint.get("getTrail", "/v1/trails/:id")
      .setPath(TrailPath)
      .setUrlParams(TrailParams)
      .addSuccess(TrailDetail)
      .addError(ApiError.NotFoundBody)
  )
  .add(
    HttpApiEndpoint.get("listLeashes", "/v1/leashes")
      .setUrlParams(LeashListParams)
      .addSuccess(PendingLeashList)
  )
  .add(
    HttpApiEndpoint.get("listFlags", "/v1/flags")
      .setUrlParams(FlagListParams)
      .addSuccess(FlagList)
  )
  .middleware(ReviewerAuth)
{}

/**
 * The whole API of contract v1. Every endpoint may answer 400 (`bad_request`: a path, query or
 * body that does not decode), 500 (`internal`) or 503 (`unavailable`); never a 5xx for bad input.
 *
 * @since 0.1.0
 * @category api
 */
export class HoundsightApi extends HttpApi.make("houndsight")
  .add(HealthGroup)
  .add(AgentGroup)
  .add(ReviewerGroup)
  .addError(ApiError.BadRequestBody)
  .addError(ApiError.InternalServerErrorBody)
  .addError(ApiError.ServiceUnavailableBody)
{}
