/**
 * Keeps every record the exporter sends within the server's limit (DESIGN.md section 2, v1.1, the
 * limit of a record): at most `maxRecordBytes` (262,144) bytes of compact UTF-8 JSON, measured on
 * the record's JSON exactly as the exporter writes it, which is what the server measures
 * (`Wire.jsonBytes` of the parsed record).
 *
 * The lane measures every record when it compacts it (the size is known then anyway), so a record
 * within the limit pays one comparison. A larger one is cut by `fitRecord`, largest user-supplied
 * parts first, each replaced by a visible marker
 * (`[truncated: input.payload was N bytes of JSON; a record is limited to 262144 bytes]`), in this
 * order, each step only while the record is still over the limit:
 *
 * 1. the values: a step's `input` and `output`, a trail's `payload` and `output`, the larger first;
 * 2. event attributes, the largest event's first;
 * 3. whole events, from the last one back, replaced by one event `houndsight.truncated` saying
 *    how many were cut (the earliest events are kept);
 * 4. a step's `error`: its `message`, then its `type`;
 * 5. a trail's `tags`, the largest value first.
 *
 * Each part is cut only as much as needed: a string keeps its beginning, followed by the marker;
 * an object or array keeps its shape, its largest members cut first (recursively, up to 8 levels
 * down, so a review step's `input.payload` goes before its `action_summary` and `risk_signals`),
 * unless cutting its members saves less than half of what replacing it whole by the marker would
 * (an array of many small items); members of 160 bytes or less are not cut. Event attributes
 * and tags stay objects (`{"truncated": marker}` at worst). Never cut: ids,
 * `seq`, `name`, `layer`, `status`, times, cost and tokens, the trail's `agent` and `trigger`, and
 * a review step's `leash` summary: whatever else must go for it to fit goes first. Only a record
 * whose uncut fields alone exceed the limit (which the SDK does not build) stays too large; the
 * server then refuses it and the exporter drops it as `too_large`.
 *
 * @internal
 */
import { utf8Length } from "../schema/Common.js"
import { maxRecordBytes } from "./jsonSafe.js"

/** Members this small are not cut: a marker is about as large. */
const minCutBytes = 160
/** How deep into a value cutting descends before it replaces a member whole. */
const maxCutDepth = 8
/** The longest path a marker names. */
const maxPathChars = 120
/** The name of the event that stands for the events cut from a record. */
export const truncatedEventName = "houndsight.truncated"

type Plain = Record<string, unknown>

