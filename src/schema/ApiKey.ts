/**
 * API keys and the role each one grants. Agent keys (`sk-hnd-…`) may ingest records and create,
 * read and cancel leashes; reviewer keys (`rv-hnd-…`) may also decide leashes and read the
 * dashboard lists. The SDK refuses to start with anything but an agent key, so an agent cannot
 * approve its own leash; the server refuses a decision made with an agent key (403).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { oneOf } from "./Common.js"

/**
 * The prefix of every agent key.
 *
 * @since 0.1.0
 * @category constants
 */
export const agentKeyPrefix = "sk-hnd-"

/**
 * The prefix of every reviewer key.
 *
 * @since 0.1.0
 * @category constants
 */
export const reviewerKeyPrefix = "rv-hnd-"

/**
 * Who holds a key: an `agent` or a `reviewer`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const KeyRole = Schema.Literal("agent", "reviewer").annotations({
  identifier: "KeyRole",
  message: oneOf(["agent", "reviewer"])
})

/**
 * @since 0.1.0
 * @category models
 */
export type KeyRole = typeof KeyRole.Type

/**
 * The role a key's prefix claims, or `undefined` for a key that is neither (an empty string, a
 * bare prefix, or another service's key). The prefix says what a key is *for*; whether the key is
 * genuine is for the server to check.
 *
 * **Example**
 *
 * ```ts
 * import { Wire } from "houndsight"
 *
 * Wire.keyRole("sk-hnd-0123") // "agent"
 * Wire.keyRole("rv-hnd-0123") // "reviewer"
 * Wire.keyRole("sk-live-0123") // undefined
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const keyRole = (key: string): KeyRole | undefined => {
  if (key.startsWith(agentKeyPrefix) && key.length > agentKeyPrefix.length) return "agent"
  if (key.startsWith(reviewerKeyPrefix) && key.length > reviewerKeyPrefix.length) return "reviewer"
  return undefined
}

/**
 * Whether a role may pass the agent routes' authentication (ingest; create, read and cancel
 * leashes). A reviewer key passes it only to read a leash: v1.1, a reviewer key reads and decides,
 * and the server refuses its ingest, leash creation and cancel with 403, so nobody can create a
 * leash and approve it themselves.
 *
 * @since 0.1.0
 * @category predicates
 */
export const canActAsAgent = (role: KeyRole): boolean => role === "agent" || role === "reviewer"

/**
 * Whether a role may decide leashes and read the dashboard lists.
 *
 * @since 0.1.0
 * @category predicates
 */
export const canReview = (role: KeyRole): boolean => role === "reviewer"
