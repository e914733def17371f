/**
 * The server's bypass audit (DESIGN.md section 6, with the v1.1 cross-check), kept up to date
 * by each ingest at a cost proportional to the batch and the flags it changes, not to the
 * trail's history. The rules are the SDK's `Audit` (the reference); this module keeps, in
 * SQLite, what lets it apply them to a trail one batch at a time (a leash's trail and action
 * are the columns the server wrote when it stored the leash, from the request it decoded):
 *
 * | table | holds |
 * |---|---|
 * | `review_checks` | each review step's cross-check, judged once when it arrived: the leash record as it stood then, whether it confirms the claim (`approving`) and whether the server holds the leash for this trail and action (`held`) |
 * | `audit_wrappers` | the steps that are wrappers (a held review step for their name up to `Audit.wrapperDepth` levels below) |
 * | `audit_waiting` | wrapper walks stopped at a step that has not arrived yet, resumed when it does |
 * | `audit_uses` | for each approval (action name, leash id), the step that used it |
 *
 * A step named `X` is flagged from: whether it is a wrapper, the latest review step for `X`
 * before it (a *segment* runs from one review step for `X` to the next), that review's verdict,
 * and, when it approves, whether its approval was used before the step. So a batch changes:
 * its own actions; the actions of a segment a new review step splits off; and, where the user
 * of an approval moves, the actions between its old and its new user. Only those are read
 * (through indexes by trail, name and `seq`) and rewritten. `Audit.trail` over the whole trail
 * (`recomputeTrail`) gives the same flags; the tests compare the two.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Wire from "houndsight/wire"
import { Audit } from "houndsight/wire"
import * as Outbox from "./Outbox.js"
import * as Dialect from "./Dialect.js"

/**
 * Step rows the audit read: its work, counted by ingest and by the full recompute (tests read it
 * to prove an ingest's work is bounded by its batch and the flags it changes).
 *
 * @since 0.1.0
 * @category metrics
 */
export const stepsVisited = Metric.counter("houndsight_audit_steps_visited", {
  description: "step rows the bypass audit read",
  incremental: true
})

type Sql = SqlClient.SqlClient

/** `[seq, id]`: the audit order of a step. */
type Key = readonly [number, string]

const before = (a: Key, b: Key): boolean => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])

interface ActionRow {
  readonly id: string
  readonly seq: number
  readonly status: string
  readonly wrapper: number
}

interface ReviewRow {
  readonly id: string
  readonly seq: number
  readonly approving: number
  readonly leash_id: string | null
}

interface FlagRow {
  readonly step_id: string
  readonly seq: number
  readonly kind: Wire.FlagKind
  readonly review_step_id: string | null
}

interface CheckRow {
  readonly step_id: string
  readonly found: number
  readonly leash_trail_id: string | null
  readonly leash_action: string | null
  readonly leash_decision: Wire.GateDecision["decision"] | null
}

const json = (value: unknown): string => JSON.stringify(value)

/**
 * The rows of an upsert with one row per key, a later row replacing an earlier one (`keep`
 * chooses between two): PostgreSQL refuses an `ON CONFLICT DO UPDATE` that meets one row twice,
 * where SQLite applies the rows in turn.
 */
const onePerKey = <A extends ReadonlyArray<unknown>>(
  rows: ReadonlyArray<A>,
  key: (row: A) => string,
  keep: (earlier: A, later: A) => A = (_, later) => later
): ReadonlyArray<A> => {
  const byKey = new Map<string, A>()
  for (const row of rows) {
    const k = key(row)
    const known = byKey.get(k)
    byKey.set(k, known === undefined ? row : keep(known, row))
  }
  return byKey.size === rows.length ? rows : [...byKey.values()]
}

/**
 * Stores wrapper walks that stopped at a step not arrived yet (`[trail_id, step_id, name,
 * levels]` each), keeping the longer walk where one waits already.
 */
const storeWaiting = (sql: Sql, waiting: ReadonlyArray<unknown>) =>
  waiting.length === 0 ? Effect.void : Effect.asVoid(sql`INSERT INTO audit_waiting (trail_id, step_id, name, levels)
    SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, CAST(j.value ->> 3 AS INTEGER) FROM ${
    Dialect.each(sql, json(onePerKey(waiting as ReadonlyArray<ReadonlyArray<unknown>>, (w) => `${w[0]}\n${w[1]}\n${w[2]}`, (a, b) => (Number(b[3]) > Number(a[3]) ? b : a))))
  }
    WHERE true
    ON CONFLICT (step_id, trail_id, name) DO UPDATE SET levels = CASE WHEN excluded.levels > audit_waiting.levels
      THEN excluded.levels ELSE audit_waiting.levels END`)

