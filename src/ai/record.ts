/**
 * The recording `LanguageModel`: wraps the user's model so every `generateText`,
 * `generateObject` and `streamText` made inside a trail is a `reason` step, and every tool call
 * the toolkit's handlers run is an `execute` step under it.
 *
 * @internal
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as AiModel from "@effect/ai/Model"
import * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Exit from "effect/Exit"
import type { ModelRef } from "../schema/StepRecord.js"
import { type Safe, toJsonSafe } from "../internal/jsonSafe.js"
import { StepState, type TrailState } from "../internal/state.js"
import { currentStepOf, runStep, trailOf } from "../internal/step.js"
import { RecordedModel, spanBridges, StreamStep } from "../internal/tracer.js"
import { isLeashedTool } from "./leashed.js"
import { checkPrices, costOf, defaultPrices, type Price, type PriceTable, priceOf } from "./prices.js"
import { type HandlerResult, recordToolResult, withParent } from "./steps.js"

/** Options of the recording layer. */
export interface RecordOptions {
  /** The provider's name (`openai`); by default the `@effect/ai` Model's provider, else read off the response. */
  readonly provider?: string | undefined
  /** The model's name when the provider does not report it in its response. */
  readonly model?: string | undefined
  /**
   * Prices (USD per million tokens). A table is laid over the defaults (extends and overrides
   * them); a function gets the defaults and returns the table to use (replaces them).
   */
  readonly prices?: PriceTable | ((defaults: PriceTable) => PriceTable) | undefined
}

/** The recorder's settings, resolved once when the layer is built. */
export interface Settings {
  readonly provider: string | undefined
  readonly model: string | undefined
  readonly prices: PriceTable
  /** The prompts recently recorded (a Chat re-sends them). */
  readonly recent: Recent
  /** Prices looked up so far, by model name (`null`: none). */
  readonly priceCache: Map<string, Price | null>
  /** The model of the last call recorded, as reported and as recorded. */
  lastModel: { readonly provider: string; readonly name: string; readonly ref: ModelRef } | undefined
}

/** Resolves the options; throws on a bad price table (a programming error, named). */
export const settings = (options: RecordOptions, providerName: string | undefined): Settings => {
  const p = options.prices
  const prices = p === undefined ? defaultPrices : typeof p === "function" ? p(defaultPrices) : { ...defaultPrices, ...p }
  const problem = checkPrices(prices)
  if (problem !== undefined) throw new Error(`houndsight/ai: ${problem}`)
  return {
    provider: options.provider ?? providerName,
    model: options.model,
    prices,
    recent: new Recent(),
    priceCache: new Map(),
    lastModel: undefined
  }
}

// ---------------------------------------------------------------------------------------------
// what a call sent
// ---------------------------------------------------------------------------------------------

const partJson = (p: any): unknown => {
  switch (p.type) {
    case "text":
      return { type: "text", text: p.text }
    case "reasoning":
      return { type: "reasoning", text: p.text }
    case "tool-call":
      return { type: "tool_call", id: p.id, name: p.name, params: p.params }
    case "tool-result":
      return { type: "tool_result", id: p.id, name: p.name, is_failure: p.isFailure, result: p.result }
    case "file":
      return { type: "file", media_type: p.mediaType, file_name: p.fileName }
    default:
      return { type: p.type }
  }
}

const messageJson = (m: Prompt.Message): unknown => {
  const content = m.content as string | ReadonlyArray<unknown>
  if (typeof content === "string") return { role: m.role, content }
  const parts = new Array(content.length)
  for (let i = 0; i < content.length; i++) parts[i] = partJson(content[i])
  return { role: m.role, content: parts }
}

/** How many recent prompts are remembered to spot a re-sent history. */
const recentPrompts = 32

/**
 * The prompts recently recorded, newest last (their message arrays): a `Chat` (or an agent loop)
 * re-sends its history as the same message objects, so a call whose prompt starts with one of
 * these arrays continues that conversation.
 */
export class Recent {
  readonly prompts: Array<ReadonlyArray<Prompt.Message>> = []

