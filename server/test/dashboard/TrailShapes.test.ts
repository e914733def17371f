/**
 * A trail's page renders whatever shape the agent's steps make (issue 12, point 6): a chain
 * 2,500 deep answers 200 on each page of its steps, every step shown once, the nesting cut with
 * a visible marker and each step's real depth counted across pages;
 * steps whose parents form a cycle (or a step that is its own parent) are shown, and marked.
 * Also the layout itself: every step exactly once, whatever the arrival order.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Wire from "houndsight/wire"
import * as StepTree from "../../src/dashboard/StepTree.js"
import { startServer, stepRecord, trailRecord, uuid } from "../helpers.js"
import { type Page, signIn } from "./helpers.js"

/** How deep `<ol>` elements nest in a page (the indentation the browser has to draw). */
const listDepth = (page: string): number => {
  let depth = 0
  let deepest = 0
  for (const m of page.matchAll(/<(\/?)ol\b/g)) {
    depth += m[1] === "/" ? -1 : 1
    deepest = Math.max(deepest, depth)
  }
  expect(depth, "every <ol> is closed").toBe(0)
  return deepest
}

const stepIds = (page: string): Array<string> => [...page.matchAll(/id="step-([0-9a-f-]{36})"/g)].map((m) => m[1]!)

describe("a trail's page, whatever the shape of its steps", () => {
  it.scopedLive("a chain of 2,500 nested steps answers 200 on every page of its steps, shows every step once, and cuts the nesting with a marker", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trail = trailRecord({ status: "ok", ended_at: new Date(Date.UTC(2026, 10, 24, 10)).toISOString() })
      const steps: Array<Wire.StepRecordWire> = []
      let parent: string | null = null
      for (let seq = 1; seq <= 2_500; seq++) {
        const step = stepRecord(trail.id, seq, `nested_${seq}`, { parent_id: parent })
        steps.push(step)
        parent = step.id
      }
      const ingest = yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps } })
      expect(ingest.status).toBe(202)

      // The steps are paged (contract v1.1); every page is laid out on its own.
      const pages: Array<string> = []
      let next: string | undefined = `/trails/${trail.id}`
      while (next !== undefined) {
        const page: Page = yield* tab.get(next)
        expect(page.status).toBe(200)
        pages.push(page.text)
        next = /href="([^"]+)" rel="next"/.exec(page.text)?.[1]?.replaceAll("&amp;", "&")
      }
      expect(pages.length).toBeGreaterThan(1)
      expect(pages.flatMap(stepIds)).toStrictEqual(steps.map((st) => st.id))
      for (const text of pages) {
        expect(listDepth(text)).toBeLessThanOrEqual(StepTree.maxShownDepth + 1)
        expect(text.match(/data-depth-cut/g)?.length).toBe(1)
        expect(text).toContain(`nested deeper than ${StepTree.maxShownDepth} levels`)
      }
      // A page's first step has its parent on the page before, not missing.
      expect(pages[1]).toContain("data-parent-elsewhere")
      expect(pages[1]).not.toContain("has not arrived")
      // The deepest step says how deep it really is, counting the steps on earlier pages.
      const last = pages[pages.length - 1]!
      expect(last).toContain(`data-depth="2499"`)
      expect(last).toContain("depth 2,499")
    }))

  it.scopedLive("steps whose parents form a cycle are shown, marked, with the rest of the cycle under the first", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trailId = uuid()
      const ids = [uuid(), uuid(), uuid()]
      // 1 -> 3 -> 2 -> 1 (each names the next as its parent), a child hanging off the cycle, and a
      // step that names itself.
      const a = stepRecord(trailId, 1, "cycle_a", { id: ids[0], parent_id: ids[2] })
      const b = stepRecord(trailId, 2, "cycle_b", { id: ids[1], parent_id: ids[0] })
      const c = stepRecord(trailId, 3, "cycle_c", { id: ids[2], parent_id: ids[1] })
      const hanging = stepRecord(trailId, 4, "hangs_off_the_cycle", { parent_id: ids[1] })
      const selfId = uuid()
      const self = stepRecord(trailId, 5, "its_own_parent", { id: selfId, parent_id: selfId })
      const plain = stepRecord(trailId, 6, "plain_top")
      const ingest = yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [c, hanging, self, a, plain, b] } })
      expect(ingest.status).toBe(202)

      const page = yield* tab.get(`/trails/${trailId}`)
      expect(page.status).toBe(200)
      const text = page.text
      for (const name of ["cycle_a", "cycle_b", "cycle_c", "hangs_off_the_cycle", "its_own_parent", "plain_top"]) {
        expect(text).toContain(`<span class="name">${name}</span>`)
      }
      expect(new Set(stepIds(text)).size).toBe(6)
      // Marked: the first step of the cycle (its parent, step #3, descends from it) and the self-parent.
      expect(text.match(/data-cycle/g)?.length).toBe(2)
      expect(text).toContain(`its parent is <a href="#step-${c.id}">step #3</a>, which descends from it`)
      expect(text).toContain("it names itself as its parent")
      // The cycle is shown as a chain from its first step: a > b > (c, hanging), seq order.
      expect(text).toMatch(
        new RegExp(
          `id="step-${a.id}"[\\s\\S]*<ol class="steps">[\\s\\S]*id="step-${b.id}"[\\s\\S]*<ol class="steps">[\\s\\S]*id="step-${c.id}"[\\s\\S]*id="step-${hanging.id}"`
        )
      )
      listDepth(text)
    }))
})

describe("the step layout", () => {
  const trailId = "0b7c2a9e-5d1f-4c3e-9a8b-7f6e5d4c3b2a"
  const step = (seq: number, parentId: string | null, id = uuid()): Wire.StepRecord =>
    Wire.StepRecord.make({
      id,
      trailId,
      parentId,
      seq,
      name: `s${seq}`,
      layer: "execute",
      status: "ok",
      startedAt: new Date(0),
      endedAt: new Date(1),
      events: []
    })

  it("shows every step exactly once for random parents (trees, orphans, cycles, self-parents), children after their parent", () => {
    let seed = 7
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(random() * 40)
      const ids = Array.from({ length: n }, () => uuid())
      const steps = ids.map((id, i) => {
        const r = random()
        const parent = r < 0.15 ? null : r < 0.25 ? uuid() : ids[Math.floor(random() * n)]!
        return step(i + 1, parent, id)
      })
      const shuffled = [...steps].sort(() => random() - 0.5)
      const rows = StepTree.layout(shuffled, 3)
      expect(rows.map((r) => r.step.id).sort()).toStrictEqual([...ids].sort())
      // A row deeper than 0 follows its parent (somewhere above it, at the depth one less).
      const at = new Map(rows.map((r, i) => [r.step.id, i]))
      for (const [i, row] of rows.entries()) {
        expect(row.shownDepth).toBe(Math.min(row.depth, 3))
        if (row.depth === 0) continue
        const parentIndex = at.get(row.step.parentId!)!
        expect(parentIndex).toBeLessThan(i)
        expect(rows[parentIndex]!.depth).toBe(row.depth - 1)
      }
      // The shown depth never jumps by more than one level (so the lists nest properly).
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.shownDepth).toBeLessThanOrEqual(rows[i - 1]!.shownDepth + 1)
      expect(rows[0]?.shownDepth ?? 0).toBe(0)
    }
  })
})