/**
 * Judges review steps against the leash records as they stand now and stores the verdicts
 * (once: a step's verdict is never judged again). Answers the ones the server holds for their
 * trail and action, and stores an `unverified_review` flag for each unconfirmed approval.
 */
const judge = (sql: Sql, reviews: ReadonlyArray<Audit.AuditStep>) =>
  Effect.gen(function*() {
    if (reviews.length === 0) return []
    // the leash record of each cited leash, as it stands now (what a review step arriving now is checked against)
    const records: ReadonlyMap<string, Audit.LeashRecord> = yield* heldLeashes(
      sql,
      reviews.flatMap((r) => r.leash === undefined ? [] : [r.leash.leashId])
    )
    const rows: Array<unknown> = []
    const flags: Array<unknown> = []
    const held: Array<Audit.AuditStep> = []
    for (const r of reviews) {
      const record = r.leash === undefined ? undefined : records.get(r.leash.leashId)
      const approving = Audit.confirms(r, record)
      const holds = Audit.holds(r, record)
      if (holds) held.push(r)
      rows.push([
        r.id,
        r.trailId,
        r.name,
        r.seq,
        r.leash?.leashId ?? null,
        record === undefined ? 0 : 1,
        record?.trailId ?? null,
        record?.actionName ?? null,
        record?.decision ?? null,
        approving ? 1 : 0,
        holds ? 1 : 0
      ])
      if (Audit.claimsApproval(r) && !approving) flags.push([r.trailId, r.id, r.seq, "unverified_review", r.name, null])
    }
    const ignoring = Dialect.insertIgnoring(sql)
    yield* sql`${sql.literal(ignoring.head)} review_checks
      (step_id, trail_id, name, seq, leash_id, found, leash_trail_id, leash_action, leash_decision, approving, held)
      SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, CAST(j.value ->> 3 AS INTEGER), j.value ->> 4,
        CAST(j.value ->> 5 AS INTEGER), j.value ->> 6, j.value ->> 7, j.value ->> 8, CAST(j.value ->> 9 AS INTEGER),
        CAST(j.value ->> 10 AS INTEGER) FROM ${Dialect.each(sql, json(rows))} WHERE true ${sql.literal(ignoring.tail)}`
    if (flags.length > 0) yield* writeFlags(sql, flags)
    return held
  })

/** Inserts or replaces flags given as `[trail_id, step_id, seq, kind, action_name, review_step_id]` (the last of a step wins). */
const writeFlags = (sql: Sql, flags: ReadonlyArray<unknown>) =>
  Effect.zipLeft(
    sql`INSERT INTO flags (trail_id, step_id, seq, kind, action_name, review_step_id)
      SELECT j.value ->> 0, j.value ->> 1, CAST(j.value ->> 2 AS INTEGER), j.value ->> 3, j.value ->> 4, j.value ->> 5
      FROM ${Dialect.each(sql, json(onePerKey(flags as ReadonlyArray<ReadonlyArray<unknown>>, (f) => `${f[0]}\n${f[1]}`)))} WHERE true
      ON CONFLICT (trail_id, step_id) DO UPDATE SET seq = excluded.seq, kind = excluded.kind,
        action_name = excluded.action_name, review_step_id = excluded.review_step_id`,
    Outbox.flagsRaised(sql, flags)
  )

/** A wrapper walk: `levels` more steps to look at, from `id` up, for a step named `name`. */
interface Walk {
  readonly id: string
  readonly name: string
  readonly levels: number
}

/**
 * Walks up from the held review steps (and the `resumed` walks that waited for a step that arrived),
 * at most `Audit.wrapperDepth` levels each, one statement per level for all walks; marks the
 * wrappers; answers the steps that became wrappers.
 */
