/**
 * Model prices and the cost of one call. A model without a price costs nothing on the record: the
 * step keeps its tokens and carries no `cost_usd`, never a guessed one.
 *
 * @internal
 */

/** What a model costs, in US dollars per million tokens. */
export interface Price {
  /** Input tokens not read from the prompt cache. */
  readonly input: number
  /** Output tokens (reasoning tokens included: providers bill them as output). */
  readonly output: number
  /** Input tokens read from the provider's prompt cache; without it they cost `input`. */
  readonly cachedInput?: number | undefined
}

/** Prices by model name (the name the provider reports, or the one given to the layer). */
export type PriceTable = Readonly<Record<string, Price>>

/** When the default prices were read off the providers' public price pages. */
export const defaultPricesAsOf = "2025-10-01"

/**
 * Default prices of common OpenAI and Anthropic models, USD per million tokens, as published on
 * `defaultPricesAsOf` (openai.com/api/pricing, anthropic.com/pricing; Anthropic's cached input is
 * its cache-read price). Prices change: extend or replace the table in code (`prices` option).
 */
export const defaultPrices: PriceTable = {
  // OpenAI
  "gpt-5": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-mini": { input: 0.25, output: 2, cachedInput: 0.025 },
  "gpt-5-nano": { input: 0.05, output: 0.4, cachedInput: 0.005 },
  "gpt-4.1": { input: 2, output: 8, cachedInput: 0.5 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gpt-4o": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "o3": { input: 2, output: 8, cachedInput: 0.5 },
  "o3-mini": { input: 1.1, output: 4.4, cachedInput: 0.55 },
  "o4-mini": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  // Anthropic
  "claude-opus-4-1": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-opus-4-0": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-opus-4": { input: 15, output: 75, cachedInput: 1.5 },
  "claude-sonnet-4-5": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-sonnet-4-0": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-sonnet-4": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-3-7-sonnet": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-3-7-sonnet-latest": { input: 3, output: 15, cachedInput: 0.3 },
  "claude-haiku-4-5": { input: 1, output: 5, cachedInput: 0.1 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cachedInput: 0.08 },
  "claude-3-5-haiku-latest": { input: 0.8, output: 4, cachedInput: 0.08 }
}

/** A dated snapshot of a model (`gpt-4o-2024-08-06`, `claude-sonnet-4-20250514`): same price. */
const snapshotSuffix = /-(?:\d{4}-\d{2}-\d{2}|\d{8})$/

/**
 * The price of a model: its exact name, else the name without a dated snapshot suffix. Nothing
 * else (no prefix guessing: `gpt-4o-mini` is not `gpt-4o`).
 */
export const priceOf = (table: PriceTable, model: string): Price | undefined => {
  const exact = Object.hasOwn(table, model) ? table[model] : undefined
  if (exact !== undefined) return exact
  const base = model.replace(snapshotSuffix, "")
  return base !== model && Object.hasOwn(table, base) ? table[base] : undefined
}

/** Checks a user's table: every price a finite number, zero or more. Returns the problem, if any. */
export const checkPrices = (table: PriceTable): string | undefined => {
  const ok = (n: unknown) => typeof n === "number" && Number.isFinite(n) && n >= 0
  for (const [model, price] of Object.entries(table)) {
    if (
      price === null || typeof price !== "object" || !ok(price.input) || !ok(price.output) ||
      (price.cachedInput !== undefined && !ok(price.cachedInput))
    ) {
      return `the price of ${JSON.stringify(model)} must be { input, output, cachedInput? } in US dollars per million tokens, each a finite number, zero or more; got ${
        JSON.stringify(price)
      }`
    }
  }
  return undefined
}

/**
 * The cost in US dollars of a call: `input` counts every input token, `cachedInput` the part of
 * them read from the cache.
 */
export const costOf = (price: Price, input: number, output: number, cachedInput: number): number => {
  const cached = Math.min(cachedInput, input)
  const cachedRate = price.cachedInput ?? price.input
  return ((input - cached) * price.input + cached * cachedRate + output * price.output) / 1_000_000
}
