/**
 * What changed between two JSON documents (a leash's payload and the reviewer's modification),
 * as a list of changes with their paths, in time linear in the documents' size.
 *
 * Every value of both documents first gets a number that is equal exactly when the values are
 * equal (hash-consing: a value's number is found from its kind, its text or its children's
 * numbers, so each value is read once). The walk then pairs the two documents from the top:
 * equal numbers end a branch at once; objects pair their members by key; arrays set aside their
 * common first and last elements and pair the rest by position, so one element inserted or
 * removed anywhere is one change, not a shift of every later one. Each value is paired at most
 * once, so the whole diff reads each value a bounded number of times. Both walks use explicit
 * stacks: no nesting depth can overflow the call stack.
 *
 * Hand-written rather than a library: the diff libraries on npm either compare arrays with a
 * longest-common-subsequence search (`jsondiffpatch`: quadratic in an array's length) or by
 * position only and recursively (`microdiff`, `fast-json-patch`'s `compare`: one insertion shows
 * every later element changed, and deep documents overflow the stack).
 *
 * **Example**
 *
 * ```ts
 * import * as JsonDiff from "./JsonDiff.js"
 *
 * JsonDiff.diff({ amount_usd: 250, items: ["a", "b"] }, { amount_usd: 200, items: ["a", "x", "b"] }).changes
 * // [ { _tag: "Changed", path: ["amount_usd"], before: 250, after: 200 },
 * //   { _tag: "Added", path: ["items", 1], after: "x" } ]
 * ```
 *
 * @since 0.1.0
 */

/**
 * Where a change is: object keys and array indexes from the top of the document (`[]` is the
 * whole document). A removed element's index is its place in the first document; every other
 * index is its place in the second.
 *
 * @since 0.1.0
 * @category models
 */
export type Path = ReadonlyArray<string | number>

/**
 * One change: a value added, removed, or replaced by another.
 *
 * @since 0.1.0
 * @category models
 */
export type Change =
  | { readonly _tag: "Added"; readonly path: Path; readonly after: unknown }
  | { readonly _tag: "Removed"; readonly path: Path; readonly before: unknown }
  | { readonly _tag: "Changed"; readonly path: Path; readonly before: unknown; readonly after: unknown }

/**
 * The changes, in the order of the second document (removed members after the kept ones of
 * their object), and `work`: how many values the diff read, at most a small multiple of the
 * two documents' values (the tests check the bound).
 *
 * @since 0.1.0
 * @category models
 */
export interface Diff {
  readonly changes: ReadonlyArray<Change>
  readonly work: number
}

type Container = ReadonlyArray<unknown> | Readonly<Record<string, unknown>>

const isContainer = (value: unknown): value is Container => value !== null && typeof value === "object"

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

/** Numbers values so that two values have the same number exactly when they are equal JSON. */
class Interner {
  readonly byKey = new Map<string, number>()
  readonly byContainer = new Map<Container, number>()
  work = 0

  private number(key: string): number {
    let n = this.byKey.get(key)
    if (n === undefined) {
      n = this.byKey.size
      this.byKey.set(key, n)
    }
    return n
  }

  private leaf(value: unknown): number {
    this.work++
    switch (typeof value) {
      case "string":
        return this.number(`s${value}`)
      case "number":
        return this.number(`n${Object.is(value, -0) ? "0" : String(value)}`)
      case "boolean":
        return this.number(value ? "t" : "f")
      default:
        // null, and what JSON cannot hold (undefined, functions): shown as they are, equal by kind.
        return this.number(value === null ? "z" : `u${typeof value}`)
    }
  }

  /** The number of a value (its containers numbered bottom-up, without recursion). */
  of(value: unknown): number {
    if (!isContainer(value)) return this.leaf(value)
    const known = this.byContainer.get(value)
    if (known !== undefined) return known
    const stack: Array<{ readonly value: Container; expanded: boolean }> = [{ value, expanded: false }]
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!
      const children: ReadonlyArray<unknown> = Array.isArray(top.value)
        ? top.value
        : Object.values(top.value)
      if (!top.expanded) {
        top.expanded = true
        for (const child of children) {
          if (isContainer(child) && !this.byContainer.has(child)) stack.push({ value: child, expanded: false })
        }
        continue
      }
      stack.pop()
      if (this.byContainer.has(top.value)) continue
      this.work++
      let key: string
      if (Array.isArray(top.value)) {
        key = "a"
        for (const child of top.value as ReadonlyArray<unknown>) key += `${this.childNumber(child)},`
      } else {
        // Key order counts here (it keeps this linear); the walk pairs members by key, so two
        // objects that differ only in key order still show no change.
        key = "o"
        for (const k of Object.keys(top.value)) {
          key += `${JSON.stringify(k)}:${this.childNumber((top.value as Record<string, unknown>)[k])},`
        }
      }
      this.byContainer.set(top.value, this.number(key))
    }
    return this.byContainer.get(value)!
  }

  private childNumber(child: unknown): number {
    return isContainer(child) ? this.byContainer.get(child)! : this.leaf(child)
  }
}