  /** The length of the longest remembered prompt that `all` starts with (0 if none). */
  prefixOf(all: ReadonlyArray<Prompt.Message>): number {
    let best = 0
    const prompts = this.prompts
    for (let i = prompts.length - 1; i >= 0; i--) {
      const p = prompts[i]!
      const n = p.length
      if (n <= best || n > all.length || p[0] !== all[0] || p[n - 1] !== all[n - 1]) continue
      let same = true
      for (let j = 1; j < n - 1; j++) {
        if (p[j] !== all[j]) {
          same = false
          break
        }
      }
      if (same) best = n
    }
    return best
  }

  remember(all: ReadonlyArray<Prompt.Message>): void {
    if (all.length === 0) return
    if (this.prompts.length === recentPrompts) this.prompts.shift()
    this.prompts.push(all)
  }
}

/**
 * The messages a call adds to the conversation: a `Chat` (or an agent loop) re-sends its history,
 * made of the message objects an earlier call sent, followed by the assistant and tool messages
 * of that call's response (recorded as its output). Those are left out; `history` counts them.
 */
export const newMessages = (
  recent: Recent,
  prompt: Prompt.Prompt
): { readonly messages: Array<unknown>; readonly history: number } => {
  const all = prompt.content
  let i = recent.prefixOf(all)
  if (i > 0) {
    while (i < all.length && (all[i]!.role === "assistant" || all[i]!.role === "tool")) i++
  }
  const history = i
  const messages: Array<unknown> = new Array(all.length - i)
  for (let j = 0; i < all.length; i++, j++) messages[j] = messageJson(all[i]!)
  recent.remember(all)
  return { messages, history }
}

/** A string prompt, as Prompt.make makes it: one user message. */
const userMessage = (text: unknown) => [{ role: "user", content: [{ type: "text", text }] }]

/** The JSON-safe size of `{messages: [one user message]}` beyond its text's own. */
const userPromptBytes = toJsonSafe({ messages: userMessage("") }).bytes - toJsonSafe("").bytes

/**
 * The input of a call whose options are a string prompt and nothing else the input names: made
 * JSON-safe as `toJsonSafe` would make it, without walking the objects written here.
 */
const stringPromptInput = (options: any): Safe | undefined => {
  if (
    typeof options.prompt !== "string" || options.toolkit !== undefined || options.toolChoice !== undefined ||
    options.objectName !== undefined
  ) return undefined
  const text = toJsonSafe(options.prompt)
  return { value: { messages: userMessage(text.value) }, bytes: text.bytes + userPromptBytes }
}

const inputOf = (
  s: Settings,
  prompt: Prompt.Prompt | undefined,
  options: LanguageModel.GenerateTextOptions<any> & { readonly objectName?: string | undefined },
  problem: string | undefined
): unknown => {
  const input: Record<string, unknown> = {}
  if (typeof options.prompt === "string") {
    input.messages = userMessage(options.prompt)
  } else if (prompt !== undefined) {
    const fresh = newMessages(s.recent, prompt)
    input.messages = fresh.messages
    if (fresh.history > 0) input.history_messages = fresh.history
  } else input.prompt_problem = problem
  const toolkit = options.toolkit as { readonly tools?: Record<string, unknown> } | undefined
  if (toolkit !== undefined && toolkit.tools !== undefined) input.tools = Object.keys(toolkit.tools)
  if (options.toolChoice !== undefined) input.tool_choice = options.toolChoice
  if (options.objectName !== undefined) input.object_name = options.objectName
  return input
}

// ---------------------------------------------------------------------------------------------
// what came back
// ---------------------------------------------------------------------------------------------

/** The response of a call, gathered from its parts (whole, or streamed). */
class Gathered {
  text = ""
  reasoning = ""
  toolCalls: Array<unknown> | undefined = undefined
  toolResults: Array<unknown> | undefined = undefined
  finishReason: string | undefined = undefined
  usage: any = undefined
  modelId: string | undefined = undefined
  providerKey: string | undefined = undefined
  firstPartAt = -1

