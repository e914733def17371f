/**
 * Both ways between Houndsight's steps and Effect's tracer:
 *
 * - spans become steps: a tracer that wraps the user's own, hands every span to it unchanged, and
 *   inside a trail also records the spans the user chose as steps (the span-step is the fiber's
 *   current step while it is open, so sniffs and chosen spans inside it are its children);
 * - steps become spans: with the option on, a trail's steps reach the wrapped tracer as spans
 *   (`StepSpans`), opened and ended by hooks in `TrailState`/`StepState` that cost one
 *   `undefined` check when the option is off.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { type StepLayer, stepLayers } from "../schema/Common.js"
import type { StepRecord } from "../schema/StepRecord.js"
import type { TrailRecord } from "../schema/TrailRecord.js"
import { toJsonSafeAttributes } from "./jsonSafe.js"
import { currentStep, type Holder, StepState, type TrailState } from "./state.js"
import { checkStep, ownHolder, trailOf } from "./step.js"

/** Which spans become steps: all of them, or those matching a name or the attributes they start with. */
export type SpanChoice = "all" | {
  /** A span whose name equals one of the strings or matches one of the patterns. */
  readonly names?: ReadonlyArray<string | RegExp> | undefined
  /** A span that starts with every one of these attributes, each of this value. */
  readonly attributes?: Readonly<Record<string, unknown>> | undefined
}

/** The options of the bridge tracer. */
export interface BridgeOptions {
  /** Record these Effect spans, inside a trail, as steps (default: none). */
  readonly spans?: SpanChoice | undefined
  /** The layer of a span-step without a valid `houndsight.layer` attribute (default `execute`). */
  readonly defaultLayer?: StepLayer | undefined
  /** Send every trail and step to the wrapped tracer as a span (default: false). */
  readonly steps?: boolean | undefined
}

/** Marks a tracer made by `bridge`, so `Trail.run` finds its step-span sink. */
export const BridgeTypeId: unique symbol = Symbol.for("houndsight/BridgeTracer")

/** A tracer made by `bridge`. */
export interface BridgeTracer extends Tracer.Tracer {
  readonly [BridgeTypeId]: { readonly stepSpans: StepSpans | undefined; readonly inner: Tracer.Tracer }
}

const layerSet: ReadonlySet<string> = new Set(stepLayers)

/** The fiber running now (the span is made by it, synchronously). */
const currentFiber = (): Fiber.RuntimeFiber<unknown, unknown> | undefined =>
  (globalThis as any)["effect/FiberCurrent"] as Fiber.RuntimeFiber<unknown, unknown> | undefined

/**
 * The span names `houndsight/ai` records itself: a step it marks with `absorbs` stands for the
 * span of that name opened inside it (and a model step also for the toolkit's `Toolkit.handle`
 * span of a leashed tool, which records its own step).
 */
const absorbed = (step: StepState | undefined, name: string): boolean => {
  if (step === undefined) return false
  const a = step.absorbs
  return a !== undefined && (a === name || (name === "Toolkit.handle" && a.startsWith("LanguageModel.")))
}

/**
 * Marks the `LanguageModel` service `houndsight/ai` records: a `Chat.*` span (the `Chat`'s own
 * span around a model call) made where the model is recorded is not recorded again.
 */
export const RecordedModel: unique symbol = Symbol.for("houndsight/ai/RecordedModel")

/** The Context key of `@effect/ai`'s `LanguageModel` (read without importing `@effect/ai`). */
const languageModelKey = "@effect/ai/LanguageModel"

/** A `Chat.*` span over a model that `houndsight/ai` records. */
const chatOverRecordedModel = (fiber: Fiber.RuntimeFiber<unknown, unknown>, name: string): boolean => {
  if (!name.startsWith("Chat.")) return false
  const model = fiber.currentContext.unsafeMap.get(languageModelKey) as { [RecordedModel]?: true } | undefined
  return model !== undefined && model[RecordedModel] === true
}

/** The attribute names the bridge reads rather than keeps in the step's input. */
const notInput: ReadonlySet<string> = new Set(["houndsight.layer", "code.stacktrace"])

/** Nanoseconds to a Date (milliseconds). */
const dateOfNanos = (nanos: bigint): Date => new Date(Number(nanos / 1_000_000n))