/** A path as a linked list (shared by siblings), made into an array only for a change. */
interface Place {
  readonly parent: Place | undefined
  readonly key: string | number
}

const toPath = (place: Place | undefined): Path => {
  const out: Array<string | number> = []
  for (let p = place; p !== undefined; p = p.parent) out.push(p.key)
  return out.reverse()
}

type Task =
  | { readonly _tag: "Pair"; readonly before: unknown; readonly after: unknown; readonly place: Place | undefined }
  | { readonly _tag: "Added"; readonly after: unknown; readonly place: Place }
  | { readonly _tag: "Removed"; readonly before: unknown; readonly place: Place }

/**
 * The changes that turn `before` into `after`.
 *
 * @since 0.1.0
 * @category diffing
 */
export const diff = (before: unknown, after: unknown): Diff => {
  const ids = new Interner()
  const id = (value: unknown) => ids.of(value)
  id(before)
  id(after)
  let work = 0
  const changes: Array<Change> = []
  const stack: Array<Task> = [{ _tag: "Pair", before, after, place: undefined }]
  while (stack.length > 0) {
    const task = stack.pop()!
    work++
    if (task._tag === "Added") {
      changes.push({ _tag: "Added", path: toPath(task.place), after: task.after })
      continue
    }
    if (task._tag === "Removed") {
      changes.push({ _tag: "Removed", path: toPath(task.place), before: task.before })
      continue
    }
    const { after: b, before: a, place } = task
    if (id(a) === id(b)) continue
    // Children in document order: pushed last to first, so the first is taken first.
    const next: Array<Task> = []
    if (Array.isArray(a) && Array.isArray(b)) {
      const la = a.length
      const lb = b.length
      let start = 0
      while (start < la && start < lb && id(a[start]) === id(b[start])) start++
      let end = 0
      while (end < la - start && end < lb - start && id(a[la - 1 - end]) === id(b[lb - 1 - end])) end++
      const ma = la - start - end
      const mb = lb - start - end
      const paired = Math.min(ma, mb)
      for (let i = 0; i < paired; i++) {
        next.push({ _tag: "Pair", before: a[start + i], after: b[start + i], place: { parent: place, key: start + i } })
      }
      for (let i = paired; i < mb; i++) next.push({ _tag: "Added", after: b[start + i], place: { parent: place, key: start + i } })
      for (let i = paired; i < ma; i++) {
        next.push({ _tag: "Removed", before: a[start + i], place: { parent: place, key: start + i } })
      }
      work += start + end
    } else if (isContainer(a) && isContainer(b) && !Array.isArray(a) && !Array.isArray(b)) {
      const ra = a as Readonly<Record<string, unknown>>
      const rb = b as Readonly<Record<string, unknown>>
      for (const key of Object.keys(rb)) {
        next.push(
          hasOwn(ra, key)
            ? { _tag: "Pair", before: ra[key], after: rb[key], place: { parent: place, key } }
            : { _tag: "Added", after: rb[key], place: { parent: place, key } }
        )
      }
      for (const key of Object.keys(ra)) {
        if (!hasOwn(rb, key)) next.push({ _tag: "Removed", before: ra[key], place: { parent: place, key } })
      }
    } else {
      changes.push({ _tag: "Changed", path: toPath(place), before: a, after: b })
      continue
    }
    for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]!)
  }
  return { changes, work: work + ids.work }
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/**
 * A path as a reader writes it: `items[2].sku`, `["odd key"]`, and `(the whole payload)` for
 * the top.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatPath = (path: Path): string => {
  if (path.length === 0) return "(the whole payload)"
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else if (identifier.test(key)) out += out === "" ? key : `.${key}`
    else out += `[${JSON.stringify(key)}]`
  }
  return out
}
