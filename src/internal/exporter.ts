/**
 * The exporter's queues and worker (DESIGN.md section 4).
 *
 * Offering is synchronous: a record goes as it is into one of two bounded lanes (`lane.ts`: the
 * audit lane for trail records and review steps, the ordinary lane for every other step) and,
 * when a fiber should look, opens a latch. Nothing else happens on the agent's fiber. Two fibers
 * of the exporter do the rest:
 *
 * - the **compactor** encodes waiting records in place, soon after they arrive (`encode.ts`: a
 *   step is kept as its parts, a trail as its JSON, a record that does not encode is dropped,
 *   counted and logged), so queued records are small and encoding overlaps the request in flight;
 * - the **worker** assembles batches (audit first, at most 512 records or 1 MiB), writes their
 *   JSON by concatenation, sends them one at a time, retries what is retryable with jittered
 *   back-off or the server's `Retry-After`, splits on 413 and drops what the server refuses.
 *
 * Compacted records stay in their lane, so the lane bounds count every record that is not in the
 * request. Closing the Scope drains the lanes within the shutdown bound, then counts and reports
 * what was not sent.
 *
 * Accounting: every offered record is, at any instant, in exactly one of exported, dropped (by
 * reason), queued (in a lane, compacted or not) or in flight.
 *
 * @internal
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import type * as Layer from "effect/Layer"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { StepRecord } from "../schema/StepRecord.js"
import type { TrailRecord } from "../schema/TrailRecord.js"
import {
  auditLostRecords,
  type DropReason,
  dropReasons,
  droppedRecords,
  type ExporterShape,
  type ExporterStats,
  exportedRecords,
  retriedRecords
} from "../services/Exporter.js"
import { type Kind, STEP, StepParts, TRAIL } from "./encode.js"
import { Lane } from "./lane.js"
import * as NodeFetch from "./nodeFetch.js"
import { causeChain } from "./describe.js"
import { parseRetryAfter as readRetryAfter } from "./retryAfter.js"


/** The resolved numbers and destination of one exporter. */
export interface ExporterSettings {
  /** Base URL of the server, without a trailing slash. */
  readonly endpoint: string
  readonly apiKey: Redacted.Redacted<string>
  readonly maxQueue: number
  readonly maxAuditQueue: number
  readonly maxBatchRecords: number
  readonly maxBatchBytes: number
  readonly flushIntervalMillis: number
  readonly requestTimeoutMillis: number
  readonly retryBaseDelayMillis: number
  readonly retryMaxDelayMillis: number
  readonly shutdownTimeoutMillis: number
  /** The layer the `HttpClient` came from: with the default, `FetchHttpClient.layer`, see `nodeFetch.ts`. */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient> | undefined
}

/** The synchronous side of the exporter: what the Recorder calls. */
export interface Offers {
  readonly offerTrail: (record: TrailRecord) => void
  readonly offerStep: (record: StepRecord) => void
}

/** The longest `Retry-After` honoured: a server asking for more is asked again after this. */
export const maxRetryAfterMillis = 300_000

const kindName = (kind: Kind): string => (kind === TRAIL ? "trail" : "step")

/** `{"trails":[],"steps":[]}` */
const bodyOverhead = 24

/** Records compacted in one go before the compactor lets other fibers run. */
const compactBudget = 512

const encoder = new TextEncoder()
const trailsOpen = encoder.encode("{\"trails\":[")
const stepsOpen = encoder.encode("],\"steps\":[")
const bodyClose = encoder.encode("]}")

/**
 * A batch: its request body as UTF-8 bytes, where each record starts in it (so any run of records
 * can be cut out again, for a 413 split), and how many trails come before each record in batch
 * order. A body is `{"trails":[…],"steps":[…]}`: trails first, each list in batch order.
 */
interface Batch {
  readonly count: number
  readonly body: Uint8Array
  /** Byte offset of each trail; entry `n` is one past the comma after the last. */
  readonly trailStarts: Int32Array
  readonly stepStarts: Int32Array
  readonly trailsBefore: Int32Array
  /** Records taken from each lane. */
  readonly fromAudit: number
  readonly fromOrdinary: number
  /** Per lane, how many records are settled once the batch is. */
  readonly auditMark: number
  readonly ordinaryMark: number
}

