/**
 * The answers of the reviewer's dashboard lists (contract v1.1: every list is a page of bounded
 * items, see `ListLimit` and the cursors): `GET /v1/trails`, `GET /v1/trails/{id}`,
 * `GET /v1/leashes?status=pending` and `GET /v1/flags`, and of `GET /healthz`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { BoundedString, Id, Timestamp, Tokens, Usd } from "./Common.js"
import { Flag } from "./Flag.js"
import { LeashRequest } from "./LeashRequest.js"
import { Approval } from "./LeashState.js"
import { StepRecord } from "./StepRecord.js"
import { TrailRecord, TrailStatus } from "./TrailRecord.js"

/**
 * The most items one list answer holds (contract v1.1: a larger `limit` is clamped to this).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxListLimit = 100

/**
 * How many items a list answers when the query does not say.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultListLimit = 100

/**
 * The most bytes of a leash payload a list item previews (compact UTF-8 JSON).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxPreviewBytes = 4096

/**
 * The `limit` query parameter: a whole number of at least 1, written as a string in the URL;
 * a value above 100 is clamped to 100 (contract v1.1), not refused.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListLimit = Schema.NumberFromString.pipe(
  Schema.int({ message: () => "expected a whole number" }),
  Schema.greaterThanOrEqualTo(1, { message: () => "expected a limit of at least 1" }),
  Schema.clamp(1, maxListLimit)
).annotations({ identifier: "ListLimit", description: "items per page, at least 1; above 100 is clamped to 100" })

/**
 * A list's cursor: the opaque `next_cursor` of the previous page (base64url of a JSON position),
 * decoded to the position it names. A cursor from another list, or an edited one, is refused.
 */
const cursorOf = <A, I>(position: Schema.Schema<A, I>, identifier: string): Schema.Schema<A, string> =>
  Schema.compose(Schema.StringFromBase64Url, Schema.parseJson(position)).annotations({
    identifier,
    description: "the next_cursor of the previous page, passed back as it was",
    message: () => ({ message: "expected the next_cursor of the previous page of this list", override: true })
  })

/**
 * The position after the last trail of a page (newest first): its sort time and id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailCursor = cursorOf(Schema.Tuple(Schema.String, Schema.String), "TrailCursor")

/**
 * The position after the last step of a page of a trail's steps: its `seq` and id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StepCursor = cursorOf(Schema.Tuple(Schema.Int, Schema.String), "StepCursor")

/**
 * The position after the last leash of a page of pending leashes: its deadline (epoch
 * milliseconds) and id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashCursor = cursorOf(Schema.Tuple(Schema.Int, Schema.String), "LeashCursor")

/**
 * The position after the last flag of a page of flags: its trail's sort time and id, and the
 * flag's `seq` and step id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlagCursor = cursorOf(
  Schema.Tuple(Schema.String, Schema.String, Schema.Int, Schema.String),
  "FlagCursor"
)

/**
 * Writes a position as the `next_cursor` that `schema` reads back.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeCursor = <A>(schema: Schema.Schema<A, string>, position: A): string =>
  Schema.encodeSync(schema)(position)

/**
 * One line of the trail list: the trail record without its payload, output and events, with
 * how many steps and flags it has.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailSummary = Schema.Struct({
  id: Id,
  agent: BoundedString(256),
  trigger: BoundedString(256),
  status: TrailStatus,
  startedAt: Schema.propertySignature(Timestamp).pipe(Schema.fromKey("started_at")),
  endedAt: Schema.optional(Timestamp).pipe(Schema.fromKey("ended_at")),
  costUsd: Schema.optional(Usd).pipe(Schema.fromKey("cost_usd")),
  tokens: Schema.optional(Tokens),
  tags: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  stepCount: Schema.propertySignature(Schema.NonNegativeInt).pipe(Schema.fromKey("step_count")),
  flagCount: Schema.propertySignature(Schema.NonNegativeInt).pipe(Schema.fromKey("flag_count"))
}).annotations({ identifier: "TrailSummary" })

/**
 * @since 0.1.0
 * @category models
 */
export interface TrailSummary extends Schema.Schema.Type<typeof TrailSummary> {}

/**
 * `GET /v1/trails`: a page of trails, the newest first; `next_cursor` (absent on the last page)
 * is passed back as `?cursor=` for the next page.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailList = Schema.Struct({
  trails: Schema.Array(TrailSummary),
  nextCursor: Schema.optional(Schema.String).pipe(Schema.fromKey("next_cursor"))
}).annotations({ identifier: "TrailList" })

/**
 * @since 0.1.0
 * @category models
 */
export interface TrailList extends Schema.Schema.Type<typeof TrailList> {}

