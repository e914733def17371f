/**
 * Houndsight for Effect: trace agents (trails, sniffs, barks, collars) and leash sensitive
 * actions behind a remote policy gate. The other entries: `houndsight/test` (test without a
 * server), `houndsight/ai` (`@effect/ai` models and tools) and `houndsight/wire` (the wire
 * contract alone, which `Wire` and `Audit` re-export here).
 *
 * @since 0.1.0
 */

/**
 * One agent run end to end.
 *
 * @since 0.1.0
 */
export * as Trail from "./services/Trail.js"

/**
 * One recorded step of an agent.
 *
 * @since 0.1.0
 */
export * as Sniff from "./services/Sniff.js"

/**
 * Typed custom events.
 *
 * @since 0.1.0
 */
export * as Bark from "./services/Bark.js"

/**
 * Where finished records go.
 *
 * @since 0.1.0
 */
export * as Recorder from "./services/Recorder.js"

/**
 * The in-memory Recorder.
 *
 * @since 0.1.0
 */
export * as Memory from "./layers/Memory.js"

/**
 * The wire contract v1.1: the same modules as the `houndsight/wire` entry.
 *
 * @since 0.1.0
 */
export * as Wire from "./schema/index.js"

export {
  /**
   * Wraps an Effect-returning function so each call is a sniff.
   *
   * @since 0.1.0
   */
  collar
} from "./services/Collar.js"

/**
 * The live layer: records go to a Houndsight server.
 *
 * @since 0.1.0
 */
export * as Houndsight from "./layers/Houndsight.js"

/**
 * The exporter: flush, counters and metrics.
 *
 * @since 0.1.0
 */
export * as Exporter from "./services/Exporter.js"

/**
 * Ask the gate before a sensitive action: `Leash.request`, `Leash.await`, the `Leash` transport tag.
 *
 * @since 0.1.0
 */
export * as Leash from "./services/Leash.js"

/**
 * The Decision a leash ends with: seven values, `Decision.match`, `Decision.isApproved`.
 *
 * @since 0.1.0
 */
export * as Decision from "./services/Decision.js"

/**
 * The bypass audit: flags actions that skipped or ignored the gate. Part of the contract
 * (`houndsight/wire`'s `Audit`, also `Wire.Audit`), re-exported here.
 *
 * @since 0.1.0
 */
export * as Audit from "./schema/Audit.js"

/**
 * The gate over HTTP (the `Leash` transport for a Houndsight server).
 *
 * @since 0.1.0
 */
export * as HttpGate from "./layers/HttpGate.js"

/**
 * Houndsight and Effect's tracer both ways (opt in): chosen Effect spans recorded as steps, and
 * trails and steps sent to the user's tracer as spans, wrapping the tracer already in place.
 *
 * @since 0.2.0
 */
export * as HoundsightTracer from "./layers/HoundsightTracer.js"