/** What is wrong with a span choice, if anything. */
const choiceProblem = (choice: unknown): string | undefined => {
  if (choice === undefined || choice === "all") return undefined
  if (choice === null || typeof choice !== "object") {
    return `spans must be "all" or { names, attributes }, got ${String(choice)}`
  }
  const { attributes, names } = choice as { names?: unknown; attributes?: unknown }
  const nameOk = (n: unknown) => typeof n === "string" || n instanceof RegExp
  if (names !== undefined && (!Array.isArray(names) || !names.every(nameOk))) {
    return "spans.names must be an array of strings and regular expressions"
  }
  const attributesOk = attributes !== null && typeof attributes === "object" && !Array.isArray(attributes)
  if (attributes !== undefined && !attributesOk) {
    return "spans.attributes must be an object of attribute names and values"
  }
  return undefined
}

/** Does the span, with the attributes it starts with, match the choice? */
const makeChooser = (choice: SpanChoice | undefined) => {
  if (choice === undefined) return undefined
  if (choice === "all") return () => true
  const names = choice.names ?? []
  const exact = new Set(names.filter((n): n is string => typeof n === "string"))
  const patterns = names.filter((n): n is RegExp => n instanceof RegExp)
  const wanted = choice.attributes === undefined ? [] : Object.entries(choice.attributes)
  return (name: string, options: Tracer.SpanOptions | undefined, fiber: Fiber.RuntimeFiber<unknown, unknown>) => {
    if (exact.has(name)) return true
    for (const p of patterns) {
      p.lastIndex = 0
      if (p.test(name)) return true
    }
    if (wanted.length === 0) return false
    const given = options?.attributes
    const env = fiber.getFiberRef(FiberRef.currentTracerSpanAnnotations)
    for (const [k, v] of wanted) {
      const value = given !== undefined && k in given ? given[k] : Option.getOrUndefined(HashMap.get(env, k))
      if (value !== v) return false
    }
    return true
  }
}

/**
 * How many tracers made so far record spans as steps: while none does, `houndsight/ai` skips
 * marking its streamed calls.
 */
export let spanBridges = 0

/**
 * In the Context of a streamed model call recorded by `houndsight/ai`: its step, which stands
 * for the `LanguageModel.streamText` span (the stream's step is not the fiber's current step).
 */
export class StreamStep extends Context.Tag("houndsight/internal/StreamStep")<StreamStep, StepState>() {}

/** While set, a step opened by the span bridge is not sent back to the tracer as a span. */
let openingSpanStep = false

/** What the bridge keeps on a chosen span. */
interface Recording {
  readonly step: StepState
  readonly holder: Holder
  readonly previous: StepState | undefined
  readonly end: Tracer.Span["end"]
  readonly attribute: Tracer.Span["attribute"]
  readonly event: Tracer.Span["event"]
  attributes: Record<string, unknown> | undefined
}

/** Where a chosen span keeps its recording. */
const recordingKey: unique symbol = Symbol.for("houndsight/SpanStep")

type ChosenSpan = Tracer.Span & { [recordingKey]: Recording }

function chosenAttribute(this: ChosenSpan, key: string, value: unknown): void {
  const r = this[recordingKey]
  r.attribute.call(this, key, value)
  if (key === "houndsight.layer" && typeof value === "string" && layerSet.has(value)) r.step.layer = value as StepLayer
  if (!notInput.has(key)) (r.attributes ??= {})[key] = value
}

function chosenEvent(this: ChosenSpan, name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
  const r = this[recordingKey]
  r.event.call(this, name, startTime, attributes)
  if (!r.step.ended) {
    r.step.addEvent({
      name,
      // a tracer without timing (`Effect.withTracerTiming(false)`) stamps 0: the trail's clock then
      at: startTime === 0n ? new Date(r.step.trail.now()) : dateOfNanos(startTime),
      attributes: toJsonSafeAttributes(attributes ?? {}).value as Record<string, unknown>
    })
  }
}

function chosenEnd(this: ChosenSpan, endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
  const r = this[recordingKey]
  r.end.call(this, endTime, exit)
  const step = r.step
  // put the parent back; a span ended out of order leaves the current step alone
  if (r.holder.current === step) r.holder.current = r.previous
  if (r.attributes !== undefined) step.setInput(r.attributes)
  if (Exit.isSuccess(exit)) step.finish("ok", undefined)
  else step.endCause(exit.cause)
}

/**
 * Records a chosen span as a step. The span stays the user's own object (so the user's tracer,
 * `instanceof` and `@effect/opentelemetry`'s own checks see it as before): its `attribute`,
 * `event` and `end` are shadowed by own methods that call the originals with the same
 * arguments first, then write on the step.
 */
