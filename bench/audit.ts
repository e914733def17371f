/**
 * The server's bypass audit on big trails (issue 12, point 3): the time one more 1-step ingest
 * batch takes, through the server's store on a SQLite file, once a trail is big.
 *
 * - `extend`: a 30,000-step trail (charges, searches and approved review steps), then a 1-step
 *   batch after its last step (target: under 50 ms);
 * - `before`: the same trail, a 1-step batch landing before its existing steps;
 * - `chain`: a 14,000-step parent chain and 14,000 review steps under it, then a 1-step batch
 *   (a review step at the bottom, and an action).
 *
 * Each figure is the median of `RUNS` batches (each a new step) and the slowest of them, and
 * the audit's own count of step rows read.
 *
 * Run: `npx tsx bench/audit.ts`
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import { Wire } from "houndsight"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as ServerAudit from "../server/src/Audit.js"
import { Database, Store } from "../server/src/index.js"

const RUNS = 25
const rules = { sensitive: ["stripe.*", "email.send"] }
const decodeStep = Schema.decodeUnknownSync(Wire.StepRecord)
const t0 = Date.UTC(2026, 10, 24, 9)

const step = (
  trailId: string,
  seq: number,
  name: string,
  options: { parent?: string | null; leashId?: string; decision?: "approved" | "rejected" } = {}
): Wire.StepRecord =>
  decodeStep({
    id: Crypto.randomUUID(),
    trail_id: trailId,
    parent_id: options.parent ?? null,
    seq,
    name,
    layer: options.leashId === undefined ? "execute" : "review",
    status: "ok",
    started_at: new Date(t0 + seq).toISOString(),
    ended_at: new Date(t0 + seq + 1).toISOString(),
    events: [],
    ...(options.leashId === undefined ? {} : {
      leash: {
        leash_id: options.leashId,
        action_name: name,
        decision: options.decision ?? "approved",
        approved: (options.decision ?? "approved") === "approved",
        reason: "r"
      }
    })
  })

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "houndsight-bench-audit-"))
const runtime = ManagedRuntime.make(Store.layer.pipe(Layer.provideMerge(Database.layer(Path.join(dir, "audit.db")))))

const program = Effect.gen(function*() {
  const store = yield* Store.Store
  const ingest = (steps: ReadonlyArray<Wire.StepRecord>) => store.ingest({ trails: [], steps }, rules)
  const load = (steps: ReadonlyArray<Wire.StepRecord>) =>
    Effect.forEach(Array.from({ length: Math.ceil(steps.length / 500) }, (_, i) => steps.slice(i * 500, (i + 1) * 500)), ingest, {
      discard: true
    })
  const leash = (trailId: string, actionName: string, decision: "approved" | "rejected") =>
    Effect.gen(function*() {
      const leashId = Crypto.randomUUID()
      // a whole request, as the gate stores it (the store keeps its list summary)
      const request = JSON.stringify({
        leash_id: leashId,
        trail_id: trailId,
        step_id: Crypto.randomUUID(),
        agent: "bench-agent",
        action_name: actionName,
        action_summary: "bench",
        risk_signals: {},
        payload: {},
        timeout_seconds: 300,
        blocking: true
      })
      yield* store.insertLeash({ leashId, request, createdAt: 0, expiresAt: 4e12, decision: undefined })
      yield* store.decide(leashId, { decision, reason: "r", modifiedPayload: undefined, decidedBy: "rv", decidedAt: 1 }, 2)
      return leashId
    })
  /** Times `RUNS` 1-step batches made by `make(i)`. */
  const time = (label: string, make: (i: number) => Wire.StepRecord) =>
    Effect.gen(function*() {
      const times: Array<number> = []
      const rows: Array<number> = []
      for (let i = 0; i < RUNS; i++) {
        const batch = [make(i)]
        const before = (yield* Metric.value(ServerAudit.stepsVisited)).count
        const start = performance.now()
        yield* ingest(batch)
        times.push(performance.now() - start)
        rows.push((yield* Metric.value(ServerAudit.stepsVisited)).count - before)
      }
      times.sort((a, b) => a - b)
      const median = times[Math.floor(times.length / 2)]!
      console.log(
        `${label.padEnd(58)} median ${median.toFixed(2).padStart(7)} ms   max ${
          times.at(-1)!.toFixed(2).padStart(7)
        } ms   rows read ≤ ${Math.max(...rows)}`
      )
    })

  // a 30,000-step trail: per 10 steps, an approved review step for a charge, the charge, searches
  const big = Crypto.randomUUID()
  const steps: Array<Wire.StepRecord> = []
  for (let seq = 1; steps.length < 30_000; seq++) {
    if (seq % 10 === 1) steps.push(step(big, 100 + seq, "stripe.charge", { leashId: yield* leash(big, "stripe.charge", "approved") }))
    else if (seq % 10 === 2) steps.push(step(big, 100 + seq, "stripe.charge"))
    else steps.push(step(big, 100 + seq, seq % 10 === 5 ? "email.send" : "search"))
  }
  let start = performance.now()
  yield* load(steps)
  console.log(`loaded a 30,000-step trail in 500-step batches: ${((performance.now() - start) / 1000).toFixed(2)} s`)
  const last = steps.at(-1)!.seq
  yield* time("extend: 1 step after the last one (charge, reused approval)", (i) => step(big, last + 1 + i, "stripe.charge"))
  yield* time("extend: 1 step after the last one (search)", (i) => step(big, last + 1000 + i, "search"))
  yield* time("before: 1 charge before every step (unleashed)", (i) => step(big, 1 + i, "stripe.charge"))
  yield* time("before: 1 search in the middle of the trail", (i) => step(big, 15_000 + i * 10 + 3, "search"))

  // a 14,000-step parent chain with 14,000 review steps under it
  const deep = Crypto.randomUUID()
  const held = yield* leash(deep, "stripe.charge", "rejected")
  const chain: Array<Wire.StepRecord> = []
  let parent: string | null = null
  for (let seq = 1; seq <= 14_000; seq++) {
    const s = step(deep, seq, "stripe.charge", { parent })
    chain.push(s)
    parent = s.id
  }
  for (let i = 1; i <= 14_000; i++) {
    chain.push(step(deep, 14_000 + i, "stripe.charge", { parent, leashId: held, decision: "rejected" }))
  }
  start = performance.now()
  yield* load(chain)
  console.log(`loaded a 14,000-deep chain + 14,000 review steps in 500-step batches: ${((performance.now() - start) / 1000).toFixed(2)} s`)
  const bottom = parent
  yield* time("chain: 1 review step at the bottom of the chain", (i) =>
    step(deep, 30_000 + i, "stripe.charge", { parent: bottom, leashId: held, decision: "rejected" }))
  yield* time("chain: 1 action after them (ignored decision)", (i) => step(deep, 31_000 + i, "stripe.charge"))
  yield* time("chain: 1 action at the bottom of the chain", (i) => step(deep, 32_000 + i, "stripe.charge", { parent: bottom }))
})

runtime.runPromise(program).then(
  () => runtime.dispose().then(() => Fs.rmSync(dir, { recursive: true, force: true })),
  (error) => {
    console.error(error)
    process.exitCode = 1
  }
)