const isPlain = (value: unknown): value is Plain => {
  if (typeof value !== "object" || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return (proto === Object.prototype || proto === null) && typeof (value as Plain).toJSON !== "function"
}

/** Printable ASCII without `"` and `\\`: written as is between quotes, a byte a character. */
const plainText = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/** UTF-8 bytes of `value`'s compact JSON as `JSON.stringify` writes it; 0 when it has none. */
export const jsonBytes = (value: unknown): number => {
  if (typeof value === "string" && plainText.test(value)) return value.length + 2
  const text = JSON.stringify(value) as string | undefined
  return text === undefined ? 0 : utf8Length(text)
}

const clipPath = (path: string): string => (path.length > maxPathChars ? `${path.slice(0, maxPathChars)}…` : path)

/** The marker that stands for a part of `bytes` bytes of JSON cut from a record. */
export const cutMarker = (path: string, bytes: number): string =>
  `[truncated: ${clipPath(path)} was ${bytes} bytes of JSON; a record is limited to ${maxRecordBytes} bytes]`

/** Sets a field of a copy, `__proto__` included (as an own field, as JSON.parse makes it). */
const setField = (target: Plain, key: string, value: unknown): void => {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  else target[key] = value
}

/** Bytes a character of `s` at `i` takes inside a JSON string, and how many UTF-16 units it is. */
const jsonCharBytes = (s: string, i: number): number => {
  const c = s.charCodeAt(i)
  if (c === 0x22 || c === 0x5c) return 2
  if (c < 0x20) return c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6
  if (c < 0x80) return 1
  if (c < 0x800) return 2
  if (c >= 0xd800 && c <= 0xdbff) {
    const next = s.charCodeAt(i + 1)
    return next >= 0xdc00 && next <= 0xdfff ? 4 : 6
  }
  if (c >= 0xdc00 && c <= 0xdfff) return 6
  return 3
}

/**
 * The longest beginning of `s` whose JSON text (without the quotes) takes at most `budget` bytes,
 * and those bytes.
 */
const jsonPrefix = (s: string, budget: number): { readonly text: string; readonly bytes: number } => {
  if (plainText.test(s)) {
    const text = s.length > budget ? s.slice(0, budget) : s
    return { text, bytes: text.length }
  }
  let used = 0
  let i = 0
  while (i < s.length) {
    const bytes = jsonCharBytes(s, i)
    if (used + bytes > budget) break
    used += bytes
    i += bytes === 4 ? 2 : 1
  }
  return { text: s.slice(0, i), bytes: used }
}

/** A part after cutting, and its bytes of JSON. */
interface Cut {
  readonly value: unknown
  readonly bytes: number
}

/** A string of `bytes` bytes of JSON, cut to its beginning and the marker, `need` bytes smaller if it can be. */
const cutString = (s: string, bytes: number, need: number, path: string): Cut => {
  const suffix = `…${cutMarker(path, bytes)}`
  // the suffix's JSON, without its quotes
  const suffixBytes = jsonBytes(suffix) - 2
  const prefix = jsonPrefix(s, Math.max(0, bytes - need - suffixBytes - 2))
  const cutBytes = prefix.bytes + suffixBytes + 2
  return cutBytes < bytes ? { value: prefix.text + suffix, bytes: cutBytes } : { value: s, bytes }
}

/**
 * `value` (`bytes` bytes of JSON) made at least `need` bytes smaller if it can be: a string keeps
 * its beginning, an object or array its largest members are cut first; otherwise (or when that is
 * not enough) the whole value becomes the marker, or `{"truncated": marker}` when `keepObject`.
 * Never larger than it was.
 */
const shrink = (value: unknown, bytes: number, need: number, path: string, depth: number, keepObject: boolean): Cut => {
  if (typeof value === "string") return cutString(value, bytes, need, path)
  const members = depth < maxCutDepth && (Array.isArray(value) || isPlain(value))
    ? shrinkMembers(value, bytes, need, path, depth)
    : undefined
  if (members !== undefined && members.bytes <= bytes - need) return members
  const marker = cutMarker(path, bytes)
  const whole = keepObject ? { truncated: marker } : marker
  const wholeBytes = jsonBytes(whole)
  // the shape is kept unless cutting members saves less than half of what the marker would
  if (members !== undefined && 2 * (bytes - members.bytes) >= bytes - wholeBytes) return members
  return wholeBytes < bytes ? { value: whole, bytes: wholeBytes } : { value, bytes }
}

/** An object or array with its largest members cut until it is `need` bytes smaller, or as much as its members allow; undefined if none could be cut. */
const shrinkMembers = (
  value: ReadonlyArray<unknown> | Plain,
  bytes: number,
  need: number,
  path: string,
  depth: number
): Cut | undefined => {
  const isArray = Array.isArray(value)
  const keys: Array<string | number> = isArray ? Array.from(value.keys()) : Object.keys(value)
  const members = isArray ? value : (value as Plain)
  const sizes = keys.map((k) => jsonBytes((members as Record<string | number, unknown>)[k]))
  // largest first; ties in their order in the value
  const order = keys.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b)
  const copy: Array<unknown> | Plain = isArray ? value.slice() : { ...(value as Plain) }
  let saved = 0
  for (const i of order) {
    if (saved >= need) break
    const size = sizes[i]!
    if (size <= minCutBytes) break
    const key = keys[i]!
    const member = (members as Record<string | number, unknown>)[key]
    const cut = shrink(
      member,
      size,
      need - saved,
      typeof key === "number" ? `${path}[${key}]` : `${path}.${key}`,
      depth + 1,
      false
    )
    if (cut.bytes >= size) continue
    if (isArray) (copy as Array<unknown>)[key as number] = cut.value
    else setField(copy as Plain, key as string, cut.value)
    saved += size - cut.bytes
  }
  return saved > 0 ? { value: copy, bytes: bytes - saved } : undefined
}

/** Cuts the field `key` of `record` (in place: a copy) by `excess` bytes if it can; returns the bytes saved. */
const cutField = (record: Plain, key: string, excess: number, keepObject: boolean): number => {
  const value = record[key]
  if (value === undefined) return 0
  const bytes = jsonBytes(value)
  if (bytes <= minCutBytes) return 0
  const cut = shrink(value, bytes, excess, key, 0, keepObject)
  if (cut.bytes >= bytes) return 0
  record[key] = cut.value
  return bytes - cut.bytes
}