const walkWrappers = (sql: Sql, trailId: string, held: ReadonlyArray<Audit.AuditStep>, resumed: ReadonlyArray<Walk>) =>
  Effect.gen(function*() {
    const frontier0: Array<Walk> = [...resumed]
    for (const r of held) if (r.parentId !== null) frontier0.push({ id: r.parentId, name: r.name, levels: Audit.wrapperDepth })
    let frontier = frontier0
    const wrappers: Array<{ id: string; name: string; seq: number }> = []
    const waiting: Array<unknown> = []
    while (frontier.length > 0) {
      const walks = new Map<string, Walk>()
      for (const w of frontier) {
        const key = `${w.id}\n${w.name}`
        const known = walks.get(key)
        if (known === undefined || known.levels < w.levels) walks.set(key, w)
      }
      const ids = [...new Set([...walks.values()].map((w) => w.id))]
      // by id only: with `trail_id = ?` too, SQLite may take the index by trail and read all of it
      const rows = yield* sql<{ id: string; trail_id: string; parent_id: string | null; name: string; layer: string; seq: number }>`
        SELECT id, trail_id, parent_id, name, layer, seq FROM steps WHERE ${Dialect.inTexts(sql, "id", ids)}`
      yield* Metric.incrementBy(stepsVisited, rows.length)
      const byId = new Map(rows.filter((r) => r.trail_id === trailId).map((r) => [r.id, r]))
      const marks: Array<string> = []
      const next: Array<Walk> = []
      for (const w of walks.values()) {
        const step = byId.get(w.id)
        if (step === undefined) {
          waiting.push([trailId, w.id, w.name, w.levels])
          continue
        }
        if (step.name === w.name && step.layer !== "review") marks.push(step.id)
        if (w.levels > 1 && step.parent_id !== null) next.push({ id: step.parent_id, name: w.name, levels: w.levels - 1 })
      }
      if (marks.length > 0) {
        const ignoring = Dialect.insertIgnoring(sql)
        const marked = yield* sql<{ step_id: string }>`${sql.literal(ignoring.head)} audit_wrappers (step_id)
          SELECT j.value FROM ${Dialect.texts(sql, json([...new Set(marks)]))} WHERE true ${sql.literal(ignoring.tail)}
          RETURNING step_id`
        for (const m of marked) {
          const step = byId.get(m.step_id)!
          wrappers.push({ id: step.id, name: step.name, seq: step.seq })
        }
      }
      frontier = next
    }
    yield* storeWaiting(sql, waiting)
    return wrappers
  })

/** A bound of a range of steps in audit order. */
interface Bound {
  readonly key: Key
  readonly inclusive: boolean
}

/** Whether step `s` is a wrapper, as 1 or 0 on both backends (PostgreSQL's EXISTS is a boolean). */
const isWrapper = "CASE WHEN EXISTS (SELECT 1 FROM audit_wrappers w WHERE w.step_id = s.id) THEN 1 ELSE 0 END"

/** The actions of `name` from `start` to `end` (`undefined`: to the end), in audit order. */
const actionsIn = (sql: Sql, trailId: string, name: string, start: Bound, end: Bound | undefined) =>
  Effect.tap(
    sql<ActionRow>`SELECT s.id, s.seq, s.status, ${sql.literal(isWrapper)} AS wrapper
      FROM steps s ${Dialect.indexedBy(sql, "steps_by_name")}
      WHERE s.trail_id = ${trailId} AND s.name = ${name} AND s.layer <> 'review'
        AND (s.seq, s.id) ${sql.literal(start.inclusive ? ">=" : ">")} (${start.key[0]}, ${start.key[1]})
        ${end === undefined ? sql.literal("") : sql`AND (s.seq, s.id) ${sql.literal(end.inclusive ? "<=" : "<")} (${end.key[0]}, ${end.key[1]})`}
      ORDER BY s.seq, s.id`,
    (rows) => Metric.incrementBy(stepsVisited, rows.length)
  )

const actionsBetween = (sql: Sql, trailId: string, name: string, from: Key, to: Key | undefined) =>
  actionsIn(sql, trailId, name, { key: from, inclusive: false }, to === undefined ? undefined : { key: to, inclusive: false })

/** The review step for `name` right after `key` (`undefined`: none). */
const nextReview = (sql: Sql, trailId: string, name: string, key: Key) =>
  Effect.map(
    Effect.tap(sql<ReviewRow>`SELECT s.id, s.seq, coalesce(c.approving, 0) AS approving, c.leash_id
      FROM steps s ${Dialect.indexedBy(sql, "steps_reviews_by_name")} LEFT JOIN review_checks c ON c.step_id = s.id
      WHERE s.trail_id = ${trailId} AND s.name = ${name} AND s.layer = 'review' AND (s.seq, s.id) > (${key[0]}, ${key[1]})
      ORDER BY s.seq, s.id LIMIT 1`, (rows) => Metric.incrementBy(stepsVisited, rows.length)),
    (rows) => rows[0]
  )

