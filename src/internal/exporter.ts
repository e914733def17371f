/**
 * The exporter (DESIGN.md section 4), assembled from its parts under `exporter/`:
 *
 * - `model.ts`: what the exporter and its public face (`services/Exporter.ts`) share: drop
 *   reasons, stats, the service's shape, the metrics, the settings;
 * - `accounting.ts`: the counters and metrics, and the reports of what was lost;
 * - `backlog.ts`: the two lanes (`lane.ts`) and the synchronous offer, the only thing that runs
 *   on the agent's fiber;
 * - `batch.ts`: the batch builder (audit first, at most 512 records or 1 MiB, its JSON written by
 *   concatenation);
 * - `transport.ts`: one attempt, through the `HttpClient` or the lean `node:http` POST
 *   (`nodeFetch.ts`), chosen once; `attempt.ts`: how an attempt ended;
 * - `delivery.ts`: the retry rules (jittered back-off or the server's `Retry-After`, the 413
 *   split, the drop of what the server refuses);
 * - `flushes.ts`: who waits for which records; `worker.ts`: the worker and compactor fibers and
 *   the close.
 *
 * Each mutable cell has one owner among these. The fibers are forked into the layer's Scope (the
 * worker into a Scope of its own inside it); closing it drains the lanes within
 * `shutdownTimeoutMillis`, then counts and reports what was not sent.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as FiberSet from "effect/FiberSet"
import * as Scope from "effect/Scope"
import { Accounting } from "./exporter/accounting.js"
import { Backlog } from "./exporter/backlog.js"
import { Delivery } from "./exporter/delivery.js"
import { Flushes } from "./exporter/flushes.js"
import type { ExporterSettings, ExporterShape, Offers } from "./exporter/model.js"
import * as Transport from "./exporter/transport.js"
import { Worker } from "./exporter/worker.js"

/**
 * Builds an exporter: its offers (for the Recorder) and its service. Its fibers run in the
 * Scope until it closes; closing drains within `shutdownTimeoutMillis`.
 */
export const make = (
  settings: ExporterSettings
): Effect.Effect<{ readonly offers: Offers; readonly exporter: ExporterShape }, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const clock = yield* Effect.clock
    const transport = yield* Transport.make(settings)
    const accounting = new Accounting(settings, yield* FiberSet.makeRuntime<never, void, never>())
    const backlog = new Backlog(settings, accounting, Effect.unsafeMakeLatch(false), Effect.unsafeMakeLatch(false))
    const flushes = new Flushes(backlog)
    const delivery = new Delivery(settings, accounting, transport, () => backlog.compactLatch.unsafeOpen())
    const worker = new Worker(settings, clock, accounting, backlog, flushes, delivery)

    const annotate = Effect.annotateLogs({ package: "houndsight", module: "exporter" })
    // the worker has a Scope of its own inside the layer's, which the close ends with a bound: the
    // layer's Scope then does not wait for a request whose client ignores interruption
    const workerScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    const workerFiber = yield* worker.worker.pipe(
      annotate,
      Effect.withTracerEnabled(false),
      Effect.interruptible,
      Effect.forkIn(workerScope)
    )
    const compactorFiber = yield* worker.compactor.pipe(
      annotate,
      Effect.withTracerEnabled(false),
      Effect.interruptible,
      Effect.forkIn(scope)
    )
    // added after the forks, so it runs before the Scope interrupts them
    yield* Effect.addFinalizer(() =>
      Effect.ensuring(
        worker.shutdown(workerFiber, workerScope, compactorFiber).pipe(annotate, Effect.withTracerEnabled(false)),
        Effect.sync(transport.close)
      )
    )

    const unsafeStats = () => accounting.snapshot(backlog.queued(), backlog.closed)
    const wake = () => backlog.workerLatch.unsafeOpen()
    const exporter: ExporterShape = {
      flush: Effect.suspend(() => flushes.flush(wake)),
      stats: Effect.sync(unsafeStats),
      unsafeStats
    }
    return { offers: { offerTrail: backlog.offerTrail, offerStep: backlog.offerStep }, exporter }
  })
