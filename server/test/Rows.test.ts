/**
 * The store's rows read back: the hand-written `toLeash` (the long-poll's path) answers what the
 * schema `LeashFromColumns` decodes, on generated rows and on the rows the server writes; the
 * list rows decode by their schemas, and a row the server cannot read fails naming its column.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Rows from "../src/Rows.js"
import { leashRequest, uuid } from "./helpers.js"

const decodeLeash = Schema.decodeUnknownSync(Rows.LeashFromColumns)

const decided = (overrides: Partial<Rows.LeashColumns>): Rows.LeashColumns => ({
  leash_id: uuid(),
  request: "{}",
  status: "decided",
  created_at: 1000,
  expires_at: 61_000,
  decision: "approved",
  reason: "fine",
  modified_payload: null,
  decided_by: "first reviewer",
  decided_by_id: "key_0123456789ab",
  decided_at: 2000,
  ...overrides
})

describe("leash rows", () => {
  it("toLeash answers what LeashFromColumns decodes, on generated rows", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(Rows.LeashColumns), (row) => {
        expect(Rows.toLeash(row)).toStrictEqual(decodeLeash(row))
      }),
      { numRuns: 2000 }
    )
  })

  it("on the rows the server writes: pending, decided by a person, expired, decided by a floor rule, before key ids", () => {
    const rows: ReadonlyArray<Rows.LeashColumns> = [
      decided({ status: "pending", decision: null, reason: null, decided_by: null, decided_by_id: null, decided_at: null }),
      decided({}),
      decided({ decision: "modified", modified_payload: "{\"amount_usd\":50}" }),
      decided({ decision: "timeout", reason: "expired", decided_by: "server", decided_by_id: null, decided_at: 61_000 }),
      decided({ decision: "blocked", reason: "no email at all", decided_by: "floor_rule", decided_by_id: null }),
      // a row read without the column (before 0005_keys_by_holder)
      (({ decided_by_id: _, ...row }) => row)(decided({}))
    ]
    for (const row of rows) expect(Rows.toLeash(row)).toStrictEqual(decodeLeash(row))
    expect(Rows.toLeash(rows[1]!).decision).toStrictEqual({
      decision: "approved",
      reason: "fine",
      modifiedPayload: undefined,
      decidedBy: "first reviewer",
      decidedById: "key_0123456789ab",
      decidedAt: 2000
    })
    expect(Rows.toLeash(rows[0]!).decision).toBeUndefined()
    expect(Rows.toLeash(rows[5]!).decision).not.toHaveProperty("decidedById")
  })

  it("a stored row that does not decode fails naming the column", () => {
    expect(() => decodeLeash({ ...decided({}), decision: "maybe" })).toThrow(/decision/)
  })
})

describe("list rows", () => {
  it("a flag row decodes to the contract's Flag; no review step is NULL", () => {
    const [trailId, stepId, reviewId] = [uuid(), uuid(), uuid()]
    const row = { trail_id: trailId, step_id: stepId, seq: 3, kind: "unverified_review", action_name: "stripe.charge" }
    expect(Rows.decodeFlags([{ ...row, review_step_id: null, sort_key: "2026-01-01T00:00:00.000Z" }])).toStrictEqual([
      { kind: "unverified_review", trailId, stepId, seq: 3, actionName: "stripe.charge" }
    ])
    expect(Rows.decodeFlags([{ ...row, review_step_id: reviewId }])[0]!.reviewStepId).toBe(reviewId)
    expect(() => Rows.decodeFlags([{ ...row, kind: "odd", review_step_id: null }])).toThrow(/kind/)
  })

  it("a pending row decodes its stored summary; a broken summary fails naming it", () => {
    const { payload: _, ...request } = leashRequest()
    const summary = { request, payload_preview: { text: "{}", bytes: 2, cut: false } }
    const row = { leash_id: summary.request.leash_id, created_at: 1000, expires_at: 61_000, summary: JSON.stringify(summary) }
    const [pending] = Rows.decodePending([row])
    expect(pending).toMatchObject({ leashId: row.leash_id, createdAt: 1000, expiresAt: 61_000 })
    expect(pending!.summary.payloadPreview).toStrictEqual({ text: "{}", bytes: 2, cut: false })
    expect(pending!.summary.request.actionName).toBe("stripe.charge")
    expect(() => Rows.decodePending([{ ...row, summary: "{" }])).toThrow(/summary/)
  })

  it("a trail list row decodes with the contract's TrailSummary, the row's counts over the summary's", () => {
    const id = uuid()
    const summary = { id: "ignored", agent: "billing-bot", trigger: "test", status: "running", started_at: "2026-01-01T00:00:00.000Z", tags: {} }
    const [line] = Rows.decodeTrailSummaries([{
      id,
      status: "ok",
      summary: JSON.stringify(summary),
      flag_count: 2,
      step_count: 7,
      sort_key: summary.started_at
    }])
    expect(line).toMatchObject({ id, status: "ok", stepCount: 7, flagCount: 2, agent: "billing-bot" })
  })
})