/** The latest review step for `name` before each key, by key (one statement for all). */
const latestReviews = (sql: Sql, trailId: string, name: string, keys: ReadonlyArray<Key>) =>
  Effect.map(
    Effect.tap(
      keys.length === 0 ? Effect.succeed([]) : sql<{ k: string; id: string | null; seq: number | null; approving: number | null; leash_id: string | null }>`
      SELECT k.value ->> 1 AS k, r.id, r.seq, coalesce(c.approving, 0) AS approving, c.leash_id
      FROM ${Dialect.each(sql, json(keys), "k")}
      LEFT JOIN steps r ON r.id = (SELECT s.id FROM steps s ${Dialect.indexedBy(sql, "steps_reviews_by_name")}
        WHERE s.trail_id = ${trailId} AND s.name = ${name} AND s.layer = 'review'
          AND (s.seq, s.id) < (CAST(k.value ->> 0 AS INTEGER), k.value ->> 1)
        ORDER BY s.seq DESC, s.id DESC LIMIT 1)
      LEFT JOIN review_checks c ON c.step_id = r.id`,
      (rows) => Metric.incrementBy(stepsVisited, rows.filter((r) => r.id !== null).length)
    ),
    (rows) => {
      const out = new Map<string, ReviewRow | undefined>()
      for (const r of rows) {
        out.set(r.k, r.id === null ? undefined : { id: r.id, seq: r.seq!, approving: r.approving ?? 0, leash_id: r.leash_id })
      }
      return out
    }
  )

/**
 * The segments of an approval (its approving review steps for `name` citing `leashId`, each up
 * to the next review step for `name`) that reach into `lo`…`hi` (`hi` undefined: to the end).
 */
const segmentsOf = (sql: Sql, trailId: string, name: string, leashId: string, lo: Key, hi: Key | undefined) =>
  Effect.gen(function*() {
    const last = yield* sql<ReviewRow>`SELECT step_id AS id, seq, approving, leash_id
      FROM review_checks ${Dialect.indexedBy(sql, "review_checks_by_leash")}
      WHERE trail_id = ${trailId} AND name = ${name} AND leash_id = ${leashId} AND approving = 1
        AND (seq, step_id) < (${lo[0]}, ${lo[1]})
      ORDER BY seq DESC, step_id DESC LIMIT 1`
    const from = last[0] === undefined ? lo : keyOf(last[0])
    const reviews = yield* sql<ReviewRow>`SELECT step_id AS id, seq, approving, leash_id
      FROM review_checks ${Dialect.indexedBy(sql, "review_checks_by_leash")}
      WHERE trail_id = ${trailId} AND name = ${name} AND leash_id = ${leashId} AND approving = 1
        AND (seq, step_id) >= (${from[0]}, ${from[1]})
        ${hi === undefined ? sql.literal("") : sql`AND (seq, step_id) < (${hi[0]}, ${hi[1]})`}
      ORDER BY seq, step_id`
    yield* Metric.incrementBy(stepsVisited, reviews.length)
    const out: Array<{ review: ReviewRow; to: Key | undefined }> = []
    for (const review of reviews) {
      const next = yield* nextReview(sql, trailId, name, keyOf(review))
      const to = next === undefined ? undefined : keyOf(next)
      if (to !== undefined && !before(lo, to)) continue
      out.push({ review, to })
    }
    return out
  })

/** The first ok non-wrapper action after `after` whose latest review step approves `leashId`. */
const firstCandidateAfter = (sql: Sql, trailId: string, name: string, leashId: string, after: Key) =>
  Effect.gen(function*() {
    for (const { review, to } of yield* segmentsOf(sql, trailId, name, leashId, after, undefined)) {
      const from = before(keyOf(review), after) ? after : keyOf(review)
      const rows = yield* sql<{ id: string; seq: number }>`SELECT s.id, s.seq
        FROM steps s ${Dialect.indexedBy(sql, "steps_by_name")}
        WHERE s.trail_id = ${trailId} AND s.name = ${name} AND s.layer <> 'review' AND s.status = 'ok'
          AND (s.seq, s.id) > (${from[0]}, ${from[1]})
          ${to === undefined ? sql.literal("") : sql`AND (s.seq, s.id) < (${to[0]}, ${to[1]})`}
          AND NOT EXISTS (SELECT 1 FROM audit_wrappers w WHERE w.step_id = s.id)
        ORDER BY s.seq, s.id LIMIT 1`
      yield* Metric.incrementBy(stepsVisited, rows.length)
      if (rows[0] !== undefined) return keyOf(rows[0])
    }
    return undefined
  })

const keyOf = (row: { readonly seq: number; readonly id: string }): Key => [row.seq, row.id]

/**
 * Brings the flags of one trail's action name up to date after a batch: `dirtyActions` are its
 * new actions and new wrappers, `dirtyReviews` its new review steps.
 */
