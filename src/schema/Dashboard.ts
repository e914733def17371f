/**
 * The answers of the reviewer's dashboard lists: `GET /v1/trails`, `GET /v1/trails/{id}`,
 * `GET /v1/leashes?status=pending` and `GET /v1/flags`, and of `GET /healthz`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { BoundedString, Id, Timestamp, Tokens, Usd } from "./Common.js"
import { Flag } from "./Flag.js"
import { LeashRequest } from "./LeashRequest.js"
import { StepRecord } from "./StepRecord.js"
import { TrailRecord, TrailStatus } from "./TrailRecord.js"

/**
 * The most items one list answer holds.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxListLimit = 500

/**
 * How many items a list answers when the query does not say.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultListLimit = 100

/**
 * The `limit` query parameter: a whole number from 1 to 500, written as a string in the URL.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ListLimit = Schema.NumberFromString.pipe(
  Schema.int({ message: () => "expected a whole number" }),
  Schema.between(1, maxListLimit, { message: () => `expected a limit from 1 to ${maxListLimit}` })
).annotations({ identifier: "ListLimit" })

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
 * `GET /v1/trails`: the newest trails first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailList = Schema.Struct({
  trails: Schema.Array(TrailSummary)
}).annotations({ identifier: "TrailList" })

/**
 * @since 0.1.0
 * @category models
 */
export interface TrailList extends Schema.Schema.Type<typeof TrailList> {}

/**
 * `GET /v1/trails/{id}`: the trail record (`null` while only its steps have arrived), its steps
 * sorted by `seq`, and its bypass flags.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailDetail = Schema.Struct({
  trail: Schema.NullOr(TrailRecord),
  steps: Schema.Array(StepRecord),
  flags: Schema.Array(Flag)
}).annotations({ identifier: "TrailDetail" })

/**
 * @since 0.1.0
 * @category models
 */
export interface TrailDetail extends Schema.Schema.Type<typeof TrailDetail> {}

/**
 * A leash waiting for a reviewer, with the request the reviewer judges.
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
  request: LeashRequest
}).annotations({ identifier: "PendingLeashItem" })

/**
 * @since 0.1.0
 * @category models
 */
export interface PendingLeashItem extends Schema.Schema.Type<typeof PendingLeashItem> {}

/**
 * `GET /v1/leashes?status=pending`: the pending leashes, the oldest (closest to expiry) first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PendingLeashList = Schema.Struct({
  leashes: Schema.Array(PendingLeashItem)
}).annotations({ identifier: "PendingLeashList" })

/**
 * @since 0.1.0
 * @category models
 */
export interface PendingLeashList extends Schema.Schema.Type<typeof PendingLeashList> {}

/**
 * `GET /v1/flags`: bypass flags, the newest trails first, in `seq` order within a trail.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlagList = Schema.Struct({
  flags: Schema.Array(Flag)
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
