/**
 * Wire JSON of trail and step records, written by hand for the exporter's hot path.
 *
 * The contract's schemas (`TrailRecord`, `StepRecord`) stay the authority: this module only
 * writes what `JSON.stringify(Schema.encodeSync(schema)(record))` would write, byte for byte, for
 * the records it recognises, and says "not mine" (`undefined` / `false`) for anything else, which
 * the caller then hands to the schema (`schemaJson`). Recognised means: plain objects (prototype
 * `Object.prototype` or `null`) with every field of the right type and within the schema's
 * bounds, as `src/internal/state.ts` builds them. A record a user's `redact` hook bent out of
 * shape is never guessed at; the schema encodes it or explains why it cannot.
 * test/exporter/encode.test.ts checks the agreement on generated records, valid and invalid.
 *
 * A step is kept in parts while it waits in a lane (see `lane.ts`): the strings and numbers that
 * vary, without the constant keys, so a queued step costs a fraction of its JSON text. `renderStep`
 * writes the JSON when its batch is assembled.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { stepLayers as layers, utf8Length } from "../schema/Common.js"
import { maxApprovals } from "../schema/Rules.js"
import { StepRecord } from "../schema/StepRecord.js"
import { TrailRecord } from "../schema/TrailRecord.js"

/** The kind of a record: trail or step. */
export const TRAIL = 0
export const STEP = 1
export type Kind = typeof TRAIL | typeof STEP


/**
 * Makes `s` one flat string: a string built by `+` is a tree of pieces in V8 and keeps every
 * piece (an id from `crypto.randomUUID()` alone holds far more than its 36 characters); reading
 * a character copies it into one run of characters and lets the pieces go.
 */
export const flatten = (s: string): string => {
  s.charCodeAt(0)
  return s
}

// ---------------------------------------------------------------------------------------------
// times
// ---------------------------------------------------------------------------------------------

/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the schema's pattern has four-digit years. */
const minTime = -62_167_219_200_000
const maxTime = 253_402_300_799_999

/** The time of a `Date` the schema would encode, or NaN if the fast path does not take it. */
const timeOf = (value: unknown): number => {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Date.prototype) return NaN
  const t = (value as Date).getTime()
  return t >= minTime && t <= maxTime ? t : NaN
}

const millis = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, "0")}Z`)
let isoSecond = NaN
let isoPrefix = ""

/** `new Date(t).toISOString()` for a time within `minTime`..`maxTime`, with the second cached. */
export const isoTime = (t: number): string => {
  const ms = ((t % 1000) + 1000) % 1000
  const second = t - ms
  if (second !== isoSecond) {
    isoSecond = second
    isoPrefix = new Date(second).toISOString().slice(0, 20)
  }
  return isoPrefix + millis[ms]
}

// ---------------------------------------------------------------------------------------------
// field checks, each the schema's own rule
// ---------------------------------------------------------------------------------------------

type Plain = Record<string, unknown>

/** A plain object: `{…}` or `Object.create(null)`. Anything else goes to the schema. */
const isPlain = (value: unknown): value is Plain => {
  if (typeof value !== "object" || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const hexDigit = new Uint8Array(128)
for (const c of "0123456789abcdefABCDEF") hexDigit[c.charCodeAt(0)] = 1

/**
 * Whether the 36 characters of `text` from `at` follow Schema.UUID's pattern, 8-4-4-4-12 hex
 * digits of either case; checked without a RegExp, which costs more on this path (BENCHMARKS.md).
 */
const uuidAt = (text: string, at: number): boolean => {
  for (let i = 0; i < 36; i++) {
    const c = text.charCodeAt(at + i)
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false
    } else if (c > 127 || hexDigit[c] === 0) return false
  }
  return true
}

/** Schema.UUID. */
const isUuid = (value: unknown): value is string => typeof value === "string" && value.length === 36 && uuidAt(value, 0)

/** The steps of one trail share its id, and siblings their parent's: remember the last ones checked. */
let lastTrailId = ""
let lastParentId = ""
const isTrailId = (value: unknown): value is string => {
  if (value === lastTrailId) return true
  if (!isUuid(value)) return false
  lastTrailId = value
  return true
}
const isParentId = (value: unknown): value is string | null => {
  if (value === null || value === lastParentId) return true
  if (!isUuid(value)) return false
  lastParentId = value
  return true
}

/** BoundedString(256). */
const isName = (value: unknown): value is string =>
  typeof value === "string" && value.length >= 1 && value.length <= 256

/** Decimal digits of a positive safe integer (`String(n).length`, without the string). */
const digits = (n: number): number => {
  let count = 1
  for (let bound = 10; n >= bound; bound *= 10) count++
  return count
}

/** NonNegativeInt. */
const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0

/** Printable ASCII without `"` and `\`: written as is between quotes. */
const plainText = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** A record of JSON values (`attributes`): a plain object whose keys JSON.stringify writes as the schema would. */
const isAttributes = (value: unknown): value is Plain => isPlain(value) && !Object.hasOwn(value, "__proto__")

