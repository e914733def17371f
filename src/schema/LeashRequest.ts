/**
 * The body of `POST /v1/leashes`: what the agent asks the gate.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { BoundedString, Id, Json } from "./Common.js"
import { RiskSignals } from "./RiskSignals.js"

/**
 * The longest a leash may wait for a decision: one day.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxTimeoutSeconds = 86_400

/**
 * A leash timeout in seconds: more than 0, at most 86,400, fractions allowed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TimeoutSeconds = Schema.Number.pipe(
  Schema.filter((n) =>
    (Number.isFinite(n) && n > 0 && n <= maxTimeoutSeconds) ||
    `expected a number of seconds above 0 and at most ${maxTimeoutSeconds}, got ${n}`
  )
).annotations({ identifier: "TimeoutSeconds" })

/**
 * A leash request: camelCase in TypeScript, snake_case on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashRequest = Schema.Struct({
  leashId: Schema.propertySignature(Id).pipe(Schema.fromKey("leash_id")),
  trailId: Schema.propertySignature(Id).pipe(Schema.fromKey("trail_id")),
  stepId: Schema.propertySignature(Id).pipe(Schema.fromKey("step_id")),
  agent: BoundedString(256),
  actionName: Schema.propertySignature(BoundedString(256)).pipe(Schema.fromKey("action_name")),
  actionSummary: Schema.propertySignature(Schema.String.pipe(
    Schema.maxLength(4096, { message: () => "expected action_summary to be at most 4096 characters" })
  )).pipe(
    Schema.fromKey("action_summary")
  ),
  riskSignals: Schema.propertySignature(RiskSignals).pipe(Schema.fromKey("risk_signals")),
  payload: Json,
  timeoutSeconds: Schema.propertySignature(TimeoutSeconds).pipe(Schema.fromKey("timeout_seconds")),
  blocking: Schema.Boolean
}).annotations({ identifier: "LeashRequest" })

/**
 * @since 0.1.0
 * @category models
 */
export interface LeashRequest extends Schema.Schema.Type<typeof LeashRequest> {}

/**
 * @since 0.1.0
 * @category models
 */
export interface LeashRequestWire extends Schema.Schema.Encoded<typeof LeashRequest> {}
