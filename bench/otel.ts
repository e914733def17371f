/**
 * The OpenTelemetry JS peer: a `BasicTracerProvider` with a `BatchSpanProcessor` in front of an
 * exporter that counts and discards, so a span costs what the SDK costs and nothing is sent.
 * The bench loops yield to the event loop every 1,000 spans, which lets the processor drain its
 * 2,048-span queue; `check` proves after every run that every ended span reached the exporter.
 *
 * @since 0.1.0
 */
import type { Tracer } from "@opentelemetry/api"
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base"

/**
 * A tracer and the counters that prove no span was dropped.
 *
 * @since 0.1.0
 * @category models
 */
export interface OtelPeer {
  readonly tracer: Tracer
  /** Counts a span the bench ended. */
  readonly ended: () => void
  /** Flushes the processor and throws if fewer spans were exported than ended. */
  readonly check: () => Promise<void>
  /** Spans ended, spans exported, spans dropped so far. */
  readonly counts: () => { readonly ended: number; readonly exported: number; readonly dropped: number }
  readonly shutdown: () => Promise<void>
}

/**
 * Builds the OpenTelemetry peer.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeOtelPeer = (): OtelPeer => {
  let ended = 0
  let exported = 0
  const exporter: SpanExporter = {
    export: (spans, done) => {
      exported += spans.length
      done({ code: 0 })
    },
    shutdown: () => Promise.resolve()
  }
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] })
  const tracer = provider.getTracer("houndsight-bench")
  return {
    tracer,
    ended: () => {
      ended++
    },
    check: async () => {
      await provider.forceFlush()
      if (exported !== ended) {
        throw new Error(
          `bench: the OpenTelemetry BatchSpanProcessor dropped ${ended - exported} of ${ended} spans; ` +
            "the figures would flatter OTel. Yield to the event loop more often in the loop."
        )
      }
    },
    counts: () => ({ ended, exported, dropped: ended - exported }),
    shutdown: () => provider.shutdown()
  }
}