/**
 * Lays records out in a body: `jsons[i]` is a record's JSON, `sizes[i]` its UTF-8 length, `kinds`
 * its kind, all in batch order.
 */
const layOut = (
  jsons: ReadonlyArray<string>,
  sizes: ReadonlyArray<number>,
  kinds: ReadonlyArray<Kind>
): Pick<Batch, "count" | "body" | "trailStarts" | "stepStarts" | "trailsBefore"> => {
  const count = jsons.length
  const trailsBefore = new Int32Array(count + 1)
  let trailCount = 0
  let trailBytes = 0
  let stepBytes = 0
  for (let i = 0; i < count; i++) {
    if (kinds[i] === TRAIL) {
      trailCount++
      trailBytes += sizes[i]! + 1
    } else stepBytes += sizes[i]! + 1
    trailsBefore[i + 1] = trailCount
  }
  const trailStarts = new Int32Array(trailCount + 1)
  const stepStarts = new Int32Array(count - trailCount + 1)
  // each list's bytes include a comma after every record; the last comma is not written
  const trailsEnd = trailsOpen.length + Math.max(0, trailBytes - 1)
  const stepsBegin = trailsEnd + stepsOpen.length
  const stepsEnd = stepsBegin + Math.max(0, stepBytes - 1)
  const body = new Uint8Array(stepsEnd + bodyClose.length)
  body.set(trailsOpen, 0)
  body.set(stepsOpen, trailsEnd)
  body.set(bodyClose, stepsEnd)
  let t = 0
  let s = 0
  let trailAt = trailsOpen.length
  let stepAt = stepsBegin
  for (let i = 0; i < count; i++) {
    const size = sizes[i]!
    if (kinds[i] === TRAIL) {
      if (t > 0) body[trailAt - 1] = 44 // ","
      trailStarts[t++] = trailAt
      encoder.encodeInto(jsons[i]!, body.subarray(trailAt, trailAt + size))
      trailAt += size + 1
    } else {
      if (s > 0) body[stepAt - 1] = 44
      stepStarts[s++] = stepAt
      encoder.encodeInto(jsons[i]!, body.subarray(stepAt, stepAt + size))
      stepAt += size + 1
    }
  }
  trailStarts[t] = trailAt
  stepStarts[s] = stepAt
  return { count, body, trailStarts, stepStarts, trailsBefore }
}

/** The request body of records `from` to `to` (exclusive, in batch order) of a batch. */
const bodyOf = (batch: Batch, from: number, to: number): Uint8Array => {
  if (from === 0 && to === batch.count) return batch.body
  const t0 = batch.trailsBefore[from]!
  const t1 = batch.trailsBefore[to]!
  const s0 = from - t0
  const s1 = to - t1
  const trails = t1 > t0
    ? batch.body.subarray(batch.trailStarts[t0]!, batch.trailStarts[t1]! - 1)
    : new Uint8Array(0)
  const steps = s1 > s0 ? batch.body.subarray(batch.stepStarts[s0]!, batch.stepStarts[s1]! - 1) : new Uint8Array(0)
  const body = new Uint8Array(bodyOverhead + trails.length + steps.length)
  body.set(trailsOpen, 0)
  body.set(trails, trailsOpen.length)
  body.set(stepsOpen, trailsOpen.length + trails.length)
  body.set(steps, trailsOpen.length + trails.length + stepsOpen.length)
  body.set(bodyClose, body.length - bodyClose.length)
  return body
}

/**
 * Resumes in a later task of the event loop, after what is waiting on I/O, whatever the Clock (no
 * Effect `sleep`): `setImmediate` where there is one (Node, Bun, Deno), else a timer.
 */
