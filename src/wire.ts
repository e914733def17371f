/**
 * `houndsight/wire`: the wire contract of `shared/DESIGN.md` alone, as schemas (trail and step
 * records, leash requests and states, decisions, reviewer decisions, flags, the API's error body,
 * the rules file, the dashboard's reads) and the pure rules both sides apply to them (the limits,
 * the key prefixes, the audit's rules). It imports nothing of the SDK's services or layers, so the
 * gate server, or any other implementation of the contract, depends on this entry alone.
 *
 * The SDK's own entry re-exports the same modules as its `Wire` namespace.
 *
 * @example
 * ```ts
 * import * as Wire from "houndsight/wire"
 * import { Schema } from "effect"
 *
 * const state = Schema.decodeUnknownSync(Wire.LeashState)
 * ```
 *
 * @since 0.1.0
 */
export * from "./schema/index.js"

/**
 * Reads a `Retry-After` header as milliseconds from `now` (the one reading the SDK's transport
 * and exporter use; the server's webhook deliveries share it).
 *
 * @since 0.1.0
 * @category utils
 */
export { parseRetryAfter } from "./internal/retryAfter.js"
