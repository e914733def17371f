/**
 * OTLP traces to Houndsight records (`docs/otlp.md` is the contract): each trace is a trail,
 * each span a step. The mapping is a pure function of the spans, so a re-sent span gives the same
 * record (a duplicate), whatever order spans arrive in, in one request or across many:
 *
 * - trail id = UUID v8 of SHA-256(`"houndsight/otlp/trace"` ‖ trace id), step id = UUID v8 of
 *   SHA-256(`"houndsight/otlp/span"` ‖ trace id ‖ span id) (the first 16 bytes, with the version
 *   and variant bits set), parent id likewise from the parent span id;
 * - `seq` = the span's start time in whole microseconds since the Unix epoch: start order within
 *   the trail without counting what arrived before (the audit and the dashboard order by
 *   `(seq, id)`, so spans starting in the same microsecond keep one order too);
 * - the trail record comes from the root span (no parent, or a remote parent).
 *
 * The input is an `ExportTraceServiceRequest` in the shape of OTLP/JSON, from `JSON.parse` or
 * from `OtlpProto.decodeRequest`; only the ids differ (hex text in JSON, bytes in protobuf).
 * A span that cannot be a record is rejected alone (counted in the answer's partial success);
 * a request over the per-request bounds is refused whole.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import { createHash } from "node:crypto"
import { maxRecordBytes } from "./Limits.js"

/**
 * The bounds of one `POST /v1/traces` request, after decompression.
 *
 * @since 0.2.0
 * @category constants
 */
export const limits = {
  /** Spans in one request; more is a `413` (set the batch processor's `maxExportBatchSize` lower). */
  maxSpans: 2_048,
  /** Attributes in one request (resource, scope, span, event and link attributes, and each entry of a nested `kvlistValue`). */
  maxAttributes: 65_536,
  /** Span events in one request. */
  maxEvents: 16_384,
  /** Nesting of an attribute value (`arrayValue` / `kvlistValue`); a deeper span is rejected. */
  maxValueDepth: 16
} as const

/** Why one span was refused: its message goes into the answer's `partial_success`. */
class SpanRefused {
  constructor(readonly message: string) {}
}

/**
 * A request over `limits`: refused whole, `413`.
 *
 * @since 0.2.0
 * @category errors
 */
export class RequestTooLarge {
  readonly _tag = "RequestTooLarge"
  constructor(readonly message: string) {}
}

/**
 * A request that is not an `ExportTraceServiceRequest`: refused whole, `400`.
 *
 * @since 0.2.0
 * @category errors
 */
export class RequestInvalid {
  readonly _tag = "RequestInvalid"
  constructor(readonly message: string) {}
}

/**
 * How the ids of a request are written: hex text (OTLP/JSON) or bytes (protobuf).
 *
 * @since 0.2.0
 * @category models
 */
export type IdFormat = "hex" | "bytes"

/**
 * What a request maps to: the records to ingest, and the spans refused with the first reason.
 *
 * @since 0.2.0
 * @category models
 */
export interface Mapped {
  readonly batch: Wire.IngestBatch
  readonly spans: number
  readonly rejected: number
  readonly errorMessage: string
}

// ---------------------------------------------------------------------------------------------
// Ids
// ---------------------------------------------------------------------------------------------

