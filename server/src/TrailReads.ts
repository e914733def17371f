/**
 * The reviewer's reads of trails, steps and flags: every one bounded by its page (contract v1.1),
 * walked along an index from its cursor, one row more than the page telling whether there is a
 * next one. Rows are read back by their schemas (`Rows`), records by the contract's.
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Dialect from "./Dialect.js"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Rows from "./Rows.js"

/**
 * The query of a trail list: its page and filters (see `Wire.Api.TrailListParams`).
 *
 * @since 0.1.0
 * @category models
 */
export type TrailQuery = typeof Wire.Api.TrailListParams.Type

/**
 * A page of a trail's steps (`limit`, and the cursor's position).
 *
 * @since 0.1.0
 * @category models
 */
export type StepPage = typeof Wire.Api.TrailParams.Type

const decodeTrail = Schema.decodeSync(Wire.TrailRecord)
const decodeStep = Schema.decodeSync(Wire.StepRecord)

/** A row of `flags` as SQLite answers it. */
type FlagRow = typeof Rows.FlagFromRow.Encoded

const trailSummaryColumns = `t.id, t.status, t.summary, t.flag_count, t.sort_key,
  (SELECT count(*) FROM steps s WHERE s.trail_id = t.id) AS step_count`

/**
 * The statement of a page of the trail list: one index serves each filter (the tag table by
 * `(key, value, time)` or `(key, time)`, the trails by `(agent | status | trigger, time)`,
 * flagged or not, or by time alone), walked from the cursor, newest first; one row more than
 * the page tells whether there is a next one.
 *
 * @since 0.1.0
 * @category statements
 */
export const trailListSql = (q: TrailQuery): { readonly text: string; readonly params: ReadonlyArray<unknown> } => {
  const where: Array<string> = ["t.record IS NOT NULL"]
  const params: Array<unknown> = []
  let from = "trails t"
  let key = "t.sort_key"
  let id = "t.id"
  if (q.tag !== undefined) {
    from = "trail_tags g JOIN trails t ON t.id = g.trail_id"
    key = "g.sort_key"
    id = "g.trail_id"
    where.push("g.key = ?")
    params.push(q.tag.key)
    if (q.tag.value !== undefined) {
      where.push("g.value = ?")
      params.push(q.tag.value)
    }
  }
  if (q.agent !== undefined) {
    where.push("t.agent = ?")
    params.push(q.agent)
  }
  if (q.status !== undefined) {
    where.push("t.status = ?")
    params.push(q.status)
  }
  if (q.trigger !== undefined) {
    where.push("t.trail_trigger = ?")
    params.push(q.trigger)
  }
  if (q.flagged !== undefined) where.push(q.flagged ? "t.flag_count > 0" : "t.flag_count = 0")
  if (q.from !== undefined) {
    where.push(`${key} >= ?`)
    params.push(q.from.toISOString())
  }
  if (q.to !== undefined) {
    where.push(`${key} < ?`)
    params.push(q.to.toISOString())
  }
  if (q.cursor !== undefined) {
    where.push(`(${key}, ${id}) < (?, ?)`)
    params.push(q.cursor[0], q.cursor[1])
  }
  params.push(q.limit + 1)
  return {
    text: `SELECT ${trailSummaryColumns} FROM ${from} WHERE ${where.join(" AND ")}
      ORDER BY ${key} DESC, ${id} DESC LIMIT ?`,
    params
  }
}

/**
 * The most bytes of step records one page of `GET /v1/trails/{id}` holds past its first step
 * (whole records: a page of records at the 256 KiB limit is 4 of them).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxStepPageBytes = 1024 * 1024

/**
 * A page of trails (with records), the newest first, filtered.
 *
 * @since 0.1.0
 * @category reads
 */
export const trails = (sql: SqlClient.SqlClient, q: TrailQuery): Effect.Effect<Wire.TrailList, SqlError> =>
  Effect.gen(function*() {
    const { params, text } = trailListSql(q)
    const rows = yield* sql.unsafe<typeof Rows.TrailSummaryColumns.Type>(Dialect.numbered(sql, text), params)
    const page = rows.slice(0, q.limit)
    const last = page[page.length - 1]
    return {
      trails: Rows.decodeTrailSummaries(page),
      ...(rows.length > q.limit && last !== undefined
        ? { nextCursor: Wire.encodeCursor(Wire.TrailCursor, [last.sort_key, last.id]) }
        : {})
    }
  })

/**
 * The summaries of these trails (those with records), in no order.
 *
 * @since 0.1.0
 * @category reads
 */
