/**
 * The rules file: the sensitive-action list (used by the bypass audit), the floor rules the
 * server runs when a leash is created, and the approval rules (two-person approval) it runs
 * after them. One schema, shared by the server and the SDK's audit.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { oneOf } from "./Common.js"

/**
 * An action pattern: an exact name, or `prefix.*` for every name starting with `prefix.`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ActionPattern = Schema.String.pipe(
  Schema.filter((s) =>
    /^[^*\s]+(\.\*)?$/.test(s) ||
    `expected an action name or "prefix.*", got ${JSON.stringify(s)}`
  )
).annotations({ identifier: "ActionPattern" })

/**
 * The comparison operators of a condition.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Operator = Schema.Literal(">", ">=", "<", "<=", "==", "!=", "contains", "in").annotations({
  identifier: "Operator",
  message: oneOf([">", ">=", "<", "<=", "==", "!=", "contains", "in"])
})

/**
 * @since 0.1.0
 * @category models
 */
export type Operator = typeof Operator.Type

const Scalar = Schema.Union(Schema.String, Schema.Number, Schema.Boolean)

/**
 * One condition on a risk signal (named in snake_case, as it is on the wire).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Condition = Schema.Struct({
  signal: Schema.String.pipe(Schema.minLength(1)),
  op: Operator,
  value: Schema.Union(Scalar, Schema.Array(Scalar))
}).pipe(
  Schema.filter((c) => {
    if (c.op === "in") return Array.isArray(c.value) || { path: ["value"], message: "`in` needs a list value" }
    if (Array.isArray(c.value)) return { path: ["value"], message: `\`${c.op}\` needs a single value, not a list` }
    if ([">", ">=", "<", "<="].includes(c.op) && typeof c.value !== "number") {
      return { path: ["value"], message: `\`${c.op}\` needs a number` }
    }
    return true
  })
).annotations({ identifier: "Condition" })

/**
 * @since 0.1.0
 * @category models
 */
export type Condition = typeof Condition.Type

/**
 * A floor rule: when every condition holds for an action matching `action`, the leash is
 * `blocked` at once with `reason`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const FloorRule = Schema.Struct({
  action: ActionPattern,
  reason: Schema.String.pipe(Schema.minLength(1)),
  when: Schema.Array(Condition)
}).annotations({ identifier: "FloorRule" })

/**
 * @since 0.1.0
 * @category models
 */
export type FloorRule = typeof FloorRule.Type

/**
 * The fewest approvals an approval rule may ask for (one approval is what every leash needs).
 *
 * @since 0.2.0
 * @category constants
 */
export const minApprovals = 2

/**
 * The most approvals an approval rule may ask for: more distinct reviewers than a team can muster
 * before a leash expires would only turn the rule into a slow block.
 *
 * @since 0.2.0
 * @category constants
 */
export const maxApprovals = 5

/**
 * An approval rule (additive): when every condition holds for an action matching `action`, the
 * leash needs `approvals` distinct reviewers (2 to 5) to approve it before it is approved. Any
 * rejection rejects; a modification counts as the modifier's approval of the new payload and
 * restarts the count. `when` may be left out: then every matching action needs them. Floor rules
 * run first: a block wins.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ApprovalRule = Schema.Struct({
  action: ActionPattern,
  approvals: Schema.Number.pipe(
    Schema.filter((n) =>
      (Number.isInteger(n) && n >= minApprovals && n <= maxApprovals) ||
      `expected a whole number of distinct reviewers from ${minApprovals} to ${maxApprovals}, got ${n} ` +
        `(one approval is the default for every leash; leave the action out of "approvals" for that)`
    )
  ),
  when: Schema.optionalWith(Schema.Array(Condition), { default: () => [], exact: true })
}).annotations({ identifier: "ApprovalRule" })

/**
 * @since 0.2.0
 * @category models
 */
export type ApprovalRule = typeof ApprovalRule.Type

/**
 * The whole rules file. Unknown keys are refused at every level, so a typo cannot silently
 * drop a rule.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RulesFile = Schema.Struct({
  sensitive: Schema.optionalWith(Schema.Array(ActionPattern), { default: () => [], exact: true }),
  rules: Schema.optionalWith(Schema.Array(FloorRule), { default: () => [], exact: true }),
  /** v0.2, additive: the approval rules. Absent: every leash needs one approval. */
  approvals: Schema.optionalWith(Schema.Array(ApprovalRule), { exact: true })
}).annotations({
  identifier: "RulesFile",
  // A misspelt key ("rule", "condition") would otherwise be dropped in silence and leave an
  // action unguarded: refuse unknown keys anywhere in the file.
  parseOptions: { onExcessProperty: "error" }
})

/**
 * @since 0.1.0
 * @category models
 */
export type RulesFile = typeof RulesFile.Type

/**
 * Whether an action name matches a pattern (`stripe.*` matches `stripe.charge`, not `stripe`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const matches = (pattern: string, actionName: string): boolean =>
  pattern.endsWith(".*") ? actionName.startsWith(pattern.slice(0, -1)) : pattern === actionName

const compare = (signal: unknown, op: Operator, value: unknown): boolean => {
  if (signal === undefined || signal === null) return false
  switch (op) {
    case ">":
      return typeof signal === "number" && signal > (value as number)
    case ">=":
      return typeof signal === "number" && signal >= (value as number)
    case "<":
      return typeof signal === "number" && signal < (value as number)
    case "<=":
      return typeof signal === "number" && signal <= (value as number)
    case "==":
      return signal === value
    case "!=":
      return signal !== value
    case "contains":
      return Array.isArray(signal) && signal.includes(value)
    case "in":
      return Array.isArray(value) && value.includes(signal)
  }
}

/**
 * The first floor rule that fires for an action and its (snake_case) risk signals, if any.
 * A signal that is missing never satisfies a condition.
 *
 * @since 0.1.0
 * @category evaluation
 */
export const firstFiring = (
  rules: RulesFile,
  actionName: string,
  signals: Readonly<Record<string, unknown>>
): FloorRule | undefined =>
  rules.rules.find((rule) => matches(rule.action, actionName) && holds(rule.when, signals))

const holds = (when: ReadonlyArray<Condition>, signals: Readonly<Record<string, unknown>>): boolean =>
  when.every((c) => Object.hasOwn(signals, c.signal) && compare(signals[c.signal], c.op, c.value))

/**
 * How many distinct reviewers must approve an action with these (snake_case) risk signals: the
 * largest `approvals` of the approval rules that fire, or `undefined` when none fires (one
 * approval, as ever). Run after the floor rules: a leash a floor rule blocks needs no approval.
 *
 * @since 0.2.0
 * @category evaluation
 */
export const approvalsRequired = (
  rules: RulesFile,
  actionName: string,
  signals: Readonly<Record<string, unknown>>
): number | undefined => {
  let required: number | undefined
  for (const rule of rules.approvals ?? []) {
    if (matches(rule.action, actionName) && holds(rule.when, signals)) {
      required = Math.max(required ?? 0, rule.approvals)
    }
  }
  return required
}

/**
 * Whether an action is on the sensitive list.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSensitive = (rules: RulesFile, actionName: string): boolean =>
  rules.sensitive.some((p) => matches(p, actionName))
