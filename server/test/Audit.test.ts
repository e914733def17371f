/**
 * The server's incremental bypass audit (issue 12, points 3 and 4): its stored flags equal the
 * SDK's `Audit.flags` over the trail as the server received it, whatever order and batches the
 * steps arrive in; its work per ingest is bounded by the batch and the flags it changes (counted
 * in step rows read, never timed); and the v1.1 cross-check of review steps against the server's
 * own leash records.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Layer, Metric, Option, Schema } from "effect"
import * as fc from "effect/FastCheck"
import { Audit, Wire } from "houndsight"
import * as Path from "node:path"
import * as ServerAudit from "../src/Audit.js"
import { Database, Store } from "../src/index.js"
import { reviewerName, signIn } from "./dashboard/helpers.js"
import { at, leashRequest, reviewStep, startServer, stepRecord, tempDir, trailRecord, uuid } from "./helpers.js"
import { backend, freshDatabase } from "./postgres.js"

const rules = { sensitive: ["stripe.*", "email.send"] }

const decodeStep = Schema.decodeUnknownSync(Wire.StepRecord)

/** A store on a fresh database: a file in a temporary folder, or a fresh PostgreSQL database in the pg project. */
const storeLayer = Layer.unwrapScoped(
  Effect.map(
    backend === "postgres" ? freshDatabase : Effect.map(tempDir, (dir) => Path.join(dir, "audit.db")),
    (db) => Store.layer.pipe(Layer.provideMerge(Database.layer(db)))
  )
)

interface Spec {
  readonly id?: string
  readonly seq: number
  readonly name: string
  readonly parent?: string | null
  readonly status?: "ok" | "error" | "interrupted"
  /** A review step citing this leash with this claimed decision. */
  readonly review?: { readonly leashId: string; readonly decision: Wire.DecisionValue; readonly actionName?: string }
}

const step = (trailId: string, s: Spec): Wire.StepRecord =>
  decodeStep({
    id: s.id ?? uuid(),
    trail_id: trailId,
    parent_id: s.parent ?? null,
    seq: s.seq,
    name: s.name,
    layer: s.review === undefined ? "execute" : "review",
    status: s.status ?? "ok",
    started_at: at(s.seq * 1000),
    ended_at: at(s.seq * 1000 + 500),
    events: [],
    ...(s.review === undefined ? {} : {
      leash: {
        leash_id: s.review.leashId,
        action_name: s.review.actionName ?? s.name,
        decision: s.review.decision,
        approved: Wire.isApproving(s.review.decision),
        reason: "r"
      }
    })
  })

/** Stores a leash for `trailId` and `actionName`, decided with `decision` (`undefined`: pending). */
const leash = (trailId: string, actionName: string, decision: Wire.GateDecision["decision"] | undefined) =>
  Effect.gen(function*() {
    const store = yield* Store.Store
    const leashId = uuid()
    // A whole request (the store keeps its list summary), bound to this trail and action.
    const request = JSON.stringify(leashRequest({ action_name: actionName, leash_id: leashId, trail_id: trailId }))
    yield* store.insertLeash({ leashId, request, createdAt: 0, expiresAt: 4e12, decision: undefined })
    if (decision !== undefined) {
      yield* store.decide(leashId, {
        decision,
        reason: "r",
        modifiedPayload: undefined,
        decidedBy: "reviewer:test",
        decidedAt: 1
      }, 2)
    }
    return leashId
  })

const ingest = (steps: ReadonlyArray<Wire.StepRecord>) =>
  Effect.flatMap(Store.Store, (store) => store.ingest({ trails: [], steps }, rules))

/**
 * A trail's stored flags; and the trail's `flag_count` (kept by triggers of `0003_bounded_reads`,
 * whatever statements the audit writes its flags with) counts exactly them.
 */
const storedFlags = (trailId: string) =>
  Effect.gen(function*() {
    const store = yield* Store.Store
    const { flags, nextCursor } = yield* store.flags(trailId, 100_000)
    expect(nextCursor).toBeUndefined()
    const sql = yield* SqlClient.SqlClient
    const counted = yield* sql<{ flag_count: number }>`SELECT flag_count FROM trails WHERE id = ${trailId}`
    expect(counted.map((r) => r.flag_count)).toStrictEqual(counted.length === 0 && flags.length === 0 ? [] : [flags.length])
    return flags
  })

