/**
 * The seven decision values a leash can end with.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { oneOf } from "./Common.js"

/**
 * `approved` and `modified` allow the action; every other value is fail-closed.
 *
 * @since 0.1.0
 * @category schemas
 */
export const DecisionValue = Schema.Literal(
  "approved",
  "modified",
  "rejected",
  "blocked",
  "timeout",
  "error",
  "async"
).annotations({
  identifier: "DecisionValue",
  message: oneOf(["approved", "modified", "rejected", "blocked", "timeout", "error", "async"])
})

/**
 * @since 0.1.0
 * @category models
 */
export type DecisionValue = typeof DecisionValue.Type

/**
 * Whether a decision value allows the action.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isApproving = (value: DecisionValue): boolean => value === "approved" || value === "modified"