const updateName = (
  sql: Sql,
  trailId: string,
  name: string,
  dirtyActions: ReadonlyArray<Key>,
  dirtyReviews: ReadonlyArray<Key>,
  sensitive: boolean
) =>
  Effect.gen(function*() {
    /** Every action to re-flag, with its latest review step. */
    const region = new Map<string, { key: Key; status: string; wrapper: boolean; review: ReviewRow | undefined }>()
    /** Approvals whose user may have moved, by leash id. */
    const touched = new Set<string>()
    // the actions a new review step splits off: up to the next review step
    const reviews = [...dirtyReviews].sort((a, b) => (before(a, b) ? -1 : 1))
    const reviewInfo = new Map<string, ReviewRow>()
    if (reviews.length > 0) {
      const rows = yield* sql<ReviewRow>`SELECT step_id AS id, seq, approving, leash_id FROM review_checks
        WHERE ${Dialect.inTexts(sql, "step_id", reviews.map((k) => k[1]))}`
      for (const r of rows) reviewInfo.set(r.id, r)
      const previous = yield* latestReviews(sql, trailId, name, reviews)
      for (const k of reviews) {
        const prev = previous.get(k[1])
        if (prev !== undefined && prev.approving === 1 && prev.leash_id !== null) touched.add(prev.leash_id)
      }
    }
    for (const k of reviews) {
      const review = reviewInfo.get(k[1]) ?? { id: k[1], seq: k[0], approving: 0, leash_id: null }
      if (review.approving === 1 && review.leash_id !== null) touched.add(review.leash_id)
      const next = yield* nextReview(sql, trailId, name, k)
      for (const a of yield* actionsBetween(sql, trailId, name, k, next === undefined ? undefined : keyOf(next))) {
        region.set(a.id, { key: keyOf(a), status: a.status, wrapper: a.wrapper === 1, review })
      }
    }
    // new actions and new wrappers, each under its latest review step
    const lone = dirtyActions.filter((k) => !region.has(k[1]))
    if (lone.length > 0) {
      const rows = yield* sql<ActionRow>`SELECT s.id, s.seq, s.status, ${sql.literal(isWrapper)} AS wrapper
        FROM steps s WHERE ${Dialect.inTexts(sql, "s.id", lone.map((k) => k[1]))}`
      yield* Metric.incrementBy(stepsVisited, rows.length)
      const latest = yield* latestReviews(sql, trailId, name, rows.map(keyOf))
      for (const a of rows) {
        const review = latest.get(a.id)
        if (review !== undefined && review.approving === 1 && review.leash_id !== null) touched.add(review.leash_id)
        region.set(a.id, { key: keyOf(a), status: a.status, wrapper: a.wrapper === 1, review })
      }
    }
    // The user of each touched approval, now. Outside the region no action changed, so the new
    // user is the first candidate of the region, or the stored user when it is outside the
    // region, or (when the stored user left) the first candidate after it. Where it moved, the
    // actions of that approval between the old and the new user are re-flagged.
    const users = new Map<string, Key | undefined>()
    for (const leashId of touched) {
      const stored = yield* sql<{ step_id: string; seq: number }>`SELECT step_id, seq FROM audit_uses
        WHERE trail_id = ${trailId} AND name = ${name} AND leash_id = ${leashId}`
      const old = stored[0] === undefined ? undefined : ([stored[0].seq, stored[0].step_id] as Key)
      let user: Key | undefined
      for (const a of region.values()) {
        if (a.wrapper || a.status !== "ok" || a.review?.approving !== 1 || a.review.leash_id !== leashId) continue
        if (user === undefined || before(a.key, user)) user = a.key
      }
      if (old !== undefined && !region.has(old[1])) {
        if (user === undefined || before(old, user)) user = old
      } else if (old !== undefined && (user === undefined || before(old, user))) {
        const after = yield* firstCandidateAfter(sql, trailId, name, leashId, old)
        if (after !== undefined && (user === undefined || before(after, user))) user = after
      }
      users.set(leashId, user)
      if (old?.[1] === user?.[1]) continue
      if (user === undefined) {
        yield* sql`DELETE FROM audit_uses WHERE trail_id = ${trailId} AND name = ${name} AND leash_id = ${leashId}`
      } else {
        yield* sql`INSERT INTO audit_uses (trail_id, name, leash_id, step_id, seq)
          VALUES (${trailId}, ${name}, ${leashId}, ${user[1]}, ${user[0]})
          ON CONFLICT (trail_id, name, leash_id) DO UPDATE SET step_id = excluded.step_id, seq = excluded.seq`
      }
      const lo = old === undefined ? user! : user === undefined ? old : before(old, user) ? old : user
      const hi = old === undefined || user === undefined ? undefined : before(old, user) ? user : old
      for (const { review, to } of yield* segmentsOf(sql, trailId, name, leashId, lo, hi)) {
        const start = before(keyOf(review), lo) ? { key: lo, inclusive: true } : { key: keyOf(review), inclusive: false }
        const end = hi !== undefined && (to === undefined || before(hi, to)) ? { key: hi, inclusive: true } : to === undefined ? undefined : { key: to, inclusive: false }
        for (const a of yield* actionsIn(sql, trailId, name, start, end)) {
          region.set(a.id, { key: keyOf(a), status: a.status, wrapper: a.wrapper === 1, review })
        }
      }
    }
    if (region.size === 0) return
    // users of approvals not touched, as stored
    const untouched = new Set<string>()
    for (const a of region.values()) {
      const l = a.review?.approving === 1 ? a.review.leash_id : null
      if (l !== null && l !== undefined && !users.has(l)) untouched.add(l)
    }
    if (untouched.size > 0) {
      const rows = yield* sql<{ leash_id: string; step_id: string; seq: number }>`SELECT leash_id, step_id, seq
        FROM audit_uses WHERE trail_id = ${trailId} AND name = ${name} AND ${Dialect.inTexts(sql, "leash_id", [...untouched])}`
      for (const l of untouched) users.set(l, undefined)
      for (const r of rows) users.set(r.leash_id, [r.seq, r.step_id])
    }
    // the flags, as the reference computes them, against the stored ones
    const ids = [...region.keys()]
    const stored = new Map(
      (yield* sql<FlagRow>`SELECT step_id, seq, kind, review_step_id FROM flags
        WHERE trail_id = ${trailId} AND ${Dialect.inTexts(sql, "step_id", ids)}`).map((f) => [f.step_id, f])
    )
    const writes: Array<unknown> = []
    const deletes: Array<string> = []
    for (const [id, a] of region) {
      let kind: Wire.FlagKind | undefined
      let reviewStepId: string | null = null
      if (!a.wrapper) {
        const r = a.review
        if (r === undefined) {
          if (sensitive) kind = "unleashed_action"
        } else if (r.approving !== 1 || r.leash_id === null) {
          kind = "ignored_decision"
          reviewStepId = r.id
        } else {
          const user = users.get(r.leash_id)
          if (user !== undefined && before(user, a.key)) {
            kind = "reused_approval"
            reviewStepId = r.id
          }
        }
      }
      const old = stored.get(id)
      if (kind === undefined) {
        if (old !== undefined) deletes.push(id)
      } else if (old === undefined || old.kind !== kind || old.review_step_id !== reviewStepId || old.seq !== a.key[0]) {
        writes.push([trailId, id, a.key[0], kind, name, reviewStepId])
      }
    }
    if (deletes.length > 0) {
      yield* sql`DELETE FROM flags WHERE trail_id = ${trailId} AND ${Dialect.inTexts(sql, "step_id", deletes)}`
    }
    if (writes.length > 0) yield* writeFlags(sql, writes)
  })

