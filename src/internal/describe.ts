/**
 * Turns failures into the `{type, message}` of a step record.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"

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

/** How an exit cause ends a step or a trail. */
export const describeCause = (
  cause: Cause.Cause<unknown>
):
  | { readonly status: "interrupted" }
  | { readonly status: "error"; readonly error: { readonly type: string; readonly message: string } } =>
{
  if (Cause.isInterruptedOnly(cause)) return { status: "interrupted" }
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return { status: "error", error: describeError(failure.value) }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    const d = describeError(defect.value)
    return { status: "error", error: { type: d.type === "Error" ? "Defect" : d.type, message: d.message } }
  }
  return { status: "error", error: { type: "Unknown", message: clip(Cause.pretty(cause)) } }
}
