/**
 * Risk signals: what a floor rule or a reviewer judges a leash by. Keys of any style in
 * TypeScript; every key goes out in snake_case (`amountUsd` → `amount_usd`), so rule authors can
 * predict it. Decoding keeps the wire's snake_case keys.
 *
 * @since 0.1.0
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { snakeCase } from "./Common.js"

const WireSignals = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
  Schema.filter((signals) => {
    const amount = signals["amount_usd"]
    if (amount !== undefined && (typeof amount !== "number" || !Number.isFinite(amount))) {
      return { path: ["amount_usd"], message: "expected a finite number" }
    }
    const categories = signals["data_categories"]
    if (categories !== undefined && (!Array.isArray(categories) || categories.some((c) => typeof c !== "string"))) {
      return { path: ["data_categories"], message: "expected an array of strings" }
    }
    return true
  }, {
    // what the filter checks, for the OpenAPI document
    jsonSchema: {
      properties: {
        amount_usd: { type: "number" },
        data_categories: { type: "array", items: { type: "string" } }
      }
    }
  })
)

/**
 * Risk signals, mapped key by key to snake_case on encode. Two keys that map to the same wire
 * key (`amountUsd` and `amount_usd`) are refused with a message naming both.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RiskSignals = Schema.transformOrFail(
  WireSignals,
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  {
    strict: true,
    decode: (wire) => ParseResult.succeed(wire),
    encode: (signals, _, ast) => {
      const out: Record<string, unknown> = {}
      const from: Record<string, string> = {}
      for (const key of Object.keys(signals)) {
        const wireKey = snakeCase(key)
        if (wireKey === "") {
          return ParseResult.fail(
            new ParseResult.Type(ast, signals, `risk signal key ${JSON.stringify(key)} has no letters or digits`)
          )
        }
        if (wireKey in from) {
          return ParseResult.fail(
            new ParseResult.Type(
              ast,
              signals,
              `risk signal keys ${JSON.stringify(from[wireKey])} and ${
                JSON.stringify(key)
              } both become ${JSON.stringify(wireKey)} on the wire: keep one`
            )
          )
        }
        from[wireKey] = key
        out[wireKey] = signals[key]
      }
      return ParseResult.succeed(out)
    }
  }
).annotations({ identifier: "RiskSignals" })

/**
 * Risk signals as a user writes them: `amountUsd` and `dataCategories` are known to the gate,
 * any other key is passed on in snake_case.
 *
 * @since 0.1.0
 * @category models
 */
export interface RiskSignals {
  readonly amountUsd?: number
  readonly dataCategories?: ReadonlyArray<string>
  readonly [key: string]: unknown
}