/**
 * `GET /v1/trails/{id}`: the trail record (`null` while only its steps have arrived), a page of
 * its steps, whole, sorted by `seq` (up to `limit`, and no more than 1 MiB of records past the
 * first step; `next_cursor`, absent on the last page, is passed back as `?cursor=`), the bypass flags of the steps on this page, and how many steps and flags the
 * trail has in all (contract v1.1; a v1 server sent every step and flag without the counts).
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailDetail = Schema.Struct({
  trail: Schema.NullOr(TrailRecord),
  steps: Schema.Array(StepRecord),
  flags: Schema.Array(Flag),
  stepCount: Schema.optional(Schema.NonNegativeInt).pipe(Schema.fromKey("step_count")),
  flagCount: Schema.optional(Schema.NonNegativeInt).pipe(Schema.fromKey("flag_count")),
  nextCursor: Schema.optional(Schema.String).pipe(Schema.fromKey("next_cursor"))
}).annotations({ identifier: "TrailDetail" })

/**
 * @since 0.1.0
 * @category models
 */
export interface TrailDetail extends Schema.Schema.Type<typeof TrailDetail> {}

/**
 * The start of a leash payload, computed once when the leash is stored: at most 4 KiB of its
 * compact UTF-8 JSON as the agent sent it (`text`, cut on a character boundary, so not JSON when
 * `cut`), the size of the whole payload in bytes, measured as the payload limit measures it, and
 * whether `text` is only its start.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PayloadPreview = Schema.Struct({
  text: Schema.String,
  bytes: Schema.NonNegativeInt,
  cut: Schema.Boolean
}).annotations({ identifier: "PayloadPreview" })

/**
 * @since 0.1.0
 * @category models
 */
export interface PayloadPreview extends Schema.Schema.Type<typeof PayloadPreview> {}

const { payload: _payload, ...requestFields } = LeashRequest.fields

/**
 * A leash request without its payload: what a list shows of it. `risk_signals_cut` is set when
 * the signals of a leash stored before v1.1's 16 KiB limit were too large to list (the leash's
 * own page shows them).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashRequestSummary = Schema.Struct({
  ...requestFields,
  riskSignalsCut: Schema.optional(Schema.Boolean).pipe(Schema.fromKey("risk_signals_cut"))
}).annotations({ identifier: "LeashRequestSummary" })

/**
 * @since 0.1.0
 * @category models
 */
export interface LeashRequestSummary extends Schema.Schema.Type<typeof LeashRequestSummary> {}

/**
 * A leash waiting for a reviewer: a bounded summary (contract v1.1). The request without its
 * payload, and a preview of the payload; the whole payload is read from the leash itself,
 * `GET /v1/leashes/{leash_id}` with a reviewer key.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PendingLeashItem = Schema.Struct({
  leashId: Schema.propertySignature(Id).pipe(Schema.fromKey("leash_id")),
  status: Schema.Literal("pending"),
  traceLink: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("trace_link")),
  createdAt: Schema.propertySignature(Timestamp).pipe(Schema.fromKey("created_at")),
  expiresAt: Schema.propertySignature(Timestamp).pipe(Schema.fromKey("expires_at")),
  request: LeashRequestSummary,
  payloadPreview: Schema.propertySignature(PayloadPreview).pipe(Schema.fromKey("payload_preview")),
  /** Additive (two-person approval): how many reviewers it needs, and who approved so far. */
  approvalsRequired: Schema.optional(Schema.Int).pipe(Schema.fromKey("approvals_required")),
  approvals: Schema.optional(Schema.Array(Approval))
}).annotations({ identifier: "PendingLeashItem" })

/**
 * @since 0.1.0
 * @category models
 */
export interface PendingLeashItem extends Schema.Schema.Type<typeof PendingLeashItem> {}

/**
 * `GET /v1/leashes?status=pending`: a page of pending leashes, the closest to expiry first;
 * `next_cursor` (absent on the last page) is passed back as `?cursor=`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PendingLeashList = Schema.Struct({
  leashes: Schema.Array(PendingLeashItem),
  nextCursor: Schema.optional(Schema.String).pipe(Schema.fromKey("next_cursor"))
}).annotations({ identifier: "PendingLeashList" })

/**
 * @since 0.1.0
 * @category models
 */
export interface PendingLeashList extends Schema.Schema.Type<typeof PendingLeashList> {}

/**
 * `GET /v1/flags`: a page of bypass flags, the newest trails first, in `seq` order within a
 * trail; `next_cursor` (absent on the last page) is passed back as `?cursor=`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlagList = Schema.Struct({
  flags: Schema.Array(Flag),
  nextCursor: Schema.optional(Schema.String).pipe(Schema.fromKey("next_cursor"))
}).annotations({ identifier: "FlagList" })

/**
 * @since 0.1.0
 * @category models
 */
export interface FlagList extends Schema.Schema.Type<typeof FlagList> {}

/**
 * `GET /healthz`: the server is up.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Health = Schema.Struct({
  status: Schema.Literal("ok")
}).annotations({ identifier: "Health" })

/**
 * @since 0.1.0
 * @category models
 */
export type Health = typeof Health.Type