const stepStatuses = ["ok", "error", "interrupted"] as const

const layerCode = (value: unknown): number => {
  switch (value) {
    case "plan":
      return 0
    case "retrieve":
      return 1
    case "reason":
      return 2
    case "execute":
      return 3
    case "review":
      return 4
    case "respond":
      return 5
    default:
      return -1
  }
}

const stepStatusCode = (value: unknown): number => {
  switch (value) {
    case "ok":
      return 0
    case "error":
      return 1
    case "interrupted":
      return 2
    default:
      return -1
  }
}

const isTrailStatus = (value: unknown): value is string =>
  value === "running" || value === "ok" || value === "error" || value === "interrupted"

/** Whether `approved` agrees with `decision`, as LeashSummary's filter demands. */
const leashAgrees = (decision: unknown, approved: unknown): boolean => {
  switch (decision) {
    case "approved":
    case "modified":
      return approved === true
    case "rejected":
    case "blocked":
    case "timeout":
    case "error":
    case "async":
      return approved === false
    default:
      return false
  }
}

// ---------------------------------------------------------------------------------------------
// shared pieces
// ---------------------------------------------------------------------------------------------

/** A review step's `,"approvers":[{"id","name"}, …]` (at most `maxApprovals`), `""` when absent, or undefined. */
const approversJson = (approvers: unknown): string | undefined => {
  if (approvers === undefined) return ""
  if (!Array.isArray(approvers) || approvers.length > maxApprovals) return undefined
  let out = ""
  for (const a of approvers as ReadonlyArray<unknown>) {
    if (!isPlain(a) || !isName(a.id) || !isName(a.name)) return undefined
    out += `${out === "" ? "" : ","}{"id":${JSON.stringify(a.id)},"name":${JSON.stringify(a.name)}}`
  }
  return `,"approvers":[${out}]`
}

/** `,"events":[…]`, or undefined. */
const eventsJson = (events: unknown): string | undefined => {
  if (!Array.isArray(events)) return undefined
  if (events.length === 0) return ",\"events\":[]"
  let out = ",\"events\":["
  for (let i = 0; i < events.length; i++) {
    const event: unknown = events[i]
    if (!isPlain(event)) return undefined
    const name = event.name
    const at = timeOf(event.at)
    const attributes = event.attributes
    if (!isName(name) || at !== at || !isAttributes(attributes)) return undefined
    if (i > 0) out += ","
    out += `{"name":${JSON.stringify(name)},"at":"${isoTime(at)}","attributes":${JSON.stringify(attributes)}}`
  }
  return out + "]"
}

/** `,"cost_usd":…` (Usd: finite, zero or more), "" when absent, or undefined. */
const costJson = (cost: unknown): string | undefined => {
  if (cost === undefined) return ""
  if (typeof cost !== "number" || !Number.isFinite(cost) || !(cost >= 0)) return undefined
  return `,"cost_usd":${JSON.stringify(cost)}`
}

/** `,"tokens":{…}`, "" when absent, or undefined. */
const tokensJson = (tokens: unknown): string | undefined => {
  if (tokens === undefined) return ""
  if (!isPlain(tokens) || !isCount(tokens.input) || !isCount(tokens.output)) return undefined
  return `,"tokens":{"input":${tokens.input},"output":${tokens.output}}`
}

/** A step's `,"tokens":{…}` with the optional `cached_input` and `reasoning`, "" when absent, or undefined. */
const stepTokensJson = (tokens: unknown): string | undefined => {
  if (tokens === undefined) return ""
  if (!isPlain(tokens) || !isCount(tokens.input) || !isCount(tokens.output)) return undefined
  const cached = tokens.cachedInput
  const reasoning = tokens.reasoning
  if ((cached !== undefined && !isCount(cached)) || (reasoning !== undefined && !isCount(reasoning))) return undefined
  return `,"tokens":{"input":${tokens.input},"output":${tokens.output}${cached === undefined ? "" : `,"cached_input":${cached}`}${
    reasoning === undefined ? "" : `,"reasoning":${reasoning}`
  }}`
}

/** `,"<key>":<JSON>` of an optional JSON value; "" when absent or not written by JSON.stringify. */
const jsonField = (key: string, value: unknown): string => {
  if (value === undefined) return ""
  const json = JSON.stringify(value)
  return json === undefined ? "" : `,"${key}":${json}`
}

// ---------------------------------------------------------------------------------------------
// steps
// ---------------------------------------------------------------------------------------------

