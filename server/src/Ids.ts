/**
 * v1.1: ids are compared in their lowercase form (DESIGN.md section 2). The server lowercases
 * every id field it receives (`id`, `trail_id`, `step_id`, `parent_id`, `leash_id`) before any
 * decoding, lookup or idempotency comparison, so the same UUID in another case is the same
 * record. Nothing inside `payload`, `input`, `output` or attributes is touched.
 *
 * The functions here change a value in place (it is the server's own copy, as `JSON.parse` or
 * the decoder answered it), and leave anything that is not a string alone for the decoder to
 * refuse.
 *
 * @since 0.1.0
 */
import type * as Wire from "houndsight/wire"

type Json = Record<string, unknown>

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * An id in lowercase (a value that is not a string is answered as is).
 *
 * @since 0.1.0
 * @category normalizing
 */
export const lowercase = <A>(id: A): A => (typeof id === "string" ? (id.toLowerCase() as A) : id)

const lowerKeys = (record: unknown, keys: ReadonlyArray<string>): void => {
  if (!isRecord(record)) return
  for (const key of keys) {
    const value = record[key]
    if (typeof value === "string" && hasUpper.test(value)) record[key] = value.toLowerCase()
  }
}

const hasUpper = /[A-Z]/

const trailIdKeys = ["id"] as const
const stepIdKeys = ["id", "trailId", "parentId"] as const
const leashSummaryKeys = ["leashId"] as const
const leashRequestKeys = ["leash_id", "trail_id", "step_id"] as const

/**
 * Lowercases the ids of a decoded ingest batch, in place: each trail's `id`; each step's `id`,
 * `trailId`, `parentId` and its `leash.leashId`. (Done on the decoded records, not the body, so
 * a body of a million wrong values costs nothing here.)
 *
 * @since 0.1.0
 * @category normalizing
 */
export const lowercaseBatch = (batch: Wire.IngestBatch): Wire.IngestBatch => {
  for (const trail of batch.trails) lowerKeys(trail, trailIdKeys)
  for (const step of batch.steps) {
    lowerKeys(step, stepIdKeys)
    if (step.leash !== undefined) lowerKeys(step.leash, leashSummaryKeys)
  }
  return batch
}

/**
 * Lowercases the ids of a leash request: `leash_id`, `trail_id`, `step_id`.
 *
 * @since 0.1.0
 * @category normalizing
 */
export const lowercaseLeashRequest = (body: unknown): void => lowerKeys(body, leashRequestKeys)

/**
 * Lowercases every value of a path's parameters (every parameter of the API's paths is an id).
 *
 * @since 0.1.0
 * @category normalizing
 */
export const lowercaseParams = (params: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const key of Object.keys(params)) out[key] = lowercase(params[key])
  return out
}
