/**
 * Two-person approval: the approvals of a leash an approval rule of the rules file made need
 * several distinct reviewers, kept in two tables (migration `0006_two_person_approval`):
 *
 * | table | holds |
 * |---|---|
 * | `approval_gates` | one row per such leash, written with it: how many reviewers it needs (`required`), the payload under review (`payload_round`: 0 for the agent's, one more per modification; `payload`: the modified payload, `NULL` for the agent's) and how many have approved it (`approval_count`) |
 * | `approvals` | one row per approval: the leash, the payload round it approved, its place in that round (`seq`), the reviewer's key id and name, how (`approved`, or `modified`: the modification that opened the round), when |
 *
 * Every approval, and every modification, changes the gate's row by a compare-and-set on
 * (`payload_round`, `approval_count`) of a leash still pending and not due, in the same
 * transaction as its own row: of two racing approvals one wins and the other reads again (its
 * reviewer's approval counts next, or the leash was completed meanwhile: 409). The approval that
 * reaches `required` also writes the leash's decision (`Store.decide`, the compare-and-set of
 * DESIGN.md section 2) in that transaction. Portable SQL (SQLite and PostgreSQL).
 *
 * A person is one approver: a second approval by the same key, or by another key of the same
 * person (their name, compared in lowercase), is refused.
 *
 * @since 0.2.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type * as Wire from "houndsight/wire"

type Sql = SqlClient.SqlClient

/**
 * A leash's approval gate: how many reviewers it needs, and the payload under review.
 *
 * @since 0.2.0
 * @category models
 */
export interface Gate {
  readonly required: number
  /** 0: the agent's payload; one more per modification. */
  readonly round: number
  /** The approvals of this round so far. */
  readonly count: number
  /** The modified payload under review (JSON text); `undefined`: the agent's own. */
  readonly payload: string | undefined
}

/**
 * One stored approval of the round under review.
 *
 * @since 0.2.0
 * @category models
 */
export interface Stored {
  readonly reviewer: Wire.Reviewer
  readonly decision: "approved" | "modified"
  /** Epoch milliseconds. */
  readonly at: number
}

/**
 * A gate with the approvals of its round, in the order they were given.
 *
 * @since 0.2.0
 * @category models
 */
export interface Progress extends Gate {
  readonly approvals: ReadonlyArray<Stored>
}

/**
 * How a person is compared: their name, trimmed, in lowercase.
 *
 * @since 0.2.0
 * @category utils
 */
export const personKey = (name: string): string => name.trim().toLowerCase()

/**
 * Whether `reviewer` (by key id, or by person) is among `approvals`.
 *
 * @since 0.2.0
 * @category predicates
 */
export const hasApproved = (
  approvals: ReadonlyArray<{ readonly reviewer: Wire.Reviewer }>,
  reviewer: Wire.Reviewer
): boolean =>
  approvals.some((a) => a.reviewer.id === reviewer.id || personKey(a.reviewer.name) === personKey(reviewer.name))

/**
 * Approvals as a leash's state answers them.
 *
 * @since 0.2.0
 * @category conversions
 */
export const toWire = (approvals: ReadonlyArray<Stored>): Array<Wire.Approval> =>
  approvals.map((a) => ({ reviewer: a.reviewer, decision: a.decision, at: new Date(a.at) }))

/**
 * Opens the gate of a new leash (in the transaction that stores the leash).
 *
 * @since 0.2.0
 * @category statements
 */
export const open = (sql: Sql, leashId: string, required: number): Effect.Effect<void, SqlError> =>
  Effect.asVoid(sql`INSERT INTO approval_gates (leash_id, required, payload_round, approval_count, payload)
    VALUES (${leashId}, ${required}, 0, 0, NULL) ON CONFLICT (leash_id) DO NOTHING`)

interface GateRow {
  readonly leash_id: string
  readonly required: number
  readonly payload_round: number
  readonly approval_count: number
  readonly payload: string | null
}

interface ApprovalRow {
  readonly leash_id: string
  readonly reviewer_id: string
  readonly person: string
  readonly decision: "approved" | "modified"
  readonly approved_at: string
}

