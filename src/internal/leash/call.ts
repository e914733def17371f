/**
 * One leash call: what it knows (`Call`), how it ends (`LeashOutcome`), and the helpers that
 * build an outcome from a reason or from the gate's decision, and record the review step.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { utf8Length } from "../../schema/Common.js"
import { maxPayloadBytes } from "../../schema/LeashRequest.js"
import type { GateDecision, LeashState } from "../../schema/LeashState.js"
import * as Decision from "../decision.js"
import { describeCauseLine } from "../describe.js"
import type { StepState } from "../state.js"
import type { Gate } from "./gate.js"

/** The default `timeoutSeconds` (re-exported as `Leash.defaultTimeoutSeconds`). */
export const defaultTimeoutSeconds = 300

/**
 * How one leash call ends: its Decision, and what the review step records beside it.
 * (The leash's own word; the exporter's delivery has outcomes of another kind.)
 */
export interface LeashOutcome<P> {
  readonly decision: Decision.Decision<P>
  /** The modified payload as the gate sent it (for the review step's output). */
  readonly wirePayload?: unknown
  /**
   * The agent stopped waiting early, before the deadline, on a leash it cannot be sure of
   * (created late, or an answer was lost): it settles the leash with the time left.
   */
  readonly settle?: true
}

/** What one leash call knows: fixed when it starts, but for the link its Decisions carry. */
export interface Call {
  readonly gate: Gate
  readonly clock: Clock.Clock
  readonly leashId: string
  readonly actionName: string
  /**
   * The link every Decision of this call carries: the trail's page until the gate answered the
   * leash with a 2xx, the leash's page from then on (DESIGN.md section 1, v1.1).
   */
  traceLink: string
  /** `{endpoint}/leashes/{leash_id}`. */
  readonly leashLink: string
  readonly timeoutSeconds: number
  readonly start: number
  /** When the call gives up: `start` plus `timeoutSeconds`. Every other stop is derived from it. */
  readonly deadline: number
  /**
   * Whether the agent settles the leash when it gives up (`request`: the leash is its own; not
   * `await`, which may be called again on the same leash).
   */
  readonly settles: boolean
  readonly schema: Schema.Schema<any, any, never> | undefined
}

/** Milliseconds as seconds in words: `2`, `0.25`. */
export const seconds = (millis: number): string => {
  const s = millis / 1000
  return Number.isInteger(s) ? `${s}` : s.toFixed(3).replace(/0+$/, "")
}

/** A count with thousands separators: `262,144`. */
export const count = (n: number): string => n.toLocaleString("en-US")

/** The size of a value as compact UTF-8 JSON, exactly as it is sent (0 when it is left out). */
export const jsonBytes = (value: unknown): number => {
  const json = JSON.stringify(value)
  return json === undefined ? 0 : utf8Length(json)
}

/** The call's clock, read without an Effect (the engine keeps to the call's own fiber). */
export const now = (call: Call): number => call.clock.unsafeCurrentTimeMillis()

const fields = (call: Call, reason: string): Decision.Fields => ({
  reason,
  leashId: call.leashId,
  traceLink: call.traceLink,
  actionName: call.actionName
})

/** A `timeout` with this reason. */
export const timeoutOutcome = (call: Call, reason: string): LeashOutcome<never> => ({
  decision: Decision.timeout(fields(call, reason))
})

/** An `error` with this reason. */
export const errorOutcome = (call: Call, reason: string): LeashOutcome<never> => ({
  decision: Decision.error(fields(call, reason))
})

/** `async`: the leash is pending on the gate, and `Leash.await` waits for it. */
export const asyncOutcome = (call: Call): LeashOutcome<never> => ({
  decision: Decision.async(fields(call, `waiting for a reviewer; call Leash.await with this decision to wait for it`))
})

/**
 * The `timeout` of a call that ran out of time, naming the last failure; `early` when it stopped
 * before the deadline to settle the leash.
 */
