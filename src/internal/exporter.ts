/**
 * The exporter's queues and worker (DESIGN.md section 4).
 *
 * Offering is synchronous: a record goes into one of two bounded ring buffers (the audit lane for
 * trail records and review steps, the ordinary queue for every other step) and, when the worker
 * should look, opens a latch. Nothing else happens on the agent's fiber: records are encoded to
 * wire JSON by the worker, one fiber that assembles batches (audit first, at most 512 records or
 * 1 MiB), sends them one at a time, retries what is retryable with jittered back-off or the
 * server's `Retry-After`, splits on 413 and drops what the server refuses. Closing the Scope
 * drains the queues within the shutdown bound, then counts and reports what was not sent.
 *
 * Accounting: every offered record is, at any instant, in exactly one of exported, dropped (by
 * reason), queued (lanes + the one encoded record carried to the next batch) or in flight.
 *
 * @internal
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { StepRecord } from "../schema/StepRecord.js"
import { TrailRecord } from "../schema/TrailRecord.js"
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
}

/** The synchronous side of the exporter: what the Recorder calls. */
export interface Offers {
  readonly offerTrail: (record: TrailRecord) => void
  readonly offerStep: (record: StepRecord) => void
}

/** The longest `Retry-After` honoured: a server asking for more is asked again after this. */
export const maxRetryAfterMillis = 300_000

const TRAIL = 0
const STEP = 1
type Kind = typeof TRAIL | typeof STEP

/** A bounded FIFO ring of records, with the kind of each and running counts. */
class Lane {
  readonly records: Array<unknown>
  readonly kinds: Uint8Array
  head = 0
  size = 0
  /** Records ever pushed (accepted). */
  pushed = 0
  /** Records ever taken out. */
  taken = 0

  constructor(readonly capacity: number) {
    this.records = new Array(capacity)
    this.kinds = new Uint8Array(capacity)
  }

  push(record: unknown, kind: Kind): boolean {
    if (this.size === this.capacity) return false
    const i = (this.head + this.size) % this.capacity
    this.records[i] = record
    this.kinds[i] = kind
    this.size++
    this.pushed++
    return true
  }

  /** The kind of the oldest record; only when `size > 0`. */
  peekKind(): Kind {
    return this.kinds[this.head] as Kind
  }

  shift(): unknown {
    const record = this.records[this.head]
    this.records[this.head] = undefined
    this.head = (this.head + 1) % this.capacity
    this.size--
    this.taken++
    return record
  }

  clear(): number {
    const n = this.size
    while (this.size > 0) this.shift()
    return n
  }
}

/** A record encoded to wire JSON; `bytes` is its UTF-8 length once measured (-1 before). */
interface Encoded {
  readonly kind: Kind
  readonly audit: boolean
  readonly json: string
  bytes: number
}

const exactBytes = (item: Encoded): number => {
  if (item.bytes < 0) item.bytes = utf8Length(item.json)
  return item.bytes
}

const kindName = (kind: Kind): string => (kind === TRAIL ? "trail" : "step")

/** UTF-8 length of a string, without encoding it. */
const asciiOnly = /^[\x00-\x7f]*$/

export const utf8Length = (s: string): number => {
  if (asciiOnly.test(s)) return s.length
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}

/** `{"trails":[],"steps":[]}` */
const bodyOverhead = 24

const body = (items: ReadonlyArray<Encoded>): string => {
  const trails: Array<string> = []
  const steps: Array<string> = []
  for (const item of items) (item.kind === TRAIL ? trails : steps).push(item.json)
  return `{"trails":[${trails.join(",")}],"steps":[${steps.join(",")}]}`
}

const encodeTrail = Schema.encodeEither(TrailRecord)
const encodeStep = Schema.encodeEither(StepRecord)

