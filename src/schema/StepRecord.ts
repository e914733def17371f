/**
 * The step record of contract v1: a sniff, a collar call, or a leash's review step.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { BoundedString, Event, Id, Json, StepLayer, Timestamp, Usd, oneOf } from "./Common.js"
import { DecisionValue, isApproving } from "./DecisionValue.js"
import { maxApprovals } from "./Rules.js"

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
 * audit trusts it. `approvers` (additive) names who approved, as the gate said.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashSummary = Schema.Struct({
  leashId: Schema.propertySignature(Id).pipe(Schema.fromKey("leash_id")),
  actionName: Schema.propertySignature(BoundedString(256)).pipe(Schema.fromKey("action_name")),
  decision: DecisionValue,
  approved: Schema.Boolean,
  reason: Schema.String,
  /**
   * Additive (two-person approval): the reviewers the gate named as approving (their key's id and
   * name), in order. What the agent says: the dashboard shows the server's own record of who
   * approved, never this.
   */
  approvers: Schema.optional(
    Schema.Array(Schema.Struct({ id: BoundedString(256), name: BoundedString(256) })).pipe(
      Schema.maxItems(maxApprovals, { message: () => `expected at most ${maxApprovals} approvers` })
    )
  )
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
 * The model a `reason` step called (v1.1, additive): the provider (`openai`, `anthropic`, …) and
 * the model's name as the provider reported it (`gpt-4o-2024-08-06`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ModelRef = Schema.Struct({
  provider: BoundedString(256),
  name: BoundedString(256)
}).annotations({ identifier: "ModelRef" })

/**
 * @since 0.2.0
 * @category models
 */
export interface ModelRef extends Schema.Schema.Type<typeof ModelRef> {}

/**
 * A step's token counts (v1.1, additive): `input` and `output` as before, and where the provider
 * reports them `cached_input` (input tokens read from the provider's prompt cache, a part of
 * `input`) and `reasoning` (output tokens spent on hidden reasoning, a part of `output`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const StepTokens = Schema.Struct({
  input: Schema.NonNegativeInt,
  output: Schema.NonNegativeInt,
  cachedInput: Schema.optional(Schema.NonNegativeInt).pipe(Schema.fromKey("cached_input")),
  reasoning: Schema.optional(Schema.NonNegativeInt)
}).annotations({ identifier: "StepTokens" })

/**
 * @since 0.2.0
 * @category models
 */
export interface StepTokens extends Schema.Schema.Type<typeof StepTokens> {}

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
  tokens: Schema.optional(StepTokens),
  events: Schema.Array(Event),
  error: Schema.optional(StepError),
  leash: Schema.optional(LeashSummary),
  model: Schema.optional(ModelRef)
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
