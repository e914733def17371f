/**
 * The exporter's transport: one attempt to POST a batch body to `{endpoint}/v1/ingest`, bounded
 * by `requestTimeoutMillis`, ending in an `AttemptResult` (it never fails).
 *
 * The choice between the `HttpClient` and the lean `node:http` POST (`nodeFetch.ts`) is made here,
 * once, when the exporter is built: the lean path is taken only when the client came from the
 * default `FetchHttpClient.layer`, the context holds no `Fetch` or `RequestInit` of the user's own,
 * and the endpoint is `http:` or `https:`. Each attempt then checks only that `fetch` is still the
 * one Node had (`LeanPost.applies`: a test that stubs `fetch` sees every request).
 *
 * The exporter's own requests are never traced (`withTracerPropagation(false)`).
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as NodeFetch from "../nodeFetch.js"
import {
  type AttemptResult,
  classify,
  classifyAnswer,
  failureCause,
  rejected,
  timedOut,
  transportFailure
} from "./attempt.js"
import type { ExporterSettings } from "./model.js"

/** One attempt at a time to deliver a body, and how to let the transport's connections go. */
export interface Transport {
  /** POSTs `payload` (a batch body) once; never fails. */
  readonly attempt: (payload: Uint8Array) => Effect.Effect<AttemptResult>
  /** Lets the lean path's idle connections go (at the close). */
  readonly close: () => void
}

const utf8 = new TextDecoder()

/** The exporter's transport, from the `HttpClient` in the context and the settings. */
export const make = (
  settings: Pick<ExporterSettings, "endpoint" | "apiKey" | "requestTimeoutMillis" | "httpClient">
): Effect.Effect<Transport, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const clock = yield* Effect.clock
    const context = yield* Effect.context<never>()
    const timeoutMillis = settings.requestTimeoutMillis
    const ingest = `${settings.endpoint}/v1/ingest`
    const request = HttpClientRequest.post(ingest).pipe(
      HttpClientRequest.bearerToken(settings.apiKey),
      HttpClientRequest.acceptJson
    )
    const onTimeout = (): AttemptResult => timedOut(timeoutMillis)

    /** An attempt through the `HttpClient`, bounded by `requestTimeoutMillis` on the Clock. */
    const clientAttempt = (payload: Uint8Array): Effect.Effect<AttemptResult> =>
      client.execute(HttpClientRequest.bodyUint8Array(request, payload, "application/json")).pipe(
        Effect.flatMap(classify),
        Effect.catchAll((error) => Effect.succeed(transportFailure(failureCause(error), error._tag))),
        Effect.timeoutTo({ duration: timeoutMillis, onSuccess: (result: AttemptResult) => result, onTimeout })
      )

    // with the default FetchHttpClient on Node, the exporter's requests go through node:http
    const url = URL.canParse(ingest) ? new URL(ingest) : undefined
    const lean = settings.httpClient === FetchHttpClient.layer &&
        Option.isNone(Context.getOption(context, FetchHttpClient.Fetch)) &&
        Option.isNone(Context.getOption(context, FetchHttpClient.RequestInit)) &&
        (url?.protocol === "http:" || url?.protocol === "https:")
      ? NodeFetch.make()
      : undefined
    if (lean === undefined || url === undefined) return { attempt: clientAttempt, close: () => {} }

    /** The headers of the request through `lean` (as `request` has them). Never logged: it holds the key. */
    const leanHeaders: Readonly<Record<string, string>> = {
      authorization: `Bearer ${Redacted.value(settings.apiKey)}`,
      accept: "application/json",
      "content-type": "application/json"
    }

    /**
     * An attempt through the lean POST, bounded by `requestTimeoutMillis` with a timer of its own:
     * real time, like its socket, and no race of fibers on the Clock, whose cost would be a share
     * of every request on this path.
     */
    const leanAttempt = (payload: Uint8Array): Effect.Effect<AttemptResult> =>
      Effect.async<AttemptResult>((resume) => {
        let timer: ReturnType<typeof setTimeout> | undefined = undefined
        const abort = lean.post(url, leanHeaders, payload, (error, answer) => {
          clearTimeout(timer)
          if (answer === undefined) {
            resume(Effect.succeed(transportFailure(error, "RequestError")))
            return
          }
          const { location, status } = answer
          const result = classifyAnswer(status, answer.retryAfter, clock.unsafeCurrentTimeMillis())
          resume(Effect.succeed(result === "rejected" ? rejected(status, utf8.decode(answer.body), location) : result))
        })
        timer = setTimeout(() => {
          abort()
          resume(Effect.succeed(onTimeout()))
        }, timeoutMillis)
        return Effect.sync(() => {
          clearTimeout(timer)
          abort()
        })
      })

    return {
      attempt: (payload) => lean.applies() ? leanAttempt(payload) : clientAttempt(payload),
      close: () => lean.close()
    }
  })
