/**
 * The gate over HTTP: the `Gate` (the `Leash` transport) that talks to a Houndsight server
 * (contract v1, DESIGN.md section 2). It classifies every answer and leaves every rule
 * (deadline, retries, back-off, the review step) to `Leash.request`:
 *
 * | answer | result |
 * |---|---|
 * | 2xx with a leash state | the state |
 * | 2xx that is not JSON, or not a leash state | `GateError` `Decode` |
 * | 5xx, 408, 429 | `GateError` `Transient`, with `Retry-After` (seconds or an HTTP date) |
 * | refused, reset, broken body | `GateError` `Transient` |
 * | any other status | `GateError` `Rejected`, with the status and the server's message |
 *
 * Requests carry `Authorization: Bearer <key>` with an agent key (`sk-hnd-…`); the gate's own
 * calls are not traced.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Layer, Redacted } from "effect"
 * import { HttpGate } from "houndsight"
 *
 * const gate = HttpGate.layer({
 *   endpoint: "http://127.0.0.1:7411",
 *   apiKey: Redacted.make("sk-hnd-local")
 * }).pipe(Layer.provide(FetchHttpClient.layer))
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { checkEndpoint, checkKey, missing } from "../internal/settings.js"
import { ErrorBody } from "../schema/ErrorBody.js"
import { LeashState } from "../schema/LeashState.js"
import type { HoundsightConfigError } from "../services/HoundsightError.js"
import { type Gate, GateError, Leash } from "../services/Leash.js"
import { causeChain } from "../internal/describe.js"
import { parseRetryAfter as readRetryAfter } from "../internal/retryAfter.js"

/**
 * Where the gate is and how to authenticate.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The server's base URL, such as `http://127.0.0.1:7411`. */
  readonly endpoint: string
  /** An agent key (`sk-hnd-…`). A reviewer key is refused: an agent must not approve itself. */
  readonly apiKey: Redacted.Redacted<string>
}

const clip = (s: string, max = 512): string => (s.length > max ? `${s.slice(0, max)}…` : s)

const decodeState = Schema.decodeUnknownEither(LeashState)
const decodeErrorBody = Schema.decodeUnknownEither(ErrorBody)

/**
 * Reads a `Retry-After` value (whole delay-seconds or an HTTP date) as milliseconds from `now`;
 * `undefined` when it is neither. The one rule the exporter follows too.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseRetryAfter: (value: string, now: number) => number | undefined = readRetryAfter

/** The server's message of a non-2xx answer: `<status> <code>: <message>`, or the raw text. */
const statusMessage = (status: number, text: string | undefined): string => {
  if (text === undefined || text.length === 0) return `the gate answered ${status} with an empty body`
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return `the gate answered ${status}: ${clip(text)}`
  }
  const body = decodeErrorBody(json)
  return Either.isRight(body)
    ? `the gate answered ${status} ${body.right.error.code}: ${clip(body.right.error.message, 4096)}`
    : `the gate answered ${status}: ${clip(text)}`
}

/** A transport failure in words: the system error code when there is one (ECONNREFUSED …). */
const transportMessage = (endpoint: string, error: HttpClientError.RequestError): string => {
  const codes: Array<string> = []
  for (const [i, link] of causeChain(error.cause, 5).entries()) {
    if (typeof link !== "object") break
    const c = link as { code?: unknown; message?: unknown }
    if (typeof c.code === "string") codes.push(c.code)
    else if (typeof c.message === "string" && c.message !== "" && codes.length === 0 && i > 0) codes.push(c.message)
  }
  const detail = codes.length > 0 ? codes.join(": ") : error.description ?? error.reason
  return `could not reach the gate at ${endpoint} (${detail})`
}

const isTransientStatus = (status: number): boolean => status >= 500 || status === 408 || status === 429

/**
 * Classifies one answer of the gate.
 *
 * @since 0.1.0
 * @category utils
 */