/** The stored flags' order: by `seq`, then step id (the reference's order). */
const sorted = (flags: ReadonlyArray<Wire.Flag>) =>
  [...flags].sort((a, b) => a.seq - b.seq || (a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0))

/** The steps the audit read during `effect`. */
const visits = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = (yield* Metric.value(ServerAudit.stepsVisited)).count
    const result = yield* effect
    return { result, visited: (yield* Metric.value(ServerAudit.stepsVisited)).count - before }
  })

const claims = ["approved", "modified", "rejected", "timeout"] as const

describe("the server's audit equals a full recompute", () => {
  it.scopedLive("on random trails arriving in random orders and batches (property)", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(storeLayer)
      const run = <A, E>(effect: Effect.Effect<A, E, Store.Store | SqlClient.SqlClient>) =>
        Effect.runPromise(Effect.provide(effect, context) as Effect.Effect<A, never>)
      const arbitrary = fc.record({
        leashes: fc.array(
          fc.record({
            ownTrail: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
            name: fc.constantFrom("stripe.charge", "stripe.charge", "search"),
            decision: fc.constantFrom<Wire.GateDecision["decision"] | undefined>("approved", "approved", "modified", "rejected", undefined),
            stored: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
          }),
          { minLength: 1, maxLength: 2 }
        ),
        steps: fc.array(
          fc.record({
            seq: fc.integer({ min: 1, max: 16 }),
            name: fc.constantFrom("stripe.charge", "stripe.charge", "email.send", "search"),
            status: fc.constantFrom<"ok" | "error">("ok", "ok", "error"),
            parent: fc.option(fc.nat(), { nil: undefined, freq: 2 }),
            review: fc.option(
              fc.record({
                leash: fc.nat(),
                // an honest review step: named after its leash, claiming its decision
                honest: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
                claim: fc.constantFrom(...claims)
              }),
              { nil: undefined, freq: 2 }
            )
          }),
          { minLength: 1, maxLength: 25 }
        ),
        order: fc.array(fc.nat()),
        cuts: fc.array(fc.nat({ max: 25 }), { maxLength: 6 })
      })
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(arbitrary, (input) =>
            run(Effect.gen(function*() {
              const trailId = uuid()
              const records = new Map<string, Audit.LeashRecord>()
              const leashIds: Array<string> = []
              for (const l of input.leashes) {
                const owner = l.ownTrail ? trailId : uuid()
                if (l.stored) {
                  const id = yield* leash(owner, l.name, l.decision)
                  leashIds.push(id)
                  records.set(id, { trailId: owner, actionName: l.name, decision: l.decision })
                } else leashIds.push(uuid())
              }
              const ids = input.steps.map(() => uuid())
              const steps = input.steps.map((s, i) => {
                const cited = s.review === undefined ? undefined : s.review.leash % leashIds.length
                const honest = s.review?.honest === true && cited !== undefined
                const l = cited === undefined ? undefined : input.leashes[cited]!
                return step(trailId, {
                  id: ids[i]!,
                  seq: s.seq,
                  name: honest ? l!.name : s.name,
                  status: s.status,
                  parent: s.parent === undefined ? null : ids[s.parent % ids.length]!,
                  ...(s.review === undefined ? {} : {
                    review: {
                      leashId: leashIds[cited!]!,
                      decision: honest && l!.decision !== undefined ? l!.decision : s.review.claim
                    }
                  })
                })
              })
              // a random arrival order, cut into batches
              const keyed = steps.map((s, i) => ({ s, k: input.order[i] ?? i }))
              keyed.sort((a, b) => a.k - b.k)
              const arrival = keyed.map((x) => x.s)
              const cuts = [...new Set([0, ...input.cuts.map((c) => c % (arrival.length + 1)), arrival.length])].sort((a, b) => a - b)
              for (let i = 0; i + 1 < cuts.length; i++) {
                yield* ingest(arrival.slice(cuts[i], cuts[i + 1]))
                const sofar = arrival.slice(0, cuts[i + 1])
                expect(sorted(yield* storedFlags(trailId))).toStrictEqual(sorted(Audit.flags(sofar, rules, records)))
              }
              // and what the full recompute over the stored trail gives
              const sql = yield* SqlClient.SqlClient
              const full = yield* ServerAudit.recomputeTrail(sql, trailId, rules)
              expect(sorted(yield* storedFlags(trailId))).toStrictEqual(sorted(full.flags))
            }))),
          // fewer on PostgreSQL (its statements cross a socket), a failure reported unshrunk there
          { numRuns: backend === "postgres" ? 100 : 600, endOnFailure: backend === "postgres" }
        )
      )
    }), 120_000)

  it.scoped("on every arrival order of one approval cited twice around another approval (exhaustive)", () =>
    Effect.gen(function*() {
      const permutations = <A>(xs: ReadonlyArray<A>): Array<Array<A>> =>
        xs.length <= 1 ? [[...xs]] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]))
      const t0 = uuid()
      const l = yield* leash(t0, "stripe.charge", "approved")
      const m = yield* leash(t0, "stripe.charge", "approved")
      const records = new Map<string, Audit.LeashRecord>([
        [l, { trailId: t0, actionName: "stripe.charge", decision: "approved" }],
        [m, { trailId: t0, actionName: "stripe.charge", decision: "approved" }]
      ])
      const cite = (leashId: string) => ({ leashId, decision: "approved" as const })
      const specs: Array<Spec> = [
        { seq: 1, name: "stripe.charge", review: cite(l) },
        { seq: 2, name: "stripe.charge", review: cite(m) },
        { seq: 3, name: "stripe.charge" },
        { seq: 4, name: "stripe.charge", review: cite(l) },
        { seq: 5, name: "stripe.charge" },
        { seq: 6, name: "stripe.charge" }
      ]
      const base = specs.map((sp) => step(t0, sp))
      // every order on SQLite; every 8th on PostgreSQL (its statements cross a socket), the same each run
      const orders = permutations(base.map((_, i) => i)).filter((_, i) => backend !== "postgres" || i % 8 === 0)
      for (const order of orders) {
        // the same steps again for each order, on a trail emptied in between
        const arrived: Array<Wire.StepRecord> = []
        for (const i of order) {
          arrived.push(base[i]!)
          yield* ingest([base[i]!])
          expect(sorted(yield* storedFlags(t0))).toStrictEqual(sorted(Audit.flags(arrived, rules, records)))
        }
        const sql = yield* SqlClient.SqlClient
        for (const table of ["steps", "flags", "review_checks", "audit_uses", "audit_waiting"]) {
          yield* sql`DELETE FROM ${sql(table)} WHERE trail_id = ${t0}`
        }
        yield* sql.unsafe(`DELETE FROM audit_wrappers`)
      }
    }).pipe(Effect.provide(storeLayer)), 120_000)

  it.scoped("a leash decided after its review step arrived does not clear the step's unverified review", () =>
    Effect.gen(function*() {
      const t = uuid()
      const leashId = yield* leash(t, "stripe.charge", undefined)
      const review = step(t, { seq: 1, name: "stripe.charge", review: { leashId, decision: "approved" } })
      const action = step(t, { seq: 2, name: "stripe.charge" })
      yield* ingest([review])
      const store = yield* Store.Store
      yield* store.decide(leashId, { decision: "approved", reason: "", modifiedPayload: undefined, decidedBy: "rv", decidedAt: 5 }, 6)
      yield* ingest([action])
      expect((yield* storedFlags(t)).map((f) => [f.kind, f.seq])).toStrictEqual([["unverified_review", 1], ["ignored_decision", 2]])
      // the full recompute judges it the same: as it stood when the step arrived
      yield* store.recomputeAllFlags(rules)
      expect((yield* storedFlags(t)).map((f) => [f.kind, f.seq])).toStrictEqual([["unverified_review", 1], ["ignored_decision", 2]])
    }).pipe(Effect.provide(storeLayer)))
})

