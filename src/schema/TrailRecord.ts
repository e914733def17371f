/**
 * The trail record of contract v1: one agent run end to end. A trail is sent when it opens
 * (`running`) and again when it ends.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { BoundedString, Event, Id, Json, Timestamp, Tokens, Usd, oneOf } from "./Common.js"

/**
 * The status of a trail: `running` while it is open, then one terminal status.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailStatus = Schema.Literal("running", "ok", "error", "interrupted").annotations({
  identifier: "TrailStatus",
  message: oneOf(["running", "ok", "error", "interrupted"])
})

/**
 * A trail record: camelCase in TypeScript, snake_case on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailRecord = Schema.Struct({
  id: Id,
  agent: BoundedString(256),
  trigger: BoundedString(256),
  payload: Json,
  output: Schema.optional(Json),
  status: TrailStatus,
  startedAt: Schema.propertySignature(Timestamp).pipe(Schema.fromKey("started_at")),
  endedAt: Schema.optional(Timestamp).pipe(Schema.fromKey("ended_at")),
  costUsd: Schema.optional(Usd).pipe(Schema.fromKey("cost_usd")),
  tokens: Schema.optional(Tokens),
  events: Schema.Array(Event),
  tags: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
}).annotations({ identifier: "TrailRecord" })

/**
 * @since 0.1.0
 * @category models
 */
export interface TrailRecord extends Schema.Schema.Type<typeof TrailRecord> {}

/**
 * @since 0.1.0
 * @category models
 */
export interface TrailRecordWire extends Schema.Schema.Encoded<typeof TrailRecord> {}