/**
 * A step record in parts: what varies, without the constant keys. `body` is the id followed by
 * the JSON after `ended_at` (`,"input":…` up to the leash, without the closing brace); `name` is
 * the name as given when `nameQuoted` is false (it needs no escaping), else its JSON.
 */
export class StepParts {
  body = ""
  trailId = ""
  parentId: string | null = null
  name = ""
  nameQuoted = false
  seq = 0
  layer = 0
  status = 0
  startedAt = 0
  endedAt = 0
  /** UTF-8 length of the rendered JSON. */
  bytes = 0
}

/** `{"id":"` … `","trail_id":"` … `","parent_id":` … `,"seq":` … `,"name":` … `,"layer":"` … `","status":"` … `","started_at":"` … `","ended_at":"` … `"` … `}` */
const stepFixedBytes = 7 + 14 + 14 + 7 + 8 + 10 + 12 + 16 + 14 + 1 + 1

/** Steps of one kind share their name: the last one read, as written, and its bytes with the quotes. */
let lastName = ""
let lastNameQuoted = false
let lastNameJson = ""
let lastNameBytes = 2

/** Header lengths of each layer and status, as written. */
const layerBytes = layers.map((l) => l.length)
const stepStatusBytes = stepStatuses.map((s) => s.length)

/**
 * Reads a step record into `parts` if the fast path takes it (see the module doc); `false`
 * means "ask the schema". May throw where JSON.stringify throws (a bigint, a cycle): the caller
 * then asks the schema too.
 */
export const readStep = (record: unknown, parts: StepParts): boolean => {
  if (!isPlain(record)) return false
  const id = record.id
  const trailId = record.trailId
  const parentId = record.parentId
  const seq = record.seq
  const name = record.name
  // the id's characters are checked in the body, once it is one flat string (see below)
  if (typeof id !== "string" || id.length !== 36 || !isTrailId(trailId) || !isParentId(parentId)) return false
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || !(seq > 0)) return false
  if (!isName(name)) return false
  const layer = layerCode(record.layer)
  const status = stepStatusCode(record.status)
  if (layer < 0 || status < 0) return false
  const startedAt = timeOf(record.startedAt)
  const endedAt = timeOf(record.endedAt)
  if (startedAt !== startedAt || endedAt !== endedAt) return false
  const cost = costJson(record.costUsd)
  const tokens = stepTokensJson(record.tokens)
  const events = eventsJson(record.events)
  if (cost === undefined || tokens === undefined || events === undefined) return false
  let rest = jsonField("input", record.input) + jsonField("output", record.output) + cost + tokens + events
  const error = record.error
  if (error !== undefined) {
    if (!isPlain(error) || typeof error.type !== "string" || typeof error.message !== "string") return false
    rest += `,"error":{"type":${JSON.stringify(error.type)},"message":${JSON.stringify(error.message)}}`
  }
  const leash = record.leash
  if (leash !== undefined) {
    if (
      !isPlain(leash) || !isUuid(leash.leashId) || !isName(leash.actionName) ||
      !leashAgrees(leash.decision, leash.approved) || typeof leash.reason !== "string"
    ) return false
    const approvers = approversJson(leash.approvers)
    if (approvers === undefined) return false
    rest += `,"leash":{"leash_id":"${leash.leashId}","action_name":${JSON.stringify(leash.actionName)},"decision":"${
      leash.decision as string
    }","approved":${leash.approved as boolean},"reason":${JSON.stringify(leash.reason)}${approvers}}`
  }
  const model = record.model
  if (model !== undefined) {
    if (!isPlain(model) || !isName(model.provider) || !isName(model.name)) return false
    rest += `,"model":{"provider":${JSON.stringify(model.provider)},"name":${JSON.stringify(model.name)}}`
  }
  // the id is checked in the flat body (one copy, whatever pieces the id was built from)
  const body = flatten(id + rest)
  if (!uuidAt(body, 0)) return false
  if (name !== lastName) {
    lastName = name
    lastNameQuoted = !plainText.test(name)
    lastNameJson = lastNameQuoted ? JSON.stringify(name) : name
    lastNameBytes = lastNameQuoted ? utf8Length(lastNameJson) : name.length + 2
  }
  parts.body = body
  parts.trailId = trailId
  parts.parentId = parentId
  parts.name = lastNameJson
  parts.nameQuoted = lastNameQuoted
  parts.seq = seq
  parts.layer = layer
  parts.status = status
  parts.startedAt = startedAt
  parts.endedAt = endedAt
  // utf8Length(body) counts the id (36 ASCII characters, checked above) and the rest
  parts.bytes = stepFixedBytes + 36 + (parentId === null ? 4 : 38) + digits(seq) + lastNameBytes + layerBytes[layer]! +
    stepStatusBytes[status]! + 24 + 24 + utf8Length(body)
  return true
}

