/**
 * Delivery of a batch, with its retry rules: a batch is sent one attempt at a time until each of
 * its records is exported or dropped. What is retryable (a transport failure, 408, 429, 5xx) is
 * sent again after a full-jitter back-off, or after the server's `Retry-After` when it gives one;
 * a 413 splits the batch in halves delivered in turn (a single record is dropped, `too_large`);
 * another status drops the batch (`rejected`) with the server's message and a hint. Retries have
 * no end of their own: the close bounds them.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type { Accounting } from "./accounting.js"
import type { AttemptResult } from "./attempt.js"
import { type Batch, bodyOf, bodyOverhead, kindAt } from "./batch.js"
import type { ExporterSettings } from "./model.js"
import { formatMillis, kindName } from "./text.js"
import type { Transport } from "./transport.js"

/**
 * The back-off before retry number `attempt + 1`: full jitter, a uniform draw `random` in [0, 1)
 * times `base` doubled `attempt` times, capped at `max` (500 ms, 1 s, 2 s … 30 s by default).
 */
export const backoffDelay = (attempt: number, base: number, max: number, random: number): number =>
  random * Math.min(max, base * 2 ** Math.min(attempt, 52))

/** What a log line adds to a refusal by `status`: how to fix the setting it points at. */
const hintFor = (status: number, location: string | undefined): string => {
  if (status >= 300 && status < 400) {
    return ` The endpoint (HOUNDSIGHT_ENDPOINT) redirects${location === undefined ? "" : ` to ${location}`}: set it to ` +
      `the address it points to. Redirects are not followed, so the API key goes only where you point it.`
  }
  switch (status) {
    case 401:
      return " Check the API key (HOUNDSIGHT_API_KEY): the server does not know it."
    case 403:
      return " The API key may not ingest records: use an agent key (sk-hnd-…)."
    case 404:
      return " Check the endpoint (HOUNDSIGHT_ENDPOINT): it should be the Houndsight server's base URL."
    default:
      return ""
  }
}

/** Delivers batches; counts through `accounting` and keeps the run of failed attempts for the logs. */
export class Delivery {
  /** Failed attempts since the last accepted one: the first is a warning, the rest debug lines. */
  private failureStreak = 0

  constructor(
    private readonly settings: Pick<ExporterSettings, "endpoint" | "retryBaseDelayMillis" | "retryMaxDelayMillis">,
    private readonly accounting: Accounting,
    private readonly transport: Transport,
    /** Called as each request starts: the compactor may assemble the next batch meanwhile. */
    private readonly onRequest: () => void
  ) {}

  private backoff(attempt: number): Effect.Effect<number> {
    const { retryBaseDelayMillis, retryMaxDelayMillis } = this.settings
    return Effect.map(Random.next, (r) => backoffDelay(attempt, retryBaseDelayMillis, retryMaxDelayMillis, r))
  }

  /** One request; `inRequest` counts its records while it is open (unconfirmed if cut at shutdown). */
  private post(payload: Uint8Array, n: number): Effect.Effect<AttemptResult> {
    return Effect.suspend(() => {
      const accounting = this.accounting
      accounting.inRequest = n
      this.onRequest()
      // not `ensuring`: when shutdown interrupts the request, its records stay counted as in it
      return Effect.map(this.transport.attempt(payload), (result) => {
        accounting.inRequest = 0
        return result
      })
    })
  }

  /** Sends records `from` to `to` of `batch` until each is exported or dropped. */
  deliver(batch: Batch, from: number, to: number): Effect.Effect<void> {
    const { accounting, settings } = this
    return Effect.gen(this, function*() {
      const n = to - from
      const payload = bodyOf(batch, from, to)
      let attempt = 0
      let unanswered = false
      while (true) {
        const result = yield* this.post(payload, n)
        // an answer other than "retry" settles the question: stored (2xx) or not (413, 4xx)
        unanswered = result._tag === "Retry" && (unanswered || result.unanswered)
        accounting.maybeStored = unanswered ? n : 0
        switch (result._tag) {
          case "Ok": {
            accounting.delivered(n)
            if (this.failureStreak > 0) {
              yield* Effect.logInfo(
                `houndsight: the collector at ${settings.endpoint} accepted records again after ${this.failureStreak} failed attempt(s)`
              )
              this.failureStreak = 0
            }
            return
          }
          case "Retry": {
            const delay = result.retryAfterMillis ?? (yield* this.backoff(attempt))
            const message = `houndsight: could not deliver ${n} record(s) to ${settings.endpoint} (${result.why}); ` +
              `retrying in ${formatMillis(delay)}${result.retryAfterMillis === undefined ? "" : " (Retry-After)"}`
            if (this.failureStreak === 0) yield* Effect.logWarning(message)
            else yield* Effect.logDebug(message)
            this.failureStreak++
            attempt++
            yield* Effect.sleep(delay)
            accounting.resent(n)
            continue
          }
          case "TooLarge": {
            if (n === 1) {
              accounting.settledByDrop("too_large", 1)
              yield* Effect.logError(
                `houndsight: the collector at ${settings.endpoint} refused a single ${kindName(kindAt(batch, from))} ` +
                  `record of ${payload.length - bodyOverhead} bytes as too large (413); it is dropped (too_large).`
              )
              return
            }
            const half = Math.ceil(n / 2)
            accounting.resent(n)
            yield* this.deliver(batch, from, from + half)
            yield* this.deliver(batch, from + half, to)
            return
          }
          case "Rejected": {
            accounting.settledByDrop("rejected", n, result.status)
            yield* Effect.logError(
              `houndsight: the collector at ${settings.endpoint} rejected a batch of ${n} record(s) with status ` +
                `${result.status} (${result.message}); the batch is dropped.${hintFor(result.status, result.location)}`
            )
            return
          }
        }
      }
    })
  }
}
