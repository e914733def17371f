/**
 * The exporter sends trail and step records to the Houndsight server in batches, from a fiber of
 * its own, so recording never suspends the agent. `Houndsight.layer` provides it; closing the
 * layer's Scope flushes it. This module is how a user talks to it: force a flush, read its
 * counters, and find its metrics.
 *
 * Every record offered ends in exactly one place: it is exported (the collector answered 2xx),
 * dropped for a reason, still queued, or in the request in flight. So at any instant
 * `offered = exported + dropped + queued + inFlight`, and once the exporter is closed
 * `offered = exported + dropped`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Exporter } from "houndsight"
 *
 * // end of a serverless handler: send what is queued before the platform freezes the process
 * const beforeReturning = Exporter.flush.pipe(Effect.timeoutOption("2 seconds"))
 *
 * const report = Effect.gen(function*() {
 *   const stats = yield* Exporter.stats
 *   yield* Effect.log(`exported ${stats.exported}, dropped ${stats.dropped}`)
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as internal from "../internal/exporter/model.js"

/**
 * Why a record was not delivered.
 *
 * - `queue_full`: the ordinary queue (2,048) was full when the record was offered; the newest
 *   record is the one dropped.
 * - `audit_lost`: the audit lane (trail records and review steps, 10,000) was full.
 * - `invalid`: the record does not encode to the wire schema (usually a `redact` hook that
 *   returned something that is not a record).
 * - `too_large`: the collector answered 413 to a batch of this one record.
 * - `rejected`: the collector answered another non-retryable status (400, 401, 403, 422 …); see
 *   `rejectedByStatus`.
 * - `shutdown`: never sent: still queued when the shutdown deadline passed, or offered after the
 *   exporter closed.
 * - `unconfirmed`: sent without an answer: in the request in flight when the shutdown deadline
 *   passed, or waiting to retry an attempt that timed out or broke after it may have reached the
 *   collector. The collector may or may not have stored it.
 *
 * @since 0.1.0
 * @category models
 */
export type DropReason = internal.DropReason

/**
 * Every drop reason, in a fixed order.
 *
 * @since 0.1.0
 * @category constants
 */
export const dropReasons: ReadonlyArray<DropReason> = internal.dropReasons

/**
 * A snapshot of the exporter's counters. Counts are of records, not requests.
 *
 * @since 0.1.0
 * @category models
 */
export type ExporterStats = internal.ExporterStats

/**
 * What the exporter service offers.
 *
 * @since 0.1.0
 * @category models
 */
export type ExporterShape = internal.ExporterShape

/**
 * The service tag of the exporter. `Houndsight.layer` and `Houndsight.layerConfig` provide it.
 *
 * @since 0.1.0
 * @category tags
 */
export class Exporter extends Context.Tag("houndsight/Exporter")<Exporter, ExporterShape>() {}

/**
 * Forces a flush and waits for it (see `ExporterShape.flush`). Without an `Exporter` in the
 * context (the in-memory and test layers) there is nothing to send and it returns at once.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Exporter } from "houndsight"
 *
 * const done = Exporter.flush.pipe(Effect.timeoutOption("2 seconds"))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const flush: Effect.Effect<void> = Effect.flatMap(
  Effect.serviceOption(Exporter),
  (exporter) => Option.isSome(exporter) ? exporter.value.flush : Effect.void
)

/**
 * The exporter's counters.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Exporter } from "houndsight"
 *
 * const lost = Effect.map(Exporter.stats, (stats) => stats.droppedByReason.audit_lost)
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const stats: Effect.Effect<ExporterStats, never, Exporter> = Effect.flatMap(Exporter, (exporter) => exporter.stats)

/**
 * The numbers of DESIGN.md section 4, the defaults of the layer's exporter options.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  /** Ordinary queue bound (records). */
  maxQueue: 2048,
  /** Audit lane bound (records): trail records and review steps. */
  maxAuditQueue: 10_000,
  /** Most records in one batch. */
  maxBatchRecords: 512,
  /** Most bytes in one batch body: 1 MiB. */
  maxBatchBytes: 1024 * 1024,
  /** Longest a record waits before its batch is sent. */
  flushIntervalMillis: 1000,
  /** Longest one request may take. */
  requestTimeoutMillis: 10_000,
  /** First back-off step after a retryable failure (full jitter, doubling). */
  retryBaseDelayMillis: 500,
  /** Largest back-off step. */
  retryMaxDelayMillis: 30_000,
  /** How long closing the Scope may take to flush and wait for the request in flight. */
  shutdownTimeoutMillis: 5000
} as const

/**
 * Records the collector acknowledged with a 2xx.
 *
 * @since 0.1.0
 * @category metrics
 */
export const exportedRecords: Metric.Metric.Counter<number> = internal.exportedRecords

/**
 * Records lost, tagged `reason` (see `DropReason`) and, for `rejected`, `status`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const droppedRecords: Metric.Metric.Counter<number> = internal.droppedRecords

/**
 * Records sent again after a retryable failure or a 413 split.
 *
 * @since 0.1.0
 * @category metrics
 */
export const retriedRecords: Metric.Metric.Counter<number> = internal.retriedRecords

/**
 * Audit records (trails and review steps) lost because the audit lane was full. They are also
 * counted in `droppedRecords` with reason `audit_lost`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const auditLostRecords: Metric.Metric.Counter<number> = internal.auditLostRecords
