/**
 * Houndsight and Effect's tracer, both ways (opt in). The layer wraps the tracer already in
 * place (`@effect/opentelemetry`'s, or any other set by `Layer.setTracer`), which keeps receiving
 * every span exactly as before, and:
 *
 * - `spans`: inside a trail, records the Effect spans you choose (`Effect.withSpan`, `Effect.fn`,
 *   the spans of `@effect/platform`'s HttpClient …) as steps: name, layer (the span's
 *   `houndsight.layer` attribute, else `defaultLayer`), attributes as input, status, error,
 *   events. A sniff inside a chosen span is its child and a chosen span inside a sniff the
 *   sniff's child, across forked fibers. Spans outside a trail are left alone. A span is chosen by
 *   its name or by the attributes it starts with (`Effect.withSpan(name, { attributes })`,
 *   `Effect.annotateSpans`); `houndsight/ai`'s model calls and tool calls (and a `Chat`'s spans
 *   over them) are recorded once, by it.
 * - `steps`: every trail and step also reaches the wrapped tracer as a span, with
 *   `houndsight.trail_id` and `houndsight.step_id`, `houndsight.cost_usd`,
 *   `gen_ai.usage.input_tokens`/`gen_ai.usage.output_tokens`, the model, and a review step's
 *   `houndsight.leash.*` decision: the attribute names `docs/otlp.md` maps back to records.
 *
 * Provide the tracer to wrap to this layer (`Layer.provide`), so it is in place when this one is
 * built.
 *
 * @example
 * ```ts
 * import { NodeSdk } from "@effect/opentelemetry"
 * import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
 * import { Layer } from "effect"
 * import { HoundsightTracer } from "houndsight"
 *
 * const Otel = NodeSdk.layer(() => ({
 *   resource: { serviceName: "forecast-agent" },
 *   spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter())
 * }))
 *
 * const Tracing = HoundsightTracer.layer({ spans: { names: [/^crm\./] }, steps: true }).pipe(Layer.provide(Otel))
 * ```
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { bridge, type BridgeOptions, type SpanChoice } from "../internal/tracer.js"

export type {
  /**
   * Which Effect spans become steps: `"all"`, or `{ names, attributes }` (a span matching a name,
   * or starting with all of the attributes).
   *
   * @since 0.2.0
   * @category models
   */
  SpanChoice
}

/**
 * The options of `HoundsightTracer.layer`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options extends BridgeOptions {}

/**
 * Wraps the current tracer: the chosen spans become steps, and with `steps: true` the trails and
 * steps become spans. A `defaultLayer` that is not a step layer is a defect when the layer is
 * built (a programming error, named).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<never> =>
  Layer.unwrapEffect(Effect.map(Effect.tracer, (inner) => Layer.setTracer(bridge(inner, options))))

/**
 * Runs an effect with the current tracer wrapped as `layer` does, for a program that sets its
 * tracer with `Effect.withTracer` rather than a layer.
 *
 * @since 0.2.0
 * @category combinators
 */
export const wrap = (options: Options) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.tracer, (inner) => Effect.withTracer(self, bridge(inner, options)))
