/**
 * The body of `POST /v1/leashes`: what the agent asks the gate.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { BoundedString, Id, Json, utf8Length } from "./Common.js"
import { RiskSignals } from "./RiskSignals.js"

/**
 * The longest a leash may wait for a decision: one day.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxTimeoutSeconds = 86_400

/**
 * v1.1: the largest leash `payload`, and the largest reviewer's `modified_payload`: 262,144
 * bytes (256 KiB, inclusive) of compact UTF-8 JSON, measured exactly as the SDK sends it
 * (`JSON.stringify`). A larger payload is never truncated: the SDK does not send it and the
 * server answers `413 payload_too_large`.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxPayloadBytes = 262_144

/**
 * v1.1: the largest `risk_signals` of a leash: 16 KiB (16,384 bytes) of compact UTF-8 JSON,
 * measured like the payload.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxRiskSignalsBytes = 16_384

/**
 * The longest `action_summary`: 4,096 characters (UTF-16 code units, as `string.length` counts).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxActionSummaryChars = 4_096

/**
 * The size of a JSON value as the contract measures it: the UTF-8 bytes of its compact JSON
 * (`JSON.stringify`); a value that has no JSON form (`undefined`) counts 0.
 *
 * @since 0.1.0
 * @category utils
 */
export const jsonBytes = (value: unknown): number => {
  const text = JSON.stringify(value) as string | undefined
  return text === undefined ? 0 : utf8Length(text)
}

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
).annotations({
  identifier: "TimeoutSeconds",
  jsonSchema: { exclusiveMinimum: 0, maximum: maxTimeoutSeconds }
})

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
    Schema.maxLength(maxActionSummaryChars, {
      message: () => `expected action_summary to be at most ${maxActionSummaryChars} characters`
    })
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