describe("the server's audit work per ingest (step rows read)", () => {
  const chain = (t: string, depth: number, name = "plan"): Array<Wire.StepRecord> => {
    const out: Array<Wire.StepRecord> = []
    let parent: string | null = null
    for (let i = 1; i <= depth; i++) {
      const s = step(t, { seq: i, name, parent })
      out.push(s)
      parent = s.id
    }
    return out
  }
  const inBatches = (steps: ReadonlyArray<Wire.StepRecord>) =>
    Effect.forEach(Array.from({ length: Math.ceil(steps.length / 2000) }, (_, i) => steps.slice(i * 2000, (i + 1) * 2000)), ingest, {
      discard: true
    })

  it.scoped("a 1-step batch extending a 5,000-step trail in seq order reads a few rows, not the trail", () =>
    Effect.gen(function*() {
      const t = uuid()
      const approved = yield* leash(t, "stripe.charge", "approved")
      const steps: Array<Wire.StepRecord> = [step(t, { seq: 1, name: "stripe.charge", review: { leashId: approved, decision: "approved" } })]
      for (let i = 2; i <= 5000; i++) steps.push(step(t, { seq: i, name: i % 3 === 0 ? "stripe.charge" : "search", status: "ok" }))
      yield* inBatches(steps)
      const flagsBefore = (yield* storedFlags(t)).length
      const { visited } = yield* visits(ingest([step(t, { seq: 5001, name: "stripe.charge" })]))
      expect((yield* storedFlags(t)).length).toBe(flagsBefore + 1)
      expect(visited).toBeLessThanOrEqual(8)
      const review = yield* visits(ingest([step(t, { seq: 5002, name: "stripe.charge", review: { leashId: approved, decision: "approved" } })]))
      expect(review.visited).toBeLessThanOrEqual(8)
    }).pipe(Effect.provide(storeLayer)))

  // the rows the audit reads are counted by the server whatever the backend: SQLite's run says it
  it.scoped.skipIf(backend === "postgres")("a 14,000-deep parent chain with 14,000 review steps: a further step reads at most the wrapper depth", () =>
    Effect.gen(function*() {
      const t = uuid()
      const held = yield* leash(t, "stripe.charge", "rejected")
      const steps = chain(t, 14_000, "stripe.charge")
      const bottom = steps[steps.length - 1]!.id
      for (let i = 1; i <= 14_000; i++) {
        steps.push(step(t, { seq: 14_000 + i, name: "stripe.charge", parent: bottom, review: { leashId: held, decision: "rejected" } }))
      }
      yield* inBatches(steps)
      const one = yield* visits(ingest([step(t, { seq: 28_001, name: "stripe.charge", parent: bottom, review: { leashId: held, decision: "rejected" } })]))
      expect(one.visited).toBeLessThanOrEqual(Audit.wrapperDepth + 4)
      const action = yield* visits(ingest([step(t, { seq: 28_002, name: "stripe.charge" })]))
      expect(action.visited).toBeLessThanOrEqual(4)
      expect((yield* storedFlags(t)).at(-1)).toMatchObject({ kind: "ignored_decision", seq: 28_002 })
    }).pipe(Effect.provide(storeLayer)))

  it.scoped("a batch landing before existing steps reads the batch and the flags it changes", () =>
    Effect.gen(function*() {
      const t = uuid()
      // 3,000 unreviewed sensitive charges, then 3,000 searches
      const steps: Array<Wire.StepRecord> = []
      for (let i = 1; i <= 3000; i++) steps.push(step(t, { seq: 1000 + i, name: "stripe.charge" }))
      for (let i = 1; i <= 3000; i++) steps.push(step(t, { seq: 5000 + i, name: "search" }))
      yield* inBatches(steps)
      expect((yield* storedFlags(t)).length).toBe(3000)
      // a charge before them all changes no other flag: one row
      const charge = yield* visits(ingest([step(t, { seq: 10, name: "stripe.charge" })]))
      expect(charge.visited).toBeLessThanOrEqual(2)
      // a rejected review before the charges changes the 3,000 flags and reads about as many rows
      const rejected = yield* leash(t, "stripe.charge", "rejected")
      const review = yield* visits(ingest([step(t, { seq: 500, name: "stripe.charge", review: { leashId: rejected, decision: "rejected" } })]))
      const flags = yield* storedFlags(t)
      expect(flags.filter((f) => f.kind === "ignored_decision")).toHaveLength(3000)
      expect(review.visited).toBeLessThanOrEqual(3000 + 4)
      // a search before the searches reads one row
      const search = yield* visits(ingest([step(t, { seq: 4999, name: "search" })]))
      expect(search.visited).toBeLessThanOrEqual(2)
    }).pipe(Effect.provide(storeLayer)))
})