const toStored = (row: ApprovalRow): Stored => ({
  reviewer: { id: row.reviewer_id, name: row.person },
  decision: row.decision,
  at: Date.parse(row.approved_at)
})

/**
 * The gates of these leashes with the approvals of their rounds, by leash id (a leash without a
 * gate, one approval as ever, is absent). Two statements, whatever the number of leashes.
 *
 * @since 0.2.0
 * @category statements
 */
export const progress = (
  sql: Sql,
  leashIds: ReadonlyArray<string>
): Effect.Effect<ReadonlyMap<string, Progress>, SqlError> =>
  Effect.gen(function*() {
    if (leashIds.length === 0) return new Map()
    const gates = yield* sql<GateRow>`SELECT leash_id, required, payload_round, approval_count, payload
      FROM approval_gates WHERE ${sql.in("leash_id", leashIds)}`
    if (gates.length === 0) return new Map()
    const rows = yield* sql<ApprovalRow & { readonly payload_round: number }>`SELECT a.leash_id, a.payload_round,
        a.reviewer_id, a.person, a.decision, a.approved_at
      FROM approvals a JOIN approval_gates g ON g.leash_id = a.leash_id AND g.payload_round = a.payload_round
      WHERE ${sql.in("a.leash_id", gates.map((g) => g.leash_id))} ORDER BY a.leash_id, a.seq`
    const byLeash = new Map<string, Array<Stored>>()
    for (const row of rows) {
      const list = byLeash.get(row.leash_id) ?? []
      list.push(toStored(row))
      byLeash.set(row.leash_id, list)
    }
    return new Map(gates.map((g): [string, Progress] => [g.leash_id, {
      required: Number(g.required),
      round: Number(g.payload_round),
      count: Number(g.approval_count),
      payload: g.payload ?? undefined,
      approvals: byLeash.get(g.leash_id) ?? []
    }]))
  })

/**
 * The gate of one leash with its round's approvals, if it has one.
 *
 * @since 0.2.0
 * @category statements
 */
export const progressOf = (sql: Sql, leashId: string): Effect.Effect<Progress | undefined, SqlError> =>
  Effect.map(progress(sql, [leashId]), (all) => all.get(leashId))

/**
 * One approval to add: by whom, how, and the payload of its round when it opens one (a
 * modification: JSON text).
 *
 * @since 0.2.0
 * @category models
 */
export interface Add {
  readonly reviewer: Wire.Reviewer
  readonly decision: "approved" | "modified"
  /** A modification: the new payload under review (it opens a new round). */
  readonly payload?: string | undefined
  /** Epoch milliseconds. */
  readonly at: number
}

/**
 * Adds an approval to the gate as it was read (`seen`): a compare-and-set on its round and count,
 * for a leash still pending and not due at `add.at`. A modification opens the next round, with
 * its author's approval as the first. Run it in a transaction; `false`: the gate or the leash
 * changed since it was read (nothing written).
 *
 * @since 0.2.0
 * @category statements
 */
export const add = (sql: Sql, leashId: string, seen: Gate, add: Add): Effect.Effect<boolean, SqlError> =>
  Effect.gen(function*() {
    const opens = add.decision === "modified"
    const round = opens ? seen.round + 1 : seen.round
    const count = opens ? 1 : seen.count + 1
    const changed = yield* sql<{ leash_id: string }>`UPDATE approval_gates SET payload_round = ${round},
        approval_count = ${count}, payload = ${opens ? add.payload ?? null : seen.payload ?? null}
      WHERE leash_id = ${leashId} AND payload_round = ${seen.round} AND approval_count = ${seen.count}
        AND EXISTS (SELECT 1 FROM leashes l WHERE l.leash_id = ${leashId} AND l.status = 'pending'
          AND l.expires_at > ${add.at})
      RETURNING leash_id`
    if (changed.length !== 1) return false
    yield* sql`INSERT INTO approvals (leash_id, payload_round, seq, reviewer_id, person, person_key, decision, approved_at)
      VALUES (${leashId}, ${round}, ${count}, ${add.reviewer.id}, ${add.reviewer.name}, ${personKey(add.reviewer.name)},
        ${add.decision}, ${new Date(add.at).toISOString()})`
    return true
  })
