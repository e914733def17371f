/**
 * Reads the dashboard needs that the `Store` does not offer: the latest decisions, the counts
 * shown in the navigation, what the live view compares, who decided a page's review steps and
 * the leashes of a trail. Read-only; every write goes through the `LeashDesk`.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Dialect from "../Dialect.js"
import { yieldToEventLoop } from "../EventLoop.js"
import * as LeashSummary from "../LeashSummary.js"
import type * as Cut from "./Cut.js"
import * as JsonDiff from "./JsonDiff.js"
import type { PendingRow, StepPage } from "../Store.js"

/**
 * A decided leash, with what it asked (its summary: no payload).
 *
 * @since 0.1.0
 * @category models
 */
export interface DecidedLeash {
  readonly leashId: string
  readonly request: Wire.LeashRequestSummary
  readonly decision: Wire.GateDecision["decision"]
  readonly reason: string
  readonly decidedBy: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number
}

/**
 * A leash of one trail, as the page of a trail the server holds no record of lists it.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrailLeash extends PendingRow {
  readonly status: "pending" | "decided"
  readonly decision: Wire.GateDecision["decision"] | undefined
}

/**
 * The start of a step's input, output or events as the trail page shows them: at most
 * `maxBlockChars` characters of its compact JSON, its size in bytes, whether it is cut; and the
 * values in the whole block that the agent's SDK cut before sending (found by SQLite over the
 * whole block, so a preview cut short still says so).
 *
 * @since 0.1.0
 * @category models
 */
export interface BlockPreview extends Wire.PayloadPreview {
  readonly sdkCut: Cut.Found
}

/**
 * What the trail page shows of a step beyond its record's small fields: previews of its input
 * and output, and of its events when they are too large to list (`undefined`: listed whole).
 *
 * @since 0.1.0
 * @category models
 */
export interface StepPreview {
  readonly input: BlockPreview | undefined
  readonly output: BlockPreview | undefined
  readonly events: BlockPreview | undefined
}

/**
 * A page of a trail's steps as the trail page reads it: each step without its input, output and
 * events (`Wire.TrailDetail` with `events: []`), and their previews by step id. SQLite cuts the
 * previews, so a page costs its steps' small fields and 3 previews each, whatever the records.
 *
 * @since 0.1.0
 * @category models
 */
export interface TrailPage {
  readonly detail: Wire.TrailDetail
  readonly previews: ReadonlyMap<string, StepPreview>
}

/**
 * The most ancestor rows the trail page reads to tell how deep the steps whose parents are on
 * another page of the steps are.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxAncestorRows = 20_000

/**
 * The most characters of a step's input, output or events the trail page shows.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxBlockChars = 1024

/**
 * The navigation's counts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts {
  readonly pending: number
  readonly flags: number
}

/**
 * The dashboard's reads. Each reads summaries (never a whole payload) and is bounded by its
 * limit or the ids it is given.
 *
 * @since 0.1.0
 * @category tags
 */