/**
 * Brings the audit up to date after a batch stored `fresh` steps (the ones it added, by trail).
 *
 * @since 0.1.0
 * @category audit
 */
export const afterIngest = (
  sql: Sql,
  fresh: ReadonlyMap<string, ReadonlyArray<Audit.AuditStep>>,
  rules: Audit.AuditRules
): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    if (fresh.size === 0) return
    const sensitive = { sensitive: rules.sensitive, rules: [] }
    const all = [...fresh.values()].flat()
    // every statement costs far more than SQLite's work for a row: each step below is one
    // statement for the whole batch, and only names that hold a review step cost more
    const held = yield* judge(sql, all.filter((s) => s.layer === "review"))
    const resumed = yield* sql<{ trail_id: string; step_id: string; name: string; levels: number }>`
      DELETE FROM audit_waiting WHERE ${Dialect.inTexts(sql, "step_id", all.map((s) => s.id))}
      RETURNING trail_id, step_id, name, levels`
    const walks = new Map<string, { held: Array<Audit.AuditStep>; resumed: Array<Walk> }>()
    const walksOf = (trailId: string) => {
      let entry = walks.get(trailId)
      if (entry === undefined) walks.set(trailId, entry = { held: [], resumed: [] })
      return entry
    }
    for (const r of held) walksOf(r.trailId).held.push(r)
    for (const w of resumed) walksOf(w.trail_id).resumed.push({ id: w.step_id, name: w.name, levels: w.levels })
    /** What changed, by trail and action name. */
    const dirty = new Map<string, { trailId: string; name: string; actions: Array<Key>; reviews: Array<Key> }>()
    const at = (trailId: string, name: string) => {
      const key = `${trailId}\n${name}`
      let entry = dirty.get(key)
      if (entry === undefined) dirty.set(key, entry = { trailId, name, actions: [], reviews: [] })
      return entry
    }
    for (const [trailId, w] of walks) {
      for (const wrapper of yield* walkWrappers(sql, trailId, w.held, w.resumed)) {
        at(trailId, wrapper.name).actions.push([wrapper.seq, wrapper.id])
      }
    }
    for (const s of all) {
      if (s.layer === "review") at(s.trailId, s.name).reviews.push([s.seq, s.id])
      else at(s.trailId, s.name).actions.push([s.seq, s.id])
    }
    // A name with no review step in its trail has no wrapper, no ignored decision and no reused
    // approval: its new actions are flagged on their own, without reading anything else.
    const reviewed = new Set(
      (yield* sql<{ t: string; n: string }>`SELECT k.value ->> 0 AS t, k.value ->> 1 AS n
        FROM ${Dialect.each(sql, json([...dirty.values()].filter((d) => d.reviews.length === 0).map((d) => [d.trailId, d.name])), "k")}
        WHERE EXISTS (SELECT 1 FROM steps s ${Dialect.indexedBy(sql, "steps_reviews_by_name")}
          WHERE s.trail_id = k.value ->> 0 AND s.name = k.value ->> 1 AND s.layer = 'review')`).map((r) => {
        return `${r.t}\n${r.n}`
      })
    )
    const unleashed: Array<unknown> = []
    for (const [key, d] of dirty) {
      if (d.reviews.length > 0 || reviewed.has(key)) {
        yield* updateName(sql, d.trailId, d.name, d.actions, d.reviews, Wire.Rules.isSensitive(sensitive, d.name))
      } else if (Wire.Rules.isSensitive(sensitive, d.name)) {
        for (const [seq, id] of d.actions) unleashed.push([d.trailId, id, seq, "unleashed_action", d.name, null])
      }
    }
    if (unleashed.length > 0) yield* writeFlags(sql, unleashed)
  })

