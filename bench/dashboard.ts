/**
 * `npx tsx bench/dashboard.ts`: what the dashboard's own rendering costs, in this process (no
 * server, no database), for the shapes agents can send:
 *
 * 1. **trail page, chain**: the trail page's HTML for a chain of 2,500 nested steps (a recursive
 *    render answered 500 here), and of 10,000;
 * 2. **trail page, wide**: 10,000 steps under random parents, with cycles among them;
 * 3. **modification diff**: `JsonDiff.diff` of two payloads at the 256 KiB limit, one element
 *    changed in each of 2,000 objects; and two arrays of 30,000 numbers that differ everywhere;
 *    with the work it counted against the values in both documents (the bound the tests check).
 *
 * Each figure is the median of 7 runs after 2 warm-ups.
 */
import { Wire } from "houndsight"
import { render } from "../server/src/dashboard/Html.js"
import * as JsonDiff from "../server/src/dashboard/JsonDiff.js"
import * as TrailViews from "../server/src/dashboard/TrailViews.js"

const median = (f: () => void): number => {
  for (let i = 0; i < 2; i++) f()
  const times: Array<number> = []
  for (let i = 0; i < 7; i++) {
    const start = performance.now()
    f()
    times.push(performance.now() - start)
  }
  return times.sort((a, b) => a - b)[3]!
}

const trailId = "0b7c2a9e-5d1f-4c3e-9a8b-7f6e5d4c3b2a"
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`
const step = (seq: number, parentId: string | null): Wire.StepRecord =>
  Wire.StepRecord.make({
    id: id(seq),
    trailId,
    parentId,
    seq,
    name: `step_${seq}`,
    layer: "execute",
    status: seq % 11 === 0 ? "interrupted" : "ok",
    startedAt: new Date(seq * 10),
    endedAt: new Date(seq * 10 + 5),
    input: { n: seq, text: "some input" },
    events: []
  })

const page = (steps: ReadonlyArray<Wire.StepRecord>) => () => {
  render(TrailViews.trailPage({ id: trailId, detail: { trail: null, steps, flags: [] }, facts: new Map() }))
}

const chain = (n: number) => Array.from({ length: n }, (_, i) => step(i + 1, i === 0 ? null : id(i)))
let seed = 3
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
const wide = Array.from({ length: 10_000 }, (_, i) => step(i + 1, i === 0 ? null : id(1 + Math.floor(random() * 10_000))))

const size = (root: unknown): number => {
  let n = 0
  const stack = [root]
  while (stack.length > 0) {
    const v = stack.pop()
    n++
    if (v !== null && typeof v === "object") for (const x of Object.values(v)) stack.push(x)
  }
  return n
}

const before = Array.from({ length: 2_000 }, (_, i) => ({ sku: `sku-${i}`, qty: i % 7, note: "x".repeat(90), price: i * 1.5 }))
const after = before.map((o, i) => ({ ...o, qty: o.qty + (i % 2) }))
const numbersA = Array.from({ length: 30_000 }, (_, i) => i)
const numbersB = numbersA.map((n) => -n - 1)

const row = (what: string, ms: number, extra = "") => console.log(`${what.padEnd(58)} ${ms.toFixed(1).padStart(8)} ms${extra}`)

const html = render(TrailViews.trailPage({ id: trailId, detail: { trail: null, steps: chain(2_500), flags: [] }, facts: new Map() }))
row("trail page, chain of 2,500 nested steps", median(page(chain(2_500))), `  (${(html.length / 1024).toFixed(0)} KiB of HTML)`)
row("trail page, chain of 10,000 nested steps", median(page(chain(10_000))))
row("trail page, 10,000 steps under random parents (cycles)", median(page(wide)))
for (const [name, a, b] of [
  [`diff, ${(JSON.stringify(before).length / 1024).toFixed(0)} KiB payloads, 1,000 of 2,000 objects changed`, before, after],
  ["diff, 30,000 numbers, every one changed", numbersA, numbersB]
] as const) {
  const result = JsonDiff.diff(a, b)
  row(name, median(() => JsonDiff.diff(a, b)), `  (${result.changes.length} changes, work ${result.work} for ${size(a) + size(b)} values)`)
}
