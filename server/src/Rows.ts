/**
 * The store's rows as SQLite answers them, and how they are read back.
 *
 * Off the hot path (the lists and pages a reviewer reads, the deadlines read at startup) a row
 * is decoded by its schema: a row the server cannot read is a defect that names the column,
 * not a value of the wrong type passed on. A leash row is read on the paths an agent waits on
 * (every long-poll, every creation retry, every decision), so `toLeash` reads it by hand; it
 * answers what `LeashFromColumns` decodes (server/test/Rows.test.ts compares them on generated
 * rows).
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as LeashSummary from "./LeashSummary.js"

/**
 * A decision as stored.
 *
 * @since 0.1.0
 * @category models
 */
export interface Decided {
  readonly decision: Wire.GateDecision["decision"]
  readonly reason: string
  /** The modified payload as JSON text (`undefined`: none). */
  readonly modifiedPayload: string | undefined
  readonly decidedBy: string | undefined
  /** The id of the key whose holder decided (a reviewer's), when a person decided. */
  readonly decidedById?: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number
}

/**
 * A stored leash.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeashRow {
  readonly leashId: string
  /**
   * The request body as received: compact JSON, keys in the order the agent sent them (leashes
   * written before the server kept the order hold canonical JSON). Compare with `Canonical`.
   */
  readonly request: string
  readonly status: "pending" | "decided"
  /** Epoch milliseconds. */
  readonly createdAt: number
  /** Epoch milliseconds: `createdAt + timeout_seconds`. */
  readonly expiresAt: number
  readonly decision: Decided | undefined
}

/**
 * The columns of a leash row (`Store`'s `leashColumns`), as SQLite answers them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashColumns = Schema.Struct({
  leash_id: Schema.String,
  request: Schema.String,
  status: Schema.Literal("pending", "decided"),
  created_at: Schema.Number,
  expires_at: Schema.Number,
  decision: Schema.NullOr(Wire.GateDecisionValue),
  reason: Schema.NullOr(Schema.String),
  modified_payload: Schema.NullOr(Schema.String),
  decided_by: Schema.NullOr(Schema.String),
  decided_by_id: Schema.optional(Schema.NullOr(Schema.String)),
  decided_at: Schema.NullOr(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface LeashColumns extends Schema.Schema.Type<typeof LeashColumns> {}

const Leash = Schema.Struct({
  leashId: Schema.String,
  request: Schema.String,
  status: Schema.Literal("pending", "decided"),
  createdAt: Schema.Number,
  expiresAt: Schema.Number,
  decision: Schema.UndefinedOr(Schema.Struct({
    decision: Wire.GateDecisionValue,
    reason: Schema.String,
    modifiedPayload: Schema.UndefinedOr(Schema.String),
    decidedBy: Schema.UndefinedOr(Schema.String),
    decidedById: Schema.optional(Schema.String),
    decidedAt: Schema.Number
  }))
})

/**
 * A leash row → `LeashRow`, by schema: the reference `toLeash` is held to. A decision is read
 * only from a decided row with a decision; a missing reason reads as empty, a missing decision
 * time as the deadline (what an expiry writes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const LeashFromColumns: Schema.Schema<LeashRow, LeashColumns> = Schema.transform(LeashColumns, Leash, {
  strict: true,
  decode: (row) => ({
    leashId: row.leash_id,
    request: row.request,
    status: row.status,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decision: row.status !== "decided" || row.decision === null ? undefined : {
      decision: row.decision,
      reason: row.reason === null ? "" : row.reason,
      modifiedPayload: row.modified_payload === null ? undefined : row.modified_payload,
      decidedBy: row.decided_by === null ? undefined : row.decided_by,
      ...(row.decided_by_id === null || row.decided_by_id === undefined ? {} : { decidedById: row.decided_by_id }),
      decidedAt: row.decided_at === null ? row.expires_at : row.decided_at
    }
  }),
  encode: (leash) => ({
    leash_id: leash.leashId,
    request: leash.request,
    status: leash.status,
    created_at: leash.createdAt,
    expires_at: leash.expiresAt,
    decision: leash.decision?.decision ?? null,
    reason: leash.decision?.reason ?? null,
    modified_payload: leash.decision?.modifiedPayload ?? null,
    decided_by: leash.decision?.decidedBy ?? null,
    decided_by_id: leash.decision?.decidedById ?? null,
    decided_at: leash.decision?.decidedAt ?? null
  })
})

/**
 * A leash row → `LeashRow`, by hand (the long-poll's path): what `LeashFromColumns` decodes,
 * without its checks (the server wrote the row).
 *
 * @since 0.1.0
 * @category decoding
 */