describe("the v1.1 cross-check of review steps", () => {
  it.scoped("Leash.await twice on one leash records two review steps and allows one action", () =>
    Effect.gen(function*() {
      const t = uuid()
      const approved = yield* leash(t, "stripe.charge", "approved")
      const cite = { leashId: approved, decision: "approved" as const }
      const first = step(t, { seq: 1, name: "stripe.charge", review: cite })
      const second = step(t, { seq: 3, name: "stripe.charge", review: cite })
      yield* ingest([first, step(t, { seq: 2, name: "stripe.charge" }), second, step(t, { seq: 4, name: "stripe.charge" })])
      expect((yield* storedFlags(t)).map((f) => [f.kind, f.seq, f.reviewStepId])).toStrictEqual([
        ["reused_approval", 4, second.id]
      ])
    }).pipe(Effect.provide(storeLayer)))

  it.scoped("judged against the leash as the server holds it: trail, action and decision", () =>
    Effect.gen(function*() {
      const t = uuid()
      const other = yield* leash(uuid(), "stripe.charge", "approved")
      const refund = yield* leash(t, "stripe.refund", "approved")
      const modified = yield* leash(t, "stripe.charge", "modified")
      const cases = [
        { leashId: uuid(), decision: "approved" as const },
        { leashId: other, decision: "approved" as const },
        { leashId: refund, decision: "approved" as const },
        { leashId: modified, decision: "approved" as const }
      ]
      for (const review of cases) {
        const trail = uuid()
        // the same leash for another trail id: the binding is by the leash's own trail
        const steps = [step(trail, { seq: 1, name: "stripe.charge", review }), step(trail, { seq: 2, name: "stripe.charge" })]
        yield* ingest(steps)
        expect((yield* storedFlags(trail)).map((f) => f.kind)).toStrictEqual(["unverified_review", "ignored_decision"])
      }
      yield* ingest([
        step(t, { seq: 1, name: "stripe.charge", review: { leashId: modified, decision: "modified" } }),
        step(t, { seq: 2, name: "stripe.charge" })
      ])
      expect(yield* storedFlags(t)).toStrictEqual([])
    }).pipe(Effect.provide(storeLayer)))

  it.scoped("a review step nested inside the action it claims to review does not silence the audit", () =>
    Effect.gen(function*() {
      const t = uuid()
      // a forged review of an unknown leash inside the charge: no wrapper
      const charge = step(t, { seq: 1, name: "stripe.charge" })
      const forged = step(t, { seq: 2, name: "stripe.charge", parent: charge.id, review: { leashId: uuid(), decision: "approved" } })
      yield* ingest([forged])
      yield* ingest([charge])
      expect((yield* storedFlags(t)).map((f) => [f.kind, f.seq])).toStrictEqual([["unleashed_action", 1], ["unverified_review", 2]])
      // a leash the server holds for this trail and action makes a wrapper, arriving before or after it
      const t2 = uuid()
      const held = yield* leash(t2, "stripe.charge", "approved")
      const wrapper = step(t2, { seq: 1, name: "stripe.charge" })
      const inner = step(t2, { seq: 2, name: "stripe.charge", parent: wrapper.id, review: { leashId: held, decision: "approved" } })
      yield* ingest([wrapper])
      expect((yield* storedFlags(t2)).map((f) => f.kind)).toStrictEqual(["unleashed_action"])
      yield* ingest([inner])
      expect(yield* storedFlags(t2)).toStrictEqual([])
    }).pipe(Effect.provide(storeLayer)))

  it.scoped("a non-approving claim needs no check", () =>
    Effect.gen(function*() {
      const t = uuid()
      yield* ingest([
        step(t, { seq: 1, name: "stripe.charge", review: { leashId: uuid(), decision: "error" } }),
        step(t, { seq: 2, name: "search" })
      ])
      expect(yield* storedFlags(t)).toStrictEqual([])
      const store = yield* Store.Store
      expect(Option.isSome(yield* store.trail(t))).toBe(true)
    }).pipe(Effect.provide(storeLayer)))
})