const uuidV8 = (digest: Uint8Array): string => {
  const b = Buffer.from(digest.subarray(0, 16))
  b[6] = (b[6]! & 0x0f) | 0x80
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString("hex")
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * The trail id of an OTLP trace id (16 bytes): UUID v8 of SHA-256("houndsight/otlp/trace" ‖ id).
 * An agent that also asks the gate (`POST /v1/leashes`) names this trail id.
 *
 * @since 0.2.0
 * @category ids
 */
export const trailIdOf = (traceId: Uint8Array): string =>
  uuidV8(createHash("sha256").update("houndsight/otlp/trace").update(traceId).digest())

/**
 * The step id of an OTLP span: UUID v8 of SHA-256("houndsight/otlp/span" ‖ trace id ‖ span id).
 *
 * @since 0.2.0
 * @category ids
 */
export const stepIdOf = (traceId: Uint8Array, spanId: Uint8Array): string =>
  uuidV8(createHash("sha256").update("houndsight/otlp/span").update(traceId).update(spanId).digest())

const hexId = /^[0-9a-fA-F]*$/

const readId = (value: unknown, format: IdFormat, bytes: number, field: string, optional: boolean): Uint8Array | undefined => {
  if (value === undefined || value === null || value === "" || (value instanceof Uint8Array && value.length === 0)) {
    if (optional) return undefined
    throw new SpanRefused(`${field} is missing`)
  }
  let id: Uint8Array
  if (format === "hex") {
    if (typeof value !== "string" || value.length !== bytes * 2 || !hexId.test(value)) {
      throw new SpanRefused(`${field} must be ${bytes * 2} hex digits in OTLP/JSON`)
    }
    id = Buffer.from(value, "hex")
  } else {
    if (!(value instanceof Uint8Array) || value.length !== bytes) throw new SpanRefused(`${field} must be ${bytes} bytes`)
    id = value
  }
  if (id.every((b) => b === 0)) {
    if (optional) return undefined
    throw new SpanRefused(`${field} is all zeros (an invalid id)`)
  }
  return id
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const listOf = (u: unknown, field: string): ReadonlyArray<unknown> => {
  if (u === undefined || u === null) return []
  if (!Array.isArray(u)) throw new RequestInvalid(`${field} must be a list`)
  return u
}

const decimal = /^-?\d+$/

/** The state of a walk over one request: the counts it holds against `limits`. */
interface Counts {
  attributes: number
  events: number
}

const countAttribute = (counts: Counts): void => {
  if (++counts.attributes > limits.maxAttributes) {
    throw new RequestTooLarge(
      `the request holds more than ${limits.maxAttributes} attributes (resource, span, event and nested values): send fewer spans per request`
    )
  }
}

const anyValue = (u: unknown, depth: number, counts: Counts): unknown => {
  if (!isObject(u)) return null
  if (depth > limits.maxValueDepth) {
    throw new SpanRefused(`an attribute value nests more than ${limits.maxValueDepth} levels deep`)
  }
  if ("stringValue" in u) return typeof u.stringValue === "string" ? u.stringValue : String(u.stringValue)
  if ("boolValue" in u) return u.boolValue === true || u.boolValue === "true"
  if ("intValue" in u) {
    const v = u.intValue
    if (typeof v === "number") return v
    if (typeof v === "string" && decimal.test(v)) {
      const n = Number(v)
      return Number.isSafeInteger(n) ? n : v
    }
    return String(v)
  }
  if ("doubleValue" in u) {
    const v = u.doubleValue
    return typeof v === "number" && Number.isFinite(v) ? v : String(v)
  }
  if ("bytesValue" in u) {
    const v = u.bytesValue
    return v instanceof Uint8Array ? Buffer.from(v).toString("base64") : String(v)
  }
  if ("arrayValue" in u) {
    const values = isObject(u.arrayValue) ? listOf(u.arrayValue.values, "arrayValue.values") : []
    return values.map((v) => anyValue(v, depth + 1, counts))
  }
  if ("kvlistValue" in u) {
    const values = isObject(u.kvlistValue) ? listOf(u.kvlistValue.values, "kvlistValue.values") : []
    return attributes(values, depth + 1, counts)
  }
  return null
}

const attributes = (list: ReadonlyArray<unknown>, depth: number, counts: Counts): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const kv of list) {
    countAttribute(counts)
    if (!isObject(kv) || typeof kv.key !== "string") throw new RequestInvalid("an attribute must be {key, value}")
    out[kv.key] = anyValue(kv.value, depth, counts)
  }
  return out
}

const nanos = (u: unknown, field: string): bigint => {
  if (typeof u === "number" && Number.isSafeInteger(u) && u > 0) return BigInt(u)
  if (typeof u === "string" && /^\d+$/.test(u) && u !== "0" && !/^0+$/.test(u)) return BigInt(u)
  throw new SpanRefused(`${field} is missing or not a time in nanoseconds`)
}