/** Cuts event attributes, largest first, then whole events from the end; returns the bytes saved. */
const cutEvents = (record: Plain, excess: number): number => {
  const original = record["events"]
  if (!Array.isArray(original) || original.length === 0) return 0
  const events: Array<unknown> = original.slice()
  let saved = 0
  const sizes = events.map((e) => (isPlain(e) ? jsonBytes(e["attributes"]) : 0))
  const order = events.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b)
  for (const i of order) {
    if (saved >= excess || sizes[i]! <= minCutBytes) break
    const event = events[i] as Plain
    const cut = shrink(event["attributes"], sizes[i]!, excess - saved, `events[${i}].attributes`, 0, true)
    if (cut.bytes >= sizes[i]!) continue
    events[i] = { ...event, attributes: cut.value }
    saved += sizes[i]! - cut.bytes
  }
  if (saved < excess) {
    // whole events, from the last one back, replaced by one event that says so
    let dropped = 0
    let droppedBytes = 0
    let kept = events.length
    let marker: Plain | undefined = undefined
    let markerBytes = 0
    while (kept > 0 && saved + droppedBytes - markerBytes < excess) {
      kept--
      dropped++
      droppedBytes += jsonBytes(events[kept]) + 1
      const first = events[kept]
      const at = isPlain(first) && first["at"] !== undefined ? first["at"] : new Date(0)
      marker = {
        name: truncatedEventName,
        at,
        attributes: {
          truncated: cutMarker(`events[${kept}…${events.length - 1}] (${dropped} events)`, droppedBytes)
        }
      }
      markerBytes = jsonBytes(marker) + 1
    }
    if (marker !== undefined && droppedBytes > markerBytes) {
      events.length = kept
      events.push(marker)
      saved += droppedBytes - markerBytes
    }
  }
  if (saved > 0) record["events"] = events
  return saved
}

/** Cuts a step's error message, then its type; returns the bytes saved. */
const cutError = (record: Plain, excess: number): number => {
  const error = record["error"]
  if (!isPlain(error)) return 0
  const copy: Plain = { ...error }
  let saved = 0
  for (const key of ["message", "type"]) {
    if (saved >= excess) break
    const value = copy[key]
    if (typeof value !== "string") continue
    const bytes = jsonBytes(value)
    if (bytes <= minCutBytes) continue
    const cut = cutString(value, bytes, excess - saved, `error.${key}`)
    copy[key] = cut.value
    saved += bytes - cut.bytes
  }
  if (saved > 0) record["error"] = copy
  return saved
}

/** One round of cuts, in the documented order, aiming to take `excess` bytes off. */
const cutOnce = (record: Plain, isStep: boolean, excess: number): Plain => {
  const copy: Plain = { ...record }
  const values = isStep ? ["input", "output"] : ["payload", "output"]
  const sizes = values.map((k) => jsonBytes(copy[k]))
  if (sizes[1]! > sizes[0]!) values.reverse()
  for (const key of values) {
    if (excess <= 0) return copy
    excess -= cutField(copy, key, excess, false)
  }
  if (excess <= 0) return copy
  excess -= cutEvents(copy, excess)
  if (excess <= 0) return copy
  if (isStep) excess -= cutError(copy, excess)
  else excess -= cutField(copy, "tags", excess, true)
  return copy
}

/**
 * `record`, whose JSON is `bytes` bytes (over `maxRecordBytes`), cut in the documented order
 * until `measure` (the exact bytes of a record's JSON as the exporter writes it, or a negative
 * number when it no longer encodes) says it fits; the record itself when nothing can be cut.
 * Never changes `record`. May throw where `JSON.stringify` throws (the caller keeps the record).
 */
export const fitRecord = (
  record: unknown,
  isStep: boolean,
  bytes: number,
  measure: (record: unknown) => number
): unknown => {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return record
  let current = record as Plain
  let size = bytes
  // a round cuts by exact sizes; another round covers what a record bent by `redact` measures apart
  for (let round = 0; round < 3 && size > maxRecordBytes; round++) {
    const next = cutOnce(current, isStep, size - maxRecordBytes)
    const nextSize = measure(next)
    if (nextSize < 0 || nextSize >= size) break
    current = next
    size = nextSize
  }
  return current
}
