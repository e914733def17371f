/**
 * The delivery worker: sends each outbox event to every webhook that wants it, at least once.
 *
 * - **Fan-out**: each new event becomes one `webhook_deliveries` row per webhook that existed when
 *   the event happened and wants it (its events, its action patterns); written with
 *   `ON CONFLICT DO NOTHING`, so two instances fanning out the same event write it once.
 * - **Claim**: due rows are claimed by pushing their next attempt past the request's timeout
 *   (`claimed_until`), one statement (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)` on
 *   PostgreSQL, the same without the lock clause on SQLite: {@link skipLocked}). A server killed
 *   mid-delivery leaves the claim to lapse, and the row is sent again (after a restart, or by
 *   another instance): receivers deduplicate by the event id (`webhook-id`).
 * - **Send**: a POST of the body (`standard` or `slack`), signed by the Standard Webhooks scheme,
 *   with a per-request timeout (default 10 s) and at most `concurrency` requests at once (default
 *   8), so a hanging receiver holds at most that many sockets. Nothing is sent in a request's
 *   path: the gate only writes the outbox row.
 * - **Retry**: a 2xx delivers. Anything else is retried with exponential back-off from 5 s,
 *   doubling up to 1 h, with jitter, or after the receiver's `Retry-After` (capped at 1 h),
 *   until 24 h after the event; then the delivery is kept as failed (the dashboard's
 *   `/deliveries` lists them).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Wire from "houndsight/wire"
import * as Crypto from "node:crypto"
import { makeSignal, Signal } from "./Outbox.js"
import { PublicUrl } from "./PublicUrl.js"
import * as Slack from "./Slack.js"
import * as WebhookBody from "./WebhookBody.js"
import * as Webhooks from "./Webhooks.js"

/**
 * How deliveries are made.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** At most this many requests at once (default 8). */
  readonly concurrency?: number | undefined
  /** A request's timeout (default 10 s). */
  readonly requestTimeoutMillis?: number | undefined
  /** The first retry's delay (default 5 s), doubling each attempt. */
  readonly retryMinMillis?: number | undefined
  /** The longest retry delay, and the longest `Retry-After` honoured (default 1 h). */
  readonly retryMaxMillis?: number | undefined
  /** How long after its event a delivery is retried (default 24 h); then it is failed. */
  readonly maxAgeMillis?: number | undefined
  /** How often the outbox is looked at when nothing wakes the worker (default 1 s). */
  readonly pollMillis?: number | undefined
}

/**
 * The defaults of {@link Options}.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults = {
  concurrency: 8,
  requestTimeoutMillis: 10_000,
  retryMinMillis: 5_000,
  retryMaxMillis: 60 * 60 * 1000,
  maxAgeMillis: 24 * 60 * 60 * 1000,
  pollMillis: 1_000
} as const

/**
 * The delay before retry number `attempt` (1 for the first retry): `min · 2^(attempt-1)`, at
 * most `max`, with ±20 % jitter; `retryAfter` (milliseconds) instead when the receiver gave one,
 * at most `max`.
 *
 * @since 0.1.0
 * @category utils
 */
export const retryDelay = (attempt: number, min: number, max: number, retryAfter: number | undefined, random: number): number =>
  retryAfter !== undefined
    ? Math.min(max, retryAfter)
    : Math.min(max, min * 2 ** Math.min(30, Math.max(0, attempt - 1))) * (0.8 + 0.4 * random)

/** How long the worker gathers events after the first wakes it. */
const batchMillis = 50

/**
 * The lock clause of a claim: `FOR UPDATE SKIP LOCKED` on PostgreSQL (rows another instance is
 * claiming are skipped, not waited for), nothing on SQLite (a write locks the whole database).
 *
 * @since 0.1.0
 * @category statements
 */
export const skipLocked = (sql: SqlClient.SqlClient) =>
  sql.onDialectOrElse({ pg: () => sql` FOR UPDATE SKIP LOCKED`, orElse: () => sql`` })

/**
 * A failed delivery, as the dashboard lists it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Failed {
  readonly id: string
  readonly eventId: string
  readonly type: string
  readonly subject: string
  /** The webhook's URL (none when the webhook was removed since). */
  readonly url: string | undefined
  readonly attempts: number
  readonly lastStatus: number | undefined
  readonly lastError: string | undefined
  readonly failedAt: string
}

