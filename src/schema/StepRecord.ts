/**
 * The step record of contract v1: a sniff, a collar call, or a leash's review step.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { BoundedString, Event, Id, Json, StepLayer, Timestamp, Tokens, Usd, oneOf } from "./Common.js"
import { DecisionValue, isApproving } from "./DecisionValue.js"

/**
 * How a step ended.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StepStatus = Schema.Literal("ok", "error", "interrupted").annotations({
  identifier: "StepStatus",
  message: oneOf(["ok", "error", "interrupted"])
})

/**
 * The error of a failed step: its type (a tag or class name) and message.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StepError = Schema.Struct({
  type: Schema.String,
  message: Schema.String
}).annotations({ identifier: "StepError" })

/**
 * The leash summary carried by a review step. `approved` must agree with `decision`: the bypass
 * audit trusts it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashSummary = Schema.Struct({
  leashId: Schema.propertySignature(Id).pipe(Schema.fromKey("leash_id")),
  actionName: Schema.propertySignature(BoundedString(256)).pipe(Schema.fromKey("action_name")),
  decision: DecisionValue,
  approved: Schema.Boolean,
  reason: Schema.String
}).pipe(
  Schema.filter((summary) =>
    summary.approved === isApproving(summary.decision) || {
      path: ["approved"],
      message: `a ${summary.decision} decision has approved: ${isApproving(summary.decision)}`
    }
  )
).annotations({ identifier: "LeashSummary" })

/**
 * @since 0.1.0
 * @category models
 */
export interface LeashSummary extends Schema.Schema.Type<typeof LeashSummary> {}

/**
 * A step record: camelCase in TypeScript, snake_case on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StepRecord = Schema.Struct({
  id: Id,
  trailId: Schema.propertySignature(Id).pipe(Schema.fromKey("trail_id")),
  parentId: Schema.propertySignature(Schema.NullOr(Id)).pipe(Schema.fromKey("parent_id")),
  seq: Schema.Int.pipe(Schema.positive({ message: () => "expected a whole number from 1" })),
  name: BoundedString(256),
  layer: StepLayer,
  status: StepStatus,
  startedAt: Schema.propertySignature(Timestamp).pipe(Schema.fromKey("started_at")),
  endedAt: Schema.propertySignature(Timestamp).pipe(Schema.fromKey("ended_at")),
  input: Schema.optional(Json),
  output: Schema.optional(Json),
  costUsd: Schema.optional(Usd).pipe(Schema.fromKey("cost_usd")),
  tokens: Schema.optional(Tokens),
  events: Schema.Array(Event),
  error: Schema.optional(StepError),
  leash: Schema.optional(LeashSummary)
}).annotations({ identifier: "StepRecord" })

/**
 * @since 0.1.0
 * @category models
 */
export interface StepRecord extends Schema.Schema.Type<typeof StepRecord> {}

/**
 * @since 0.1.0
 * @category models
 */
export interface StepRecordWire extends Schema.Schema.Encoded<typeof StepRecord> {}
