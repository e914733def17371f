/**
 * The body a reviewer posts to `POST /v1/leashes/{leash_id}/decision`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Json, oneOf } from "./Common.js"

const decisionLiteral = Schema.Literal("approved", "modified", "rejected").annotations({
  message: oneOf(["approved", "modified", "rejected"])
})

const Reason = Schema.String.pipe(
  Schema.maxLength(4096, { message: () => "expected a reason of at most 4096 characters" })
)

/** The body as sent: `reason` may be left out, except by a rejection. */
const DecisionBody = Schema.Struct({
  decision: decisionLiteral,
  reason: Schema.optionalWith(Reason, { exact: true }),
  modifiedPayload: Schema.optional(Json).pipe(Schema.fromKey("modified_payload"))
}).pipe(
  Schema.filter((body) => {
    if (body.decision === "rejected" && body.reason === undefined) {
      return {
        path: ["reason"],
        message: "a rejection needs a reason: the agent receives it and the trail records it"
      }
    }
    if (body.decision === "modified") {
      return body.modifiedPayload !== undefined ||
        { path: ["modified_payload"], message: "a modified decision needs modified_payload" }
    }
    return body.modifiedPayload === undefined || {
      path: ["modified_payload"],
      message: `modified_payload is only for a modified decision, not ${body.decision}: send decision "modified"`
    }
  })
)

/**
 * A reviewer's decision: approve, reject with a reason, or modify the payload. `modified_payload`
 * comes with `modified` and only with it. v1.1: `reason` may be left out when approving or
 * modifying, and is then `""`; a rejection needs one.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReviewerDecision = Schema.transform(
  DecisionBody,
  Schema.Struct({
    decision: Schema.Literal("approved", "modified", "rejected"),
    reason: Schema.String,
    modifiedPayload: Schema.optional(Json)
  }),
  {
    strict: true,
    decode: (body) => ({ ...body, reason: body.reason ?? "" }),
    encode: (decision) => decision
  }
).annotations({
  identifier: "ReviewerDecision",
  // what the filter checks, for the OpenAPI document
  jsonSchema: {
    allOf: [
      {
        if: { properties: { decision: { const: "modified" } }, required: ["decision"] },
        then: { required: ["modified_payload"] },
        else: { not: { required: ["modified_payload"] } }
      },
      {
        if: { properties: { decision: { const: "rejected" } }, required: ["decision"] },
        then: { required: ["reason"] }
      }
    ]
  }
})

/**
 * @since 0.1.0
 * @category models
 */
export type ReviewerDecision = typeof ReviewerDecision.Type