const isoOf = (ns: bigint, field: string): string => {
  const date = new Date(Number(ns / 1_000_000n))
  if (Number.isNaN(date.getTime())) throw new SpanRefused(`${field} is not a representable time`)
  return date.toISOString()
}

const str = (u: unknown): string | undefined => (typeof u === "string" && u !== "" ? u : undefined)

const num = (u: unknown): number | undefined => (typeof u === "number" && Number.isFinite(u) ? u : undefined)

/** A `houndsight.*` value that carries JSON: parsed when it is JSON text, else as it is. */
const jsonValue = (u: unknown): unknown => {
  if (typeof u !== "string") return u
  try {
    return JSON.parse(u) as unknown
  } catch {
    return u
  }
}

// ---------------------------------------------------------------------------------------------
// Spans
// ---------------------------------------------------------------------------------------------

const layers: ReadonlySet<string> = new Set(Wire.stepLayers)
const decisions: ReadonlySet<string> = new Set(["approved", "modified", "rejected", "blocked", "timeout", "error", "async"])

/** The attributes carried elsewhere than in the step's `input`. */
const carried: ReadonlySet<string> = new Set(["houndsight.input", "houndsight.output", "houndsight.payload"])

const tokenCount = (a: Record<string, unknown>, ...keys: ReadonlyArray<string>): number | undefined => {
  for (const key of keys) {
    const v = a[key]
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v
  }
  return undefined
}

const decodeStep = Schema.decodeUnknownEither(Wire.StepRecord)
const decodeTrail = Schema.decodeUnknownEither(Wire.TrailRecord)

const firstIssue = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const issue = issues[0]
  return issue === undefined ? "invalid" : `${issue.path.join(".") || "record"}: ${issue.message}`
}

const sizeOf = (record: unknown, what: string): void => {
  const bytes = Wire.jsonBytes(record)
  if (bytes > maxRecordBytes) {
    throw new SpanRefused(`the ${what} would be ${bytes} bytes of JSON; a record is limited to ${maxRecordBytes} bytes (256 KiB)`)
  }
}

interface SpanRecords {
  readonly step: Wire.StepRecord
  readonly trail: Wire.TrailRecord | undefined
}

