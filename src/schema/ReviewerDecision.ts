/**
 * The body a reviewer posts to `POST /v1/leashes/{leash_id}/decision`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Json } from "./Common.js"

/**
 * A reviewer's decision: approve, reject with a reason, or modify the payload.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReviewerDecision = Schema.Struct({
  decision: Schema.Literal("approved", "modified", "rejected").annotations({
    message: () => "expected one of approved, modified, rejected"
  }),
  reason: Schema.String.pipe(Schema.maxLength(4096)),
  modifiedPayload: Schema.optional(Json).pipe(Schema.fromKey("modified_payload"))
}).pipe(
  Schema.filter((body) =>
    body.decision !== "modified" || body.modifiedPayload !== undefined
      ? true
      : { path: ["modified_payload"], message: "a modified decision needs modified_payload" }
  )
).annotations({ identifier: "ReviewerDecision" })

/**
 * @since 0.1.0
 * @category models
 */
export type ReviewerDecision = typeof ReviewerDecision.Type
