/**
 * v1.1, the bounds on what an agent may store (DESIGN.md section 2), enforced by the server
 * whatever client sends the request. Every size is the UTF-8 bytes of the value's compact JSON
 * (`Wire.jsonBytes`), measured on the body as sent; nothing is ever truncated here.
 *
 * | what | limit | answer |
 * |---|---|---|
 * | a leash's `payload` | 262,144 bytes (256 KiB, inclusive) | `413 payload_too_large` |
 * | a reviewer's `modified_payload` | 262,144 bytes | `413 payload_too_large` |
 * | a leash's `risk_signals` | 16,384 bytes (16 KiB) | `413 payload_too_large` |
 * | one trail or step record of an ingest | 262,144 bytes | `413 payload_too_large` naming the record; nothing of the batch is stored |
 *
 * An ingest batch holding a record over the limit is refused whole, so a batch is stored all or
 * nothing, as before: the SDK answers a 413 by splitting the batch and sending the halves, down
 * to the one record, which it drops, so every other record of the batch is still stored.
 *
 * @since 0.1.0
 */
import * as Wire from "houndsight/wire"

/**
 * The largest trail or step record the server stores: 262,144 bytes (256 KiB) of JSON.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxRecordBytes = 262_144

const formatBytes = (n: number): string => n.toLocaleString("en-US")

const overLimit = (
  field: string,
  bytes: number,
  limit: number,
  advice: string
): Wire.ApiError.PayloadTooLarge | undefined =>
  bytes <= limit ? undefined : new Wire.ApiError.PayloadTooLarge({
    message: `${field} is ${formatBytes(bytes)} bytes of JSON; the limit is ${formatBytes(limit)} bytes (${
      limit / 1024
    } KiB): ${advice}`
  })

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The part of a leash request (`POST /v1/leashes`, the parsed body) over its limit, if any:
 * `payload`, then `risk_signals`.
 *
 * @since 0.1.0
 * @category checks
 */
export const leashOverLimit = (body: unknown): Wire.ApiError.PayloadTooLarge | undefined => {
  if (!isRecord(body)) return undefined
  return overLimit(
    "payload",
    Wire.jsonBytes(body["payload"]),
    Wire.maxPayloadBytes,
    "a leash payload is never truncated (the reviewer sees all of it): send a smaller one, and refer to large data by an id the action looks up"
  ) ?? overLimit(
    "risk_signals",
    Wire.jsonBytes(body["risk_signals"]),
    Wire.maxRiskSignalsBytes,
    "send fewer or smaller risk signals (the payload carries the details)"
  )
}

/**
 * A reviewer's `modified_payload` over the payload limit, if it is.
 *
 * @since 0.1.0
 * @category checks
 */
export const modifiedPayloadOverLimit = (modified: unknown): Wire.ApiError.PayloadTooLarge | undefined =>
  overLimit(
    "modified_payload",
    Wire.jsonBytes(modified),
    Wire.maxPayloadBytes,
    "the agent could not be handed it whole: make a smaller edit, or reject with a reason"
  )

/**
 * The first trail or step record of an ingest body (parsed) over `maxRecordBytes`, as a 413
 * naming it, or `undefined`. `bodyBytes` is the body's size: a body no larger than the limit
 * cannot hold a larger record, so it is not measured record by record.
 *
 * @since 0.1.0
 * @category checks
 */
export const recordOverLimit = (body: unknown, bodyBytes: number): Wire.ApiError.PayloadTooLarge | undefined => {
  if (bodyBytes <= maxRecordBytes || !isRecord(body)) return undefined
  for (const key of ["trails", "steps"] as const) {
    const list = body[key]
    if (!Array.isArray(list)) continue
    for (let i = 0; i < list.length; i++) {
      const bytes = Wire.jsonBytes(list[i])
      if (bytes <= maxRecordBytes) continue
      const record: unknown = list[i]
      const id = isRecord(record) && typeof record["id"] === "string" ? ` (id ${record["id"].slice(0, 64)})` : ""
      return overLimit(
        `${key}[${i}]${id}`,
        bytes,
        maxRecordBytes,
        "nothing of this batch was stored; a trail or step record is limited to 256 KiB (the SDK cuts larger values with a visible marker): send the other records again without it"
      )
    }
  }
  return undefined
}
