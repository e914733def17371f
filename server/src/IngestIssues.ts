/**
 * The message of a refused ingest body, in time and memory linear in the body and bounded in
 * the issues it collects, whatever the body holds.
 *
 * A body the hand-written codec refuses used to be decoded again with the schema, `errors:
 * "all"`, so a body of a million wrong records collected a million issues (and removed their
 * duplicates one by one, quadratically): a 100 KB body blocked the server for a minute. Here
 * each record is checked by the codec (cheap), and only the first wrong ones, until
 * `maxLines` lines are found, are decoded with the contract's schema for their message; even
 * those are bounded, as a record's unbounded parts (its `events`, a trail's `tags`) are decoded
 * item by item and only up to the budget. The rest are counted, and the message says how many.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as IngestCodec from "./IngestCodec.js"

/**
 * How many lines naming a wrong field a message shows.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLines = 10

/**
 * What was wrong with a refused ingest body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Described {
  /** The message: the first wrong fields, then how many more. */
  readonly message: string
  /** How many lines the message names (0: nothing wrong was found). */
  readonly named: number
  /** How many wrong records (trails and steps) the body holds. */
  readonly wrongRecords: number
  /** How many issues were collected from the schema decodes (the work bound: a few per line). */
  readonly issuesCollected: number
  /** How many values (records, events, tags) were decoded with the schema for their message. */
  readonly schemaDecodes: number
}

type Issue = Wire.ApiError.Issue

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const options = { errors: "all", onExcessProperty: "ignore" } as const

/** Collects lines until `maxLines`; counts what it had to leave out. */
class Collector {
  readonly lines: Array<string> = []
  private readonly seen = new Set<string>()
  issuesCollected = 0
  schemaDecodes = 0
  /** Lines of the records described that did not fit. */
  hiddenLines = 0

  get full(): boolean {
    return this.lines.length >= maxLines
  }

  decode(schema: Schema.Schema<any, any, never>, value: unknown, prefix: ReadonlyArray<PropertyKey>): void {
    this.schemaDecodes++
    const result = Schema.decodeUnknownEither(schema, options)(value)
    if (result._tag === "Right") return
    const issues: ReadonlyArray<Issue> = ParseResult.ArrayFormatter.formatErrorSync(result.left)
    this.issuesCollected += issues.length
    for (const issue of issues) this.add({ path: [...prefix, ...issue.path], message: issue.message })
  }

  add(issue: Issue): void {
    const where = Wire.ApiError.formatPath(issue.path)
    const line = where === "" ? issue.message : `${where}: ${issue.message}`
    if (this.seen.has(line)) return
    this.seen.add(line)
    if (this.full) this.hiddenLines++
    else this.lines.push(line)
  }
}

/**
 * Describes one wrong record: its own fields with the schema (its `events` left out, and of a
 * trail's `tags` only the wrong ones, at most `maxLines`), then its wrong events one by one
 * while there is room.
 */
const describeRecord = (
  collector: Collector,
  schema: Schema.Schema<any, any, never>,
  record: unknown,
  prefix: ReadonlyArray<PropertyKey>
): void => {
  if (!isRecord(record)) {
    // the schema would say "Expected Struct (Encoded side)": say what is expected
    collector.add({
      path: prefix,
      message: `expected a ${prefix[0] === "trails" ? "trail" : "step"} record (an object), got ${
        record === null ? "null" : Array.isArray(record) ? "an array" : typeof record === "string" ? "a string" : String(record)
      }`
    })
    return
  }
  const events = record["events"]
  const shallow: Record<string, unknown> = { ...record }
  if (Array.isArray(events)) shallow["events"] = []
  const tags = record["tags"]
  if (isRecord(tags)) {
    const wrong: Record<string, unknown> = {}
    let n = 0
    for (const key of Object.keys(tags)) {
      if (typeof tags[key] === "string") continue
      wrong[key] = tags[key]
      if (++n >= maxLines) break
    }
    shallow["tags"] = wrong
  }
  collector.decode(schema, shallow, prefix)
  if (!Array.isArray(events)) return
  for (let j = 0; j < events.length; j++) {
    if (IngestCodec.decodeEvent(events[j]) !== undefined) continue
    if (collector.full) {
      collector.hiddenLines++
      continue
    }
    collector.decode(Wire.Event, events[j], [...prefix, "events", j])
  }
}

const counts = new Intl.NumberFormat("en-US")

const plural = (n: number, one: string, many: string): string => `${counts.format(n)} ${n === 1 ? one : many}`

/**
 * Describes an ingest body the codec refused (`IngestCodec.decodeBatch` answered `undefined`):
 * the first `maxLines` wrong fields, as the schema names them, then how many more.
 *
 * @since 0.1.0
 * @category decoding
 */
export const describeBatch = (body: unknown): Described => {
  const collector = new Collector()
  let wrongRecords = 0
  let describedRecords = 0
  if (!isRecord(body)) {
    collector.decode(Wire.IngestBatch, body, [])
  } else {
    const trails = body["trails"]
    const steps = body["steps"]
    // the body's own keys, with its lists left out (they are walked below)
    const shallow: Record<string, unknown> = { ...body }
    if (Array.isArray(trails)) shallow["trails"] = []
    if (Array.isArray(steps)) shallow["steps"] = []
    collector.decode(Wire.IngestBatch, shallow, [])
    const walk = (
      list: unknown,
      key: string,
      schema: Schema.Schema<any, any, never>,
      ok: (u: unknown) => boolean
    ) => {
      if (!Array.isArray(list)) return
      const n = list.length
      let i = 0
      for (; i < n && !collector.full; i++) {
        const item: unknown = list[i]
        if (typeof item === "object" && item !== null && ok(item)) continue
        wrongRecords++
        describedRecords++
        describeRecord(collector, schema, item, [key, i])
      }
      // the rest are only counted; a value that is not an object is wrong without asking the
      // codec (a body of millions of them is walked once, cheaply)
      let wrong = 0
      for (; i < n; i++) {
        const item: unknown = list[i]
        if (typeof item !== "object" || item === null || !ok(item)) wrong++
      }
      wrongRecords += wrong
    }
    walk(trails, "trails", Wire.TrailRecord, (u) => IngestCodec.decodeTrail(u) !== undefined)
    walk(steps, "steps", Wire.StepRecord, (u) => IngestCodec.decodeStep(u) !== undefined)
  }
  const lines = collector.lines
  const more: Array<string> = []
  if (collector.hiddenLines > 0) more.push(`${plural(collector.hiddenLines, "more issue", "more issues")} in the records named`)
  if (wrongRecords > describedRecords) {
    more.push(`${plural(wrongRecords - describedRecords, "more wrong record", "more wrong records")} not named here`)
  }
  const message = lines.length === 0
    ? "the body does not match the contract: send {\"trails\": [...], \"steps\": [...]}"
    : `${lines.join("; ")}${more.length === 0 ? "" : `; and ${more.join(", and ")}`}`
  return {
    message,
    named: lines.length,
    wrongRecords,
    issuesCollected: collector.issuesCollected,
    schemaDecodes: collector.schemaDecodes
  }
}


// The schema parsers a message is decoded with are built on their first use: build them here,
// once, when the server loads, so the first body refused does not pay for building them.
describeBatch({ trails: [{}], steps: [{ events: [{}] }] })