export const classify = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<LeashState, GateError> =>
  Effect.gen(function*() {
    const status = response.status
    const text = yield* Effect.either(response.text)
    if (status >= 200 && status < 300) {
      if (Either.isLeft(text)) {
        return yield* new GateError({
          reason: "Transient",
          status,
          message: `the connection broke while reading the gate's ${status} answer (${text.left.description ?? text.left.reason})`
        })
      }
      let json: unknown
      try {
        json = JSON.parse(text.right)
      } catch {
        return yield* new GateError({
          reason: "Decode",
          status,
          message: `the gate answered ${status} with a body that is not JSON: ${
            JSON.stringify(clip(text.right, 200))
          }: the SDK and server contracts have drifted`
        })
      }
      const state = decodeState(json)
      if (Either.isLeft(state)) {
        return yield* new GateError({
          reason: "Decode",
          status,
          message: `the gate answered ${status} with a body that is not a leash state: ${
            clip(state.left.message, 2048)
          }: the SDK and server contracts have drifted`
        })
      }
      return state.right
    }
    const message = statusMessage(status, Either.isRight(text) ? text.right : undefined)
    if (isTransientStatus(status)) {
      const header = response.headers["retry-after"]
      const now = yield* Clock.currentTimeMillis
      const retryAfterMillis = header === undefined ? undefined : parseRetryAfter(header, now)
      return yield* new GateError(
        retryAfterMillis === undefined
          ? { reason: "Transient", status, message }
          : { reason: "Transient", status, message, retryAfterMillis }
      )
    }
    return yield* new GateError({ reason: "Rejected", status, message })
  })

/**
 * Builds the HTTP gate transport on the `HttpClient` in the context. Fails with the
 * `HoundsightConfigError` that `Houndsight.layer` gives (naming the setting, `endpoint` or
 * `apiKey`, and what to do; never quoting the key) when the endpoint is not an http(s) URL or
 * the key is not an agent key (a reviewer key can approve leashes, so an agent never holds one).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Gate, HoundsightConfigError, HttpClient.HttpClient> =>
  Effect.flatMap(
    Effect.suspend(() =>
      Either.gen(function*() {
        const o: Partial<Options> = options !== null && typeof options === "object" ? options : {}
        if (o.endpoint === undefined || o.endpoint === null) {
          return yield* missing(
            "endpoint",
            "endpoint is not set: set it to the Houndsight server's base URL, like http://127.0.0.1:7411."
          )
        }
        return { endpoint: yield* checkEndpoint(o.endpoint, "endpoint"), apiKey: yield* checkKey(o.apiKey, "apiKey") }
      })
    ),
    ({ apiKey, endpoint }) => makeChecked(endpoint, apiKey)
  )

/**
 * The HTTP gate from settings already checked (`Houndsight.layerValidated` builds it from its
 * validated options): `endpoint` without a trailing slash, `apiKey` an agent key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeChecked = (
  endpoint: string,
  apiKey: Redacted.Redacted<string>
): Effect.Effect<Gate, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) =>
        request.pipe(HttpClientRequest.bearerToken(apiKey), HttpClientRequest.acceptJson)
      ),
      HttpClient.withTracerPropagation(false)
    )
    const send = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<LeashState, GateError> =>
      client.execute(request).pipe(
        Effect.mapError((error) =>
          new GateError({
            reason: error._tag === "RequestError" && error.reason !== "Transport" ? "Rejected" : "Transient",
            message: error._tag === "RequestError" ? transportMessage(endpoint, error) : error.message
          })
        ),
        Effect.flatMap(classify),
        Effect.withTracerEnabled(false)
      )
    const leashUrl = (leashId: string) => `${endpoint}/v1/leashes/${encodeURIComponent(leashId)}`
    const gate: Gate = {
      create: (leash) =>
        send(HttpClientRequest.post(`${endpoint}/v1/leashes`).pipe(HttpClientRequest.bodyText(leash.body, "application/json"))),
      poll: (leashId, waitSeconds) =>
        send(
          HttpClientRequest.get(leashUrl(leashId)).pipe(
            HttpClientRequest.setUrlParam("wait_seconds", String(Math.max(0, Math.floor(waitSeconds))))
          )
        ),
      cancel: (leashId) => send(HttpClientRequest.post(`${leashUrl(leashId)}/cancel`))
    }
    return gate
  })

/**
 * A layer providing the HTTP gate as the `Leash` transport. Needs an `HttpClient`
 * (`FetchHttpClient.layer`, or `NodeHttpClient.layerUndici` from `@effect/platform-node`).
 * Fails to build with a `HoundsightConfigError` when the endpoint or the key is wrong (see `make`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Leash, HoundsightConfigError, HttpClient.HttpClient> =>
  Layer.effect(Leash, make(options))
