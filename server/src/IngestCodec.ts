/**
 * The ingest batch decoded and encoded by hand: the hot path of `POST /v1/ingest`.
 *
 * Decoding a batch with `Schema.decodeUnknown(Wire.IngestBatch)` builds nested structs, a
 * transformation per renamed key and a `ParseResult` per value for every record, which made the
 * schema the largest share of ingest's CPU (BENCHMARKS.md, part 3); the functions here do the
 * same checks in straight-line code. They are
 * written to accept exactly what the contract's schemas accept and to answer the same value
 * (server/test/IngestCodec.test.ts compares them with the schemas on generated and mutated
 * records), but they answer no error: a batch they refuse is decoded again with the schema,
 * whose message names the field (`Http` does that), so the error answers stay the schema's.
 *
 * - `decodeBatch`: JSON (as `JSON.parse` answers it) → `Wire.IngestBatch`, or `undefined`.
 * - `encodeStep` / `encodeTrail`: a record → its wire form, equal to `Schema.encodeSync`'s.
 *
 * @since 0.1.0
 */
import type * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

type Out = Record<string, unknown>

type EventWire = Schema.Schema.Encoded<typeof Wire.Event>

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

/** `Predicate.isRecord`: what a `Schema.Struct` or `Schema.Record` takes. */
const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** `Schema.UUID`'s pattern: the contract's. */
const uuid = Wire.uuidPattern

const isId = (u: unknown): u is string => typeof u === "string" && uuid.test(u)

/** `BoundedString(256)`. */
const isName = (u: unknown): u is string => typeof u === "string" && u.length >= 1 && u.length <= 256

/** `Schema.NonNegativeInt`. */
const isCount = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0

/** `Usd`: a finite number, zero or more. */
const isUsd = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u) && u >= 0

/**
 * `Timestamp`: an ISO-8601 UTC time with milliseconds that is a real calendar time. A string
 * equal to the `toISOString()` of the date it parses to matches the schema's pattern exactly
 * when it is 24 characters long (years 0000 to 9999; other years take 27).
 */
const toDate = (u: unknown): Date | undefined => {
  if (typeof u !== "string" || u.length !== 24) return undefined
  const date = new Date(u)
  const time = date.getTime()
  return time === time && date.toISOString() === u ? date : undefined
}

// the contract's own literals, so the codec cannot drift from the schemas
const stepLayers: ReadonlySet<unknown> = new Set(Wire.StepLayer.literals)
const stepStatuses: ReadonlySet<unknown> = new Set(Wire.StepStatus.literals)
const trailStatuses: ReadonlySet<unknown> = new Set(Wire.TrailStatus.literals)
const decisions: ReadonlySet<unknown> = new Set(Wire.DecisionValue.literals)

/**
 * `Schema.Record({ key: Schema.String, value })`: a copy made the way the schema makes it (one
 * assignment per own enumerable key), so even a `"__proto__"` key ends up the same.
 */
const decodeRecord = (u: unknown, stringValues: boolean): Out | undefined => {
  if (!isRecord(u)) return undefined
  const out: Out = {}
  for (const key of Object.keys(u)) {
    const value = u[key]
    if (stringValues && typeof value !== "string") return undefined
    out[key] = value
  }
  return out
}

const decodeTokens = (u: unknown): Wire.Tokens | undefined =>
  isRecord(u) && isCount(u["input"]) && isCount(u["output"]) ? { input: u["input"], output: u["output"] } : undefined