interface StepAuditRow {
  readonly id: string
  readonly trail_id: string
  readonly parent_id: string | null
  readonly seq: number
  readonly name: string
  readonly layer: Wire.StepLayer
  readonly status: Wire.StepRecord["status"]
  readonly leash: string | null
}

const toAuditStep = (row: StepAuditRow): Audit.AuditStep => {
  const step = {
    id: row.id,
    trailId: row.trail_id,
    parentId: row.parent_id,
    seq: row.seq,
    name: row.name,
    layer: row.layer,
    status: row.status
  }
  return row.leash === null ? step : { ...step, leash: JSON.parse(row.leash) as Wire.LeashSummary }
}

/**
 * A trail's stored steps and the verdicts of its review steps, as `Audit.trail` reads them.
 *
 * @since 0.1.0
 * @category audit
 */
export const load = (sql: Sql, trailId: string) =>
  Effect.gen(function*() {
    const rows = yield* sql<StepAuditRow>`SELECT id, trail_id, parent_id, seq, name, layer, status, leash
      FROM steps WHERE trail_id = ${trailId}`
    yield* Metric.incrementBy(stepsVisited, rows.length)
    const checks = yield* sql<CheckRow>`SELECT step_id, found, leash_trail_id, leash_action, leash_decision
      FROM review_checks WHERE trail_id = ${trailId}`
    const byStep = new Map(checks.map((c) => [c.step_id, c]))
    const records = (review: Audit.AuditStep): Audit.LeashRecord | undefined => {
      const c = byStep.get(review.id)
      return c === undefined || c.found === 0
        ? undefined
        : { trailId: c.leash_trail_id!, actionName: c.leash_action!, decision: c.leash_decision ?? undefined }
    }
    return { steps: rows.map(toAuditStep), records, judged: byStep }
  })

/**
 * Recomputes a trail's flags with the reference (`Audit.trail` over all its stored steps and the
 * stored verdicts) and stores them in place of the ones kept up to date by ingest.
 *
 * @since 0.1.0
 * @category audit
 */
export const recomputeTrail = (sql: Sql, trailId: string, rules: Audit.AuditRules) =>
  Effect.gen(function*() {
    const { records, steps } = yield* load(sql, trailId)
    const audit = Audit.trail(steps, rules, records)
    yield* sql`DELETE FROM flags WHERE trail_id = ${trailId}`
    if (audit.flags.length > 0) {
      yield* writeFlags(sql, audit.flags.map((f) => [f.trailId, f.stepId, f.seq, f.kind, f.actionName, f.reviewStepId ?? null]))
    }
    return audit
  })

