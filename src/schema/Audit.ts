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
 * | `R` approved, but a step named `X` that ended `ok` already used its leash's approval | `reused_approval` |
 * | otherwise (also: a non-sensitive action with no review) | none |
 *
 * One approval allows one successful action per `leash_id`, across every review step citing it
 * (`Leash.await` twice on one leash records two review steps, one approval). A wrapper's review
 * step is looked for up to `wrapperDepth` levels below it; deeper, the step is audited as an
 * action (a flag, never a silenced one).
 *
 * With the server's leash records (the optional third argument; the server's audit passes them,
 * as they stood when each review step arrived), the v1.1 cross-check applies on top: a review
 * step claiming an approval the record does not confirm (no such leash, another trail or action,
 * not decided with that decision) is an `unverified_review` and does not approve; and a review
 * step makes a wrapper only when the server holds its leash for this trail and action.
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
import type { DecisionValue } from "./DecisionValue.js"
import type { Flag } from "./Flag.js"
import { isSensitive } from "./Rules.js"
import type { StepRecord } from "./StepRecord.js"

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

/**
 * The server's record of a leash, as it stood when a review step citing it arrived: the trail
 * and action it was created for, and its decision (`undefined`: still pending then).
 *
 * @since 0.1.0
 * @category models
 */
export interface LeashRecord {
  readonly trailId: string
  readonly actionName: string
  readonly decision: DecisionValue | undefined
}

/**
 * The server's leash records for the cross-check: for a review step, the record of the leash it
 * cites as it stood when that step arrived (`undefined`: the server held no such leash). A map
 * by leash id is one snapshot for every review step.
 *
 * @since 0.1.0
 * @category models
 */
export type LeashRecords = ReadonlyMap<string, LeashRecord> | ((review: AuditStep) => LeashRecord | undefined)

/**
 * How many levels below a step its wrapper's review step is looked for (a bound on the work one
 * review step costs, whatever the shape of the trail).
 *
 * @since 0.1.0
 * @category constants
 */
export const wrapperDepth = 64

/**
 * Whether a review step claims an approving decision (`approved` or `modified`).
 *
 * @since 0.1.0
 * @category audit
 */
export const claimsApproval = (step: AuditStep): boolean => step.layer === "review" && step.leash?.approved === true

/**
 * Whether the server holds the leash a review step cites for this trail and this action name
 * (only then does the review step make a wrapper of a step above it).
 *
 * @since 0.1.0
 * @category audit
 */
export const holds = (step: AuditStep, record: LeashRecord | undefined): boolean =>
  step.leash !== undefined && record !== undefined && record.trailId === step.trailId &&
  record.actionName === step.name

/**
 * Whether the server's record confirms a review step's claimed approval: the leash exists,
 * belongs to this trail and action, and was decided with the claimed decision when the step
 * arrived.
 *
 * @since 0.1.0
 * @category audit
 */
export const confirms = (step: AuditStep, record: LeashRecord | undefined): boolean =>
  claimsApproval(step) && holds(step, record) && step.leash!.actionName === step.name &&
  record!.decision === step.leash!.decision

/**
 * Steps in audit order: by `seq`, then by id (so steps sharing a `seq` have one order too).
 *
 * @since 0.1.0
 * @category audit
 */
export const order = (a: AuditStep, b: AuditStep): number =>
  a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * The audit of one trail: its flags (in audit order), the steps that are wrappers, and the step
 * that used each approval (by action name and leash id).
 *
 * @since 0.1.0
 * @category models
 */
export interface TrailAudit {
  readonly flags: ReadonlyArray<Flag>
  readonly wrappers: ReadonlySet<string>
  /** `${actionName}\n${leashId}` → the id of the step that used that approval. */
  readonly uses: ReadonlyMap<string, string>
}

/**
 * The key of one approval: an action name and a leash id.
 *
 * @since 0.1.0
 * @category audit
 */
export const approvalKey = (actionName: string, leashId: string): string => `${actionName}\n${leashId}`

