/**
 * What the exporter's modules and its public face (`services/Exporter.ts`) both need, defined
 * below both: the drop reasons, the counters' snapshot, the service's shape, the metrics, and the
 * settings and offers the exporter is built with. `services/Exporter.ts` re-exports the public
 * part with its documentation.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as Redacted from "effect/Redacted"
import type { StepRecord } from "../../schema/StepRecord.js"
import type { TrailRecord } from "../../schema/TrailRecord.js"

/** Why a record was not delivered (documented in `services/Exporter.ts`, `DropReason`). */
export type DropReason = "queue_full" | "audit_lost" | "invalid" | "too_large" | "rejected" | "shutdown" | "unconfirmed"

/** Every drop reason, in a fixed order. */
export const dropReasons: ReadonlyArray<DropReason> = [
  "queue_full",
  "audit_lost",
  "invalid",
  "too_large",
  "rejected",
  "shutdown",
  "unconfirmed"
]

/** A snapshot of the exporter's counters. Counts are of records, not requests. */
export interface ExporterStats {
  /** Records handed to the exporter (after `redact`). */
  readonly offered: number
  /** Records the collector acknowledged with a 2xx. */
  readonly exported: number
  /** Records sent again: after a retryable failure, or as half of a batch split after a 413. */
  readonly retried: number
  /** Records lost, all reasons together. */
  readonly dropped: number
  /** Records lost, by reason. */
  readonly droppedByReason: Readonly<Record<DropReason, number>>
  /** Records lost with reason `rejected`, by HTTP status (`"401"`, `"422"` …). */
  readonly rejectedByStatus: Readonly<Record<string, number>>
  /** Audit records (trails and review steps) lost because the audit lane was full. */
  readonly auditLost: number
  /** Records waiting to be sent. */
  readonly queued: number
  /** Records in the batch being sent (including while it waits to be retried). */
  readonly inFlight: number
  /** `true` once the layer's Scope has closed. */
  readonly closed: boolean
}

/** What the exporter service offers. */
export interface ExporterShape {
  /**
   * Sends everything queued now, without waiting for the flush interval, and waits until each of
   * those records is exported or dropped. It retries like any send, so while the collector is
   * down it waits: bound it with `Effect.timeoutOption`. Interrupting it does not stop the send.
   */
  readonly flush: Effect.Effect<void>
  /** The counters, read as an Effect. */
  readonly stats: Effect.Effect<ExporterStats>
  /** The counters, read synchronously. */
  readonly unsafeStats: () => ExporterStats
}

  /** A counter of records that only grows. */
const recordCounter = (name: string, description: string): Metric.Metric.Counter<number> =>
  Metric.counter(name, { description, incremental: true })

/** Records the collector acknowledged with a 2xx. */
export const exportedRecords = recordCounter(
  "houndsight_exporter_exported_records",
  "Houndsight records the collector acknowledged"
)

/** Records lost, tagged `reason` (see `DropReason`) and, for `rejected`, `status`. */
export const droppedRecords = recordCounter("houndsight_exporter_dropped_records", "Houndsight records lost, by reason")

/** Records sent again after a retryable failure or a 413 split. */
export const retriedRecords = recordCounter(
  "houndsight_exporter_retried_records",
  "Houndsight records sent again after a retryable failure or a 413 split"
)

/** Audit records lost because the audit lane was full (also in `droppedRecords`, `audit_lost`). */
export const auditLostRecords = recordCounter(
  "houndsight_exporter_audit_lost_records",
  "Houndsight audit records lost because the audit lane was full"
)

/** The resolved numbers and destination of one exporter. */
export interface ExporterSettings {
  /** Base URL of the server, without a trailing slash. */
  readonly endpoint: string
  readonly apiKey: Redacted.Redacted<string>
  readonly maxQueue: number
  readonly maxAuditQueue: number
  readonly maxBatchRecords: number
  readonly maxBatchBytes: number
  readonly flushIntervalMillis: number
  readonly requestTimeoutMillis: number
  readonly retryBaseDelayMillis: number
  readonly retryMaxDelayMillis: number
  readonly shutdownTimeoutMillis: number
  /** The layer the `HttpClient` came from: with the default, `FetchHttpClient.layer`, see `nodeFetch.ts`. */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
}

/** The synchronous side of the exporter: what the Recorder calls. */
export interface Offers {
  readonly offerTrail: (record: TrailRecord) => void
  readonly offerStep: (record: StepRecord) => void
}
