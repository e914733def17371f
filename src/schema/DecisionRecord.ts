/**
 * A leash decision in wire form, as a review step's `output` carries it for all seven outcomes.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Id, Json } from "./Common.js"
import { DecisionValue, isApproving } from "./DecisionValue.js"

/**
 * `{decision, approved, reason, modified_payload?, leash_id, trace_link}`. `approved` must agree
 * with `decision` (true for `approved` and `modified` only), so a record cannot claim an approval
 * its decision does not give.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DecisionRecord = Schema.Struct({
  decision: DecisionValue,
  approved: Schema.Boolean,
  reason: Schema.String,
  modifiedPayload: Schema.optional(Json).pipe(Schema.fromKey("modified_payload")),
  leashId: Schema.propertySignature(Id).pipe(Schema.fromKey("leash_id")),
  traceLink: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("trace_link"))
}).pipe(
  Schema.filter((record) =>
    record.approved === isApproving(record.decision) || {
      path: ["approved"],
      message: `a ${record.decision} decision has approved: ${isApproving(record.decision)}`
    }
  )
).annotations({ identifier: "DecisionRecord" })

/**
 * @since 0.1.0
 * @category models
 */
export interface DecisionRecord extends Schema.Schema.Type<typeof DecisionRecord> {}
