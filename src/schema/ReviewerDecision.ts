/**
 * The body a reviewer posts to `POST /v1/leashes/{leash_id}/decision`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Json, oneOf } from "./Common.js"

/**
 * A reviewer's decision: approve, reject with a reason, or modify the payload. `modified_payload`
 * comes with `modified` and only with it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReviewerDecision = Schema.Struct({
  decision: Schema.Literal("approved", "modified", "rejected").annotations({
    message: oneOf(["approved", "modified", "rejected"])
  }),
  reason: Schema.String.pipe(
    Schema.maxLength(4096, { message: () => "expected a reason of at most 4096 characters" })
  ),
  modifiedPayload: Schema.optional(Json).pipe(Schema.fromKey("modified_payload"))
}).pipe(
  Schema.filter((body) => {
    if (body.decision === "modified") {
      return body.modifiedPayload !== undefined ||
        { path: ["modified_payload"], message: "a modified decision needs modified_payload" }
    }
    return body.modifiedPayload === undefined || {
      path: ["modified_payload"],
      message: `modified_payload is only for a modified decision, not ${body.decision}: send decision "modified"`
    }
  })
).annotations({ identifier: "ReviewerDecision" })

/**
 * @since 0.1.0
 * @category models
 */
export type ReviewerDecision = typeof ReviewerDecision.Type
