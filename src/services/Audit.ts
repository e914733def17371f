/**
 * The bypass audit (DESIGN.md section 6): a pure function over a trail's steps and the rules
 * file that flags every action that skipped or ignored the gate. The server computes the same
 * flags; the SDK exposes them so you can assert in CI that your agent never bypasses the gate.
 *
 * Steps are taken in `seq` order, never arrival order. A step that contains a review step for
 * its own name (a collar named `X` that leashes its own action) is a *wrapper*: never flagged,
 * uses no approval. For every other non-review step `S` named `X`, with `R` the latest review
 * step for `X` before it:
 *
 * | case | flag |
 * |---|---|
 * | no `R`, and `X` is on the sensitive list | `unleashed_action` |
 * | `R` did not approve | `ignored_decision` |
 * | `R` approved, but an earlier step named `X` that ended `ok` already used it | `reused_approval` |
 * | otherwise (also: a non-sensitive action with no review) | none |
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Audit, Wire } from "houndsight"
 * import { HoundsightTest } from "houndsight/test"
 *
 * const rules = Wire.Rules.RulesFile.make({ sensitive: ["stripe.*"], rules: [] })
 *
 * const check = Effect.gen(function*() {
 *   const steps = yield* HoundsightTest.steps
 *   return Audit.flags(steps, rules) // [] when nothing bypassed the gate
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Flag } from "../schema/Flag.js"
import { isSensitive } from "../schema/Rules.js"
import type { StepRecord } from "../schema/StepRecord.js"

/**
 * The part of a step the audit reads.
 *
 * @since 0.1.0
 * @category models
 */
export type AuditStep = Pick<StepRecord, "id" | "trailId" | "parentId" | "seq" | "name" | "layer" | "status" | "leash">

/**
 * The part of the rules file the audit reads: the sensitive list.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuditRules {
  readonly sensitive: ReadonlyArray<string>
}

const byTrail = <S extends AuditStep>(steps: ReadonlyArray<S>): Map<string, Array<S>> => {
  const out = new Map<string, Array<S>>()
  for (const s of steps) {
    const list = out.get(s.trailId)
    if (list === undefined) out.set(s.trailId, [s])
    else list.push(s)
  }
  return out
}

/** Ids of the steps that contain a review step for their own name. */
const wrappers = (steps: ReadonlyArray<AuditStep>): Set<string> => {
  const byId = new Map<string, AuditStep>()
  for (const s of steps) byId.set(s.id, s)
  const out = new Set<string>()
  for (const review of steps) {
    if (review.layer !== "review") continue
    const seen = new Set<string>()
    let parentId = review.parentId
    while (parentId !== null && !seen.has(parentId)) {
      seen.add(parentId)
      const parent = byId.get(parentId)
      if (parent === undefined) break
      if (parent.name === review.name && parent.layer !== "review") out.add(parent.id)
      parentId = parent.parentId
    }
  }
  return out
}

const approves = (review: AuditStep): boolean => review.leash?.approved === true

const flagsOfTrail = (steps: ReadonlyArray<AuditStep>, rules: AuditRules): Array<Flag> => {
  const sorted = steps.slice().sort((a, b) => a.seq - b.seq)
  const wrapping = wrappers(sorted)
  const latestReview = new Map<string, AuditStep>()
  const used = new Set<string>()
  const flags: Array<Flag> = []
  for (const step of sorted) {
    if (step.layer === "review") {
      latestReview.set(step.name, step)
      continue
    }
    if (wrapping.has(step.id)) continue
    const review = latestReview.get(step.name)
    const base = { trailId: step.trailId, stepId: step.id, seq: step.seq, actionName: step.name }
    if (review === undefined) {
      if (isSensitive({ sensitive: rules.sensitive, rules: [] }, step.name)) {
        flags.push({ kind: "unleashed_action", ...base })
      }
      continue
    }
    if (!approves(review)) {
      flags.push({ kind: "ignored_decision", ...base, reviewStepId: review.id })
      continue
    }
    if (used.has(review.id)) {
      flags.push({ kind: "reused_approval", ...base, reviewStepId: review.id })
      continue
    }
    // one approval, one successful action: a failed attempt does not use it
    if (step.status === "ok") used.add(review.id)
  }
  return flags
}

/**
 * The bypass flags of steps, computed per trail over each trail's steps in `seq` order. Flags
 * come grouped by trail (in the order each trail first appears), each trail's in `seq` order.
 * Pure: no I/O, and a trail's flags do not depend on the order its steps arrived in. Pass the
 * rules file (`Wire.Rules.RulesFile`) or just `{ sensitive }`.
 *
 * @example
 * ```ts
 * import { Audit } from "houndsight"
 *
 * declare const steps: ReadonlyArray<Audit.AuditStep>
 * const flags = Audit.flags(steps, { sensitive: ["stripe.*", "email.send"] })
 * ```
 *
 * @since 0.1.0
 * @category audit
 */
export const flags = (steps: ReadonlyArray<AuditStep>, rules: AuditRules): ReadonlyArray<Flag> => {
  const out: Array<Flag> = []
  for (const trailSteps of byTrail(steps).values()) out.push(...flagsOfTrail(trailSteps, rules))
  return out
}