const spanRecords = (
  span: unknown,
  format: IdFormat,
  resource: Record<string, unknown>,
  counts: Counts
): SpanRecords => {
  if (!isObject(span)) throw new RequestInvalid("a span must be an object")
  const traceId = readId(span.traceId, format, 16, "traceId", false)!
  const spanId = readId(span.spanId, format, 8, "spanId", false)!
  const parentSpanId = readId(span.parentSpanId, format, 8, "parentSpanId", true)
  const name = typeof span.name === "string" ? span.name : ""
  const start = nanos(span.startTimeUnixNano, "startTimeUnixNano")
  const end = nanos(span.endTimeUnixNano, "endTimeUnixNano")
  const a = attributes(listOf(span.attributes, "attributes"), 0, counts)
  const eventList = listOf(span.events, "events")
  if ((counts.events += eventList.length) > limits.maxEvents) {
    throw new RequestTooLarge(`the request holds more than ${limits.maxEvents} span events: send fewer spans per request`)
  }
  const events = eventList.map((e) => {
    if (!isObject(e)) throw new RequestInvalid("a span event must be an object")
    return {
      name: str(e.name) ?? "event",
      at: isoOf(nanos(e.timeUnixNano, "events[].timeUnixNano"), "events[].timeUnixNano"),
      attributes: attributes(listOf(e.attributes, "events[].attributes"), 0, counts)
    }
  })
  for (const link of listOf(span.links, "links")) {
    if (isObject(link)) attributes(listOf(link.attributes, "links[].attributes"), 0, counts)
  }
  const status = isObject(span.status) ? span.status : {}
  const failed = status.code === 2 || status.code === "STATUS_CODE_ERROR"
  const interrupted = a["houndsight.status"] === "interrupted"

  const declaredLayer = a["houndsight.layer"]
  if (declaredLayer !== undefined && (typeof declaredLayer !== "string" || !layers.has(declaredLayer))) {
    throw new SpanRefused(`houndsight.layer must be one of ${Wire.stepLayers.join(", ")}, got ${JSON.stringify(declaredLayer)}`)
  }
  const isModel = a["gen_ai.operation.name"] !== undefined || a["gen_ai.request.model"] !== undefined ||
    a["gen_ai.response.model"] !== undefined
  const layer = (declaredLayer as Wire.StepRecord["layer"] | undefined) ?? (isModel ? "reason" : "execute")

  const trailId = trailIdOf(traceId)
  const id = stepIdOf(traceId, spanId)
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(a)) if (!carried.has(key)) input[key] = a[key]

  const wire: Record<string, unknown> = {
    id,
    trail_id: trailId,
    parent_id: parentSpanId === undefined ? null : stepIdOf(traceId, parentSpanId),
    seq: Math.max(1, Number(start / 1000n)),
    name,
    layer,
    status: interrupted ? "interrupted" : failed && layer !== "review" ? "error" : "ok",
    started_at: isoOf(start, "startTimeUnixNano"),
    ended_at: isoOf(end, "endTimeUnixNano"),
    events
  }
  if (a["houndsight.input"] !== undefined) wire.input = jsonValue(a["houndsight.input"])
  else if (Object.keys(input).length > 0) wire.input = input
  if (a["houndsight.output"] !== undefined) wire.output = jsonValue(a["houndsight.output"])
  const cost = num(a["houndsight.cost_usd"])
  if (cost !== undefined) wire.cost_usd = cost

  const inputTokens = tokenCount(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
  const outputTokens = tokenCount(a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
  if (inputTokens !== undefined || outputTokens !== undefined) {
    const cached = tokenCount(a, "gen_ai.usage.cache_read.input_tokens")
    const reasoning = tokenCount(a, "gen_ai.usage.reasoning.output_tokens")
    wire.tokens = {
      input: inputTokens ?? 0,
      output: outputTokens ?? 0,
      ...(cached === undefined ? {} : { cached_input: cached }),
      ...(reasoning === undefined ? {} : { reasoning })
    }
  }
  const modelName = str(a["gen_ai.response.model"]) ?? str(a["gen_ai.request.model"])
  if (modelName !== undefined) {
    wire.model = { provider: str(a["gen_ai.provider.name"]) ?? str(a["gen_ai.system"]) ?? "unknown", name: modelName }
  }
  if (wire.status === "error") {
    const exception = events.find((e) => e.name === "exception")?.attributes
    wire.error = {
      type: str(exception?.["exception.type"]) ?? "Error",
      message: str(status.message) ?? str(exception?.["exception.message"]) ?? "the span ended with status ERROR"
    }
  }
  if (layer === "review") {
    const leashId = str(a["houndsight.leash.id"])
    const decision = a["houndsight.leash.decision"]
    if (leashId === undefined) throw new SpanRefused("a review span needs houndsight.leash.id (the leash's UUID)")
    if (typeof decision !== "string" || !decisions.has(decision)) {
      throw new SpanRefused(`a review span needs houndsight.leash.decision, one of ${[...decisions].join(", ")}`)
    }
    const actionName = str(a["houndsight.leash.action_name"]) ?? name
    const reason = typeof a["houndsight.leash.reason"] === "string" ? a["houndsight.leash.reason"] : ""
    const approved = Wire.isApproving(decision as Wire.DecisionValue)
    const leashIdLower = leashId.toLowerCase()
    wire.name = actionName
    wire.leash = { leash_id: leashIdLower, action_name: actionName, decision, approved, reason }
    if (wire.output === undefined) wire.output = { decision, approved, reason, leash_id: leashIdLower }
  }
  sizeOf(wire, "step")
  const step = decodeStep(wire)
  if (Either.isLeft(step)) throw new SpanRefused(`the step would not be valid (${firstIssue(step.left)})`)

  const flags = typeof span.flags === "number" ? span.flags : 0
  // SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK (0x100) with SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK (0x200)
  const remoteParent = (flags & 0x300) === 0x300
  if (parentSpanId !== undefined && !remoteParent) return { step: step.right, trail: undefined }

  const agent = str(resource["service.name"]) ?? "unknown_service"
  const trailWire: Record<string, unknown> = {
    id: trailId,
    agent,
    trigger: str(a["houndsight.trigger"]) ?? (name === "" ? "otlp" : name),
    payload: a["houndsight.payload"] !== undefined ? jsonValue(a["houndsight.payload"]) : (wire.input ?? {}),
    status: wire.status,
    started_at: wire.started_at,
    ended_at: wire.ended_at,
    events: [],
    tags: { "otel.trace_id": Buffer.from(traceId).toString("hex"), "service.name": agent }
  }
  if (wire.output !== undefined) trailWire.output = wire.output
  sizeOf(trailWire, "trail")
  const trail = decodeTrail(trailWire)
  if (Either.isLeft(trail)) throw new SpanRefused(`the root span's trail would not be valid (${firstIssue(trail.left)})`)
  return { step: step.right, trail: trail.right }
}

/**
 * Maps a decoded `ExportTraceServiceRequest` to records. Throws `RequestInvalid` (a `400`) or
 * `RequestTooLarge` (a `413`) for the whole request; a span that cannot be a record is counted
 * in `rejected`, with the first reason in `errorMessage`.
 *
 * @since 0.2.0
 * @category mapping
 */
export const map = (request: unknown, format: IdFormat): Mapped => {
  if (!isObject(request)) throw new RequestInvalid("the body must be an ExportTraceServiceRequest object")
  const resourceSpans = listOf(request.resourceSpans, "resourceSpans")
  let spanCount = 0
  for (const rs of resourceSpans) {
    if (!isObject(rs)) throw new RequestInvalid("resourceSpans[] must be objects")
    for (const ss of listOf(rs.scopeSpans, "resourceSpans[].scopeSpans")) {
      if (!isObject(ss)) throw new RequestInvalid("scopeSpans[] must be objects")
      spanCount += listOf(ss.spans, "scopeSpans[].spans").length
    }
  }
  if (spanCount > limits.maxSpans) {
    throw new RequestTooLarge(
      `the request holds ${spanCount} spans; the limit is ${limits.maxSpans} a request: set the span processor's maxExportBatchSize to ${limits.maxSpans} or less`
    )
  }
  const counts: Counts = { attributes: 0, events: 0 }
  const trails: Array<Wire.TrailRecord> = []
  const steps: Array<Wire.StepRecord> = []
  let rejected = 0
  let errorMessage = ""
  for (const rs of resourceSpans as ReadonlyArray<Record<string, unknown>>) {
    const resource = isObject(rs.resource) ? attributes(listOf(rs.resource.attributes, "resource.attributes"), 0, counts) : {}
    for (const ss of listOf(rs.scopeSpans, "scopeSpans") as ReadonlyArray<Record<string, unknown>>) {
      if (isObject(ss.scope)) attributes(listOf(ss.scope.attributes, "scope.attributes"), 0, counts)
      for (const span of listOf(ss.spans, "spans")) {
        try {
          const records = spanRecords(span, format, resource, counts)
          steps.push(records.step)
          if (records.trail !== undefined) trails.push(records.trail)
        } catch (e) {
          if (!(e instanceof SpanRefused)) throw e
          rejected++
          if (errorMessage === "") {
            const where = isObject(span) && typeof span.name === "string" ? ` (span ${JSON.stringify(span.name.slice(0, 80))})` : ""
            errorMessage = `${e.message}${where}`
          }
        }
      }
    }
  }
  if (rejected > 1) errorMessage = `${rejected} spans rejected; the first: ${errorMessage}`
  return { batch: { trails, steps }, spans: spanCount, rejected, errorMessage }
}
