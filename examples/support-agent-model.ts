/**
 * A scripted local model for the support agent: an `@effect/ai` `LanguageModel` made with
 * `LanguageModel.make` that answers from the conversation instead of a provider. It looks the
 * order named in the ticket up, asks to refund its total, then tells the customer what happened
 * (including a refusal the leash returned). It reports usage like a provider (about four
 * characters a token), so recorded steps carry tokens and, with a price, a cost.
 */
import { LanguageModel, Model } from "@effect/ai"
import type * as Prompt from "@effect/ai/Prompt"
import { Effect, Layer, Stream } from "effect"

interface ToolResult {
  readonly name: string
  readonly isFailure: boolean
  readonly result: any
}

const toolResults = (prompt: Prompt.Prompt): Array<ToolResult> => {
  const out: Array<ToolResult> = []
  for (const message of prompt.content) {
    if (message.role !== "tool") continue
    for (const part of message.content) {
      if (part.type === "tool-result") out.push({ name: part.name, isFailure: part.isFailure, result: part.result })
    }
  }
  return out
}

const textOf = (prompt: Prompt.Prompt): string => {
  let text = ""
  for (const message of prompt.content) {
    if (message.role === "system") text += message.content
    else {
      for (const part of message.content as ReadonlyArray<{ readonly type: string; readonly text?: string }>) {
        if (part.type === "text") text += part.text
      }
    }
  }
  return text
}

let calls = 0

/** The next answer of the script, as a provider's response parts. */
export const answer = (prompt: Prompt.Prompt): Array<any> => {
  const results = toolResults(prompt)
  const lookup = results.find((r) => r.name === "lookup_order")
  const refund = results.find((r) => r.name === "refund_order")
  const orderId = /\b[A-Z]-\d+\b/.exec(textOf(prompt))?.[0] ?? "unknown"
  const parts: Array<any> = []
  let text = ""
  let reason: "tool-calls" | "stop" = "tool-calls"
  calls++
  if (lookup === undefined) {
    parts.push({ type: "tool-call", id: `call_${calls}`, name: "lookup_order", params: { orderId } })
  } else if (lookup.isFailure) {
    text = `I could not find order ${orderId}. Could you check the number?`
    reason = "stop"
  } else if (refund === undefined) {
    parts.push({
      type: "tool-call",
      id: `call_${calls}`,
      name: "refund_order",
      params: { orderId, amountUsd: lookup.result.totalUsd, reason: "arrived broken" }
    })
  } else if (refund.isFailure) {
    text = `I have not refunded order ${orderId}: ${refund.result.message ?? refund.result.reason ?? "it was refused"}`
    reason = "stop"
  } else {
    text = `Done: order ${orderId} is refunded ($${refund.result.amountUsd}, refund ${refund.result.refundId}).`
    reason = "stop"
  }
  if (text !== "") parts.push({ type: "text", text })
  const input = Math.ceil(JSON.stringify(prompt.content).length / 4)
  const output = Math.ceil((text.length + JSON.stringify(parts).length) / 4)
  return [
    { type: "response-metadata", id: `scripted_${calls}`, modelId: "scripted-support-model", timestamp: new Date(0).toISOString() },
    ...parts,
    { type: "finish", reason, usage: { inputTokens: input, outputTokens: output, totalTokens: input + output } }
  ]
}

/** The scripted model as an `@effect/ai` Model (provider `scripted`). */
export const scriptedSupportModel: Layer.Layer<LanguageModel.LanguageModel> = Model.make(
  "scripted",
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: (options) => Effect.sync(() => answer(options.prompt)),
      streamText: (options) =>
        Stream.fromIterable(answer(options.prompt).flatMap((part) =>
          part.type === "text"
            ? [
              { type: "text-start", id: "t" },
              { type: "text-delta", id: "t", delta: part.text },
              { type: "text-end", id: "t" }
            ]
            : [part]
        ))
    })
  )
)
