/**
 * `houndsight/ai`: record the model calls and tool calls of an `@effect/ai` (0.37, Effect 3)
 * agent, and put its sensitive tools behind the leash. Needs `@effect/ai` ~0.37 (an optional peer
 * dependency of `houndsight`: the core entry never imports it).
 *
 * - `layer(options)`, provided on top of the user's `LanguageModel` (`OpenAiLanguageModel.model`,
 *   `AnthropicLanguageModel.model`, any other), records each `generateText`, `generateObject` and
 *   `streamText` made inside a trail as a `reason` step: the model and provider, the call's new
 *   messages and the response (text, tool calls, tool results, finish reason), tokens (input,
 *   output, cached input, reasoning), cost from the price table, latency (without the time its
 *   tools ran) and, for a stream, the time to its first part. A failed call is an `error` step with
 *   the `AiError`'s tag and message, and the failure reaches the caller unchanged. Every tool call
 *   the toolkit's handlers run is an `execute` step under it.
 * - `Leash.toolkit(toolkit, { tool: { actionName, summary, riskSignals, timeoutSeconds } })` asks
 *   the gate before the chosen tools run.
 *
 * @example
 * ```ts
 * import { LanguageModel, Tool, Toolkit } from "@effect/ai"
 * import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer, Redacted, Schema } from "effect"
 * import { Trail } from "houndsight"
 * import * as HoundsightAi from "houndsight/ai"
 *
 * export const Refund = Tool.make("refund_order", {
 *   parameters: { orderId: Schema.String, amountUsd: Schema.Number },
 *   success: Schema.Struct({ refundId: Schema.String })
 * })
 * export const Tools = HoundsightAi.Leash.toolkit(Toolkit.make(Refund), {
 *   refund_order: {
 *     actionName: "stripe.refund",
 *     summary: (p) => `Refund ${p.orderId}: $${p.amountUsd}`,
 *     riskSignals: (p) => ({ amountUsd: p.amountUsd })
 *   }
 * })
 * export const handlers = Tools.toLayer({ refund_order: () => Effect.succeed({ refundId: "re_1" }) })
 *
 * export const agent = LanguageModel.generateText({ prompt: "Refund order 42", toolkit: Tools }).pipe(
 *   Trail.run({ trigger: "support_ticket", payload: { order: 42 } })
 * )
 *
 * export const Model = HoundsightAi.layer().pipe(
 *   Layer.provide(OpenAiLanguageModel.model("gpt-4o-mini")),
 *   Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make("sk-...") })),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.2.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import type * as Layer from "effect/Layer"
import * as internalLeash from "./ai/leash.js"
import * as prices from "./ai/prices.js"
import * as record from "./ai/record.js"

/**
 * Options of `layer`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * The provider's name on the record (`openai`). By default the provider of the `@effect/ai`
   * Model the layer is built on (`OpenAiLanguageModel.model(...)`), else the provider named in
   * the response's metadata.
   */
  readonly provider?: string | undefined
  /** The model's name, when the provider does not report the model in its response. */
  readonly model?: string | undefined
  /**
   * Prices in US dollars per million tokens. A table is laid over `defaultPrices` (adds models,
   * overrides prices); a function receives `defaultPrices` and returns the table to use (to
   * replace them). A model without a price records its tokens and no cost.
   */
  readonly prices?: PriceTable | ((defaults: PriceTable) => PriceTable) | undefined
}

/**
 * What a model costs, in US dollars per million tokens: `input`, `output`, and `cachedInput` for
 * input tokens read from the provider's prompt cache (without it they cost `input`).
 *
 * @since 0.2.0
 * @category models
 */
export type Price = prices.Price

/**
 * Prices by model name. A name is looked up exactly, then without a dated snapshot suffix
 * (`gpt-4o-2024-08-06` → `gpt-4o`), never by any other guess.
 *
 * @since 0.2.0
 * @category models
 */
export type PriceTable = prices.PriceTable

/**
 * The default prices of common OpenAI and Anthropic models (see `defaultPricesAsOf`).
 *
 * @since 0.2.0
 * @category prices
 */
export const defaultPrices: PriceTable = prices.defaultPrices

/**
 * The date the default prices were taken from the providers' price pages.
 *
 * @since 0.2.0
 * @category prices
 */
export const defaultPricesAsOf: string = prices.defaultPricesAsOf

/**
 * The cost in US dollars of a call with a price, from its token counts (`cachedInput` is the part
 * of `input` read from the cache).
 *
 * @since 0.2.0
 * @category prices
 */
export const costOf: (price: Price, input: number, output: number, cachedInput: number) => number = prices.costOf

