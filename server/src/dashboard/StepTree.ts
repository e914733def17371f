/**
 * A trail's steps in the order the trail page shows them: each under its parent, siblings in
 * `seq` order, whatever shape the agent's records make. Steps are agent input, so the shape may
 * be anything: a chain thousands deep, or parents that form a cycle (an agent bug, or a forged
 * record). Everything is done with loops and explicit stacks (never recursion), every step is
 * shown exactly once, and a row says what is odd about its place:
 *
 * - a step whose parent has not arrived is shown at the top level (`missingParent`); so is one
 *   whose parent is on another page of the steps, its depth counted from the parent's (`above`);
 * - steps whose parents form a cycle are reached from no top-level step: the first of them in
 *   `seq` order is shown at the top level, marked `cycle` (with the step its parent chain leads
 *   back to), and the rest of the cycle under it;
 * - past `maxShownDepth` levels the page stops indenting: deeper steps are shown at that level,
 *   each with its real depth, and the first of a run says the nesting is cut there.
 *
 * @since 0.1.0
 */
import type * as Wire from "houndsight/wire"

/**
 * How many levels the page indents before it shows deeper steps flat.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxShownDepth = 12

/**
 * One step as the page shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Row {
  readonly step: Wire.StepRecord
  /** How deep the step really is (0: top level), counting the ancestors on other pages. */
  readonly depth: number
  /** How far the page indents it: `min(depth on this page, maxShownDepth)`. */
  readonly shownDepth: number
  /** The first row of a run deeper than `maxShownDepth`: the indentation is cut here. */
  readonly cutHere: boolean
  /** Shown at the top level because its parent has not arrived (the parent's id). */
  readonly missingParent: string | undefined
  /**
   * Shown at the top level because its parents form a cycle: the step that its parent chain
   * leads back to (itself when a step is its own parent).
   */
  readonly cycle: Wire.StepRecord | undefined
}

interface Node {
  readonly step: Wire.StepRecord
  readonly children: Array<Node>
  placed: boolean
}

const bySeq = (a: Wire.StepRecord, b: Wire.StepRecord): number => a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * The rows of the page, in the order they are shown (a depth-first walk: a step, then its
 * children in `seq` order); each step exactly once.
 *
 * @since 0.1.0
 * @category layout
 */
export const layout = (
  steps: ReadonlyArray<Wire.StepRecord>,
  maxDepth: number = maxShownDepth,
  above: ReadonlyMap<string, number> = new Map()
): ReadonlyArray<Row> => {
  const sorted = [...steps].sort(bySeq)
  const nodes = new Map<string, Node>()
  for (const step of sorted) if (!nodes.has(step.id)) nodes.set(step.id, { step, children: [], placed: false })
  const tops: Array<{ readonly node: Node; readonly missingParent: string | undefined }> = []
  for (const node of nodes.values()) {
    const parentId = node.step.parentId
    const parent = parentId === null ? undefined : nodes.get(parentId)
    if (parent === undefined) tops.push({ node, missingParent: parentId ?? undefined })
    else if (parent !== node) parent.children.push(node)
  }
  const rows: Array<Row> = []
  const walk = (top: Node, missingParent: string | undefined, cycle: Wire.StepRecord | undefined) => {
    // A parent on another page of the steps: its depth there counts, the indentation starts here.
    const parentDepth = missingParent === undefined ? undefined : above.get(missingParent)
    const base = parentDepth === undefined ? 0 : parentDepth + 1
    const stack: Array<{ readonly node: Node; readonly depth: number }> = [{ node: top, depth: 0 }]
    let previousDepth = -1
    while (stack.length > 0) {
      const { depth, node } = stack.pop()!
      if (node.placed) continue // the edge that closes a cycle
      node.placed = true
      const shownDepth = Math.min(depth, maxDepth)
      rows.push({
        step: node.step,
        depth: base + depth,
        shownDepth,
        cutHere: depth > maxDepth && previousDepth <= maxDepth,
        missingParent: depth === 0 ? missingParent : undefined,
        cycle: depth === 0 ? cycle : undefined
      })
      previousDepth = depth
      for (let i = node.children.length - 1; i >= 0; i--) {
        const child = node.children[i]!
        if (!child.placed) stack.push({ node: child, depth: depth + 1 })
      }
    }
  }
  for (const { missingParent, node } of tops) walk(node, missingParent, undefined)
  // What is left hangs off a cycle: start each cycle at its first step in seq order.
  for (const node of nodes.values()) {
    if (node.placed) continue
    // Follow the parents until a step repeats: that step is on the cycle.
    const seen = new Set<Node>()
    let on: Node = node
    while (!seen.has(on)) {
      seen.add(on)
      on = nodes.get(on.step.parentId!)!
    }
    let first = on
    for (let p = nodes.get(on.step.parentId!)!; p !== on; p = nodes.get(p.step.parentId!)!) {
      if (bySeq(p.step, first.step) < 0) first = p
    }
    // Its parent is the cycle's last step; shown under it, the chain would lead back here.
    walk(first, undefined, nodes.get(first.step.parentId!)!.step)
  }
  return rows
}