  add(p: any): void {
    switch (p.type) {
      case "text":
        this.text += p.text
        break
      case "text-delta":
        this.text += p.delta
        break
      case "reasoning":
        this.reasoning += p.text
        break
      case "reasoning-delta":
        this.reasoning += p.delta
        break
      case "tool-call":
        ;(this.toolCalls ??= []).push({ id: p.id, name: p.name, params: p.params })
        break
      case "tool-result":
        ;(this.toolResults ??= []).push({ id: p.id, name: p.name, is_failure: p.isFailure, result: p.encodedResult })
        break
      case "response-metadata": {
        const id = p.modelId
        const value = Option.isOption(id) ? Option.getOrUndefined(id) : id
        if (typeof value === "string" && value.length > 0) this.modelId = value
        break
      }
      case "finish": {
        this.finishReason = p.reason
        this.usage = p.usage
        const metadata = p.metadata
        if (metadata !== null && typeof metadata === "object") {
          for (const key in metadata) {
            this.providerKey = key
            break
          }
        }
        break
      }
    }
  }
}

/** A whole-number count, or undefined. */
const count = (n: unknown): number | undefined =>
  typeof n === "number" && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined

/**
 * One call as it is recorded: its input, its step, when it started, and the time its tool calls
 * were running.
 */
export interface Timing {
  input: Safe | undefined
  step: StepState | undefined
  start: number
  active: number
  busyFrom: number
  busy: number
}

const newTiming = (): Timing => ({ input: undefined, step: undefined, start: 0, active: 0, busyFrom: 0, busy: 0 })

const cut = (name: string): string => (name.length > 256 ? name.slice(0, 256) : name)

/** The model of a call; the last one made is reused while the provider and name stay the same. */
const modelOf = (s: Settings, g: Gathered | undefined): ModelRef => {
  const provider = s.provider ?? g?.providerKey ?? "unknown"
  const name = g?.modelId ?? s.model ?? "unknown"
  const last = s.lastModel
  if (last !== undefined && last.provider === provider && last.name === name) return last.ref
  const ref: ModelRef = { provider: cut(provider), name: cut(name) }
  s.lastModel = { provider, name, ref }
  return ref
}

/** The price of a model, looked up once per name (a table of at most 256 names is kept). */
const cachedPrice = (s: Settings, name: string): Price | undefined => {
  const hit = s.priceCache.get(name)
  if (hit !== undefined) return hit ?? undefined
  const price = priceOf(s.prices, name)
  if (s.priceCache.size < 256) s.priceCache.set(name, price ?? null)
  return price
}

/** Sets a step's input made JSON-safe already (`StepState.setInput` would walk it again). */
const setSafeInput = (step: StepState, input: Safe): void => {
  step.input = input.value
  step.inputBytes = input.bytes
}

/** The JSON-safe size of a text-only output beyond its strings' own (with and without `first_part_ms`). */
const textOutputBytes = toJsonSafe({ text: "", finish_reason: "", latency_ms: 0 }).bytes - 2 * toJsonSafe("").bytes
const streamedOutputBytes = toJsonSafe({ text: "", finish_reason: "", latency_ms: 0, first_part_ms: 0 }).bytes -
  2 * toJsonSafe("").bytes

