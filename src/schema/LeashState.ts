/**
 * The state of a leash as the gate reports it: pending, or decided with the decision.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Id, Json, Timestamp, oneOf } from "./Common.js"
import { LeashRequest } from "./LeashRequest.js"

/**
 * The decision values a gate can write: a reviewer's three, `blocked` by a floor rule, and
 * `timeout` for a leash that expired or was cancelled.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GateDecisionValue = Schema.Literal("approved", "modified", "rejected", "blocked", "timeout").annotations({
  identifier: "GateDecisionValue",
  message: oneOf(["approved", "modified", "rejected", "blocked", "timeout"])
})

/**
 * A person who decided a leash: the id of their reviewer key (`key_…`) and their name. v1.1,
 * additive: the decision names its reviewer in `reviewer` beside the `decided_by` string (which
 * stays, so SDKs already deployed decode every answer). One approver has this shape so that a
 * later list of several approvers (`approvers: [Reviewer, ...]`) holds the same items.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Reviewer = Schema.Struct({
  id: Schema.String,
  name: Schema.String
}).annotations({ identifier: "Reviewer", description: "the reviewer who decided: their key's id and their name" })

/**
 * @since 0.1.0
 * @category models
 */
export interface Reviewer extends Schema.Schema.Type<typeof Reviewer> {}

/**
 * One approval of a leash that needs several (two-person approval, additive): who approved, how
 * (`approved`, or `modified`: the modification that is the payload now under review, which counts
 * as its author's approval), and when.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Approval = Schema.Struct({
  reviewer: Reviewer,
  decision: Schema.Literal("approved", "modified"),
  at: Timestamp
}).annotations({ identifier: "Approval", description: "one reviewer's approval of the payload under review" })

/**
 * @since 0.2.0
 * @category models
 */
export interface Approval extends Schema.Schema.Type<typeof Approval> {}

/**
 * The decision stored on a decided leash. A `modified` decision carries `modified_payload`;
 * a decision a person made names them in `reviewer` (and by name in `decided_by`); an approval
 * several reviewers gave names them all in `approvers`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const GateDecision = Schema.Struct({
  decision: GateDecisionValue,
  reason: Schema.String,
  modifiedPayload: Schema.optional(Json).pipe(Schema.fromKey("modified_payload")),
  decidedBy: Schema.optional(Schema.String).pipe(Schema.fromKey("decided_by")),
  reviewer: Schema.optional(Reviewer),
  /**
   * Additive (two-person approval): on an approving decision of a leash an approval rule made
   * need several reviewers, every reviewer whose approval of the final payload completed it, in
   * the order they approved (the last one is `reviewer`).
   */
  approvers: Schema.optional(Schema.Array(Reviewer)),
  decidedAt: Schema.propertySignature(Timestamp).pipe(Schema.fromKey("decided_at")),
  traceLink: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("trace_link"))
}).pipe(
  Schema.filter((d) =>
    d.decision !== "modified" || d.modifiedPayload !== undefined ||
    { path: ["modified_payload"], message: "a modified decision needs modified_payload" }
  )
).annotations({ identifier: "GateDecision" })

/**
 * @since 0.1.0
 * @category models
 */
export interface GateDecision extends Schema.Schema.Type<typeof GateDecision> {}

/**
 * v1.1: the leash's request exactly as the agent sent it (the whole payload), carried only by
 * `GET /v1/leashes/{leash_id}` answered to a reviewer key; absent for an agent and from every
 * other answer.
 */
const request = Schema.optional(LeashRequest)

/**
 * The approval fields of a pending leash an approval rule made need several reviewers (additive,
 * two-person approval; absent on every other leash): how many distinct reviewers it needs, the
 * approvals of the payload under review so far, and that payload when a reviewer modified it
 * (a modification restarts the count: earlier approvals were of the old payload).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ApprovalProgress = Schema.Struct({
  approvalsRequired: Schema.optional(Schema.Int).pipe(Schema.fromKey("approvals_required")),
  approvals: Schema.optional(Schema.Array(Approval)),
  modifiedPayload: Schema.optional(Json).pipe(Schema.fromKey("modified_payload"))
})

/**
 * A leash still waiting for a decision; with an approval rule, its approvals so far.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PendingLeash = Schema.Struct({
  leashId: Schema.propertySignature(Id).pipe(Schema.fromKey("leash_id")),
  status: Schema.Literal("pending"),
  traceLink: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("trace_link")),
  ...ApprovalProgress.fields,
  request
}).annotations({ identifier: "PendingLeash" })

/**
 * A leash with its decision.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DecidedLeash = Schema.Struct({
  leashId: Schema.propertySignature(Id).pipe(Schema.fromKey("leash_id")),
  status: Schema.Literal("decided"),
  decision: GateDecision,
  request
}).annotations({ identifier: "DecidedLeash" })

/**
 * The answer of the leash endpoints: `{leash_id, status: "pending", trace_link}` or
 * `{leash_id, status: "decided", decision}`; to a reviewer key, `GET /v1/leashes/{leash_id}`
 * adds the leash's `request` (v1.1).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashState = Schema.Union(PendingLeash, DecidedLeash).annotations({
  identifier: "LeashState",
  description: "The leash's state: pending, or decided with its decision"
})

/**
 * @since 0.1.0
 * @category models
 */
export type LeashState = typeof LeashState.Type

/**
 * @since 0.1.0
 * @category models
 */
export type LeashStateWire = typeof LeashState.Encoded