/** The wire JSON of a step kept in parts. */
export const renderStep = (parts: StepParts): string => {
  const body = parts.body
  return `{"id":"${body.slice(0, 36)}","trail_id":"${parts.trailId}","parent_id":${
    parts.parentId === null ? "null" : `"${parts.parentId}"`
  },"seq":${parts.seq},"name":${parts.nameQuoted ? parts.name : `"${parts.name}"`},"layer":"${
    layers[parts.layer]
  }","status":"${stepStatuses[parts.status]}","started_at":"${isoTime(parts.startedAt)}","ended_at":"${
    isoTime(parts.endedAt)
  }"${body.slice(36)}}`
}

// ---------------------------------------------------------------------------------------------
// trails
// ---------------------------------------------------------------------------------------------

/**
 * The wire JSON of a trail record if the fast path takes it, else undefined ("ask the schema").
 * May throw where JSON.stringify throws.
 */
export const trailJson = (record: unknown): string | undefined => {
  if (!isPlain(record)) return undefined
  const id = record.id
  const agent = record.agent
  const trigger = record.trigger
  const status = record.status
  if (!isUuid(id) || !isName(agent) || !isName(trigger) || !isTrailStatus(status)) return undefined
  const startedAt = timeOf(record.startedAt)
  if (startedAt !== startedAt) return undefined
  let ended = ""
  if (record.endedAt !== undefined) {
    const endedAt = timeOf(record.endedAt)
    if (endedAt !== endedAt) return undefined
    ended = `,"ended_at":"${isoTime(endedAt)}"`
  }
  const cost = costJson(record.costUsd)
  const tokens = tokensJson(record.tokens)
  const events = eventsJson(record.events)
  if (cost === undefined || tokens === undefined || events === undefined) return undefined
  let tags = ""
  if (record.tags !== undefined) {
    const t = record.tags
    if (!isAttributes(t)) return undefined
    for (const key in t) {
      if (Object.hasOwn(t, key) && typeof t[key] !== "string") return undefined
    }
    tags = `,"tags":${JSON.stringify(t)}`
  }
  return flatten(
    `{"id":"${id}","agent":${JSON.stringify(agent)},"trigger":${JSON.stringify(trigger)}${
      jsonField("payload", record.payload)
    }${jsonField("output", record.output)},"status":"${status}","started_at":"${isoTime(startedAt)}"${ended}${cost}${tokens}${events}${tags}}`
  )
}

// ---------------------------------------------------------------------------------------------
// the schema, for everything else
// ---------------------------------------------------------------------------------------------

/** Why a record cannot be sent: the schema's message, or JSON.stringify's. */
export class SchemaRejection {
  constructor(readonly message: string) {}
}

const encodeTrail = Schema.encodeEither(TrailRecord)
const encodeStep = Schema.encodeEither(StepRecord)

/** The wire JSON of a record by the contract's schema, or why it has none. Never throws. */
export const schemaJson = (record: unknown, kind: Kind): string | SchemaRejection => {
  try {
    const result: Either.Either<unknown, { readonly message: string }> = kind === TRAIL
      ? encodeTrail(record as TrailRecord)
      : encodeStep(record as StepRecord)
    if (Either.isLeft(result)) return new SchemaRejection(result.left.message)
    return flatten(JSON.stringify(result.right))
  } catch (error) {
    return new SchemaRejection(error instanceof Error ? error.message : String(error))
  }
}

const scratch = new StepParts()

/**
 * The wire JSON of a record, by the fast path when it takes the record, else by the schema; or
 * why it has none. Never throws.
 */
export const encodeRecord = (record: unknown, kind: Kind): string | SchemaRejection => {
  try {
    if (kind === STEP) {
      if (readStep(record, scratch)) return renderStep(scratch)
    } else {
      const json = trailJson(record)
      if (json !== undefined) return json
    }
  } catch {
    // JSON.stringify threw: the schema path says so in its message
  }
  return schemaJson(record, kind)
}

const measureScratch = new StepParts()

/**
 * UTF-8 bytes of a record's wire JSON, exactly as `encodeRecord` writes it (and the exporter
 * sends it), or -1 when it has none. Never throws.
 */
export const recordBytes = (record: unknown, kind: Kind): number => {
  try {
    if (kind === STEP) {
      if (readStep(record, measureScratch)) return measureScratch.bytes
    } else {
      const json = trailJson(record)
      if (json !== undefined) return utf8Length(json)
    }
  } catch {
    // JSON.stringify threw: the schema path says so
  }
  const json = schemaJson(record, kind)
  return json instanceof SchemaRejection ? -1 : utf8Length(json)
}