const recordSpan = (span: Tracer.Span, step: StepState, holder: Holder, previous: StepState | undefined): void => {
  const chosen = span as ChosenSpan
  chosen[recordingKey] = {
    step,
    holder,
    previous,
    end: span.end,
    attribute: span.attribute,
    event: span.event,
    attributes: undefined
  }
  chosen.attribute = chosenAttribute
  chosen.event = chosenEvent
  chosen.end = chosenEnd
}

/** The runtime fiber's own FiberRef setter (not in the public `RuntimeFiber` interface). */
interface SetsFiberRef {
  setFiberRef(ref: typeof currentStep, holder: Holder): void
}

/** Makes the tracer that wraps `inner`. */
export const bridge = (tracer: Tracer.Tracer, options: BridgeOptions): BridgeTracer => {
  // a bridge over a bridge would record every chosen span twice: the newer options replace the older
  const wrapped = (tracer as Partial<BridgeTracer>)[BridgeTypeId]
  const inner = wrapped === undefined ? tracer : wrapped.inner
  const problem = choiceProblem(options.spans)
  if (problem !== undefined) throw new Error(`houndsight: HoundsightTracer: ${problem}`)
  const choose = makeChooser(options.spans)
  const defaultLayer = options.defaultLayer ?? "execute"
  if (!layerSet.has(defaultLayer)) {
    throw new Error(
      `houndsight: HoundsightTracer: defaultLayer must be one of ${stepLayers.join(", ")}, got ${
        JSON.stringify(defaultLayer)
      }`
    )
  }
  const stepSpans = options.steps === true ? new StepSpans(inner) : undefined
  if (choose !== undefined) spanBridges++
  const made = Tracer.make({
    span(name, parent, context, links, startTime, kind, spanOptions) {
      const span = inner.span(name, parent, context, links, startTime, kind, spanOptions)
      // a frozen or sealed span (a tracer's own choice) cannot take the recording methods: left alone
      if (choose === undefined || !Object.isExtensible(span)) return span
      const fiber = currentFiber()
      if (fiber === undefined) return span
      const trail = trailOf(fiber)
      if (trail === undefined || !trail.recording) return span
      const { holder, install } = ownHolder(fiber)
      const previous = holder.current !== undefined && holder.current.trail === trail ? holder.current : undefined
      if (absorbed(previous, name) || !choose(name, spanOptions, fiber)) return span
      if (absorbed(fiber.currentContext.unsafeMap.get(StreamStep.key) as StepState | undefined, name)) return span
      if (chatOverRecordedModel(fiber, name)) return span
      openingSpanStep = true
      let step: StepState
      try {
        const checked = checkStep(name, defaultLayer).name
        step = new StepState(trail, previous !== undefined ? previous.id : null, checked, defaultLayer)
      } finally {
        openingSpanStep = false
      }
      // the span is made synchronously inside the fiber, so its FiberRef is set in place (the
      // runtime fiber's own method, not in the public interface)
      if (install) (fiber as unknown as SetsFiberRef).setFiberRef(currentStep, holder)
      holder.current = step
      recordSpan(span, step, holder, previous)
      return span
    },
    context: (f, fiber) => inner.context(f, fiber)
  }) as BridgeTracer
  ;(made as { [BridgeTypeId]: unknown })[BridgeTypeId] = { stepSpans, inner }
  return made
}

/** The step-span sink of the tracer a fiber runs with, if it is a bridge with `steps` on. */
export const stepSpansOf = (tracer: Tracer.Tracer): StepSpans | undefined => {
  const b = (tracer as Partial<BridgeTracer>)[BridgeTypeId]
  return b === undefined ? undefined : b.stepSpans
}

/** The current span of the running fiber (the parent of a step's span), else the trail's. */
const parentSpanOf = (trail: TrailState): Option.Option<Tracer.AnySpan> => {
  const fiber = currentFiber()
  if (fiber !== undefined) {
    const parent = Context.getOption(fiber.currentContext, Tracer.ParentSpan)
    if (Option.isSome(parent)) return parent
  }
  return trail.span === undefined ? Option.none() : Option.some(trail.span)
}

