/**
 * The trace backend of the OpenTelemetry tests: `@effect/opentelemetry`'s `NodeSdk.layer` with an
 * in-memory span exporter from the OpenTelemetry SDK, optionally wrapped by `HoundsightTracer`,
 * beside the Houndsight test layer.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, type Exit, Layer } from "effect"
import { HoundsightTracer, Trail, type Wire } from "houndsight"
import { FakeGate, HoundsightTest } from "houndsight/test"

export interface Traced<A, E> {
  readonly exit: Exit.Exit<A, E>
  readonly steps: ReadonlyArray<Wire.StepRecord>
  readonly trails: ReadonlyArray<Wire.TrailRecord>
  readonly spans: ReadonlyArray<ReadableSpan>
}

/**
 * Runs `program` (which opens its own trails) with the backend, the bridge when `options` are
 * given, `extra` layers and the fake gate (approving by default); hands back its exit, the
 * records and the exported spans.
 */
export const traced = <A, E, R>(
  options: HoundsightTracer.Options | undefined,
  program: Effect.Effect<A, E, R>,
  extra: Layer.Layer<any, never, never> = Layer.empty as Layer.Layer<any>,
  gate: FakeGate.FakeGate = FakeGate.approveAll
): Promise<Traced<A, E>> => {
  const exporter = new InMemorySpanExporter()
  const processor = new SimpleSpanProcessor(exporter)
  const otel = NodeSdk.layer(() => ({ resource: { serviceName: "otel-test" }, spanProcessor: processor }))
  const tracing = options === undefined ? otel : HoundsightTracer.layer(options).pipe(Layer.provide(otel))
  return Effect.runPromise(
    Effect.gen(function*() {
      const exit = yield* Effect.exit(program)
      yield* Effect.promise(() => processor.forceFlush())
      const steps = yield* HoundsightTest.steps
      const trails = yield* HoundsightTest.trails
      return { exit, steps, trails, spans: exporter.getFinishedSpans().slice() }
    }).pipe(
      Effect.provide(Layer.mergeAll(tracing, HoundsightTest.layer({ gate }), extra))
    ) as Effect.Effect<Traced<A, E>>
  )
}

/** Runs an effect as a trail. */
export const inTrail = <A, E, R>(self: Effect.Effect<A, E, R>) => Trail.run({ trigger: "test", payload: { q: 1 } }, self)

/** The step named `name`. */
export const stepNamed = (steps: ReadonlyArray<Wire.StepRecord>, name: string): Wire.StepRecord => {
  const found = steps.find((s) => s.name === name)
  if (found === undefined) throw new Error(`no step ${name}; steps: ${steps.map((s) => s.name).join(", ")}`)
  return found
}

/** The span named `name`. */
export const spanNamed = (spans: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan => {
  const found = spans.find((s) => s.name === name)
  if (found === undefined) throw new Error(`no span ${name}; spans: ${spans.map((s) => s.name).join(", ")}`)
  return found
}

/** A span as the backend shows it, without its ids and times: name, parent's name, kind, status, attributes, events. */
export const shape = (spans: ReadonlyArray<ReadableSpan>) => {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]))
  return spans.map((s) => ({
    name: s.name,
    parent: s.parentSpanContext === undefined ? null : byId.get(s.parentSpanContext.spanId)?.name ?? "(remote)",
    kind: s.kind,
    status: s.status,
    attributes: s.attributes,
    // the fiber ids of log events count the fibers of the whole run
    events: s.events.map((e) => ({ name: e.name, attributes: { ...e.attributes, "effect.fiberId": "-" } })),
    sameTrace: s.spanContext().traceId === (s.parentSpanContext?.traceId ?? s.spanContext().traceId)
  })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}