/** Writes the response, model, tokens, cost and timing on the call's step. */
const finishCall = (s: Settings, timing: Timing, trail: TrailState, g: Gathered, object: unknown, hasObject: boolean) => {
  const step = timing.step
  if (step === undefined) return
  const end = trail.now()
  const model = modelOf(s, g)
  step.model = model
  const latency = Math.max(0, end - timing.start - timing.busy)
  if (g.reasoning === "" && g.toolCalls === undefined && g.toolResults === undefined && !hasObject) {
    // text only: its two strings made JSON-safe, the object written here as toJsonSafe writes it
    const text = toJsonSafe(g.text)
    const finish = toJsonSafe(g.finishReason ?? "unknown")
    if (g.firstPartAt >= 0) {
      step.output = { text: text.value, finish_reason: finish.value, latency_ms: latency, first_part_ms: g.firstPartAt - timing.start }
      step.outputBytes = text.bytes + finish.bytes + streamedOutputBytes
    } else {
      step.output = { text: text.value, finish_reason: finish.value, latency_ms: latency }
      step.outputBytes = text.bytes + finish.bytes + textOutputBytes
    }
  } else {
    const output: Record<string, unknown> = { text: g.text }
    if (g.reasoning !== "") output.reasoning = g.reasoning
    if (g.toolCalls !== undefined) output.tool_calls = g.toolCalls
    if (g.toolResults !== undefined) output.tool_results = g.toolResults
    if (hasObject) output.object = object
    output.finish_reason = g.finishReason ?? "unknown"
    output.latency_ms = latency
    if (g.firstPartAt >= 0) output.first_part_ms = g.firstPartAt - timing.start
    step.setOutput(output)
  }
  const u = g.usage
  if (u !== undefined && u !== null) {
    let input = count(u.inputTokens)
    const out = count(u.outputTokens)
    const cached = count(u.cachedInputTokens)
    const reasoning = count(u.reasoningTokens)
    if (input !== undefined || out !== undefined) {
      // Anthropic reports cache reads beside input_tokens, OpenAI within them: `input` counts all
      if (model.provider === "anthropic" && cached !== undefined) input = (input ?? 0) + cached
      const tokens: { input: number; output: number; cachedInput?: number; reasoning?: number } = {
        input: input ?? 0,
        output: out ?? 0
      }
      if (cached !== undefined) tokens.cachedInput = cached
      if (reasoning !== undefined) tokens.reasoning = reasoning
      step.tokens = tokens
      const price = cachedPrice(s, model.name) ?? (s.model !== undefined ? cachedPrice(s, s.model) : undefined)
      if (price !== undefined) step.costUsd = costOf(price, tokens.input, tokens.output, cached ?? 0)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// tools
// ---------------------------------------------------------------------------------------------

const timed = <A, E, R>(trail: TrailState, timing: Timing, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    if (timing.active++ === 0) timing.busyFrom = trail.now()
    return Effect.ensuring(
      self,
      Effect.sync(() => {
        if (--timing.active === 0) timing.busy += trail.now() - timing.busyFrom
      })
    )
  })

interface WithHandler {
  readonly tools: Record<string, any>
  readonly handle: (name: string, params: unknown) => Effect.Effect<HandlerResult, any, any>
}

/** A tool call as an execute step under the model's step (a leashed tool records its own). */
const recordedHandle = (trail: TrailState, timing: Timing, wh: WithHandler) => (name: string, params: unknown) => {
  const tool = wh.tools[name]
  if (tool !== undefined && isLeashedTool(tool)) return timed(trail, timing, withParent(timing.step, wh.handle(name, params)))
  let step: StepState | undefined
  return timed(
    trail,
    timing,
    withParent(
      timing.step,
      runStep(
        name,
        {
          layer: "execute",
          input: params,
          onOpen: (s) => {
            step = s
            // the toolkit's own span of this call is this step (the span bridge skips it)
            s.absorbs = "Toolkit.handle"
          }
        },
        Effect.tap(wh.handle(name, params), (r) => recordToolResult(step, name, r))
      )
    )
  )
}

const wrapToolkit = (trail: TrailState, timing: Timing, toolkit: unknown): unknown => {
  const wrap = (wh: WithHandler): WithHandler => ({ tools: wh.tools, handle: recordedHandle(trail, timing, wh) })
  return Effect.isEffect(toolkit)
    ? Effect.map(toolkit as Effect.Effect<WithHandler, unknown, unknown>, wrap)
    : wrap(toolkit as WithHandler)
}

// ---------------------------------------------------------------------------------------------
// the calls
// ---------------------------------------------------------------------------------------------

/** The call's options with a decoded prompt (its messages keep their identity) and a recorded toolkit. */
const prepare = (s: Settings, trail: TrailState, timing: Timing, options: any) => {
  let prompt: Prompt.Prompt | undefined
  let problem: string | undefined
  // a string is one user message: the model makes it, and the input is written from the string
  if (typeof options.prompt !== "string") {
    try {
      prompt = Prompt.make(options.prompt)
    } catch (e) {
      problem = e instanceof Error ? e.message : String(e)
    }
  }
  let next = options
  // a prompt that does not decode goes on as given: the model fails the call as it would have
  if (prompt !== undefined || options.toolkit !== undefined) {
    next = { ...options }
    if (prompt !== undefined) next.prompt = prompt
    if (options.toolkit !== undefined) next.toolkit = wrapToolkit(trail, timing, options.toolkit)
  }
  // a string is never remembered: the model makes its message, so no later call re-sends it
  timing.input = stringPromptInput(options) ?? toJsonSafe(inputOf(s, prompt, options, problem))
  return next
}

/** The span `@effect/ai` opens for each call, which the call's step stands for. */
const spanNames = {
  generateText: "LanguageModel.generateText",
  generateObject: "LanguageModel.generateObject",
  streamText: "LanguageModel.streamText"
} as const

const recordEffect = (
  s: Settings,
  method: "generateText" | "generateObject",
  options: any,
  call: (options: any) => Effect.Effect<any, any, any>
): Effect.Effect<any, any, any> =>
  Effect.withFiberRuntime((fiber) => {
    const trail = trailOf(fiber)
    if (trail === undefined || !trail.recording) return call(options)
    const timing = newTiming()
    const next = prepare(s, trail, timing, options)
    return runStep(
      method,
      {
        layer: "reason",
        onOpen: (step) => {
          setSafeInput(step, timing.input!)
          timing.step = step
          step.absorbs = spanNames[method]
          timing.start = step.startedAt
          if (s.model !== undefined) step.model = modelOf(s, undefined)
        }
      },
      Effect.map(call(next), (response: any) => {
        const g = new Gathered()
        const content = response.content as ReadonlyArray<unknown>
        for (let i = 0; i < content.length; i++) g.add(content[i])
        finishCall(s, timing, trail, g, response.value, method === "generateObject")
        return response
      })
    )
  })

const recordStream = (
  s: Settings,
  options: any,
  call: (options: any) => Stream.Stream<any, any, any>
): Stream.Stream<any, any, any> =>
  Stream.unwrapScoped(Effect.withFiberRuntime<Stream.Stream<any, any, any>, never, any>((fiber) => {
    const trail = trailOf(fiber)
    if (trail === undefined || !trail.recording) return Effect.succeed(call(options))
    const timing = newTiming()
    const next = prepare(s, trail, timing, options)
    const parent = currentStepOf(fiber, trail)
    const step = new StepState(trail, parent !== undefined ? parent.id : null, "streamText", "reason")
    setSafeInput(step, timing.input!)
    if (s.model !== undefined) step.model = modelOf(s, undefined)
    timing.step = step
    timing.start = step.startedAt
    step.absorbs = spanNames.streamText
    const g = new Gathered()
    const stream = call(next)
    return Effect.as(
      Effect.addFinalizer((exit) =>
        Effect.sync(() => {
          if (Exit.isSuccess(exit)) {
            finishCall(s, timing, trail, g, undefined, false)
            step.finish("ok", undefined)
          } else step.endCause(exit.cause)
        })
      ),
      Stream.mapChunks(spanBridges === 0 ? stream : Stream.provideService(stream, StreamStep, step), (chunk) => {
        if (g.firstPartAt < 0) g.firstPartAt = trail.now()
        for (const part of chunk) g.add(part)
        return chunk
      })
    )
  }))

/** The user's model, recorded. */
export const wrap = (s: Settings, model: LanguageModel.Service): LanguageModel.Service => ({
  // the span bridge does not record a Chat's span over this model again
  ...{ [RecordedModel]: true },
  generateText: ((options: any) => recordEffect(s, "generateText", options, model.generateText)) as any,
  generateObject: ((options: any) => recordEffect(s, "generateObject", options, model.generateObject)) as any,
  streamText: ((options: any) => recordStream(s, options, model.streamText)) as any
})

/** The recording layer: reads the user's `LanguageModel` and provides it recorded. */
export const layer = (
  options: RecordOptions = {}
): Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const model = yield* LanguageModel.LanguageModel
      const provider = yield* Effect.serviceOption(AiModel.ProviderName)
      return wrap(settings(options, Option.getOrUndefined(provider)), model)
    })
  )