describe("the forged-approval attack (issue 12, point 4), end to end", () => {
  it.scopedLive("a reviewer rejects, the agent records an approval and acts: flagged, and the trail page shows the real decision", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: { sensitive: ["stripe.*"], rules: [] } })
      const trail = trailRecord({ status: "ok", ended_at: at(9000) })
      const leash = leashRequest({ trail_id: trail.id, action_name: "stripe.charge" })
      expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
      expect((yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "rejected", reason: "no" } })).status)
        .toBe(200)
      // the agent's forged review step: "approved", citing the rejected leash; then the charge
      const forged = reviewStep(trail.id, 1, "stripe.charge", "approved", {
        leash: { leash_id: leash.leash_id, action_name: "stripe.charge", decision: "approved", approved: true, reason: "ok" }
      })
      const charge = stepRecord(trail.id, 2, "stripe.charge")
      // and a review step citing a leash id the server never saw, before a refund
      const unknown = reviewStep(trail.id, 3, "stripe.refund", "approved")
      const refund = stepRecord(trail.id, 4, "stripe.refund")
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [forged, charge, unknown, refund] } })).status).toBe(202)

      const flags = (yield* s.reviewer.get(`/v1/flags?trail_id=${trail.id}`)).body.flags
      expect(flags.map((f: any) => [f.kind, f.seq, f.review_step_id ?? null])).toStrictEqual([
        ["unverified_review", 1, null],
        ["ignored_decision", 2, forged.id],
        ["unverified_review", 3, null],
        ["ignored_decision", 4, unknown.id]
      ])

      const { tab } = yield* signIn(s)
      const page = (yield* tab.get(`/trails/${trail.id}`)).text
      const box = (id: string) => {
        const at = page.indexOf(`id="step-${id}"`)
        const from = page.indexOf(`class="review-box`, at)
        return page.slice(from, page.indexOf("</div>", from))
      }
      // the gate's decision, by its reviewer, and the agent's claim beside it
      expect(box(forged.id)).toMatch(/^class="review-box decision-rejected">\s*<span class="pill decision-rejected">rejected<\/span>/)
      expect(box(forged.id)).toContain(`by <strong>${reviewerName(s)}</strong>`)
      expect(box(forged.id)).toContain(`the agent's record claims <span class="pill decision-approved">approved</span>`)
      // a leash the gate never saw: nobody decided it, whatever the step claims
      expect(box(unknown.id)).toContain("The gate holds no leash with this id")
      expect(box(unknown.id)).not.toContain("by <strong>")
      expect(page).toContain("unverified review")
      // the flags banner names the gate's decision of the review step, not the claim
      const banner = page.slice(page.indexOf('class="card flags-banner"'), page.indexOf("</section>", page.indexOf('class="card flags-banner"')))
      expect(banner).toContain(`<span class="pill decision-rejected">rejected</span>`)
      expect(banner).toContain(`<span class="pill decision-unverified">unverified</span>`)
      expect(banner).not.toContain("decision-approved")
      const flagsPage = (yield* tab.get("/flags")).text
      expect(flagsPage).toContain("unverified review")
      expect(flagsPage).toContain("the gate never gave that approval")
    }))
})