const json = (value: unknown): string => {
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

/** Renames the OpenTelemetry span under an `@effect/opentelemetry` span (its `span` field), if there is one. */
const renameSpan = (span: Tracer.Span, name: string): void => {
  const otel = (span as { span?: { updateName?: unknown } }).span
  if (otel !== undefined && otel !== null && typeof otel.updateName === "function") otel.updateName(name)
}

/** The exit a span ends with, from a step's status. */
const exitOf = (status: string, error: StepRecord["error"]): Exit.Exit<unknown, unknown> => {
  if (status === "ok") return Exit.void
  if (status === "interrupted") return Exit.interrupt(FiberId.none)
  const e = new Error(error?.message ?? "the step failed")
  e.name = error?.type ?? "Error"
  return Exit.fail(e)
}

/**
 * Sends a trail's records to a tracer as spans, with the attribute names `docs/otlp.md` maps
 * back to records (so the same spans sent to the gate server over OTLP give the same steps).
 */
export class StepSpans {
  constructor(readonly tracer: Tracer.Tracer) {}

  /** Opens a span of the trail, now, under the fiber's current span. */
  private open(trail: TrailState, name: string): Tracer.Span {
    const span = this.tracer.span(
      name,
      parentSpanOf(trail),
      Context.empty(),
      [],
      trail.clock.unsafeCurrentTimeNanos(),
      "internal"
    )
    span.attribute("houndsight.trail_id", trail.id)
    return span
  }

  /** Opens the span of a trail (its parent: the fiber's current span). */
  openTrail(trail: TrailState): void {
    const span = this.open(trail, trail.trigger)
    span.attribute("houndsight.trigger", trail.trigger)
    span.attribute("houndsight.payload", json(trail.payload))
    trail.span = span
  }

  /** Ends the span of a trail with its totals and the trail's own exit. */
  endTrail(trail: TrailState, r: TrailRecord, exit: Exit.Exit<unknown, unknown>): void {
    const span = trail.span
    if (span === undefined) return
    if (r.output !== undefined) span.attribute("houndsight.output", json(r.output))
    if (r.costUsd !== undefined) span.attribute("houndsight.trail.cost_usd", r.costUsd)
    if (r.tokens !== undefined) {
      span.attribute("houndsight.trail.input_tokens", r.tokens.input)
      span.attribute("houndsight.trail.output_tokens", r.tokens.output)
    }
    if (r.status === "interrupted") span.attribute("houndsight.status", "interrupted")
    span.end(trail.clock.unsafeCurrentTimeNanos(), exit)
  }

  /** Opens the span of a step (not of a step the span bridge opened: that is a span already). */
  openStep(step: StepState): void {
    if (openingSpanStep) return
    const span = this.open(step.trail, step.name)
    span.attribute("houndsight.step_id", step.id)
    step.span = span
  }

  /** Ends the span of a step with what its record says. */
  endStep(step: StepState, r: StepRecord): void {
    const span = step.span
    if (span === undefined) return
    // a step renamed before it ended (a leashed tool call refused: named after the tool, not the
    // action); Effect's spans cannot be renamed, an OpenTelemetry span under them can
    if (r.name !== span.name) renameSpan(span, r.name)
    span.attribute("houndsight.layer", r.layer)
    if (r.input !== undefined) span.attribute("houndsight.input", json(r.input))
    if (r.output !== undefined) span.attribute("houndsight.output", json(r.output))
    if (r.costUsd !== undefined) span.attribute("houndsight.cost_usd", r.costUsd)
    const t = r.tokens
    if (t !== undefined) {
      span.attribute("gen_ai.usage.input_tokens", t.input)
      span.attribute("gen_ai.usage.output_tokens", t.output)
      if (t.cachedInput !== undefined) span.attribute("gen_ai.usage.cache_read.input_tokens", t.cachedInput)
      if (t.reasoning !== undefined) span.attribute("gen_ai.usage.reasoning.output_tokens", t.reasoning)
    }
    if (r.model !== undefined) {
      span.attribute("gen_ai.provider.name", r.model.provider)
      span.attribute("gen_ai.response.model", r.model.name)
    }
    if (r.leash !== undefined) {
      span.attribute("houndsight.leash.id", r.leash.leashId)
      span.attribute("houndsight.leash.decision", r.leash.decision)
      span.attribute("houndsight.leash.action_name", r.leash.actionName)
      span.attribute("houndsight.leash.reason", r.leash.reason)
    }
    if (r.status === "interrupted") span.attribute("houndsight.status", "interrupted")
    for (const e of r.events) span.event(e.name, BigInt(e.at.getTime()) * 1_000_000n, e.attributes)
    span.end(step.trail.clock.unsafeCurrentTimeNanos(), exitOf(r.status, r.error))
  }
}