export class Queries extends Context.Tag("houndsight-server/DashboardQueries")<Queries, {
  /** The latest decisions, newest first. */
  readonly recentDecisions: (limit: number) => Effect.Effect<ReadonlyArray<DecidedLeash>, SqlError>
  /** The decision of one leash (none while it is pending). */
  readonly recentDecisionOf: (leashId: string) => Effect.Effect<ReadonlyArray<DecidedLeash>, SqlError>
  /** The ids of the latest decisions, newest first (what the live view compares). */
  readonly recentDecisionIds: (limit: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** Pending leashes not due at `now`, and flags. */
  readonly counts: (now: number) => Effect.Effect<Counts, SqlError>
  /** The ids of the first `limit` pending leashes not due at `now`, the closest to expiry first. */
  readonly pendingIds: (now: number, limit: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** Which of these leashes are still pending and not due at `now`. */
  readonly stillPending: (now: number, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, SqlError>
  /** The summaries of these leashes, if pending and not due at `now`. */
  readonly pendingByIds: (now: number, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<PendingRow>, SqlError>
  /**
   * Which of these step ids the trail holds (the parents of a page's steps that are on other
   * pages), each with its depth in the trail (absent when its ancestors take more than
   * `maxAncestorRows` rows to count, a cycle among them included).
   */
  readonly stepsHeld: (
    trailId: string,
    ids: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, number | undefined>, SqlError>
  /** How many leashes the trail's steps cite (all its steps, not one page). */
  readonly leashCount: (trailId: string) => Effect.Effect<number, SqlError>
  /** A trail and a page of its steps, with previews of their input, output and events. */
  readonly trailPage: (id: string, page: StepPage) => Effect.Effect<Option.Option<TrailPage>, SqlError>
  /** One step of a trail, whole (its own page). */
  readonly step: (trailId: string, stepId: string) => Effect.Effect<Option.Option<Wire.StepRecord>, SqlError>
  /** The first `limit` leashes the server holds for a trail, oldest first. */
  readonly leashesOfTrail: (trailId: string, limit: number) => Effect.Effect<ReadonlyArray<TrailLeash>, SqlError>
}>() {}

interface DecidedRow {
  readonly leash_id: string
  readonly summary: string
  readonly decision: Wire.GateDecision["decision"]
  readonly reason: string | null
  readonly decided_by: string | null
  readonly decided_at: number | null
  readonly expires_at: number
}

interface SummaryRow {
  readonly leash_id: string
  readonly created_at: number
  readonly expires_at: number
  readonly summary: string
}

const decodeTrail = Schema.decodeUnknownSync(Schema.parseJson(Wire.TrailRecord))
const decodeStep = Schema.decodeUnknownSync(Wire.StepRecord)
const decodeStepJson = Schema.decodeUnknownSync(Schema.parseJson(Wire.StepRecord))

/** How many steps the trail page reads from SQLite at a time (see `trailPage`). */
const stepSlice = 10

interface StepHeadRow {
  readonly seq: number
  readonly id: string
  readonly head: string
  readonly input: string | null
  readonly input_bytes: number | null
  readonly output: string | null
  readonly output_bytes: number | null
  readonly events: string | null
  readonly events_bytes: number | null
  readonly input_cut: string | null
  readonly output_cut: string | null
  readonly events_cut: string | null
}

/** A path as SQLite's `json_tree` writes it (`.a[1]."b c"`, after the block's own path), as `Cut` writes paths. */
const treePath = (fullkey: string): string => {
  const path: Array<string | number> = []
  for (const m of fullkey.matchAll(/\.("(?:[^"\\]|\\.)*"|[^.[]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) path.push(Number(m[2]))
    else path.push(m[1]!.startsWith("\"") ? JSON.parse(m[1]!) as string : m[1]!)
  }
  return JsonDiff.formatPath(path)
}

const sdkCutOf = (block: string, keys: string | null): Cut.Found => {
  const all = keys === null ? [] : JSON.parse(keys) as ReadonlyArray<string>
  const prefix = `$.${block}`
  return { count: all.length, paths: all.slice(0, 5).map((k) => treePath(k.slice(prefix.length))) }
}

const preview = (block: string, text: string | null, bytes: number | null, cut: string | null): BlockPreview | undefined =>
  text === null || bytes === null
    ? undefined
    : text.length > maxBlockChars
    ? { text: text.slice(0, maxBlockChars), bytes, cut: true, sdkCut: sdkCutOf(block, cut) }
    : { text, bytes, cut: false, sdkCut: sdkCutOf(block, cut) }

/** The strings that end with an SDK's cut marker (`Cut` names them), as `Dialect.cutPaths` patterns. */
const cutMarkers = [
  "*…[truncated: * bytes, limit *]",
  "[Truncated: nested deeper than *]",
  "[truncated: * was about * bytes; a record is limited to * bytes]"
]

/** The columns of a step as the trail page reads it: the database cuts input, output and events. */
const stepHead = (sql: SqlClient.SqlClient) =>
  (["input", "output", "events"] as const).map((k) =>
    `substr(${Dialect.jsonBlock(sql, "record", k)}, 1, ${maxBlockChars + 1}) AS ${k}, octet_length(${
      Dialect.jsonBlock(sql, "record", k)
    }) AS ${k}_bytes, ${Dialect.cutPaths(sql, "record", k, cutMarkers)} AS ${k}_cut`
  ).join(", ")

const toPending = (row: SummaryRow): PendingRow => ({
  leashId: row.leash_id,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  summary: LeashSummary.decode(row.summary)
})

/**
 * The reads on the `SqlClient` in the context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const head = stepHead(sql)

  const toDecided = (row: DecidedRow): DecidedLeash => ({
    leashId: row.leash_id,
    request: LeashSummary.decode(row.summary).request,
    decision: row.decision,
    reason: row.reason ?? "",
    decidedBy: row.decided_by ?? undefined,
    decidedAt: row.decided_at ?? row.expires_at
  })

  const recentDecisions = (limit: number) =>
    Effect.map(
      sql<DecidedRow>`SELECT leash_id, summary, decision, reason, decided_by, decided_at, expires_at
        FROM leashes ${Dialect.indexedBy(sql, "leashes_decided_page")} WHERE status = 'decided' AND decision IS NOT NULL
        ORDER BY decided_at DESC, leash_id DESC LIMIT ${limit}`,
      (rows) => rows.map(toDecided)
    )

  const recentDecisionOf = (leashId: string) =>
    Effect.map(
      sql<DecidedRow>`SELECT leash_id, summary, decision, reason, decided_by, decided_at, expires_at
        FROM leashes WHERE leash_id = ${leashId} AND status = 'decided' AND decision IS NOT NULL`,
      (rows) => rows.map(toDecided)
    )

  const recentDecisionIds = (limit: number) =>
    Effect.map(
      sql<{ leash_id: string }>`SELECT leash_id FROM leashes ${Dialect.indexedBy(sql, "leashes_decided_page")} WHERE status = 'decided'
        ORDER BY decided_at DESC, leash_id DESC LIMIT ${limit}`,
      (rows) => rows.map((r) => r.leash_id)
    )

  const counts = (now: number) =>
    Effect.map(
      sql<{ pending: number; flags: number }>`SELECT
        (SELECT count(*) FROM leashes WHERE status = 'pending' AND expires_at > ${now}) AS pending,
        (SELECT count(*) FROM flags) AS flags`,
      (rows) => ({ pending: rows[0]?.pending ?? 0, flags: rows[0]?.flags ?? 0 })
    )

  const pendingIds = (now: number, limit: number) =>
    Effect.map(
      sql<{ leash_id: string }>`SELECT leash_id FROM leashes WHERE status = 'pending' AND expires_at > ${now}
        ORDER BY expires_at, leash_id LIMIT ${limit}`,
      (rows) => rows.map((r) => r.leash_id)
    )

  const stillPending = (now: number, ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.succeed([]) : Effect.map(
      sql<{ leash_id: string }>`SELECT leash_id FROM leashes
        WHERE ${Dialect.inTexts(sql, "leash_id", ids)}
          AND status = 'pending' AND expires_at > ${now}`,
      (rows) => rows.map((r) => r.leash_id)
    )

  const pendingByIds = (now: number, ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.succeed([]) : Effect.map(
      sql<SummaryRow>`SELECT leash_id, created_at, expires_at, summary FROM leashes
        WHERE ${Dialect.inTexts(sql, "leash_id", ids)}
          AND status = 'pending' AND expires_at > ${now}
        ORDER BY expires_at, leash_id`,
      (rows) => rows.map(toPending)
    )

  const stepsHeld = (trailId: string, ids: ReadonlyArray<string>) =>
    ids.length === 0 ? Effect.succeed(new Map<string, number | undefined>()) : Effect.map(
      // Up each parent chain, one indexed row per ancestor, all chains together bounded.
      // (PostgreSQL has no LIMIT in a recursive query: a second query takes the first rows of it,
      // and the walk stops there, evaluated only as far as they are read.)
      Effect.suspend(() => {
        const pg = Dialect.backend(sql) === "postgres"
        const bound = sql`LIMIT ${maxAncestorRows + 1}`
        const walked = sql.literal(pg ? "capped" : "up")
        return sql<{ start: string; depth: number; rows: number }>`WITH RECURSIVE up(start, parent_id, n) AS (
            SELECT id, parent_id, 0 FROM steps
              WHERE ${Dialect.inTexts(sql, "id", ids)} AND trail_id = ${trailId}
            UNION ALL
            SELECT up.start, s.parent_id, up.n + 1 FROM up JOIN steps s ON s.id = up.parent_id AND s.trail_id = ${trailId}
            ${pg ? sql.literal("") : bound}
          )${pg ? sql`, capped AS (SELECT * FROM up ${bound})` : sql.literal("")}
          SELECT start, max(n) AS depth, (SELECT count(*) FROM ${walked}) AS rows FROM ${walked} GROUP BY start`
      }),
      (rows): ReadonlyMap<string, number | undefined> =>
        new Map(rows.map((r) => [r.start, r.rows > maxAncestorRows ? undefined : r.depth]))
    )

  const leashCount = (trailId: string) =>
    Effect.map(
      sql<{ n: number }>`SELECT count(DISTINCT coalesce(${sql.literal(Dialect.jsonText(sql, "leash", "leashId"))}, ${
        sql.literal(Dialect.jsonText(sql, "leash", "leash_id"))
      })) AS n
        FROM steps WHERE trail_id = ${trailId} AND leash IS NOT NULL`,
      (rows) => rows[0]?.n ?? 0
    )

  const trailPage = (id: string, p: StepPage) =>
    Effect.gen(function*() {
      const found = yield* sql<{ record: string | null; flag_count: number }>`SELECT record, flag_count FROM trails
        WHERE id = ${id}`
      if (found.length === 0) return Option.none()
      // Read in slices of `stepSlice` rows, yielding to the event loop between them: SQLite
      // cuts each step's blocks synchronously, and a page of steps at the record limit is a long
      // piece of work that would otherwise hold every other request back until it is done.
      const rows: Array<StepHeadRow> = []
      const want = p.limit + 1
      let after: readonly [number, string] = [p.cursor?.[0] ?? Number.MIN_SAFE_INTEGER, p.cursor?.[1] ?? ""]
      while (rows.length < want) {
        if (rows.length > 0) yield* yieldToEventLoop
        const n = Math.min(stepSlice, want - rows.length)
        const slice = yield* sql<StepHeadRow>`SELECT seq, id, ${
          sql.literal(Dialect.jsonWithout(sql, "record", ["input", "output", "events"]))
        } AS head, ${sql.literal(head)}
          FROM steps WHERE trail_id = ${id} AND (seq, id) > (${after[0]}, ${after[1]}) ORDER BY seq, id LIMIT ${n}`
        for (const row of slice) rows.push(row)
        if (slice.length < n) break
        const last = slice[slice.length - 1]!
        after = [last.seq, last.id]
      }
      const page = rows.slice(0, p.limit)
      const counted = yield* sql<{ n: number }>`SELECT count(*) AS n FROM steps WHERE trail_id = ${id}`
      const flags = page.length === 0 ? [] : yield* sql<{
        trail_id: string
        step_id: string
        seq: number
        kind: Wire.FlagKind
        action_name: string
        review_step_id: string | null
      }>`SELECT * FROM flags
        WHERE trail_id = ${id} AND ${Dialect.inTexts(sql, "step_id", page.map((s) => s.id))}
        ORDER BY seq, step_id`
      const previews = new Map<string, StepPreview>()
      const steps = page.map((row) => {
        const events = preview("events", row.events, row.events_bytes, row.events_cut)
        previews.set(row.id, {
          input: preview("input", row.input, row.input_bytes, row.input_cut),
          output: preview("output", row.output, row.output_bytes, row.output_cut),
          events: events?.cut === true ? events : undefined
        })
        // Events that fit are shown as events; cut ones as their preview.
        return decodeStep({
          ...(JSON.parse(row.head) as object),
          events: events === undefined || events.cut ? [] : JSON.parse(events.text)
        })
      })
      const record = found[0]!.record
      const last = page[page.length - 1]
      return Option.some<TrailPage>({
        detail: {
          trail: record === null ? null : decodeTrail(record),
          steps,
          flags: flags.map((f): Wire.Flag => ({
            kind: f.kind,
            trailId: f.trail_id,
            stepId: f.step_id,
            seq: f.seq,
            actionName: f.action_name,
            ...(f.review_step_id === null ? {} : { reviewStepId: f.review_step_id })
          })),
          stepCount: counted[0]?.n ?? 0,
          flagCount: found[0]!.flag_count,
          ...(rows.length > p.limit && last !== undefined
            ? { nextCursor: Wire.encodeCursor(Wire.StepCursor, [last.seq, last.id]) }
            : {})
        },
        previews
      })
    })

  const step = (trailId: string, stepId: string) =>
    Effect.map(
      sql<{ record: string }>`SELECT record FROM steps WHERE id = ${stepId} AND trail_id = ${trailId}`,
      (rows) => Option.map(Option.fromNullable(rows[0]), (r) => decodeStepJson(r.record))
    )

  const leashesOfTrail = (trailId: string, limit: number) =>
    Effect.map(
      sql<SummaryRow & { status: "pending" | "decided"; decision: Wire.GateDecision["decision"] | null }>`SELECT
          leash_id, created_at, expires_at, summary, status, decision FROM leashes
        WHERE trail_id = ${trailId} ORDER BY created_at, leash_id LIMIT ${limit}`,
      (rows) =>
        rows.map((r): TrailLeash => ({ ...toPending(r), status: r.status, decision: r.decision ?? undefined }))
    )

  return Queries.of({
    recentDecisions,
    recentDecisionOf,
    recentDecisionIds,
    counts,
    pendingIds,
    stillPending,
    pendingByIds,
    stepsHeld,
    leashCount,
    trailPage,
    step,
    leashesOfTrail
  })
})

/**
 * The reads as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Queries, never, SqlClient.SqlClient> = Layer.effect(Queries, make)