/**
 * Builds the audit's tables for every stored trail (once, when they are created): each review
 * step not judged yet is judged against the leash records as they stand now; wrappers, waiting
 * walks and approval uses come from the reference. Flags are left to the full recompute the
 * server runs at startup (the migration does not know the sensitive list).
 *
 * @since 0.1.0
 * @category audit
 */
export const rebuild = (sql: Sql) =>
  Effect.gen(function*() {
    const trails = yield* sql<{ trail_id: string }>`SELECT DISTINCT trail_id FROM steps`
    for (const { trail_id } of trails) {
      const loaded = yield* load(sql, trail_id)
      yield* judge(sql, loaded.steps.filter((s) => s.layer === "review" && !loaded.judged.has(s.id)))
      const { records, steps } = yield* load(sql, trail_id)
      const audit = Audit.trail(steps, { sensitive: [] }, records)
      const byId = new Map(steps.map((s) => [s.id, s]))
      const waiting: Array<unknown> = []
      for (const r of steps) {
        if (r.layer !== "review" || !Audit.holds(r, records(r))) continue
        let id = r.parentId
        for (let levels = Audit.wrapperDepth; id !== null && levels > 0; levels--) {
          const parent = byId.get(id)
          if (parent === undefined) {
            waiting.push([trail_id, id, r.name, levels])
            break
          }
          id = parent.parentId
        }
      }
      if (audit.wrappers.size > 0) {
        const ignoring = Dialect.insertIgnoring(sql)
        yield* sql`${sql.literal(ignoring.head)} audit_wrappers (step_id)
          SELECT j.value FROM ${Dialect.texts(sql, json([...audit.wrappers]))} WHERE true ${sql.literal(ignoring.tail)}`
      }
      yield* storeWaiting(sql, waiting)
      const uses = [...audit.uses].map(([key, stepId]) => {
        const [name, leashId] = key.split("\n") as [string, string]
        return [trail_id, name, leashId, stepId, byId.get(stepId)!.seq]
      })
      if (uses.length > 0) {
        yield* sql`INSERT INTO audit_uses (trail_id, name, leash_id, step_id, seq)
          SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, CAST(j.value ->> 4 AS INTEGER)
          FROM ${Dialect.each(sql, json(onePerKey(uses, (u) => `${u[0]}\n${u[1]}\n${u[2]}`)))} WHERE true
          ON CONFLICT (trail_id, name, leash_id) DO UPDATE SET step_id = excluded.step_id, seq = excluded.seq`
      }
    }
  })

/**
 * What the server holds of each leash a trail's review steps cite: the trail and action it was
 * created for and its decision as it stands (`undefined`: pending), who decided and when. A
 * leash id the server never saw is absent.
 *
 * @since 0.1.0
 * @category models
 */
export interface HeldLeash {
  readonly trailId: string
  readonly actionName: string
  readonly decision: Wire.GateDecision["decision"] | undefined
  readonly decidedBy: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number | undefined
}

/**
 * The server's records of `leashIds`: what a review step is judged against when it arrives, and
 * what the trail page shows beside each review step's claim.
 *
 * @since 0.1.0
 * @category audit
 */
export const heldLeashes = (sql: Sql, leashIds: ReadonlyArray<string>) =>
  Effect.map(
    leashIds.length === 0 ? Effect.succeed([]) : sql<{
      leash_id: string
      trail_id: string
      action_name: string
      status: string
      decision: Wire.GateDecision["decision"] | null
      decided_by: string | null
      decided_at: number | null
      expires_at: number
    }>`SELECT leash_id, lower(trail_id) AS trail_id, action_name, status, decision, decided_by, decided_at, expires_at
        FROM leashes WHERE ${Dialect.inTexts(sql, "leash_id", [...new Set(leashIds)])}
          AND trail_id IS NOT NULL AND action_name IS NOT NULL`,
    (rows) =>
      new Map(rows.map((r): [string, HeldLeash] => {
        const decided = r.status === "decided" && r.decision !== null
        return [r.leash_id, {
          trailId: r.trail_id,
          actionName: r.action_name,
          decision: decided ? r.decision! : undefined,
          decidedBy: decided ? r.decided_by ?? undefined : undefined,
          decidedAt: decided ? r.decided_at ?? r.expires_at : undefined
        }]
      }))
  )
