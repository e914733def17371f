/**
 * The checks of the settings that every live service shares (`Houndsight.layer`, `HttpGate.layer`):
 * the agent key and the endpoint. Each check answers an `Either`: the setting as the service uses
 * it, or the typed `HoundsightConfigError` of the setting (naming it and what to do, never quoting
 * a key). Callers chain the checks with `Either.gen`, so the first wrong setting is the error.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { agentKeyPrefix, reviewerKeyPrefix } from "../schema/ApiKey.js"
import { HoundsightConfigError } from "./configError.js"

/** The local server's default address. */
export const defaultEndpoint = "http://127.0.0.1:7411"

/** What a check answers: the setting as the service uses it, or the error of the setting. */
export type Checked<A> = Either.Either<A, HoundsightConfigError>

/** The `Missing` error of `setting`. */
export const missing = (setting: string, message: string): Checked<never> =>
  Either.left(new HoundsightConfigError({ setting, reason: "Missing", message }))

/** The `Invalid` error of `setting`. */
export const invalid = (setting: string, message: string): Checked<never> =>
  Either.left(new HoundsightConfigError({ setting, reason: "Invalid", message }))

/** Text safe to quote back in an error: never anything that looks like a key. */
export const quote = (text: string): string => {
  if (text.includes(agentKeyPrefix) || text.includes(reviewerKeyPrefix)) return "(a value that contains a key)"
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 117)}...` : text)
}

/** Checks an agent key (a `Redacted` or plain string) under the setting `name`; answers it `Redacted`. */
export const checkKey = (value: unknown, name: string): Checked<Redacted.Redacted<string>> => {
  const keyHelp = "an agent key from your Houndsight server (it starts with sk-hnd-)"
  if (value === undefined || value === null) {
    return missing(name, `${name} is not set: set it to ${keyHelp}.`)
  }
  let text: string
  if (Redacted.isRedacted(value)) {
    const inner: unknown = Redacted.value(value)
    if (typeof inner !== "string") return invalid(name, `${name} must hold a string: ${keyHelp}.`)
    text = inner
  } else if (typeof value === "string") {
    text = value
  } else {
    return invalid(
      name,
      `${name} must be a Redacted string: pass Redacted.make(key), or read it with Config.redacted.`
    )
  }
  if (text.length === 0) return missing(name, `${name} is empty: set it to ${keyHelp}.`)
  if (/\s/.test(text)) {
    return invalid(
      name,
      `${name} contains whitespace (often a trailing newline from a secrets file): remove it; ${keyHelp} has none.`
    )
  }
  if (text.startsWith(reviewerKeyPrefix)) {
    return invalid(
      name,
      `${name} is a reviewer key (rv-hnd-…). The SDK runs with an agent key (sk-hnd-…) only, so an agent can ` +
        `never approve its own leash. Create an agent key on the gate server with ` +
        `\`houndsight-server keys create --agent <name>\` (shown once), or use the development agent key ` +
        `that the server's first start printed.`
    )
  }
  if (!text.startsWith(agentKeyPrefix) || text.length === agentKeyPrefix.length) {
    return invalid(name, `${name} is not a Houndsight agent key: use ${keyHelp}.`)
  }
  return Either.right(Redacted.isRedacted(value) ? (value as Redacted.Redacted<string>) : Redacted.make(text))
}

/**
 * Checks an http(s) base URL under the setting `name` (no credentials, query or fragment; the
 * default when absent); answers it without a trailing slash, a path prefix kept.
 */
export const checkEndpoint = (value: unknown, name: string): Checked<string> => {
  if (value === undefined || value === null) return Either.right(defaultEndpoint)
  const example = "the Houndsight server's base URL, like http://127.0.0.1:7411 or https://houndsight.example.com"
  let text: string
  if (value instanceof URL) text = value.href
  else if (typeof value === "string") text = value.trim()
  else return invalid(name, `${name} must be a string or a URL: ${example}.`)
  const parsed = Either.try(() => new URL(text))
  if (Either.isLeft(parsed)) return invalid(name, `${name} is not a URL (got ${quote(text)}): set it to ${example}.`)
  const url = parsed.right
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return invalid(name, `${name} must use http or https (got ${quote(url.protocol)}): set it to ${example}.`)
  }
  if (url.username !== "" || url.password !== "") {
    return invalid(
      name,
      `${name} must not carry a user name or password: the key goes in the API key setting. Set it to ${example}.`
    )
  }
  if (url.search !== "" || url.hash !== "") {
    return invalid(name, `${name} must not have a query or a fragment (got ${quote(text)}): set it to ${example}.`)
  }
  return Either.right(`${url.origin}${url.pathname.replace(/\/+$/, "")}`)
}