const nextMacrotask: Effect.Effect<void> = typeof globalThis.setImmediate === "function"
  ? Effect.async<void>((resume) => {
    const immediate = globalThis.setImmediate(() => resume(Effect.void))
    return Effect.sync(() => globalThis.clearImmediate(immediate))
  })
  : Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), 0)
    return Effect.sync(() => clearTimeout(timer))
  })

/** The kind of record `i` of a batch. */
const kindAt = (batch: Batch, i: number): Kind =>
  batch.trailsBefore[i + 1]! > batch.trailsBefore[i]! ? TRAIL : STEP

/**
 * A `Retry-After` header as milliseconds from `now` (the shared reading), at most
 * `maxRetryAfterMillis`; `undefined` when absent or unreadable.
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  const millis = readRetryAfter(value, now)
  return millis === undefined ? undefined : Math.min(millis, maxRetryAfterMillis)
}

/**
 * The back-off before retry number `attempt + 1`: full jitter, a uniform draw `random` in [0, 1)
 * times `base` doubled `attempt` times, capped at `max` (500 ms, 1 s, 2 s … 30 s by default).
 */
export const backoffDelay = (attempt: number, base: number, max: number, random: number): number =>
  random * Math.min(max, base * 2 ** Math.min(attempt, 52))

/** How one attempt ended. */
type Outcome =
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

const ok: Outcome = { _tag: "Ok" }
const tooLarge: Outcome = { _tag: "TooLarge" }
const retry = (why: string, retryAfterMillis: number | undefined, unanswered: boolean): Outcome => ({
  _tag: "Retry",
  why,
  retryAfterMillis,
  unanswered
})

/** Error codes that say the request never left: nothing of it can have been stored. */
const notSentCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"])

/** Where the story of a transport failure starts: the cause of a `RequestError`, else the error. */
const failureCause = (error: HttpClientError.HttpClientError): unknown =>
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
const transportFailure = (cause: unknown, tag: string): Outcome =>
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

/**
 * How an answer ends an attempt, from its status and `Retry-After`; `"rejected"` when the batch is
 * refused (the caller then reads the body, for the log line, and `Location`).
 */
const classifyAnswer = (status: number, retryAfter: string | undefined, now: number): Outcome | "rejected" => {
  if (status >= 200 && status < 300) return ok
  if (status === 413) return tooLarge
  if (status === 408 || status === 429 || status >= 500) {
    return retry(`status ${status}`, parseRetryAfter(retryAfter, now), false)
  }
  return "rejected"
}

const rejected = (status: number, text: string, location: string | undefined): Outcome => ({
  _tag: "Rejected",
  status,
  message: serverMessage(text),
  location
})

const classify = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<Outcome> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const status = response.status
    const location = response.headers["location"]
    const outcome = classifyAnswer(status, response.headers["retry-after"], now)
    if (outcome !== "rejected") return Effect.as(Effect.ignore(response.text), outcome)
    return Effect.map(Effect.orElseSucceed(response.text, () => ""), (text) => rejected(status, text, location))
  })

const utf8 = new TextDecoder()

const formatMillis = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)

const labelCache = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
const reasonLabels = (reason: DropReason, status?: number): ReadonlyArray<MetricLabel.MetricLabel> => {
  const key = status === undefined ? reason : `${reason}/${status}`
  let labels = labelCache.get(key)
  if (labels === undefined) {
    labels = status === undefined
      ? [MetricLabel.make("reason", reason)]
      : [MetricLabel.make("reason", reason), MetricLabel.make("status", String(status))]
    labelCache.set(key, labels)
  }
  return labels
}
const noLabels: ReadonlyArray<MetricLabel.MetricLabel> = []

interface Waiter {
  readonly audit: number
  readonly ordinary: number
  readonly deferred: Deferred.Deferred<void>
}

/**
 * Builds an exporter: its offers (for the Recorder) and its service. The worker runs until the
 * Scope closes; closing drains within `shutdownTimeoutMillis`.
 */