/** Encodes one record, or says why it cannot be. Never throws. */
const encode = (record: unknown, kind: Kind, audit: boolean): Encoded | string => {
  try {
    const result: Either.Either<unknown, { readonly message: string }> = kind === TRAIL
      ? encodeTrail(record as TrailRecord)
      : encodeStep(record as StepRecord)
    if (Either.isLeft(result)) return result.left.message
    const json = JSON.stringify(result.right)
    return { kind, audit, json, bytes: -1 }
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

/**
 * Reads a `Retry-After` header: whole seconds or an HTTP date. `undefined` when absent or
 * unreadable; otherwise milliseconds from `now`, at least 0 and at most `maxRetryAfterMillis`.
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  let millis: number
  if (/^\d+$/.test(text)) millis = Number(text) * 1000
  else {
    const at = Date.parse(text)
    if (Number.isNaN(at)) return undefined
    millis = at - now
  }
  return Math.min(Math.max(0, millis), maxRetryAfterMillis)
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
  | { readonly _tag: "Retry"; readonly why: string; readonly retryAfterMillis: number | undefined }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Rejected"; readonly status: number; readonly message: string }

const ok: Outcome = { _tag: "Ok" }
const tooLarge: Outcome = { _tag: "TooLarge" }
const retry = (why: string, retryAfterMillis?: number): Outcome => ({ _tag: "Retry", why, retryAfterMillis })

/** The first lines of an error's cause chain, for a log line (never the request: it holds the key). */
const describeFailure = (error: HttpClientError.HttpClientError): string => {
  const parts: Array<string> = []
  let cause: unknown = error._tag === "RequestError" ? error.cause : error
  for (let i = 0; i < 3 && cause !== undefined && cause !== null; i++) {
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code
      parts.push(typeof code === "string" ? `${cause.message} (${code})` : cause.message)
      cause = (cause as { cause?: unknown }).cause
    } else {
      parts.push(String(cause))
      break
    }
  }
  return parts.length === 0 ? `transport failure (${error._tag})` : `transport failure: ${parts.join(": ")}`
}

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

const hintFor = (status: number): string => {
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

const classify = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<Outcome> => {
  const status = response.status
  const drain = Effect.ignore(response.text)
  if (status >= 200 && status < 300) return Effect.as(drain, ok)
  if (status === 413) return Effect.as(drain, tooLarge)
  if (status === 408 || status === 429 || status >= 500) {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.as(drain, retry(`status ${status}`, parseRetryAfter(response.headers["retry-after"], now))))
  }
  return Effect.map(
    Effect.orElseSucceed(response.text, () => ""),
    (text): Outcome => ({ _tag: "Rejected", status, message: serverMessage(text) })
  )
}

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

/** A batch being sent and, per lane, how many records are settled once it is. */
interface Batch {
  readonly items: ReadonlyArray<Encoded>
  readonly auditMark: number
  readonly ordinaryMark: number
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

    const audit = new Lane(settings.maxAuditQueue)
    const ordinary = new Lane(settings.maxQueue)
    const latch = Effect.unsafeMakeLatch(false)

    // counters
    let offered = 0
    let exported = 0
    let retried = 0
    let dropped = 0
    const droppedByReason = Object.fromEntries(dropReasons.map((r) => [r, 0])) as Record<DropReason, number>
    const rejectedByStatus: Record<string, number> = {}
    let inFlight = 0
    let inRequest = 0

    // state of the worker
    let carry: Encoded | undefined = undefined
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

    const queued = (): number => audit.size + ordinary.size + (carry === undefined ? 0 : 1)

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
    const assemble = (): { readonly batch: Batch; readonly invalid: ReadonlyArray<string> } => {
      const items: Array<Encoded> = []
      const invalid: Array<string> = []
      // sizes are bounded by 3 bytes a UTF-16 unit until that bound nears the limit; only then is
      // every record measured exactly (most batches never are)
      let bytes = bodyOverhead
      let exact = false
      while (items.length < settings.maxBatchRecords) {
        let next: Encoded
        if (carry !== undefined) {
          next = carry
          carry = undefined
        } else {
          const lane = audit.size > 0 ? audit : ordinary.size > 0 ? ordinary : undefined
          if (lane === undefined) break
          const kind = lane.peekKind()
          const encoded = encode(lane.shift(), kind, lane === audit)
          if (typeof encoded === "string") {
            drop("invalid", 1)
            invalid.push(
              `houndsight: dropped a ${kindName(kind)} record that does not match the wire schema ` +
                `(if you pass a redact hook, it must return the record it was given, edited): ${encoded}`
            )
            continue
          }
          next = encoded
        }
        let add = exact ? exactBytes(next) + 1 : next.json.length * 3 + 1
        if (!exact && bytes + add > settings.maxBatchBytes) {
          exact = true
          bytes = bodyOverhead
          for (const item of items) bytes += exactBytes(item) + 1
          add = exactBytes(next) + 1
        }
        // a record alone larger than the byte bound is still sent, alone: the server decides (413)
        if (items.length > 0 && bytes + add > settings.maxBatchBytes) {
          carry = next
          break
        }
        items.push(next)
        bytes += add
      }
      const c = carry as Encoded | undefined
      return {
        batch: {
          items,
          auditMark: audit.taken - (c !== undefined && c.audit ? 1 : 0),
          ordinaryMark: ordinary.taken - (c !== undefined && !c.audit ? 1 : 0)
        },
        invalid
      }
    }

    const backoff = (attempt: number): Effect.Effect<number> =>
      Effect.map(
        Random.next,
        (r) => backoffDelay(attempt, settings.retryBaseDelayMillis, settings.retryMaxDelayMillis, r)
      )

    /** One request; `inRequest` counts its records while it is open (unconfirmed if cut at shutdown). */
    const post = (payload: string, n: number): Effect.Effect<Outcome> =>
      Effect.sync(() => {
        inRequest = n
      }).pipe(
        Effect.zipRight(client.execute(HttpClientRequest.bodyText(request, payload, "application/json"))),
        Effect.flatMap(classify),
        Effect.catchAll((error) => Effect.succeed(retry(describeFailure(error)))),
        Effect.timeoutTo({
          duration: settings.requestTimeoutMillis,
          onSuccess: (outcome: Outcome) => outcome,
          onTimeout: () => retry(`no answer within ${formatMillis(settings.requestTimeoutMillis)}`)
        }),
        // not `ensuring`: when shutdown interrupts the request, its records stay counted as in it
        Effect.tap(() => {
          inRequest = 0
        })
      )

    /** Sends records until each is exported or dropped; retries without end (shutdown bounds it). */
    const deliver = (items: ReadonlyArray<Encoded>): Effect.Effect<void> =>
      Effect.gen(function*() {
        const n = items.length
        const payload = body(items)
        let attempt = 0
        while (true) {
          const outcome = yield* post(payload, n)
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
                  `houndsight: the collector at ${settings.endpoint} refused a single ${kindName(items[0]!.kind)} record ` +
                    `of ${exactBytes(items[0]!)} bytes as too large (413); it is dropped (too_large).`
                )
                return
              }
              const half = Math.ceil(n / 2)
              retried += n
              retriedRecords.unsafeUpdate(n, noLabels)
              yield* deliver(items.slice(0, half))
              yield* deliver(items.slice(half))
              return
            }
            case "Rejected": {
              inFlight -= n
              drop("rejected", n, outcome.status)
              yield* Effect.logError(
                `houndsight: the collector at ${settings.endpoint} rejected a batch of ${n} record(s) with status ` +
                  `${outcome.status} (${outcome.message}); the batch is dropped.${hintFor(outcome.status)}`
              )
              return
            }
          }
        }
      })

    const sendNext: Effect.Effect<void> = Effect.suspend(() => {
      timerStart = clock.unsafeCurrentTimeMillis()
      const { batch, invalid } = assemble()
      inFlight = batch.items.length
      const logs = invalid.length === 0 ? Effect.void : Effect.forEach(invalid, (m) => Effect.logError(m), {
        discard: true
      })
      const send = batch.items.length === 0 ? Effect.void : deliver(batch.items)
      return logs.pipe(
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
        settledAudit = audit.taken
        settledOrdinary = ordinary.taken
        resolveWaiters()
        timerStart = undefined
        return closing ? EXIT : WAIT
      }
      if (closing || waiters.length > 0 || audit.size + ordinary.size >= settings.maxBatchRecords) return SEND
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

    const annotate = Effect.annotateLogs({ package: "houndsight", module: "exporter" })
    const workerFiber = yield* worker.pipe(
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
      const unconfirmed = inRequest
      const unsent = inFlight - inRequest + audit.clear() + ordinary.clear() + (carry === undefined ? 0 : 1)
      inFlight = 0
      inRequest = 0
      carry = undefined
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
            `(shutdown), ${unconfirmed} in a request that got no answer (unconfirmed). ` +
            `${exported} record(s) were delivered, ${dropped} lost in all.`
        )
      } else {
        yield* Effect.logDebug(`houndsight: the exporter closed; ${exported} record(s) delivered, ${dropped} lost`)
      }
    }).pipe(annotate, Effect.withTracerEnabled(false))

    yield* Effect.addFinalizer(() => shutdown)

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
