/**
 * Helpers for the wire-contract tests: encode to real JSON, decode from it, and read a decode
 * failure the way a user would see it.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** Encodes a TypeScript value and passes it through `JSON.stringify`, as the exporter would. */
export const toWire = <A, I>(schema: Schema.Schema<A, I>, value: A): any =>
  JSON.parse(JSON.stringify(Schema.encodeSync(schema)(value)))

/** Decodes wire JSON (anything `JSON.parse` could give). */
export const fromWire = <A, I>(schema: Schema.Schema<A, I>, wire: unknown): A => Schema.decodeUnknownSync(schema)(wire)

/** A decode failure as the tree a user reads and the flat issues a server answers with. */
export interface Failure {
  readonly tree: string
  readonly issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>
  /** The issue paths joined with dots: `rules.0.when.0.op`. */
  readonly paths: ReadonlyArray<string>
}

const failureOf = (error: ParseResult.ParseError): Failure => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  return {
    tree: ParseResult.TreeFormatter.formatErrorSync(error),
    issues,
    paths: issues.map((issue) => issue.path.map(String).join("."))
  }
}

/** Decodes and expects a failure. */
export const rejectWire = <A, I>(schema: Schema.Schema<A, I>, wire: unknown): Failure => {
  const result = Schema.decodeUnknownEither(schema)(wire)
  if (Either.isRight(result)) throw new Error(`expected a decode failure, got ${JSON.stringify(result.right)}`)
  return failureOf(result.left)
}

/** Encodes and expects a failure. */
export const rejectValue = <A, I>(schema: Schema.Schema<A, I>, value: A): Failure => {
  const result = Schema.encodeEither(schema)(value)
  if (Either.isRight(result)) throw new Error(`expected an encode failure, got ${JSON.stringify(result.right)}`)
  return failureOf(result.left)
}

export const ids = {
  trail: "0190d7a4-5c1e-7000-8000-000000000001",
  step: "0190d7a4-5c1e-7000-8000-000000000002",
  parent: "0190d7a4-5c1e-7000-8000-000000000003",
  leash: "0190d7a4-5c1e-7000-8000-000000000004",
  review: "0190d7a4-5c1e-7000-8000-000000000005"
} as const

export const t0 = "2026-11-24T09:00:00.000Z"
export const t1 = "2026-11-24T09:00:01.250Z"