/**
 * The most recent failed deliveries, newest first.
 *
 * @since 0.1.0
 * @category statements
 */
export const failed = (sql: SqlClient.SqlClient, limit: number): Effect.Effect<ReadonlyArray<Failed>, SqlError> =>
  Effect.map(
    sql<{
      id: string
      event_id: string
      type: string
      subject: string
      url: string | null
      attempts: number
      last_status: number | null
      last_error: string | null
      done_at: string
    }>`SELECT d.id, d.event_id, e.type, e.subject, w.url, d.attempts, d.last_status, d.last_error, d.done_at
      FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id LEFT JOIN webhooks w ON w.id = d.webhook_id
      WHERE d.status = 'failed' ORDER BY d.done_at DESC, d.id LIMIT ${limit}`,
    (rows) =>
      rows.map((r): Failed => ({
        id: r.id,
        eventId: r.event_id,
        type: r.type,
        subject: r.subject,
        url: r.url ?? undefined,
        attempts: Number(r.attempts),
        lastStatus: r.last_status === null ? undefined : Number(r.last_status),
        lastError: r.last_error ?? undefined,
        failedAt: r.done_at
      }))
  )

interface Claimed {
  readonly id: string
  readonly event_id: string
  readonly webhook_id: string
  readonly attempts: number
  readonly created_at: string
}

/** The outcome of one request. */
type Outcome =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly status: number | undefined; readonly error: string; readonly retryAfter: number | undefined }

const iso = (millis: number) => new Date(millis).toISOString()

const describe = (error: unknown, timeoutMillis: number): string => {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } }
  if (e?.name === "TimeoutError") return `no answer within ${timeoutMillis / 1000} s`
  const inner = e?.cause?.code ?? e?.cause?.message
  return `${e?.message ?? String(error)}${inner === undefined ? "" : ` (${inner})`}`.slice(0, 500)
}

/** One POST; never fails (a failure is an outcome). */
const post = (
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMillis: number
): Effect.Effect<Outcome> =>
  Effect.tryPromise({
    try: async (signal): Promise<Outcome> => {
      const response = await fetch(url, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMillis)])
      })
      await response.body?.cancel().catch(() => undefined)
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status }
      return {
        ok: false,
        status: response.status,
        error: `HTTP ${response.status}`,
        retryAfter: Wire.parseRetryAfter(response.headers.get("retry-after") ?? undefined, Date.now())
      }
    },
    catch: (error) => error
  }).pipe(
    Effect.catchAll((error) =>
      Effect.succeed<Outcome>({ ok: false, status: undefined, error: describe(error, timeoutMillis), retryAfter: undefined })
    ),
    // a bound even if the request ignores its signal
    Effect.timeoutTo({
      duration: Duration.millis(timeoutMillis + 1_000),
      onTimeout: (): Outcome => ({
        ok: false,
        status: undefined,
        error: `no answer within ${timeoutMillis / 1000} s`,
        retryAfter: undefined
      }),
      onSuccess: (o) => o
    })
  )

