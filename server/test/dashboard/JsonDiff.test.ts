/**
 * The structural JSON diff the leash page uses to show what a modification changed: the right
 * changes at the right paths, one change for one insertion anywhere in an array, no change for
 * equal documents whatever their key order, any depth without recursion, and work linear in the
 * documents' size (counted, not timed).
 */
import { describe, expect, it } from "@effect/vitest"
import * as JsonDiff from "../../src/dashboard/JsonDiff.js"

/** Applies changes to a copy of `before` (the test's own, naive applier). */
const apply = (before: unknown, changes: ReadonlyArray<JsonDiff.Change>): unknown => {
  if (changes.length === 1 && changes[0]!.path.length === 0 && changes[0]!._tag === "Changed") return changes[0]!.after
  const doc = structuredClone(before) as any
  // Removed indexes are of `before`: take them out last to first, after the changes that use
  // `after`'s indexes are applied to a copy whose arrays still hold them.
  const removals = changes.filter((c) => c._tag === "Removed")
  const rest = changes.filter((c) => c._tag !== "Removed")
  const parentOf = (root: any, path: JsonDiff.Path) => {
    let at = root
    for (const key of path.slice(0, -1)) at = at[key]
    return at
  }
  for (const c of [...removals].reverse()) {
    const parent = parentOf(doc, c.path)
    const key = c.path[c.path.length - 1]!
    if (Array.isArray(parent)) parent.splice(key as number, 1)
    else delete parent[key]
  }
  for (const c of rest) {
    const parent = parentOf(doc, c.path)
    const key = c.path[c.path.length - 1]!
    if (c._tag === "Added" && Array.isArray(parent)) parent.splice(key as number, 0, c.after)
    else parent[key] = (c as { after: unknown }).after
  }
  return doc
}

describe("JsonDiff", () => {
  it("names each change at its path, in the second document's order", () => {
    const before = { customer: "cus_42", amount_usd: 250, memo: "x", items: [{ sku: "a", n: 1 }, { sku: "b", n: 2 }] }
    const after = { customer: "cus_42", amount_usd: 200, items: [{ sku: "a", n: 1 }, { sku: "b", n: 3 }], note: "capped" }
    expect(JsonDiff.diff(before, after).changes).toStrictEqual([
      { _tag: "Changed", path: ["amount_usd"], before: 250, after: 200 },
      { _tag: "Changed", path: ["items", 1, "n"], before: 2, after: 3 },
      { _tag: "Added", path: ["note"], after: "capped" },
      { _tag: "Removed", path: ["memo"], before: "x" }
    ])
  })

  it("equal documents have no change, whatever their key order; a different kind is one change", () => {
    expect(JsonDiff.diff({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 }).changes).toStrictEqual([])
    expect(JsonDiff.diff([1, 2], { 0: 1, 1: 2 }).changes).toStrictEqual([
      { _tag: "Changed", path: [], before: [1, 2], after: { 0: 1, 1: 2 } }
    ])
    expect(JsonDiff.diff(1, "1").changes).toHaveLength(1)
    expect(JsonDiff.diff(null, false).changes).toHaveLength(1)
  })

  it("one element inserted or removed anywhere in an array is one change, not a shift of every later one", () => {
    const long = Array.from({ length: 1000 }, (_, i) => ({ id: i }))
    const inserted = [...long.slice(0, 500), { id: "new" }, ...long.slice(500)]
    expect(JsonDiff.diff(long, inserted).changes).toStrictEqual([{ _tag: "Added", path: [500], after: { id: "new" } }])
    const removed = [...long.slice(0, 10), ...long.slice(11)]
    expect(JsonDiff.diff(long, removed).changes).toStrictEqual([{ _tag: "Removed", path: [10], before: { id: 10 } }])
  })

  it("the changes turn the first document into the second (random documents)", () => {
    let seed = 11
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
    const value = (depth: number): unknown => {
      const r = random()
      if (depth > 3 || r < 0.3) return [1, "a", true, null, 2.5][Math.floor(random() * 5)]
      if (r < 0.65) return Array.from({ length: Math.floor(random() * 5) }, () => value(depth + 1))
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [`k${Math.floor(random() * 6)}`, value(depth + 1)]))
    }
    const mutate = (v: unknown): unknown => {
      if (random() < 0.2) return value(2)
      if (Array.isArray(v)) {
        const out = v.map(mutate)
        if (random() < 0.3) out.splice(Math.floor(random() * (out.length + 1)), 0, value(3))
        if (random() < 0.3 && out.length > 0) out.splice(Math.floor(random() * out.length), 1)
        return out
      }
      if (v !== null && typeof v === "object") {
        const out: Record<string, unknown> = {}
        for (const [k, x] of Object.entries(v)) if (random() > 0.2) out[k] = mutate(x)
        if (random() < 0.3) out[`n${Math.floor(random() * 3)}`] = value(3)
        return out
      }
      return v
    }
    for (let round = 0; round < 500; round++) {
      const before = value(0)
      const after = mutate(before)
      const { changes } = JsonDiff.diff(before, after)
      expect(apply(before, changes), JSON.stringify({ before, after, changes })).toStrictEqual(after)
    }
  })

  it("works linearly in the documents' size: the work done stays within a constant times the values read", () => {
    const count = (root: unknown): number => {
      let n = 0
      const stack = [root]
      while (stack.length > 0) {
        const v = stack.pop()
        n++
        if (v !== null && typeof v === "object") stack.push(...Object.values(v))
      }
      return n
    }
    const cases: Array<[unknown, unknown]> = []
    for (const n of [100, 1_000, 10_000, 100_000]) {
      // Deep nesting whose every level differs slightly (the worst case of a naive deep-equal).
      let deepA: unknown = 0
      let deepB: unknown = 1
      for (let i = 0; i < n; i++) {
        deepA = [i, deepA, "x"]
        deepB = [i, deepB, "x"]
      }
      cases.push([deepA, deepB])
      // Wide arrays of objects, every one of them changed; and wholly different arrays.
      cases.push([Array.from({ length: n }, (_, i) => ({ i, v: "a" })), Array.from({ length: n }, (_, i) => ({ i, v: "b" }))])
      cases.push([Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => -i - 1)])
    }
    for (const [a, b] of cases) {
      const size = count(a) + count(b)
      const { work } = JsonDiff.diff(a, b)
      expect(work).toBeLessThanOrEqual(4 * size)
    }
  })

  it("documents nested 100,000 deep diff without overflowing the stack", () => {
    let a: unknown = "end"
    let b: unknown = "END"
    for (let i = 0; i < 100_000; i++) {
      a = { next: a }
      b = { next: b }
    }
    const { changes } = JsonDiff.diff(a, b)
    expect(changes).toHaveLength(1)
    expect(changes[0]!.path).toHaveLength(100_000)
  })

  it("formats paths as a reader writes them", () => {
    expect(JsonDiff.formatPath([])).toBe("(the whole payload)")
    expect(JsonDiff.formatPath(["items", 2, "sku"])).toBe("items[2].sku")
    expect(JsonDiff.formatPath(["odd key", 0])).toBe(`["odd key"][0]`)
    expect(JsonDiff.formatPath([0, "a"])).toBe("[0].a")
  })
})
