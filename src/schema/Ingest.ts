/**
 * `POST /v1/ingest`: a batch of trail and step records, and the answer.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { StepRecord } from "./StepRecord.js"
import { TrailRecord } from "./TrailRecord.js"

/**
 * The largest ingest body the server accepts: 5 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxIngestBytes = 5 * 1024 * 1024

/**
 * @since 0.1.0
 * @category schemas
 */
export const IngestBatch = Schema.Struct({
  trails: Schema.Array(TrailRecord),
  steps: Schema.Array(StepRecord)
}).annotations({ identifier: "IngestBatch" })

/**
 * @since 0.1.0
 * @category models
 */
export type IngestBatch = typeof IngestBatch.Type

/**
 * 202 answer: how many records were new and how many the server already had.
 *
 * @since 0.1.0
 * @category schemas
 */
export const IngestAccepted = Schema.Struct({
  accepted: Schema.NonNegativeInt,
  duplicates: Schema.NonNegativeInt
}).annotations({ identifier: "IngestAccepted" })

/**
 * @since 0.1.0
 * @category models
 */
export type IngestAccepted = typeof IngestAccepted.Type
