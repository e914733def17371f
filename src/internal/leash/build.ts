/**
 * A leash's body, checked and encoded once per call (every retry sends exactly these bytes), or
 * the reason it is not sent: each limit of contract v1.1 and the options an untyped caller may
 * get wrong.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Loss, toJsonSafeWhole } from "../jsonSafe.js"
import type { TrailState } from "../state.js"
import {
  LeashRequest,
  maxActionSummaryChars,
  maxPayloadBytes,
  maxRiskSignalsBytes,
  maxTimeoutSeconds
} from "../../schema/LeashRequest.js"
import { type Call, count, jsonBytes } from "./call.js"
import type { NewLeash } from "./gate.js"

/** The options as they may arrive from untyped callers: every field is checked. */
export interface LooseOptions {
  readonly actionName?: unknown
  readonly actionSummary?: unknown
  readonly riskSignals?: unknown
  readonly payload?: unknown
  readonly payloadSchema?: Schema.Schema<any, any, never> | undefined
  readonly timeoutSeconds?: unknown
  readonly blocking?: unknown
}

/** What is wrong with a `timeoutSeconds`, or undefined when it is absent or valid. */
export const checkTimeout = (value: unknown, what: string): string | undefined =>
  value === undefined ||
    (typeof value === "number" && Number.isFinite(value) && value > 0 && value <= maxTimeoutSeconds)
    ? undefined
    : `${what}: timeoutSeconds must be a number above 0 and at most ${maxTimeoutSeconds}, got ${String(value)}`

const notWhole = (loss: Loss): string =>
  `Leash.request: ${loss.path} cannot be sent whole, so the gate was not asked: ${loss.what}. A reviewer must see all of what they approve, so nothing in a leash is cut or replaced`

/** The leash to send and the review step's input, or why it is not sent. */
export type Built =
  | { readonly leash: NewLeash; readonly input: unknown }
  | { readonly problem: string; readonly input: unknown }

/** Checks and encodes the leash of `Leash.request`. */
export const build = (
  call: Call,
  trail: TrailState,
  stepId: string,
  actionName: string,
  o: LooseOptions,
  blocking: unknown,
  timeoutProblem: string | undefined
): Built => {
  const rawInput = { action_summary: o.actionSummary, risk_signals: o.riskSignals, payload: o.payload }
  if (timeoutProblem !== undefined) return { problem: timeoutProblem, input: rawInput }
  if (typeof blocking !== "boolean") {
    return { problem: `Leash.request: blocking must be true or false, got ${String(blocking)}`, input: rawInput }
  }
  if (typeof o.actionSummary === "string" && o.actionSummary.length > maxActionSummaryChars) {
    return {
      problem: `Leash.request: actionSummary is ${count(o.actionSummary.length)} characters, over the limit of ${
        count(maxActionSummaryChars)
      }, so the gate was not asked: keep it to one line a reviewer reads; details belong in the payload`,
      input: rawInput
    }
  }
  let payload: unknown = o.payload
  if (o.payloadSchema !== undefined) {
    const encoded = Schema.encodeEither(o.payloadSchema)(o.payload)
    if (Either.isLeft(encoded)) {
      return {
        problem: `Leash.request: the payload does not match payloadSchema, so the gate was not asked: ${encoded.left.message}`,
        input: rawInput
      }
    }
    payload = encoded.right
  }
  // a reviewer must see all of what they approve: the payload and the signals are never cut
  const safePayload = toJsonSafeWhole(payload, "payload")
  if (safePayload.loss !== undefined) return { problem: notWhole(safePayload.loss), input: rawInput }
  const payloadBytes = jsonBytes(safePayload.value)
  if (payloadBytes > maxPayloadBytes) {
    return {
      problem: `Leash.request: the payload is ${count(payloadBytes)} bytes as JSON, over the limit of ${
        count(maxPayloadBytes)
      } bytes (256 KiB), so the gate was not asked. A reviewer must see all of what they approve, so a payload is never cut: send less (an id or a link to the document, with its hash) and keep the rest out of the leash`,
      input: rawInput
    }
  }
  const safeSignals = toJsonSafeWhole(o.riskSignals ?? {}, "riskSignals")
  if (safeSignals.loss !== undefined) return { problem: notWhole(safeSignals.loss), input: rawInput }
  const request = {
    leashId: call.leashId,
    trailId: trail.id,
    stepId,
    agent: trail.agent,
    actionName,
    actionSummary: o.actionSummary as string,
    riskSignals: safeSignals.value as Record<string, unknown>,
    payload: safePayload.value,
    timeoutSeconds: call.timeoutSeconds,
    blocking
  }
  const wire = Schema.encodeEither(LeashRequest)(request)
  if (Either.isLeft(wire)) {
    return {
      problem: `Leash.request: the request is invalid, so the gate was not asked: ${wire.left.message}`,
      input: rawInput
    }
  }
  const signalBytes = jsonBytes(wire.right.risk_signals)
  if (signalBytes > maxRiskSignalsBytes) {
    return {
      problem: `Leash.request: riskSignals are ${count(signalBytes)} bytes as JSON, over the limit of ${
        count(maxRiskSignalsBytes)
      } bytes (16 KiB), so the gate was not asked: keep to the few values floor rules and reviewers judge by, and put the rest in the payload`,
      input: rawInput
    }
  }
  return {
    // what the gate sees: risk signals with their snake_case wire keys
    leash: { request: { ...request, riskSignals: wire.right.risk_signals }, body: JSON.stringify(wire.right) },
    input: {
      action_summary: wire.right.action_summary,
      risk_signals: wire.right.risk_signals,
      payload: wire.right.payload
    }
  }
}
