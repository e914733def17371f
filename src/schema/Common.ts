/**
 * Building blocks shared by every wire record of the Houndsight contract v1: timestamps, ids,
 * token counts, events, step layers and the snake_case key mapping.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/**
 * An instant: a `Date` in TypeScript, an ISO-8601 UTC string with milliseconds on the wire
 * (`2026-11-24T09:00:00.000Z`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Timestamp: Schema.Schema<Date, string> = Schema.transformOrFail(
  Schema.String.pipe(
    Schema.pattern(isoPattern, {
      message: () => "expected an ISO-8601 UTC time with milliseconds, like 2026-11-24T09:00:00.000Z"
    })
  ),
  Schema.DateFromSelf.pipe(Schema.validDate({ message: () => "expected a valid date" })),
  {
    strict: true,
    decode: (s, _, ast) => {
      const date = new Date(s)
      // `new Date` rolls an impossible day over (2026-02-30 becomes 2026-03-02): refuse it instead.
      return Number.isNaN(date.getTime()) || date.toISOString() !== s
        ? ParseResult.fail(new ParseResult.Type(ast, s, `expected a real calendar time, got ${JSON.stringify(s)}`))
        : ParseResult.succeed(date)
    },
    encode: (d) => ParseResult.succeed(d.toISOString())
  }
).annotations({ identifier: "Timestamp" })

/**
 * A client-generated record id: a UUID (v4 or v7), so every write is idempotent.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Id = Schema.UUID.annotations({
  identifier: "Id",
  message: () => "expected a UUID (v4 or v7)"
})

/**
 * A non-empty string of at most `max` characters.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BoundedString = (max: number) =>
  Schema.String.pipe(
    Schema.minLength(1, { message: () => "expected a non-empty string" }),
    Schema.maxLength(max, { message: () => `expected at most ${max} characters` })
  )

/**
 * An amount of money in US dollars: a finite number, zero or more.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usd = Schema.Number.pipe(
  Schema.finite({ message: () => "expected a finite number of US dollars" }),
  Schema.nonNegative({ message: () => "expected zero or more US dollars" })
).annotations({ identifier: "Usd" })

/**
 * Token counts of a model call: whole numbers, zero or more.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tokens = Schema.Struct({
  input: Schema.NonNegativeInt,
  output: Schema.NonNegativeInt
}).annotations({ identifier: "Tokens" })

/**
 * @since 0.1.0
 * @category models
 */
export type Tokens = typeof Tokens.Type

/**
 * A JSON value as it travels: anything already made JSON-safe by the SDK.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Json: Schema.Schema<unknown> = Schema.Unknown

/**
 * A timed event (a bark) on a step or a trail.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Event = Schema.Struct({
  name: BoundedString(256),
  at: Timestamp,
  attributes: Schema.Record({ key: Schema.String, value: Json })
}).annotations({ identifier: "Event" })

/**
 * @since 0.1.0
 * @category models
 */
export type Event = typeof Event.Type

/**
 * A message annotation for a union of literals: `expected one of a, b, c, got "x"`. It overrides
 * the default (one line per literal), so a bad value gives one clear line naming what is allowed.
 *
 * @since 0.1.0
 * @category annotations
 */
export const oneOf = (allowed: ReadonlyArray<string>) => (issue: ParseResult.ParseIssue) => ({
  message: `expected one of ${allowed.join(", ")}, got ${formatActual(issue.actual)}`,
  override: true
})

const formatActual = (actual: unknown): string => {
  if (actual === undefined) return "nothing"
  try {
    const text = JSON.stringify(actual)
    return text === undefined ? String(actual) : text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return String(actual)
  }
}

/**
 * The six step layers, in the contract's order: the one list every check, encoder and view
 * takes them from.
 *
 * @since 0.1.0
 * @category constants
 */
export const stepLayers = ["plan", "retrieve", "reason", "execute", "review", "respond"] as const

/**
 * The layers a step can belong to. A leash's review step is always `review`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StepLayer = Schema.Literal(...stepLayers).annotations({
  identifier: "StepLayer",
  message: oneOf(stepLayers)
})

/**
 * @since 0.1.0
 * @category models
 */
export type StepLayer = typeof StepLayer.Type

/**
 * Turns a key of any style into snake_case: `amountUsd` → `amount_usd`, `URLPath` → `url_path`,
 * `merchant-country` → `merchant_country`. Keys already in snake_case are unchanged.
 *
 * @since 0.1.0
 * @category utils
 */
export const snakeCase = (key: string): string =>
  key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase()

/**
 * The canonical text form of a UUID (any version), case-insensitive: 8-4-4-4-12 hex digits.
 *
 * @since 0.1.0
 * @category constants
 */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The length of `s` in UTF-8 bytes, without encoding it: what `TextEncoder` writes, so a lone
 * surrogate (which it writes as U+FFFD) counts 3 bytes and a surrogate pair 4.
 *
 * @since 0.1.0
 * @category utils
 */
export const utf8Length = (s: string): number => {
  if (asciiOnly.test(s)) return s.length
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

const asciiOnly = /^[\x00-\x7f]*$/

/**
 * The links of a failure's cause chain: `error`, its `cause`, that one's `cause` …, at most
 * `depth` links, ending early at a missing cause. The one walker of `cause` chains that the SDK
 * and the server share, for the messages they write into the contract's error fields: each
 * caller reads the links it needs (system error codes, messages).
 *
 * @since 0.1.0
 * @category utils
 */
export const causeChain = (error: unknown, depth: number): ReadonlyArray<unknown> => {
  const links: Array<unknown> = []
  let link = error
  while (links.length < depth && link !== undefined && link !== null) {
    links.push(link)
    link = typeof link === "object" ? (link as { cause?: unknown }).cause : undefined
  }
  return links
}