/**
 * The recording layer: needs the user's `LanguageModel` and provides it recorded. Calls made
 * outside a trail, or with tracing disabled, go to the model untouched.
 *
 * @example
 * ```ts
 * import { OpenAiLanguageModel } from "@effect/ai-openai"
 * import { Layer } from "effect"
 * import * as HoundsightAi from "houndsight/ai"
 *
 * export const Model = HoundsightAi.layer({ prices: { "my-fine-tune": { input: 3, output: 12 } } }).pipe(
 *   Layer.provide(OpenAiLanguageModel.model("gpt-4o"))
 * )
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: (
  options?: Options
) => Layer.Layer<LanguageModel.LanguageModel, never, LanguageModel.LanguageModel> = record.layer

/**
 * Records a `LanguageModel` service directly (what `layer` does to the one in the Context).
 *
 * @since 0.2.0
 * @category constructors
 */
export const wrap = (model: LanguageModel.Service, options: Options = {}): LanguageModel.Service =>
  record.wrap(record.settings(options, undefined), model)

/**
 * The tool result a model gets when the gate did not allow a leashed tool call: the action,
 * the decision (`rejected`, `blocked`, `timeout`, `error`), the reason, the leash's page and a
 * sentence saying the action was not performed.
 *
 * @since 0.2.0
 * @category schemas
 */
export const LeashRefusal = internalLeash.LeashRefusal

/**
 * @since 0.2.0
 * @category models
 */
export type LeashRefusal = internalLeash.LeashRefusal

/**
 * How one tool is leashed: `actionName` (the gate's action, and the name of the call's execute
 * step), `summary` and `riskSignals` from the decoded parameters, `timeoutSeconds`.
 *
 * @since 0.2.0
 * @category models
 */
export type LeashedToolOptions<Params> = internalLeash.LeashedToolOptions<Params>

/**
 * The type of a leashed tool: failure `Failure | LeashRefusal`, failure mode `"return"`, and
 * `Trail | Leash` added to its requirements.
 *
 * @since 0.2.0
 * @category models
 */
export type Leashed<T> = internalLeash.Leashed<T>

/**
 * The tools of a toolkit after `Leash.toolkit`.
 *
 * @since 0.2.0
 * @category models
 */
export type LeashedTools<Tools extends Record<string, Tool.Any>, Names> = internalLeash.LeashedTools<Tools, Names>

const leashToolkit = <
  Tools extends Record<string, Tool.Any>,
  const Config extends internalLeash.LeashConfig<Tools>
>(
  toolkit: Toolkit.Toolkit<Tools>,
  config: Config & { readonly [K in Exclude<keyof Config, keyof Tools>]: never }
): Toolkit.Toolkit<LeashedTools<Tools, keyof Config>> => internalLeash.toolkit(toolkit, config as any) as any

/**
 * Tools behind the gate.
 *
 * `Leash.toolkit(toolkit, config)` returns a toolkit with the same tools and the same handlers
 * (a layer made by the original `toolkit.toLayer(...)` serves it, so it works for toolkits you
 * did not write); each tool named in `config` asks the gate before its handler runs, with its
 * decoded parameters as the leash payload and its parameter schema as the payload schema:
 *
 * - `approved`: the handler runs;
 * - `modified`: the handler runs with the reviewer's parameters, decoded by the tool's schema
 *   (an edit that does not decode is an `error` decision, and the handler does not run);
 * - any other decision: the handler does not run, and the model gets a `LeashRefusal` tool
 *   result saying what was decided and why, so the agent loop goes on.
 *
 * Each leashed call is one `execute` step named after `actionName`, wrapping its review step
 * (so the bypass audit pairs every call with its own leash, concurrent calls included).
 *
 * Types: a leashed tool's failure becomes `Failure | LeashRefusal` and its failure mode
 * `"return"` (in @effect/ai 0.37 a tool failure with mode `"error"` aborts `generateText`; a
 * leashed tool's handler failures are tool results too), and it requires `Trail | Leash`, so
 * `generateText` with the toolkit needs a trail and a gate in its context.
 *
 * Under `disableToolCallResolution: true` nothing runs the handlers, so nothing is leashed until
 * you resolve the tool calls yourself: `const tk = yield* Tools` then `tk.handle(name, params)`
 * asks the gate and records the call exactly as above.
 *
 * Provider-defined tools (run by the provider, not by a handler) cannot be leashed; naming one,
 * or a tool the toolkit lacks, throws with the reason.
 *
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@effect/ai"
 * import { Schema } from "effect"
 * import * as HoundsightAi from "houndsight/ai"
 *
 * export const Charge = Tool.make("stripe_charge", {
 *   parameters: { customer: Schema.String, amountUsd: Schema.Number },
 *   success: Schema.Struct({ chargeId: Schema.String })
 * })
 * export const Tools = HoundsightAi.Leash.toolkit(Toolkit.make(Charge), {
 *   stripe_charge: {
 *     actionName: "stripe.charge",
 *     summary: (p) => `Charge ${p.customer} $${p.amountUsd}`,
 *     riskSignals: (p) => ({ amountUsd: p.amountUsd }),
 *     timeoutSeconds: 600
 *   }
 * })
 * ```
 *
 * @since 0.2.0
 * @category leash
 */
export const Leash: {
  readonly toolkit: typeof leashToolkit
} = { toolkit: leashToolkit }