/**
 * One event on the wire → `Wire.Event`, or `undefined` where the schema would fail.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEvent = (e: unknown): Wire.Event | undefined => {
  if (!isRecord(e)) return undefined
  const name = e["name"]
  if (!isName(name)) return undefined
  const at = toDate(e["at"])
  if (at === undefined) return undefined
  const attributes = decodeRecord(e["attributes"], false)
  if (attributes === undefined) return undefined
  return { name, at, attributes }
}

const decodeEvents = (u: unknown): Array<Wire.Event> | undefined => {
  if (!Array.isArray(u)) return undefined
  const out: Array<Wire.Event> = new Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const event = decodeEvent(u[i])
    if (event === undefined) return undefined
    out[i] = event
  }
  return out
}

const decodeLeash = (u: unknown): Wire.LeashSummary | undefined => {
  if (!isRecord(u)) return undefined
  const leashId = u["leash_id"]
  const actionName = u["action_name"]
  const decision = u["decision"]
  const approved = u["approved"]
  const reason = u["reason"]
  if (
    !isId(leashId) || !isName(actionName) || !decisions.has(decision) || typeof approved !== "boolean" ||
    typeof reason !== "string"
  ) return undefined
  if (approved !== Wire.isApproving(decision as Wire.DecisionValue)) return undefined
  const summary = { leashId, actionName, decision: decision as Wire.DecisionValue, approved, reason }
  if (!hasOwn(u, "approvers")) return summary
  const approvers = decodeApprovers(u["approvers"])
  return approvers === undefined ? undefined : { ...summary, approvers }
}

/** A review step's `approvers` (additive): at most `Rules.maxApprovals` of `{id, name}`, other keys dropped. */
const decodeApprovers = (u: unknown): Array<{ readonly id: string; readonly name: string }> | undefined => {
  if (!Array.isArray(u) || u.length > Wire.Rules.maxApprovals) return undefined
  const out: Array<{ readonly id: string; readonly name: string }> = new Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const a = u[i]
    if (!isRecord(a) || !isName(a["id"]) || !isName(a["name"])) return undefined
    out[i] = { id: a["id"], name: a["name"] }
  }
  return out
}

const decodeUsd = (u: unknown): number | undefined => (isUsd(u) ? u : undefined)

const decodeError = (u: unknown): { readonly type: string; readonly message: string } | undefined =>
  isRecord(u) && typeof u["type"] === "string" && typeof u["message"] === "string"
    ? { type: u["type"], message: u["message"] }
    : undefined

const decodeTags = (u: unknown): Out | undefined => decodeRecord(u, true)

/**
 * An optional key of a struct, as `Schema.optional` decodes it into `out[name]`: an absent key
 * stays absent, a present `undefined` stays `undefined`, any other value must decode. False when
 * it does not.
 */
const decodeOptional = (
  u: Out,
  key: string,
  out: Out,
  name: string,
  decode: (value: unknown) => unknown
): boolean => {
  if (!hasOwn(u, key)) return true
  const value = u[key]
  if (value === undefined) {
    out[name] = undefined
    return true
  }
  const decoded = decode(value)
  if (decoded === undefined) return false
  out[name] = decoded
  return true
}

/** A step's tokens (v1.1): `input`, `output`, and the optional `cached_input` and `reasoning`. */
const decodeStepTokens = (u: unknown): Wire.StepTokens | undefined => {
  if (!isRecord(u) || !isCount(u["input"]) || !isCount(u["output"])) return undefined
  const out: Out = { input: u["input"], output: u["output"] }
  const count = (v: unknown) => (isCount(v) ? v : undefined)
  if (!decodeOptional(u, "cached_input", out, "cachedInput", count) || !decodeOptional(u, "reasoning", out, "reasoning", count)) {
    return undefined
  }
  return out as unknown as Wire.StepTokens
}