export const trailSummaries = (
  sql: SqlClient.SqlClient,
  ids: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Wire.TrailSummary>, SqlError> =>
  ids.length === 0 ? Effect.succeed([]) : Effect.map(
    sql`SELECT ${sql.literal(trailSummaryColumns)} FROM trails t
      WHERE ${Dialect.inTexts(sql, "t.id", ids)} AND t.record IS NOT NULL`,
    Rows.decodeTrailSummaries
  )

/**
 * A trail and a page of its steps, with the page's flags and the trail's counts.
 *
 * @since 0.1.0
 * @category reads
 */
export const trail = (
  sql: SqlClient.SqlClient,
  id: string,
  p: StepPage = { limit: Wire.defaultListLimit }
): Effect.Effect<Option.Option<Wire.TrailDetail>, SqlError> =>
  Effect.gen(function*() {
    const found = yield* sql<{ record: string | null; flag_count: number }>`SELECT record, flag_count FROM trails
      WHERE id = ${id}`
    if (found.length === 0) return Option.none()
    // A page holds up to `limit` steps and, past the first, no more than `maxStepPageBytes` of
    // records (sizes read from the rows' headers, without the records), so a page of records
    // at the 256 KiB limit is a few of them, not 25 MB.
    const after = [p.cursor?.[0] ?? Number.MIN_SAFE_INTEGER, p.cursor?.[1] ?? ""] as const
    const sizes = yield* sql<{ bytes: number }>`SELECT octet_length(record) AS bytes FROM steps
      WHERE trail_id = ${id} AND (seq, id) > (${after[0]}, ${after[1]}) ORDER BY seq, id LIMIT ${p.limit + 1}`
    let take = 0
    for (let total = 0; take < Math.min(p.limit, sizes.length); take++) {
      total += sizes[take]!.bytes
      if (take > 0 && total > maxStepPageBytes) break
    }
    const steps = yield* sql<{ seq: number; id: string; record: string }>`SELECT seq, id, record FROM steps
      WHERE trail_id = ${id} AND (seq, id) > (${after[0]}, ${after[1]}) ORDER BY seq, id LIMIT ${take}`
    const more = sizes.length > take
    const page = steps
    const counted = yield* sql<{ n: number }>`SELECT count(*) AS n FROM steps WHERE trail_id = ${id}`
    const flags = page.length === 0 ? [] : yield* sql`SELECT * FROM flags
      WHERE trail_id = ${id} AND ${Dialect.inTexts(sql, "step_id", page.map((s) => s.id))}
      ORDER BY seq, step_id`
    const record = found[0]!.record
    const last = page[page.length - 1]
    return Option.some<Wire.TrailDetail>({
      trail: record === null ? null : decodeTrail(JSON.parse(record)),
      steps: page.map((s) => decodeStep(JSON.parse(s.record))),
      flags: Rows.decodeFlags(flags),
      stepCount: counted[0]?.n ?? 0,
      flagCount: found[0]!.flag_count,
      ...(more && last !== undefined
        ? { nextCursor: Wire.encodeCursor(Wire.StepCursor, [last.seq, last.id]) }
        : {})
    })
  })

/**
 * A page of flags: every trail's (the newest trail first) or one trail's, `seq` order within a
 * trail.
 *
 * @since 0.1.0
 * @category reads
 */
export const flags = (
  sql: SqlClient.SqlClient,
  trailId: string | undefined,
  limit: number,
  cursor?: readonly [string, string, number, string]
): Effect.Effect<Wire.FlagList, SqlError> =>
  Effect.gen(function*() {
    const rows: Array<FlagRow & { readonly sort_key: string }> = []
    if (trailId !== undefined || cursor !== undefined) {
      // One trail's flags (or the rest of the cursor's trail), by (seq, step).
      const one = trailId ?? cursor![1]
      const after = trailId === undefined || cursor?.[1] === trailId ? cursor : undefined
      rows.push(
        ...(yield* sql<FlagRow & { sort_key: string }>`SELECT f.*, t.sort_key FROM flags f JOIN trails t ON t.id = f.trail_id
          WHERE f.trail_id = ${one} AND (f.seq, f.step_id) > (${after?.[2] ?? Number.MIN_SAFE_INTEGER}, ${after?.[3] ?? ""})
          ORDER BY f.seq, f.step_id LIMIT ${limit + 1}`)
      )
    }
    if (trailId === undefined && rows.length <= limit) {
      // Then the next trails with flags, newest first (each has one at least, so no more
      // trails than flags are wanted), and each one's flags by (seq, step), until the page is full.
      const next = yield* sql<{ id: string; sort_key: string }>`SELECT id, sort_key FROM trails ${Dialect.indexedBy(sql, "trails_flagged")}
        WHERE flag_count > 0 AND (sort_key, id) < (${cursor?.[0] ?? "\uffff"}, ${cursor?.[1] ?? ""})
        ORDER BY sort_key DESC, id DESC LIMIT ${limit + 1 - rows.length}`
      for (const t of next) {
        if (rows.length > limit) break
        const own = yield* sql<FlagRow>`SELECT * FROM flags WHERE trail_id = ${t.id}
          ORDER BY seq, step_id LIMIT ${limit + 1 - rows.length}`
        for (const f of own) rows.push({ ...f, sort_key: t.sort_key })
      }
    }
    const page = rows.slice(0, limit)
    const last = page[page.length - 1]
    return {
      flags: Rows.decodeFlags(page),
      ...(rows.length > limit && last !== undefined
        ? { nextCursor: Wire.encodeCursor(Wire.FlagCursor, [last.sort_key, last.trail_id, last.seq, last.step_id]) }
        : {})
    }
  })