/**
 * The worker, forked in the Scope: fans out new events, claims due deliveries and sends them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const signal = yield* Signal
    const base = yield* PublicUrl
    const o = { ...defaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) }
    const lease = o.requestTimeoutMillis + 5_000
    const running = yield* FiberSet.make<void, never>()
    let inFlight = 0

    const fanOut = Effect.gen(function*() {
      const events = yield* sql<{ id: string; type: string; action_name: string | null; created_at: string }>`SELECT id, type,
          action_name, created_at FROM outbox_events WHERE fanned_out = 0 ORDER BY created_at, id LIMIT 200`
      if (events.length === 0) return false
      const hooks = yield* Webhooks.list
      const now = iso(yield* Clock.currentTimeMillis)
      const rows = events.flatMap((e) =>
        hooks
          .filter((h) => h.createdAt <= e.created_at && Webhooks.wants(h, e.type, e.action_name))
          .map((h) => ({
            id: Crypto.randomUUID(),
            event_id: e.id,
            webhook_id: h.id,
            status: "pending",
            attempts: 0,
            next_at: now,
            created_at: e.created_at
          }))
      )
      yield* sql.withTransaction(Effect.gen(function*() {
        for (let i = 0; i < rows.length; i += 100) {
          yield* sql`INSERT INTO webhook_deliveries ${sql.insert(rows.slice(i, i + 100))}
            ON CONFLICT (event_id, webhook_id) DO NOTHING`
        }
        yield* sql`UPDATE outbox_events SET fanned_out = 1 WHERE ${sql.in("id", events.map((e) => e.id))}`
      }))
      return events.length === 200
    })

    const claim = (n: number) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const until = iso(now + lease)
        return yield* sql<Claimed>`UPDATE webhook_deliveries SET next_at = ${until}, claimed_until = ${until},
            attempts = attempts + 1
          WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= ${iso(now)}
            ORDER BY next_at, id LIMIT ${n}${skipLocked(sql)})
            AND status = 'pending' AND next_at <= ${iso(now)}
          RETURNING id, event_id, webhook_id, attempts, created_at`
      })

    const record = (d: Claimed, outcome: Outcome) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (outcome.ok) {
          yield* sql`UPDATE webhook_deliveries SET status = 'delivered', done_at = ${iso(now)}, claimed_until = NULL,
            last_status = ${outcome.status}, last_error = NULL WHERE id = ${d.id}`
          return
        }
        const delay = retryDelay(Number(d.attempts), o.retryMinMillis, o.retryMaxMillis, outcome.retryAfter, Math.random())
        const next = now + delay
        if (next - Date.parse(d.created_at) > o.maxAgeMillis) {
          yield* sql`UPDATE webhook_deliveries SET status = 'failed', done_at = ${iso(now)}, claimed_until = NULL,
            last_status = ${outcome.status ?? null}, last_error = ${outcome.error} WHERE id = ${d.id}`
          return
        }
        yield* sql`UPDATE webhook_deliveries SET next_at = ${iso(next)}, claimed_until = NULL,
          last_status = ${outcome.status ?? null}, last_error = ${outcome.error} WHERE id = ${d.id} AND status = 'pending'`
      })

    const deliver = (d: Claimed) =>
      Effect.gen(function*() {
        const [event] = yield* sql<WebhookBody.StoredEvent>`SELECT id, type, subject, data, created_at FROM outbox_events
          WHERE id = ${d.event_id}`
        const hook = (yield* Webhooks.list).find((h) => h.id === d.webhook_id)
        const body = event === undefined ? Option.none() : yield* WebhookBody.load(sql, event, base)
        if (hook === undefined || Option.isNone(body)) {
          // the webhook was removed, or the event's leash is gone: nothing left to send
          yield* sql`DELETE FROM webhook_deliveries WHERE id = ${d.id}`
          return
        }
        const text = JSON.stringify(hook.format === "slack" ? Slack.message(body.value) : body.value)
        const now = yield* Clock.currentTimeMillis
        const timestamp = Math.floor(now / 1000)
        const outcome = yield* post(hook.url, {
          "content-type": "application/json",
          "user-agent": "houndsight-webhooks/0.1",
          "webhook-id": d.event_id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": Webhooks.signatureHeader(hook, d.event_id, timestamp, text, now)
        }, text, o.requestTimeoutMillis)
        yield* record(d, outcome)
      }).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning(`webhook delivery ${d.id} could not be recorded; it is retried`, cause))
      )

    /** Notified when a request ends (a slot is free again). */
    const freed = makeSignal()

    const tick = Effect.gen(function*() {
      let more = true
      while (more) more = yield* fanOut
      const free = o.concurrency - inFlight
      if (free <= 0) return
      for (const d of yield* claim(free)) {
        inFlight++
        yield* FiberSet.run(
          running,
          deliver(d).pipe(Effect.ensuring(Effect.zipRight(Effect.sync(() => inFlight--), freed.notify)))
        )
      }
    }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("the webhook worker could not read the outbox; it tries again", cause)))

    const loop = Effect.forever(Effect.gen(function*() {
      const written = yield* signal.listen
      const free = yield* freed.listen
      yield* tick
      // woken by a new event, the worker waits a moment more, so a burst of events costs one
      // tick (one fan-out, one claim), not one each
      yield* Effect.raceAll([
        Effect.sleep(Duration.millis(o.pollMillis)),
        Effect.zipRight(written, Effect.sleep(Duration.millis(Math.min(o.pollMillis, batchMillis)))),
        free
      ])
    }))
    yield* Effect.forkScoped(Effect.interruptible(loop))
  })

/**
 * The worker as a layer: it runs while the layer's scope is open.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<never, never, SqlClient.SqlClient | Signal | PublicUrl> =>
  Layer.scopedDiscard(make(options))