/** The model of a step (v1.1): `{provider, name}`. */
const decodeModel = (u: unknown): Wire.ModelRef | undefined =>
  isRecord(u) && isName(u["provider"]) && isName(u["name"]) ? { provider: u["provider"], name: u["name"] } : undefined

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/**
 * A step record on the wire → `Wire.StepRecord`, or `undefined` where the schema would fail.
 * Optional keys that are present hold their value (even `undefined`), as the schema does.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeStep = (u: unknown): Wire.StepRecord | undefined => {
  if (!isRecord(u)) return undefined
  const id = u["id"]
  const trailId = u["trail_id"]
  const parentId = u["parent_id"]
  const seq = u["seq"]
  const name = u["name"]
  const layer = u["layer"]
  const status = u["status"]
  if (
    !isId(id) || !isId(trailId) || (parentId !== null && !isId(parentId)) ||
    typeof seq !== "number" || !Number.isSafeInteger(seq) || seq <= 0 ||
    !isName(name) || !stepLayers.has(layer) || !stepStatuses.has(status)
  ) return undefined
  const startedAt = toDate(u["started_at"])
  if (startedAt === undefined) return undefined
  const endedAt = toDate(u["ended_at"])
  if (endedAt === undefined) return undefined
  const events = decodeEvents(u["events"])
  if (events === undefined) return undefined
  const out: Out = {
    id,
    trailId,
    parentId,
    seq,
    name,
    layer,
    status,
    startedAt,
    endedAt,
    events
  }
  if (hasOwn(u, "input")) out["input"] = u["input"]
  if (hasOwn(u, "output")) out["output"] = u["output"]
  if (
    !decodeOptional(u, "cost_usd", out, "costUsd", decodeUsd) ||
    !decodeOptional(u, "tokens", out, "tokens", decodeStepTokens) ||
    !decodeOptional(u, "error", out, "error", decodeError) ||
    !decodeOptional(u, "leash", out, "leash", decodeLeash) ||
    !decodeOptional(u, "model", out, "model", decodeModel)
  ) return undefined
  return out as unknown as Wire.StepRecord
}

/**
 * A trail record on the wire → `Wire.TrailRecord`, or `undefined` where the schema would fail.
 * (`payload` is `Json`, which takes anything, even a missing key: the schema answers
 * `payload: undefined` then, and so does this.)
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeTrail = (u: unknown): Wire.TrailRecord | undefined => {
  if (!isRecord(u)) return undefined
  const id = u["id"]
  const agent = u["agent"]
  const trigger = u["trigger"]
  const status = u["status"]
  if (!isId(id) || !isName(agent) || !isName(trigger) || !trailStatuses.has(status)) return undefined
  const startedAt = toDate(u["started_at"])
  if (startedAt === undefined) return undefined
  const events = decodeEvents(u["events"])
  if (events === undefined) return undefined
  const out: Out = { id, agent, trigger, payload: u["payload"], status, startedAt, events }
  if (hasOwn(u, "output")) out["output"] = u["output"]
  if (
    !decodeOptional(u, "ended_at", out, "endedAt", toDate) ||
    !decodeOptional(u, "cost_usd", out, "costUsd", decodeUsd) ||
    !decodeOptional(u, "tokens", out, "tokens", decodeTokens) ||
    !decodeOptional(u, "tags", out, "tags", decodeTags)
  ) return undefined
  return out as unknown as Wire.TrailRecord
}

/**
 * An ingest body (parsed JSON) → `Wire.IngestBatch`, or `undefined` where
 * `Schema.decodeUnknown(Wire.IngestBatch)` would fail (decode it with the schema then, for the
 * error message).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeBatch = (u: unknown): Wire.IngestBatch | undefined => {
  if (!isRecord(u)) return undefined
  const trailsIn = u["trails"]
  const stepsIn = u["steps"]
  if (!Array.isArray(trailsIn) || !Array.isArray(stepsIn)) return undefined
  // grown as records decode, not allocated up front: a body of millions of wrong values is
  // refused at its first without allocating room for all of them
  const trails: Array<Wire.TrailRecord> = []
  for (let i = 0; i < trailsIn.length; i++) {
    const trail = decodeTrail(trailsIn[i])
    if (trail === undefined) return undefined
    trails.push(trail)
  }
  const steps: Array<Wire.StepRecord> = []
  for (let i = 0; i < stepsIn.length; i++) {
    const step = decodeStep(stepsIn[i])
    if (step === undefined) return undefined
    steps.push(step)
  }
  return { trails, steps }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

const encodeEvents = (events: ReadonlyArray<Wire.Event>): Array<EventWire> => {
  const out: Array<EventWire> = new Array(events.length)
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    const attributes: Out = {}
    for (const key of Object.keys(e.attributes)) attributes[key] = e.attributes[key]
    out[i] = { name: e.name, at: e.at.toISOString(), attributes }
  }
  return out
}

/**
 * A step record → its wire form, key for key what `Schema.encodeSync(Wire.StepRecord)` answers
 * (in the schema's key order, so `JSON.stringify` gives the same text).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeStep = (step: Wire.StepRecord): Wire.StepRecordWire => {
  const out: Out = {
    id: step.id,
    trail_id: step.trailId,
    parent_id: step.parentId,
    seq: step.seq,
    name: step.name,
    layer: step.layer,
    status: step.status,
    started_at: step.startedAt.toISOString(),
    ended_at: step.endedAt.toISOString()
  }
  if (hasOwn(step, "input")) out["input"] = step.input
  if (hasOwn(step, "output")) out["output"] = step.output
  if (hasOwn(step, "costUsd")) out["cost_usd"] = step.costUsd
  if (hasOwn(step, "tokens")) {
    const t = step.tokens
    if (t === undefined) out["tokens"] = undefined
    else {
      const tokens: Out = { input: t.input, output: t.output }
      if (hasOwn(t, "cachedInput")) tokens["cached_input"] = t.cachedInput
      if (hasOwn(t, "reasoning")) tokens["reasoning"] = t.reasoning
      out["tokens"] = tokens
    }
  }
  out["events"] = encodeEvents(step.events)
  if (hasOwn(step, "error")) out["error"] = step.error === undefined ? undefined : { type: step.error.type, message: step.error.message }
  if (hasOwn(step, "leash")) {
    const l = step.leash
    out["leash"] = l === undefined ? undefined : {
      leash_id: l.leashId,
      action_name: l.actionName,
      decision: l.decision,
      approved: l.approved,
      reason: l.reason,
      ...(hasOwn(l, "approvers") ? { approvers: l.approvers?.map((a) => ({ id: a.id, name: a.name })) } : {})
    }
  }
  if (hasOwn(step, "model")) {
    out["model"] = step.model === undefined ? undefined : { provider: step.model.provider, name: step.model.name }
  }
  return out as unknown as Wire.StepRecordWire
}

/**
 * A trail record → its wire form, key for key what `Schema.encodeSync(Wire.TrailRecord)`
 * answers.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeTrail = (trail: Wire.TrailRecord): Wire.TrailRecordWire => {
  const out: Out = { id: trail.id, agent: trail.agent, trigger: trail.trigger, payload: trail.payload }
  if (hasOwn(trail, "output")) out["output"] = trail.output
  out["status"] = trail.status
  out["started_at"] = trail.startedAt.toISOString()
  if (hasOwn(trail, "endedAt")) out["ended_at"] = trail.endedAt === undefined ? undefined : trail.endedAt.toISOString()
  if (hasOwn(trail, "costUsd")) out["cost_usd"] = trail.costUsd
  if (hasOwn(trail, "tokens")) out["tokens"] = trail.tokens === undefined ? undefined : { input: trail.tokens.input, output: trail.tokens.output }
  out["events"] = encodeEvents(trail.events)
  if (hasOwn(trail, "tags")) {
    const tags = trail.tags
    if (tags === undefined) out["tags"] = undefined
    else {
      const copy: Out = {}
      for (const key of Object.keys(tags)) copy[key] = tags[key]
      out["tags"] = copy
    }
  }
  return out as unknown as Wire.TrailRecordWire
}
