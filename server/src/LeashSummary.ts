/**
 * What a list shows of a leash (contract v1.1): its request without the payload, and a preview
 * of the payload (at most 4 KiB of its compact JSON, its full size, whether the preview is cut).
 * Computed once, when the leash is stored (and by the migration for leashes stored before), so
 * a reviewer's read of a list costs its page, never the payloads.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"

/**
 * The most bytes of risk signals a list item carries; larger ones (only leashes stored before
 * v1.1's 16 KiB limit) are left out of the summary, marked `risk_signals_cut`.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxListedSignalsBytes = 16 * 1024

/**
 * A stored summary, as the `leashes.summary` column holds it (wire form).
 *
 * @since 0.1.0
 * @category schemas
 */
export const StoredSummary = Schema.Struct({
  request: Wire.LeashRequestSummary,
  payloadPreview: Schema.propertySignature(Wire.PayloadPreview).pipe(Schema.fromKey("payload_preview"))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface StoredSummary extends Schema.Schema.Type<typeof StoredSummary> {}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The preview of a payload's compact JSON text: its first `maxPreviewBytes` bytes of UTF-8, cut
 * before a character that would not fit whole.
 *
 * @since 0.1.0
 * @category constructors
 */
export const preview = (json: string): Wire.PayloadPreview => {
  const bytes = encoder.encode(json)
  if (bytes.length <= Wire.maxPreviewBytes) return { text: json, bytes: bytes.length, cut: false }
  let end = Wire.maxPreviewBytes
  // A UTF-8 continuation byte (10xxxxxx) belongs to the character before it.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return { text: decoder.decode(bytes.subarray(0, end)), bytes: bytes.length, cut: true }
}

const field = (raw: unknown, key: string): unknown =>
  typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>)[key] : undefined

/**
 * The summary of a decoded request and the body it was decoded from (`raw`: the parsed JSON,
 * whose payload and risk signals are kept as the agent sent them), as the JSON text to store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const summarize = (request: Wire.LeashRequest, raw: unknown): string => {
  const payload = field(raw, "payload") ?? request.payload
  const signals = field(raw, "risk_signals") ?? {}
  const signalsText = JSON.stringify(signals) ?? "{}"
  const signalsCut = encoder.encode(signalsText).length > maxListedSignalsBytes
  return JSON.stringify({
    request: {
      leash_id: request.leashId,
      trail_id: request.trailId,
      step_id: request.stepId,
      agent: request.agent,
      action_name: request.actionName,
      action_summary: request.actionSummary,
      risk_signals: signalsCut ? {} : signals,
      timeout_seconds: request.timeoutSeconds,
      blocking: request.blocking,
      ...(signalsCut ? { risk_signals_cut: true } : {})
    },
    payload_preview: preview(JSON.stringify(payload) ?? "null")
  })
}

/**
 * Reads a stored summary back.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode: (text: string) => StoredSummary = Schema.decodeSync(Schema.parseJson(StoredSummary))