export const toLeash = (row: LeashColumns): LeashRow => ({
  leashId: row.leash_id,
  request: row.request,
  status: row.status,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  decision: row.status === "decided" && row.decision !== null
    ? {
      decision: row.decision,
      reason: row.reason ?? "",
      modifiedPayload: row.modified_payload ?? undefined,
      decidedBy: row.decided_by ?? undefined,
      ...(row.decided_by_id != null ? { decidedById: row.decided_by_id } : {}),
      decidedAt: row.decided_at ?? row.expires_at
    }
    : undefined
})

/**
 * A row of `flags` → `Wire.Flag` (no review step: `NULL`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlagFromRow = Schema.Struct({
  ...Wire.Flag.fields,
  reviewStepId: Schema.optionalWith(Wire.Id, { exact: true, nullable: true }).pipe(Schema.fromKey("review_step_id"))
})

/**
 * Rows of `flags` → their flags.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeFlags: (rows: ReadonlyArray<unknown>) => ReadonlyArray<Wire.Flag> = Schema.decodeUnknownSync(
  Schema.Array(FlagFromRow)
)

/**
 * A pending leash as a list shows it: its summary (request without payload, payload preview).
 *
 * @since 0.1.0
 * @category models
 */
export interface PendingRow {
  readonly leashId: string
  /** Epoch milliseconds. */
  readonly createdAt: number
  /** Epoch milliseconds. */
  readonly expiresAt: number
  readonly summary: LeashSummary.StoredSummary
}

/**
 * A row of the pending list (`leash_id, created_at, expires_at, summary`) → `PendingRow`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const PendingFromRow = Schema.Struct({
  leashId: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("leash_id")),
  createdAt: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("created_at")),
  expiresAt: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("expires_at")),
  summary: Schema.parseJson(LeashSummary.StoredSummary)
})

/**
 * Rows of the pending list → `PendingRow`s.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodePending: (rows: ReadonlyArray<unknown>) => ReadonlyArray<PendingRow> = Schema.decodeUnknownSync(
  Schema.Array(PendingFromRow)
)

/**
 * A pending leash's id and deadline (`leash_id, expires_at`), read at startup to arm the expiry.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExpiryFromRow = Schema.Struct({
  leashId: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("leash_id")),
  expiresAt: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("expires_at"))
})

/**
 * Rows of pending deadlines → their ids and deadlines.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeExpiries: (
  rows: ReadonlyArray<unknown>
) => ReadonlyArray<typeof ExpiryFromRow.Type> = Schema.decodeUnknownSync(Schema.Array(ExpiryFromRow))

/**
 * A row of a trail list (`Store`'s `trailSummaryColumns`), as SQLite answers it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailSummaryColumns = Schema.Struct({
  id: Schema.String,
  status: Schema.String,
  summary: Schema.String,
  flag_count: Schema.Number,
  step_count: Schema.Number,
  sort_key: Schema.String
})

/**
 * A trail list's line from its row: the stored summary (the record without payload, output and
 * events) with the row's id, status and counts, decoded by the contract's `TrailSummary`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TrailSummaryFromRow: Schema.Schema<Wire.TrailSummary, typeof TrailSummaryColumns.Encoded> = Schema
  .transformOrFail(TrailSummaryColumns, Schema.Unknown, {
    strict: true,
    decode: (row) =>
      ParseResult.succeed({
        ...(JSON.parse(row.summary) as object),
        id: row.id,
        status: row.status,
        step_count: row.step_count,
        flag_count: row.flag_count
      }),
    encode: (line, _, ast) =>
      ParseResult.fail(new ParseResult.Forbidden(ast, line, "a trail list line is read, never written: the triggers keep it"))
  }).pipe(Schema.compose(Wire.TrailSummary))

/**
 * Rows of a trail list → their lines.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeTrailSummaries: (rows: ReadonlyArray<unknown>) => ReadonlyArray<Wire.TrailSummary> = Schema
  .decodeUnknownSync(Schema.Array(TrailSummaryFromRow))
