/**
 * How one attempt to deliver a batch ended (`AttemptResult`), read from the server's answer or
 * from the transport's failure: accepted, to retry (after the server's `Retry-After` when it
 * gives one), too large (413) or rejected. The same reading for both transports.
 *
 * @internal
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { causeChain } from "../describe.js"
import { parseRetryAfter as readRetryAfter } from "../retryAfter.js"
import { formatMillis } from "./text.js"

/** The longest `Retry-After` honoured: a server asking for more is asked again after this. */
export const maxRetryAfterMillis = 300_000

/**
 * A `Retry-After` header as milliseconds from `now` (the shared reading), at most
 * `maxRetryAfterMillis`; `undefined` when absent or unreadable.
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  const millis = readRetryAfter(value, now)
  return millis === undefined ? undefined : Math.min(millis, maxRetryAfterMillis)
}

/** How one attempt ended. */
export type AttemptResult =
  | { readonly _tag: "Ok" }
  | {
    readonly _tag: "Retry"
    readonly why: string
    readonly retryAfterMillis: number | undefined
    /** The attempt got no answer after it may have reached the server, which may have stored it. */
    readonly unanswered: boolean
  }
  | { readonly _tag: "TooLarge" }
  | {
    readonly _tag: "Rejected"
    readonly status: number
    readonly message: string
    readonly location: string | undefined
  }

/** The batch was stored (2xx). */
export const ok: AttemptResult = { _tag: "Ok" }
/** The batch is too large for the server (413). */
export const tooLarge: AttemptResult = { _tag: "TooLarge" }
/** The attempt is to be retried: why, after how long if the server said, and whether it may have been stored. */
export const retry = (why: string, retryAfterMillis: number | undefined, unanswered: boolean): AttemptResult => ({
  _tag: "Retry",
  why,
  retryAfterMillis,
  unanswered
})

/** Error codes that say the request never left: nothing of it can have been stored. */
const notSentCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"])

/** Where the story of a transport failure starts: the cause of a `RequestError`, else the error. */
export const failureCause = (error: HttpClientError.HttpClientError): unknown =>
  error._tag === "RequestError" ? error.cause : error

/** Whether a transport failure (its cause chain from `cause`) may have come after the server read the request. */
const mayHaveArrived = (cause: unknown): boolean => {
  for (const link of causeChain(cause, 4)) {
    if (!(link instanceof Error)) break
    const code = (link as { code?: unknown }).code
    if (typeof code === "string" && notSentCodes.has(code)) return false
  }
  return true
}

/**
 * The first lines of a transport failure's cause chain, for a log line (never the request: it
 * holds the key); `tag` names the failure when the chain says nothing.
 */
const describeFailure = (cause: unknown, tag: string): string => {
  const parts: Array<string> = []
  for (const link of causeChain(cause, 3)) {
    if (!(link instanceof Error)) {
      parts.push(String(link))
      break
    }
    const code = (link as { code?: unknown }).code
    parts.push(typeof code === "string" ? `${link.message} (${code})` : link.message)
  }
  return parts.length === 0 ? `transport failure (${tag})` : `transport failure: ${parts.join(": ")}`
}

/** How an attempt that failed in transport ended. */
export const transportFailure = (cause: unknown, tag: string): AttemptResult =>
  retry(describeFailure(cause, tag), undefined, mayHaveArrived(cause))

/** The server's error message: `code: message` from an ErrorBody, else the start of the body. */
const serverMessage = (text: string): string => {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }
    if (typeof parsed?.error?.message === "string") {
      return typeof parsed.error.code === "string"
        ? `${parsed.error.code}: ${parsed.error.message}`
        : parsed.error.message
    }
  } catch {
    // not JSON: use the text
  }
  const trimmed = text.trim()
  if (trimmed.length === 0) return "no message"
  return trimmed.length > 300 ? `${trimmed.slice(0, 300)}…` : trimmed
}

/**
 * How an answer ends an attempt, from its status and `Retry-After`; `"rejected"` when the batch is
 * refused (the caller then reads the body, for the log line, and `Location`).
 */
export const classifyAnswer = (status: number, retryAfter: string | undefined, now: number): AttemptResult | "rejected" => {
  if (status >= 200 && status < 300) return ok
  if (status === 413) return tooLarge
  if (status === 408 || status === 429 || status >= 500) {
    return retry(`status ${status}`, parseRetryAfter(retryAfter, now), false)
  }
  return "rejected"
}

/** The server refused the batch with `status`; `text` is its body. */
export const rejected = (status: number, text: string, location: string | undefined): AttemptResult => ({
  _tag: "Rejected",
  status,
  message: serverMessage(text),
  location
})

/** How an answer through the `HttpClient` ends an attempt (its body read, or discarded). */
export const classify = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<AttemptResult> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const status = response.status
    const location = response.headers["location"]
    const outcome = classifyAnswer(status, response.headers["retry-after"], now)
    if (outcome !== "rejected") return Effect.as(Effect.ignore(response.text), outcome)
    return Effect.map(Effect.orElseSucceed(response.text, () => ""), (text) => rejected(status, text, location))
  })

/** How an attempt that got no answer within `timeoutMillis` ended. */
export const timedOut = (timeoutMillis: number): AttemptResult =>
  retry(`no answer within ${formatMillis(timeoutMillis)}`, undefined, true)