export const noDecision = (call: Call, last: string | undefined, early: boolean): LeashOutcome<never> => {
  const outcome = timeoutOutcome(
    call,
    last === undefined
      ? `no decision in ${seconds(call.timeoutSeconds * 1000)} s`
      : `no decision in ${seconds(call.timeoutSeconds * 1000)} s; last failure: ${last}`
  )
  return early ? { ...outcome, settle: true } : outcome
}

/** Why an answer is not for this call's leash, or undefined when it is. */
export const checkId = (call: Call, state: LeashState): string | undefined =>
  state.leashId === call.leashId
    ? undefined
    : `the gate answered for leash ${state.leashId} when asked about ${call.leashId}: the SDK and server contracts have drifted`

/**
 * The approvers of an approving decision of the gate: every one it names (two-person approval),
 * or the one reviewer who decided; none when it names nobody.
 */
const approversOf = (d: GateDecision): { readonly approvers?: ReadonlyArray<Decision.Approver> } => {
  const named = d.approvers ?? (d.reviewer === undefined ? undefined : [d.reviewer])
  return named === undefined || named.length === 0
    ? {}
    : { approvers: named.map((r) => ({ id: r.id, name: r.name })) }
}

/** The outcome of the gate's decision; a reviewer's payload is checked (size, schema) first. */
export const fromGate = <P>(call: Call, d: GateDecision): LeashOutcome<P> => {
  const f = fields(call, d.reason)
  switch (d.decision) {
    case "approved":
      return { decision: Decision.approved({ ...f, ...approversOf(d) }) }
    case "rejected":
      return { decision: Decision.rejected(f) }
    case "blocked":
      return { decision: Decision.blocked(f) }
    case "timeout":
      return { decision: Decision.timeout(f) }
    case "modified": {
      if (d.modifiedPayload === undefined) {
        return errorOutcome(
          call,
          "the gate answered modified without a modified_payload: the SDK and server contracts have drifted"
        )
      }
      const modifiedBytes = jsonBytes(d.modifiedPayload)
      if (modifiedBytes > maxPayloadBytes) {
        return errorOutcome(
          call,
          `the reviewer's modified payload is ${count(modifiedBytes)} bytes as JSON, over the limit of ${
            count(maxPayloadBytes)
          } bytes: the SDK and server contracts have drifted`
        )
      }
      if (call.schema === undefined) {
        return {
          decision: Decision.modified({ ...f, ...approversOf(d), modifiedPayload: d.modifiedPayload as P }),
          wirePayload: d.modifiedPayload
        }
      }
      const decoded = Schema.decodeUnknownEither(call.schema)(d.modifiedPayload)
      if (Either.isLeft(decoded)) {
        return {
          decision: Decision.error(
            fields(call, `the reviewer's modified payload does not match payloadSchema: ${decoded.left.message}`)
          ),
          wirePayload: d.modifiedPayload
        }
      }
      return {
        decision: Decision.modified({ ...f, ...approversOf(d), modifiedPayload: decoded.right as P }),
        wirePayload: d.modifiedPayload
      }
    }
  }
}

/** Turns anything unexpected (a defect of a transport) into an `error` outcome; keeps interruption. */
export const total = <P>(call: Call, self: Effect.Effect<LeashOutcome<P>>): Effect.Effect<LeashOutcome<P>> =>
  Effect.catchAllCause(self, (cause) =>
    Cause.isInterrupted(cause)
      ? Effect.failCause(cause)
      : Effect.succeed(errorOutcome(call, `the leash failed unexpectedly: ${describeCauseLine(cause)}`)))

const summary = (decision: Decision.Decision<unknown>) => ({
  leashId: decision.leashId,
  actionName: decision.actionName,
  decision: decision.decision,
  approved: decision.approved,
  reason: decision.reason,
  ...(decision.approvers === undefined ? {} : { approvers: decision.approvers })
})

/** Ends the review step with the outcome. */
export const record = (
  step: StepState | undefined,
  outcome: LeashOutcome<unknown>,
  status: "ok" | "interrupted"
): void => {
  if (step === undefined) return
  step.setOutput(Decision.toWire(outcome.decision, outcome.wirePayload))
  step.leash = summary(outcome.decision)
  step.finish(status, undefined)
}
