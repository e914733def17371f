/**
 * `npx tsx bench/lane.ts`: the cost of compacting records in an exporter lane (`src/internal/lane.ts`),
 * the exporter's own work on every record once it is offered: push, encode into parts (a step) or
 * JSON (a trail), measure, and take it out again as JSON, as a batch is assembled. Prints the
 * median over rounds of nanoseconds a record, for the small step the exporter bench offers
 * (bench/exporter.ts), a step with events, a trail, and a step over the server's record limit
 * (cut to fit since v1.1; the cases within the limit pay one comparison for that).
 *
 *   npx tsx bench/lane.ts                 # 7 rounds of 20,000 records a case
 *   npx tsx bench/lane.ts --rounds 15
 *
 * @since 0.1.0
 */
import { performance } from "node:perf_hooks"
import { STEP, StepParts, TRAIL, type Kind } from "../src/internal/encode.js"
import { Lane } from "../src/internal/lane.js"

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i < 0 ? undefined : args[i + 1]
}
const rounds = Number(flag("rounds") ?? 7)
const perRound = 20_000

const trailId = globalThis.crypto.randomUUID()
const at = new Date("2026-11-24T09:00:00.000Z")

const smallStep = (i: number) => ({
  id: globalThis.crypto.randomUUID(),
  trailId,
  parentId: null,
  seq: i + 1,
  name: "salesforce_query",
  layer: "execute",
  status: "ok",
  startedAt: at,
  endedAt: at,
  input: { quarter: "Q2", i },
  output: { deal_count: 17 },
  events: []
})

const stepWithEvents = (i: number) => ({
  ...smallStep(i),
  events: [
    { name: "retry", at, attributes: { attempt: 1, reason: "429 from upstream" } },
    { name: "cache", at, attributes: { hit: false, key: `q2-${i}` } }
  ]
})

const trail = (i: number) => ({
  id: globalThis.crypto.randomUUID(),
  agent: "sales-pipeline",
  trigger: "cron",
  payload: { quarter: "Q2", i },
  status: "ok",
  startedAt: at,
  endedAt: at,
  events: [],
  tags: { env: "prod" }
})

const big = "x".repeat(100 * 1024)
const overLimit = (i: number) => ({ ...smallStep(i), events: [0, 1, 2].map((n) => ({ name: "chunk", at, attributes: { n, big } })) })

const cases: ReadonlyArray<{ readonly title: string; readonly kind: Kind; readonly make: (i: number) => unknown; readonly n: number }> = [
  { title: "small step (the exporter bench's)", kind: STEP, make: smallStep, n: perRound },
  { title: "step with two events", kind: STEP, make: stepWithEvents, n: perRound },
  { title: "trail with tags", kind: TRAIL, make: trail, n: perRound },
  { title: "step of ~300 KiB (events), cut to fit", kind: STEP, make: overLimit, n: 200 }
]

const parts = new StepParts()
const onInvalid = () => {
  throw new Error("a benchmark record did not encode")
}

const round = (kind: Kind, records: ReadonlyArray<unknown>): number => {
  const lane = new Lane(records.length)
  let bytes = 0
  const start = performance.now()
  for (const r of records) lane.push(r, kind)
  lane.compact(Number.MAX_SAFE_INTEGER, parts, onInvalid)
  while (lane.ready()) {
    bytes += lane.headJson(parts).length
    lane.shift()
  }
  const ns = ((performance.now() - start) * 1e6) / records.length
  if (bytes === 0) throw new Error("nothing encoded")
  return ns
}

const median = (xs: Array<number>): number => {
  const s = xs.slice().sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

for (const c of cases) {
  const records = Array.from({ length: c.n }, (_, i) => c.make(i))
  round(c.kind, records) // warm-up
  const times: Array<number> = []
  for (let r = 0; r < rounds; r++) times.push(round(c.kind, records))
  console.log(`${c.title}: ${median(times).toFixed(0)} ns a record (median of ${rounds}; min ${Math.min(...times).toFixed(0)})`)
}