const byTrail = <S extends AuditStep>(steps: ReadonlyArray<S>): Map<string, Array<S>> => {
  const out = new Map<string, Array<S>>()
  for (const s of steps) {
    const list = out.get(s.trailId)
    if (list === undefined) out.set(s.trailId, [s])
    else list.push(s)
  }
  return out
}

const recordOf = (records: LeashRecords | undefined, step: AuditStep): LeashRecord | undefined =>
  records === undefined || step.leash === undefined
    ? undefined
    : typeof records === "function"
    ? records(step)
    : records.get(step.leash.leashId)

/**
 * Audits one trail's steps (all of the same trail). `records`: the server's leash records, for
 * the cross-check; without them, review steps are taken at their word.
 *
 * @since 0.1.0
 * @category audit
 */
export const trail = (
  steps: ReadonlyArray<AuditStep>,
  rules: AuditRules,
  records?: LeashRecords
): TrailAudit => {
  const sorted = steps.slice().sort(order)
  const byId = new Map<string, AuditStep>()
  for (const s of sorted) if (!byId.has(s.id)) byId.set(s.id, s)
  const approving = new Set<string>()
  const flags: Array<Flag> = []
  const wrappers = new Set<string>()
  for (const review of sorted) {
    if (review.layer !== "review") continue
    const record = recordOf(records, review)
    if (records === undefined ? claimsApproval(review) : confirms(review, record)) approving.add(review.id)
    if (records !== undefined && !holds(review, record)) continue
    // a wrapper: a step above the review step, named after it, up to `wrapperDepth` levels
    const seen = new Set<string>()
    let parentId = review.parentId
    for (let level = 0; level < wrapperDepth && parentId !== null && !seen.has(parentId); level++) {
      seen.add(parentId)
      const parent = byId.get(parentId)
      if (parent === undefined) break
      if (parent.name === review.name && parent.layer !== "review") wrappers.add(parent.id)
      parentId = parent.parentId
    }
  }
  const latestReview = new Map<string, AuditStep>()
  const uses = new Map<string, string>()
  const sensitive = { sensitive: rules.sensitive, rules: [] }
  for (const step of sorted) {
    const base = { trailId: step.trailId, stepId: step.id, seq: step.seq, actionName: step.name }
    if (step.layer === "review") {
      latestReview.set(step.name, step)
      if (records !== undefined && claimsApproval(step) && !approving.has(step.id)) {
        flags.push({ kind: "unverified_review", ...base })
      }
      continue
    }
    if (wrappers.has(step.id)) continue
    const review = latestReview.get(step.name)
    if (review === undefined) {
      if (isSensitive(sensitive, step.name)) flags.push({ kind: "unleashed_action", ...base })
      continue
    }
    if (!approving.has(review.id)) {
      flags.push({ kind: "ignored_decision", ...base, reviewStepId: review.id })
      continue
    }
    const key = approvalKey(step.name, review.leash!.leashId)
    if (uses.has(key)) {
      flags.push({ kind: "reused_approval", ...base, reviewStepId: review.id })
      continue
    }
    // one approval, one successful action: a failed attempt does not use it
    if (step.status === "ok") uses.set(key, step.id)
  }
  return { flags, wrappers, uses }
}

/**
 * The bypass flags of steps, computed per trail over each trail's steps in `seq` order. Flags
 * come grouped by trail (in the order each trail first appears), each trail's in `seq` order.
 * Pure: no I/O, and a trail's flags do not depend on the order its steps arrived in. Pass the
 * rules file (`Wire.Rules.RulesFile`) or just `{ sensitive }`, and optionally the server's leash
 * records (the server's audit does; see `LeashRecords`).
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
export const flags = (
  steps: ReadonlyArray<AuditStep>,
  rules: AuditRules,
  records?: LeashRecords
): ReadonlyArray<Flag> => {
  const out: Array<Flag> = []
  for (const trailSteps of byTrail(steps).values()) out.push(...trail(trailSteps, rules, records).flags)
  return out
}