export const make = (
  settings: ExporterSettings
): Effect.Effect<{ readonly offers: Offers; readonly exporter: ExporterShape }, never, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
    const clock = yield* Effect.clock
    const runReport = yield* FiberSet.makeRuntime<never, void, never>()
    const request = HttpClientRequest.post(`${settings.endpoint}/v1/ingest`).pipe(
      HttpClientRequest.bearerToken(settings.apiKey),
      HttpClientRequest.acceptJson
    )
    // with the default FetchHttpClient on Node, the exporter's requests go through node:http
    const context = yield* Effect.context<never>()
    const ingestUrl = URL.canParse(`${settings.endpoint}/v1/ingest`) ? new URL(`${settings.endpoint}/v1/ingest`) : undefined
    const lean = settings.httpClient === FetchHttpClient.layer &&
        Option.isNone(Context.getOption(context, FetchHttpClient.Fetch)) &&
        Option.isNone(Context.getOption(context, FetchHttpClient.RequestInit)) &&
        (ingestUrl?.protocol === "http:" || ingestUrl?.protocol === "https:")
      ? NodeFetch.make()
      : undefined
    /** The headers of the request through `lean` (as `request` has them). Never logged: it holds the key. */
    const leanHeaders: Readonly<Record<string, string>> = {
      authorization: `Bearer ${Redacted.value(settings.apiKey)}`,
      accept: "application/json",
      "content-type": "application/json"
    }

    const audit = new Lane(settings.maxAuditQueue)
    const ordinary = new Lane(settings.maxQueue)
    /** Wakes the worker: a first record, a full batch, a flush, the close. */
    const latch = Effect.unsafeMakeLatch(false)
    /** Wakes the compactor: records to compact. */
    const compactLatch = Effect.unsafeMakeLatch(false)
    const parts = new StepParts()

    // counters
    let offered = 0
    let exported = 0
    let retried = 0
    let dropped = 0
    const droppedByReason = Object.fromEntries(dropReasons.map((r) => [r, 0])) as Record<DropReason, number>
    const rejectedByStatus: Record<string, number> = {}
    let inFlight = 0
    let inRequest = 0
    /**
     * Records of the batch being delivered that an earlier attempt may have stored (it got no
     * answer), while they wait for their retry: unconfirmed, not unsent, if the close cuts the wait.
     */
    let maybeStored = 0

    // state of the worker
    /** The next full batch, assembled by the compactor while a request is in flight. */
    let prepared: Batch | undefined = undefined
    let timerStart: number | undefined = undefined
    let settledAudit = 0
    let settledOrdinary = 0
    let waiters: Array<Waiter> = []
    let closing = false
    let closed = false
    let failureStreak = 0

    // throttled reporting of drops at offer time (the offer cannot log: it never suspends)
    let reporting = false
    let reportedAuditLost = 0
    let reportedQueueFull = 0

    const drop = (reason: DropReason, n: number, status?: number): void => {
      if (n <= 0) return
      droppedByReason[reason] += n
      dropped += n
      droppedRecords.unsafeUpdate(n, reasonLabels(reason, status))
      if (status !== undefined) rejectedByStatus[String(status)] = (rejectedByStatus[String(status)] ?? 0) + n
      if (reason === "audit_lost") auditLostRecords.unsafeUpdate(n, noLabels)
    }

    const queued = (): number => audit.live + ordinary.live + (prepared === undefined ? 0 : prepared.count)

    // records that did not encode: dropped when found, logged by the fiber that found them
    let invalidLines: Array<string> = []
    const onInvalid = (kind: Kind, message: string): void => {
      drop("invalid", 1)
      invalidLines.push(
        `houndsight: dropped a ${kindName(kind)} record that does not match the wire schema ` +
          `(if you pass a redact hook, it must return the record it was given, edited): ${message}`
      )
    }
    const logInvalid: Effect.Effect<void> = Effect.suspend(() => {
      if (invalidLines.length === 0) return Effect.void
      const lines = invalidLines
      invalidLines = []
      return Effect.forEach(lines, (line) => Effect.logError(line), { discard: true })
    })

    /** Compacts up to `budget` raw records of each lane, audit first; returns how many remain. */
    const compact = (budget: number): number =>
      audit.compact(budget, parts, onInvalid) + ordinary.compact(budget, parts, onInvalid)

    const unreportedLogs = (): Effect.Effect<void> => {
      const lost = droppedByReason.audit_lost - reportedAuditLost
      const full = droppedByReason.queue_full - reportedQueueFull
      reportedAuditLost = droppedByReason.audit_lost
      reportedQueueFull = droppedByReason.queue_full
      const logs: Array<Effect.Effect<void>> = []
      if (lost > 0) {
        logs.push(Effect.logError(
          `houndsight: the audit lane is full (${settings.maxAuditQueue} records): ${lost} audit record(s) ` +
            `(trails and review steps) were lost (audit_lost). The collector at ${settings.endpoint} is not ` +
            `keeping up or cannot be reached.`
        ))
      }
      if (full > 0) {
        logs.push(Effect.logWarning(
          `houndsight: the queue is full (${settings.maxQueue} records): ${full} step record(s) were dropped ` +
            `(queue_full). The collector at ${settings.endpoint} is not keeping up or cannot be reached.`
        ))
      }
      return Effect.all(logs, { discard: true })
    }

    // yields first, so a burst of drops in one tick is reported as one line
    const reportLoop: Effect.Effect<void> = Effect.yieldNow().pipe(
      Effect.zipRight(Effect.suspend(unreportedLogs)),
      Effect.zipRight(Effect.sleep(1000)),
      Effect.zipRight(Effect.suspend(() => {
        if (
          droppedByReason.audit_lost > reportedAuditLost || droppedByReason.queue_full > reportedQueueFull
        ) return reportLoop
        reporting = false
        return Effect.void
      }))
    )

    const scheduleReport = (): void => {
      if (reporting || closed) return
      reporting = true
      runReport(reportLoop)
    }

    const offer = (lane: Lane, record: unknown, kind: Kind): void => {
      offered++
      if (closed) {
        drop("shutdown", 1)
        return
      }
      if (!lane.push(record, kind)) {
        drop(lane === audit ? "audit_lost" : "queue_full", 1)
        scheduleReport()
        return
      }
      if (lane.raw === 1) compactLatch.unsafeOpen()
      const total = audit.size + ordinary.size
      if (total === 1 || total >= settings.maxBatchRecords) latch.unsafeOpen()
    }

    const offers: Offers = {
      offerTrail: (record) => offer(audit, record, TRAIL),
      offerStep: (record) => {
        const isReview = typeof record === "object" && record !== null && record.layer === "review"
        offer(isReview ? audit : ordinary, record, STEP)
      }
    }

    const resolveWaiters = (): void => {
      if (waiters.length === 0) return
      const remaining: Array<Waiter> = []
      for (const w of waiters) {
        if (closed || (settledAudit >= w.audit && settledOrdinary >= w.ordinary)) {
          Deferred.unsafeDone(w.deferred, Exit.void)
        } else remaining.push(w)
      }
      waiters = remaining
    }

    /** Takes records into a batch: audit lane first, at most maxBatchRecords and maxBatchBytes. */
    const assemble = (): Batch => {
      compact(Number.MAX_SAFE_INTEGER)
      const jsons: Array<string> = []
      const sizes: Array<number> = []
      const kinds: Array<Kind> = []
      let fromAudit = 0
      let bytes = bodyOverhead
      while (jsons.length < settings.maxBatchRecords) {
        const lane = audit.ready() ? audit : ordinary.ready() ? ordinary : undefined
        if (lane === undefined) break
        const size = lane.headBytes()
        // a record alone larger than the byte bound is still sent, alone: the server decides (413)
        if (jsons.length > 0 && bytes + size + 1 > settings.maxBatchBytes) break
        jsons.push(lane.headJson(parts))
        sizes.push(size)
        kinds.push(lane.headKind())
        if (lane === audit) fromAudit++
        lane.shift()
        bytes += size + 1
      }
      return {
        ...layOut(jsons, sizes, kinds),
        fromAudit,
        fromOrdinary: jsons.length - fromAudit,
        auditMark: audit.taken,
        ordinaryMark: ordinary.taken
      }
    }

    const backoff = (attempt: number): Effect.Effect<number> =>
      Effect.map(
        Random.next,
        (r) => backoffDelay(attempt, settings.retryBaseDelayMillis, settings.retryMaxDelayMillis, r)
      )

    const timedOut = (): Outcome => retry(`no answer within ${formatMillis(settings.requestTimeoutMillis)}`, undefined, true)

    /** An attempt through the `HttpClient`, bounded by `requestTimeoutMillis` on the Clock. */
    const clientAttempt = (payload: Uint8Array): Effect.Effect<Outcome> =>
      client.execute(HttpClientRequest.bodyUint8Array(request, payload, "application/json")).pipe(
        Effect.flatMap(classify),
        Effect.catchAll((error) => Effect.succeed(transportFailure(failureCause(error), error._tag))),
        Effect.timeoutTo({ duration: settings.requestTimeoutMillis, onSuccess: (outcome: Outcome) => outcome, onTimeout: timedOut })
      )

    /**
     * An attempt through the lean POST, bounded by `requestTimeoutMillis` with a timer of its own:
     * real time, like its socket (a race of fibers on the Clock costs a tenth of the request).
     */
    const leanAttempt = (post: NodeFetch.LeanPost, url: URL, payload: Uint8Array): Effect.Effect<Outcome> =>
      Effect.async<Outcome>((resume) => {
        let timer: ReturnType<typeof setTimeout> | undefined = undefined
        const abort = post.post(url, leanHeaders, payload, (error, answer) => {
          clearTimeout(timer)
          if (answer === undefined) {
            resume(Effect.succeed(transportFailure(error, "RequestError")))
            return
          }
          const { location, status } = answer
          const outcome = classifyAnswer(status, answer.retryAfter, clock.unsafeCurrentTimeMillis())
          resume(Effect.succeed(outcome === "rejected" ? rejected(status, utf8.decode(answer.body), location) : outcome))
        })
        timer = setTimeout(() => {
          abort()
          resume(Effect.succeed(timedOut()))
        }, settings.requestTimeoutMillis)
        return Effect.sync(() => {
          clearTimeout(timer)
          abort()
        })
      })

    /** One request; `inRequest` counts its records while it is open (unconfirmed if cut at shutdown). */
    const post = (payload: Uint8Array, n: number): Effect.Effect<Outcome> =>
      Effect.suspend(() => {
        inRequest = n
        // the compactor may assemble the next batch while this one is in flight
        compactLatch.unsafeOpen()
        const attempt = lean !== undefined && ingestUrl !== undefined && lean.applies()
          ? leanAttempt(lean, ingestUrl, payload)
          : clientAttempt(payload)
        // not `ensuring`: when shutdown interrupts the request, its records stay counted as in it
        return Effect.map(attempt, (outcome) => {
          inRequest = 0
          return outcome
        })
      })

    /** Sends records until each is exported or dropped; retries without end (shutdown bounds it). */
    const deliver = (batch: Batch, from: number, to: number): Effect.Effect<void> =>
      Effect.gen(function*() {
        const n = to - from
        const payload = bodyOf(batch, from, to)
        let attempt = 0
        let unanswered = false
        while (true) {
          const outcome = yield* post(payload, n)
          // an answer other than "retry" settles the question: stored (2xx) or not (413, 4xx)
          unanswered = outcome._tag === "Retry" && (unanswered || outcome.unanswered)
          maybeStored = unanswered ? n : 0
          switch (outcome._tag) {
            case "Ok": {
              exported += n
              inFlight -= n
              exportedRecords.unsafeUpdate(n, noLabels)
              if (failureStreak > 0) {
                yield* Effect.logInfo(
                  `houndsight: the collector at ${settings.endpoint} accepted records again after ${failureStreak} failed attempt(s)`
                )
                failureStreak = 0
              }
              return
            }
            case "Retry": {
              const delay = outcome.retryAfterMillis ?? (yield* backoff(attempt))
              const message = `houndsight: could not deliver ${n} record(s) to ${settings.endpoint} (${outcome.why}); ` +
                `retrying in ${formatMillis(delay)}${outcome.retryAfterMillis === undefined ? "" : " (Retry-After)"}`
              if (failureStreak === 0) yield* Effect.logWarning(message)
              else yield* Effect.logDebug(message)
              failureStreak++
              attempt++
              yield* Effect.sleep(delay)
              retried += n
              retriedRecords.unsafeUpdate(n, noLabels)
              continue
            }
            case "TooLarge": {
              if (n === 1) {
                inFlight -= 1
                drop("too_large", 1)
                yield* Effect.logError(
                  `houndsight: the collector at ${settings.endpoint} refused a single ${kindName(kindAt(batch, from))} ` +
                    `record of ${payload.length - bodyOverhead} bytes as too large (413); it is dropped (too_large).`
                )
                return
              }
              const half = Math.ceil(n / 2)
              retried += n
              retriedRecords.unsafeUpdate(n, noLabels)
              yield* deliver(batch, from, from + half)
              yield* deliver(batch, from + half, to)
              return
            }
            case "Rejected": {
              inFlight -= n
              drop("rejected", n, outcome.status)
              yield* Effect.logError(
                `houndsight: the collector at ${settings.endpoint} rejected a batch of ${n} record(s) with status ` +
                  `${outcome.status} (${outcome.message}); the batch is dropped.${hintFor(outcome.status, outcome.location)}`
              )
              return
            }
          }
        }
      })

    /** Takes the prepared batch out of the lanes' bounds: it is in flight from now on. */
    const takePrepared = (): Batch | undefined => {
      const batch = prepared
      if (batch !== undefined) {
        prepared = undefined
        audit.reserved -= batch.fromAudit
        ordinary.reserved -= batch.fromOrdinary
      }
      return batch
    }

    /** Whether the compactor should assemble the next batch now: a request is open and a full batch waits. */
    const shouldPrepare = (): boolean =>
      prepared === undefined && inRequest > 0 && !closed && audit.live + ordinary.live >= settings.maxBatchRecords

    const prepare = (): void => {
      if (!shouldPrepare()) return
      const batch = assemble()
      audit.reserved += batch.fromAudit
      ordinary.reserved += batch.fromOrdinary
      prepared = batch
    }

    const sendNext: Effect.Effect<void> = Effect.suspend(() => {
      timerStart = clock.unsafeCurrentTimeMillis()
      const batch = takePrepared() ?? assemble()
      inFlight = batch.count
      const send = batch.count === 0 ? Effect.void : deliver(batch, 0, batch.count)
      return logInvalid.pipe(
        Effect.zipRight(send),
        Effect.zipRight(Effect.sync(() => {
          inFlight = 0
          settledAudit = batch.auditMark
          settledOrdinary = batch.ordinaryMark
          resolveWaiters()
        }))
      )
    })

    const EXIT = -2
    const WAIT = -1
    const SEND = 0
    /** What the worker does next: exit, wait for the latch, wait at most N ms, or send. */
    const decide = (): number => {
      latch.unsafeClose()
      if (queued() === 0) {
        // only tombstones may be left: they are settled (dropped) already
        audit.clear()
        ordinary.clear()
        settledAudit = audit.taken
        settledOrdinary = ordinary.taken
        resolveWaiters()
        timerStart = undefined
        return closing ? EXIT : WAIT
      }
      if (closing || waiters.length > 0 || queued() >= settings.maxBatchRecords) return SEND
      const now = clock.unsafeCurrentTimeMillis()
      if (timerStart === undefined) timerStart = now
      const remaining = timerStart + settings.flushIntervalMillis - now
      return remaining <= 0 ? SEND : remaining
    }

    const worker: Effect.Effect<void> = Effect.gen(function*() {
      while (true) {
        const next = decide()
        if (next === EXIT) return
        if (next === WAIT) yield* latch.await
        else if (next === SEND) yield* sendNext
        else yield* Effect.timeoutOption(latch.await, next)
      }
    })

    /**
     * Compacts records soon after they arrive, a budget at a time, and assembles the next batch
     * while a request is in flight. It works in tasks of the event loop of its own, never in the
     * microtasks after an offer or an answer: a request just started is written to its socket
     * only once those are done, and an answer is read as soon as the task in progress ends.
     */
    const compactor: Effect.Effect<never> = Effect.gen(function*() {
      while (true) {
        yield* compactLatch.await
        compactLatch.unsafeClose()
        yield* nextMacrotask
        while (compact(compactBudget) > 0) {
          yield* logInvalid
          yield* nextMacrotask
        }
        yield* logInvalid
        if (shouldPrepare()) {
          prepare()
          yield* logInvalid
        }
      }
    })

    const annotate = Effect.annotateLogs({ package: "houndsight", module: "exporter" })
    const workerFiber = yield* worker.pipe(
      annotate,
      Effect.withTracerEnabled(false),
      Effect.interruptible,
      Effect.forkDaemon
    )
    const compactorFiber = yield* compactor.pipe(
      annotate,
      Effect.withTracerEnabled(false),
      Effect.interruptible,
      Effect.forkDaemon
    )

    const unsafeStats = (): ExporterStats => ({
      offered,
      exported,
      retried,
      dropped,
      droppedByReason: { ...droppedByReason },
      rejectedByStatus: { ...rejectedByStatus },
      auditLost: droppedByReason.audit_lost,
      queued: queued(),
      inFlight,
      closed
    })

    const shutdown: Effect.Effect<void> = Effect.gen(function*() {
      closing = true
      latch.unsafeOpen()
      const done = yield* Fiber.await(workerFiber).pipe(
        Effect.interruptible,
        Effect.timeoutOption(settings.shutdownTimeoutMillis)
      )
      if (Option.isNone(done)) {
        // abort the request in flight; a client that ignores interruption gets one more second
        yield* Fiber.interrupt(workerFiber).pipe(Effect.interruptible, Effect.timeoutOption(1000))
      }
      closed = true
      yield* Fiber.interrupt(compactorFiber)
      yield* logInvalid
      // cut in a request, or waiting to retry one that may have been stored
      const unconfirmed = Math.max(inRequest, maybeStored)
      const unsent = inFlight - unconfirmed + (takePrepared()?.count ?? 0) + audit.clear() + ordinary.clear()
      inFlight = 0
      inRequest = 0
      maybeStored = 0
      drop("unconfirmed", unconfirmed)
      drop("shutdown", unsent)
      settledAudit = audit.taken
      settledOrdinary = ordinary.taken
      resolveWaiters()
      yield* unreportedLogs()
      if (unsent + unconfirmed > 0) {
        yield* Effect.logError(
          `houndsight: the exporter closed with ${unsent + unconfirmed} record(s) not delivered to ` +
            `${settings.endpoint} within ${formatMillis(settings.shutdownTimeoutMillis)}: ${unsent} never sent ` +
            `(shutdown), ${unconfirmed} sent without an answer, which the server may have stored (unconfirmed). ` +
            `${exported} record(s) were delivered, ${dropped} lost in all.`
        )
      } else {
        yield* Effect.logDebug(`houndsight: the exporter closed; ${exported} record(s) delivered, ${dropped} lost`)
      }
    }).pipe(annotate, Effect.withTracerEnabled(false))

    yield* Effect.addFinalizer(() =>
      Effect.ensuring(
        shutdown,
        Effect.sync(() => lean?.close())
      )
    )

    const flush: Effect.Effect<void> = Effect.suspend(() => {
      if (closed) return Effect.void
      const target = { audit: audit.pushed, ordinary: ordinary.pushed }
      if (settledAudit >= target.audit && settledOrdinary >= target.ordinary) return Effect.void
      return Effect.flatMap(Deferred.make<void>(), (deferred) => {
        waiters.push({ ...target, deferred })
        latch.unsafeOpen()
        return Deferred.await(deferred)
      })
    })

    const exporter: ExporterShape = {
      flush,
      stats: Effect.sync(unsafeStats),
      unsafeStats
    }
    return { offers, exporter }
  })
