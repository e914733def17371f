/**
 * Turns failures into the `{type, message}` of a step record.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"

export { causeChain } from "../schema/Common.js"

const maxMessage = 4096

const clip = (s: string): string => (s.length > maxMessage ? `${s.slice(0, maxMessage)}…[truncated]` : s)

const stringify = (value: unknown): string => {
  try {
    const s = JSON.stringify(value)
    return s === undefined ? String(value) : s
  } catch {
    return String(value)
  }
}

/** `{type, message}` of any thrown or failed value. */
export const describeError = (error: unknown): { readonly type: string; readonly message: string } => {
  if (error !== null && typeof error === "object") {
    const tag = (error as { _tag?: unknown })._tag
    const name = (error as { name?: unknown }).name
    const message = (error as { message?: unknown }).message
    const type = typeof tag === "string" ? tag : typeof name === "string" ? name : error.constructor?.name ?? "Object"
    if (typeof message === "string" && message !== "") return { type, message: clip(message) }
    return { type, message: clip(stringify(error)) }
  }
  return { type: typeof error, message: clip(String(error)) }
}


/** What ended a fiber, read once from its cause. */
type Ending =
  | { readonly _tag: "Interrupted" }
  | { readonly _tag: "Failure" | "Defect"; readonly error: { readonly type: string; readonly message: string } }
  | { readonly _tag: "Other"; readonly pretty: string }

const ending = (cause: Cause.Cause<unknown>): Ending => {
  if (Cause.isInterruptedOnly(cause)) return { _tag: "Interrupted" }
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return { _tag: "Failure", error: describeError(failure.value) }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) return { _tag: "Defect", error: describeError(defect.value) }
  return { _tag: "Other", pretty: clip(Cause.pretty(cause)) }
}

/**
 * One line for an unexpected failure: a failure's message, a defect's `type: message`,
 * otherwise the pretty cause.
 */
export const describeCauseLine = (cause: Cause.Cause<unknown>): string => {
  const e = ending(cause)
  switch (e._tag) {
    case "Interrupted":
      return "interrupted"
    case "Failure":
      return e.error.message
    case "Defect":
      return `${e.error.type}: ${e.error.message}`
    case "Other":
      return e.pretty
  }
}

/** How an exit cause ends a step or a trail. */
export const describeCause = (
  cause: Cause.Cause<unknown>
):
  | { readonly status: "interrupted" }
  | { readonly status: "error"; readonly error: { readonly type: string; readonly message: string } } =>
{
  const e = ending(cause)
  switch (e._tag) {
    case "Interrupted":
      return { status: "interrupted" }
    case "Failure":
      return { status: "error", error: e.error }
    case "Defect":
      return { status: "error", error: { type: e.error.type === "Error" ? "Defect" : e.error.type, message: e.error.message } }
    case "Other":
      return { status: "error", error: { type: "Unknown", message: e.pretty } }
  }
}
