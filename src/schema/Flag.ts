/**
 * A bypass flag (DESIGN.md section 6): a step that skipped or ignored the gate.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Id, oneOf } from "./Common.js"

/**
 * The kinds of bypass. v1.1: `unverified_review`, a review step whose approving decision the
 * server's own leash record does not confirm (only the server's audit raises it).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlagKind = Schema.Literal(
  "unleashed_action",
  "ignored_decision",
  "reused_approval",
  "unverified_review"
).annotations({
  identifier: "FlagKind",
  message: oneOf(["unleashed_action", "ignored_decision", "reused_approval", "unverified_review"])
})

/**
 * @since 0.1.0
 * @category models
 */
export type FlagKind = typeof FlagKind.Type

/**
 * A flag names its kind, the trail, the offending step's id and `seq`, and the review step it
 * refers to (when there is one).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Flag = Schema.Struct({
  kind: FlagKind,
  trailId: Schema.propertySignature(Id).pipe(Schema.fromKey("trail_id")),
  stepId: Schema.propertySignature(Id).pipe(Schema.fromKey("step_id")),
  seq: Schema.Int.pipe(Schema.positive({ message: () => "expected a whole number from 1" })),
  actionName: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("action_name")),
  reviewStepId: Schema.optional(Id).pipe(Schema.fromKey("review_step_id"))
}).annotations({ identifier: "Flag" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Flag extends Schema.Schema.Type<typeof Flag> {}