describe("migration 0004 on a database made before it", () => {
  it.scopedLive("judges the stored review steps, builds the audit's tables and recomputes the flags at startup", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "old.db")
      const t = uuid()
      const steps: Array<Wire.StepRecord> = []
      const records = new Map<string, Audit.LeashRecord>()
      yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(Store.layer.pipe(Layer.provideMerge(Database.layer(db))))
        yield* Effect.gen(function*() {
          const approved = yield* leash(t, "stripe.charge", "approved")
          const rejected = yield* leash(t, "stripe.refund", "rejected")
          records.set(approved, { trailId: t, actionName: "stripe.charge", decision: "approved" })
          records.set(rejected, { trailId: t, actionName: "stripe.refund", decision: "rejected" })
          const wrapper = step(t, { seq: 5, name: "stripe.refund" })
          steps.push(
            step(t, { seq: 1, name: "stripe.charge", review: { leashId: approved, decision: "approved" } }),
            step(t, { seq: 2, name: "stripe.charge" }),
            step(t, { seq: 3, name: "stripe.charge" }),
            step(t, { seq: 4, name: "stripe.refund", review: { leashId: rejected, decision: "approved" } }),
            wrapper,
            step(t, { seq: 6, name: "stripe.refund", parent: wrapper.id, review: { leashId: rejected, decision: "rejected" } }),
            step(t, { seq: 7, name: "stripe.refund" }),
            // a child whose parent never arrives: the wrapper walk waits for it
            step(t, { seq: 8, name: "stripe.refund", parent: uuid(), review: { leashId: rejected, decision: "rejected" } })
          )
          yield* ingest(steps)
          // back to the schema before 0004, with flags as the old server left them (none here)
          const sql = yield* SqlClient.SqlClient
          for (const statement of [
            // (leash_bindings, which 0004 made, 0009 dropped again)
            "DROP TABLE review_checks",
            "DROP TABLE audit_wrappers",
            "DROP TABLE audit_waiting",
            "DROP TABLE audit_uses",
            "DROP INDEX steps_by_name",
            "DROP INDEX steps_reviews_by_name",
            "DELETE FROM flags",
            // and before 0005, which came later (the migrator runs only migrations past the last one run)
            "DROP TABLE api_keys",
            "DROP TABLE trail_owners",
            "ALTER TABLE leashes DROP COLUMN decided_by_id",
            // and before 0006 (two-person approval) and 0007 (webhooks)
            "DROP TABLE approval_gates",
            "DROP TABLE approvals",
            "DROP TABLE webhooks",
            "DROP TABLE outbox_events",
            "DROP TABLE webhook_deliveries",
            // and before 0008 (instances)
            "DROP TABLE dashboard_sessions",
            "DROP TABLE server_instances",
            // and before 0009 (leash events by trigger)
            "DROP TRIGGER leash_events_on_insert",
            "DELETE FROM houndsight_migrations WHERE migration_id >= 4"
          ]) yield* sql.unsafe(statement)
          yield* Effect.flatMap(Store.Store, (store) => store.setMeta("sensitive", JSON.stringify(rules.sensitive)))
        }).pipe(Effect.provide(context))
      }))
      const s = yield* startServer({ db, rulesFile: { sensitive: rules.sensitive, rules: [] } })
      const flags = (yield* s.reviewer.get(`/v1/flags?trail_id=${t}`)).body.flags.map((f: any) => Schema.decodeUnknownSync(Wire.Flag)(f))
      const expected = sorted(Audit.flags(steps, rules, records))
      expect(sorted(flags)).toStrictEqual(expected)
      expect(expected.map((f) => [f.kind, f.seq])).toStrictEqual([
        ["reused_approval", 3],
        ["unverified_review", 4],
        ["ignored_decision", 7]
      ])
      // and the incremental audit goes on from the rebuilt tables
      const later = step(t, { seq: 9, name: "stripe.charge" })
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [Schema.encodeSync(Wire.StepRecord)(later)] } })).status).toBe(202)
      const after = (yield* s.reviewer.get(`/v1/flags?trail_id=${t}`)).body.flags.map((f: any) => Schema.decodeUnknownSync(Wire.Flag)(f))
      expect(sorted(after)).toStrictEqual(sorted(Audit.flags([...steps, later], rules, records)))
    }))
})
