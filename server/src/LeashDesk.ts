/**
 * The leash desk: the life of a leash on the server (DESIGN.md section 2), behind the leash
 * endpoints and the dashboard's decisions. (Named apart from the SDK's `Gate`, the transport a
 * leash reaches the server through, and its `HttpGate` and `FakeGate`.)
 *
 * - **Create** is idempotent by `leash_id`: a retry with the same body (compared as canonical
 *   JSON) answers the current state; a different body is `422 idempotency_conflict`, naming the
 *   first field that differs. Floor rules run once, at creation: the first rule that fires
 *   answers `decided` / `blocked` at once, `decided_by: "floor_rule"`.
 * - **Expiry** happens at `created + timeout_seconds` and never depends on a polling loop: every
 *   read and every decision checks the deadline first (a due leash becomes `timeout`, "expired",
 *   `decided_at` = the deadline), and the expiry timer (`Expiry`) writes the expiry of every
 *   pending leash and wakes its held long-polls at that instant.
 * - **Decide** is a compare-and-set in SQLite: of many concurrent decisions exactly one wins;
 *   the others, and any decision on a leash already decided, expired or cancelled, get
 *   `409 already_decided`.
 * - **Cancel** turns a pending leash into `timeout`, "cancelled by the agent"; on a leash that
 *   is no longer pending it answers the current state.
 * - **Long-poll**: `get(id, waitSeconds)` holds until the leash is decided (woken by whoever
 *   wrote the decision), the wait is over, or the leash expires.
 *
 * @since 0.1.0
 */
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Canonical from "./Canonical.js"
import * as Expiry from "./Expiry.js"
import * as Limits from "./Limits.js"
import { leashLink, PublicUrl } from "./PublicUrl.js"
import { Rules } from "./Rules.js"
import { type Decided, type LeashRow, Store } from "./Store.js"
import { type Listener, Waiters } from "./Waiters.js"

/**
 * The reason of a leash that expired without a decision.
 *
 * @since 0.1.0
 * @category constants
 */
export const expiredReason = "expired"

/**
 * The reason of a leash the agent cancelled.
 *
 * @since 0.1.0
 * @category constants
 */
export const cancelledReason = "cancelled by the agent"

/**
 * `decided_by` of a leash a floor rule blocked.
 *
 * @since 0.1.0
 * @category constants
 */
export const floorRuleDecider = "floor_rule"

/**
 * The leash desk.
 *
 * @since 0.1.0
 * @category tags
 */
export class LeashDesk extends Context.Tag("houndsight-server/LeashDesk")<LeashDesk, {
  /** `POST /v1/leashes`: `raw` is the parsed body, compared as canonical JSON on a retry. */
  readonly create: (
    request: Wire.LeashRequest,
    raw: unknown
  ) => Effect.Effect<
    Wire.LeashState,
    Wire.ApiError.BadRequest | Wire.ApiError.PayloadTooLarge | Wire.ApiError.Unprocessable | SqlError
  >
  /** `GET /v1/leashes/{id}?wait_seconds=N`. */
  readonly get: (leashId: string, waitSeconds: number) => Effect.Effect<Wire.LeashState, Wire.ApiError.NotFound | SqlError>
  /** `POST /v1/leashes/{id}/cancel`; `by` names the key that cancelled. */
  readonly cancel: (leashId: string, by: string) => Effect.Effect<Wire.LeashState, Wire.ApiError.NotFound | SqlError>
  /**
   * `POST /v1/leashes/{id}/decision`; `by` is the reviewer who decided (stored as `decided_by`
   * and `reviewer`), or a name alone.
   */
  readonly decide: (
    leashId: string,
    decision: Wire.ReviewerDecision,
    by: string | Wire.Reviewer
  ) => Effect.Effect<
    Wire.LeashState,
    Wire.ApiError.NotFound | Wire.ApiError.Conflict | Wire.ApiError.PayloadTooLarge | SqlError
  >
  /** `GET /v1/leashes?status=pending`: a page of bounded summaries. */
  readonly pending: (
    limit: number,
    cursor?: readonly [number, string] | undefined
  ) => Effect.Effect<Wire.PendingLeashList, SqlError>
  /** Answers every held long-poll now and every later one at once (the server is stopping). */
  readonly shutdown: Effect.Effect<void>
}>() {}

const encodeSignals = Schema.encode(Wire.RiskSignals)

const iso = (millis: number): string => new Date(millis).toISOString()

const noLongerPending = (leashId: string, d: Decided): string => {
  if (d.decision === "timeout" && d.reason === expiredReason) {
    return `leash ${leashId} expired at ${iso(d.decidedAt)} without a decision; the agent got a timeout`
  }
  if (d.decision === "timeout" && d.reason === cancelledReason) {
    return `leash ${leashId} was cancelled by the agent at ${iso(d.decidedAt)}`
  }
  if (d.decision === "blocked" && d.decidedBy === floorRuleDecider) {
    return `leash ${leashId} was blocked by a floor rule at ${iso(d.decidedAt)}: ${d.reason}`
  }
  return `leash ${leashId} was already decided: ${d.decision}${d.decidedBy === undefined ? "" : ` by ${d.decidedBy}`} at ${
    iso(d.decidedAt)
  }`
}

/**
 * The leash desk on the store, the rules and the wake-up registry. Scoped: the expiry timer lives
 * in the scope, and every pending leash found at startup is armed in it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const store = yield* Store
  const rules = yield* Rules
  const waiters = yield* Waiters
  const base = yield* PublicUrl
  let closing = false

  /** The answer for a leash: pending, or its decision (`d`). */
  const stateOf = (leashId: string, d: Decided | undefined): Wire.LeashState => {
    const traceLink = leashLink(base, leashId)
    if (d === undefined) return { leashId, status: "pending", traceLink }
    return {
      leashId,
      status: "decided",
      decision: {
        decision: d.decision,
        reason: d.reason,
        ...(d.modifiedPayload !== undefined ? { modifiedPayload: JSON.parse(d.modifiedPayload) as unknown } : {}),
        ...(d.decidedBy !== undefined ? { decidedBy: d.decidedBy } : {}),
        ...(d.decidedById !== undefined && d.decidedBy !== undefined
          ? { reviewer: { id: d.decidedById, name: d.decidedBy } }
          : {}),
        decidedAt: new Date(d.decidedAt),
        traceLink
      }
    }
  }

  const toState = (row: LeashRow): Wire.LeashState =>
    stateOf(row.leashId, row.status === "pending" ? undefined : row.decision)

  /** The state of a leash the server expired at its deadline (what `store.expire` writes). */
  const expiredState = (leashId: string, expiresAt: number): Wire.LeashState =>
    stateOf(leashId, {
      decision: "timeout",
      reason: expiredReason,
      modifiedPayload: undefined,
      decidedBy: "server",
      decidedAt: expiresAt
    })

  // The deadline of every pending leash, met by one timer (`Expiry`): at its deadline a leash is
  // expired in the store and its held polls are woken with the state written.
  const expiry = yield* Expiry.make({
    onDue: (leashId, at) =>
      Effect.flatMap(
        // the store's clock decides whether it is due (the database's on PostgreSQL)
        Effect.flatMap(store.now, (now) => store.expire(leashId, now)),
        (expired) => (expired ? waiters.wake(leashId, expiredState(leashId, at)) : Effect.void)
      ).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning(`could not expire leash ${leashId}; it expires at its next read`, cause))
      )
  })

  /** A leash was decided (`state`: what was written, when known): wakes its polls, disarms its timer. */
  const settled = (leashId: string, state?: Wire.LeashState) =>
    Effect.zipRight(waiters.wake(leashId, state), expiry.disarm(leashId))

  /** The stored leash, expired first if its deadline has passed. */
  const current = (leashId: string): Effect.Effect<Option.Option<LeashRow>, SqlError> =>
    Effect.gen(function*() {
      const row = yield* store.leash(leashId)
      if (Option.isNone(row) || row.value.status !== "pending") return row
      const now = yield* store.now
      if (now < row.value.expiresAt) return row
      if (yield* store.expire(leashId, now)) yield* settled(leashId, expiredState(leashId, row.value.expiresAt))
      return yield* store.leash(leashId)
    })

  const found = (leashId: string) =>
    Effect.flatMap(current(leashId), (row) =>
      Option.match(row, {
        onNone: () =>
          Effect.fail(
            new Wire.ApiError.NotFound({
              message: `no leash ${leashId}: create it first with POST /v1/leashes`
            })
          ),
        onSome: Effect.succeed
      }))

  for (const { expiresAt, leashId } of yield* Effect.orDie(store.pendingExpiries)) {
    yield* expiry.arm(leashId, expiresAt)
  }

  const create = (request: Wire.LeashRequest, raw: unknown) =>
    Effect.gen(function*() {
      const tooLarge = Limits.leashOverLimit(raw)
      if (tooLarge !== undefined) return yield* tooLarge
      const now = yield* store.now
      // Stored as received (the dashboard shows the payload in the order it was sent);
      // compared with a retry as canonical JSON.
      const received = JSON.stringify(raw) ?? "null"
      // Rules see the signals as the contract names them, in snake_case, whatever the client sent.
      const signals = yield* Effect.mapError(
        encodeSignals(request.riskSignals),
        (error) =>
          new Wire.ApiError.BadRequest({
            message: `risk_signals: ${Wire.ApiError.describeIssues(ParseResult.ArrayFormatter.formatErrorSync(error))}`
          })
      )
      const rule = Wire.Rules.firstFiring(rules.file, request.actionName, signals)
      const expiresAt = now + Math.max(1, Math.round(request.timeoutSeconds * 1000))
      const decision: Decided | undefined = rule === undefined ? undefined : {
        decision: "blocked",
        reason: rule.reason,
        modifiedPayload: undefined,
        decidedBy: floorRuleDecider,
        decidedAt: now
      }
      const existing = yield* store.insertLeash({
        leashId: request.leashId,
        request: received,
        decoded: request,
        raw,
        createdAt: now,
        expiresAt,
        decision
      })
      if (Option.isSome(existing)) {
        if (existing.value.request !== received && Canonical.stringify(JSON.parse(existing.value.request)) !== Canonical.stringify(raw)) {
          const where = Canonical.firstDifference(JSON.parse(existing.value.request), raw)
          return yield* new Wire.ApiError.Unprocessable({
            code: "idempotency_conflict",
            message: `leash ${request.leashId} already exists with a different body (first difference: ${where}); ` +
              "a retry must send the same body, and a new request needs a new leash_id"
          })
        }
        const row = yield* current(request.leashId)
        return toState(Option.getOrElse(row, () => existing.value))
      }
      if (decision === undefined) yield* expiry.arm(request.leashId, expiresAt)
      return toState({ leashId: request.leashId, request: received, status: decision ? "decided" : "pending", createdAt: now, expiresAt, decision })
    })

  /**
   * Holds a poll until `listener` is woken (answering the state the waker handed over, if any)
   * or `millis` pass (answering `undefined`). A Node timer, not a fiber racing a sleep: a held
   * poll costs its request and this closure, nothing more.
   */
  const hold = (listener: Listener, millis: number): Effect.Effect<Wire.LeashState | undefined> =>
    listener.woken ? Effect.succeed(listener.state) : Effect.async<Wire.LeashState | undefined>((resume) => {
      const timer = setTimeout(() => {
        listener.onWake = undefined
        resume(Effect.succeed(undefined))
      }, Math.max(0, millis))
      listener.onWake = (state) => {
        clearTimeout(timer)
        resume(Effect.succeed(state))
      }
      return Effect.sync(() => {
        clearTimeout(timer)
        listener.onWake = undefined
      })
    })

  const read = (leashId: string) => Effect.map(found(leashId), toState)

  const get = (leashId: string, waitSeconds: number): Effect.Effect<Wire.LeashState, Wire.ApiError.NotFound | SqlError> =>
    Effect.suspend(() => {
      const wait = closing ? 0 : waitSeconds
      if (wait <= 0) return read(leashId)
      // listen before reading, so a decision written between the read and the wait is not missed
      const listener = waiters.unsafeListen(leashId)
      return Effect.flatMap(found(leashId), (row) => {
        if (row.status !== "pending") return Effect.succeed(toState(row))
        // The deadline is not this poll's timer: the expiry timer (on the server's Clock, which
        // tests replace) expires the leash and wakes its polls. A Node timer bounded by the
        // deadline would answer "pending" early whenever the Clock and Node's timers disagree.
        return Effect.flatMap(
          hold(listener, wait * 1000),
          (state) => (state === undefined ? read(leashId) : Effect.succeed(state))
        )
      }).pipe(Effect.ensuring(Effect.sync(listener.stop)))
    })

  /** Writes a decision (compare-and-set); the state written when this call won, else `undefined`. */
  const write = (leashId: string, decided: Decided, now: number) =>
    Effect.flatMap(store.decide(leashId, decided, now), (won) => {
      if (!won) return Effect.succeed(undefined)
      const state = stateOf(leashId, decided)
      return Effect.as(settled(leashId, state), state)
    })

  const cancel = (leashId: string, by: string) =>
    Effect.gen(function*() {
      const now = yield* store.now
      const won = yield* write(leashId, {
        decision: "timeout",
        reason: cancelledReason,
        modifiedPayload: undefined,
        decidedBy: by,
        decidedAt: now
      }, now)
      return won ?? toState(yield* found(leashId))
    })

  const decide = (leashId: string, body: Wire.ReviewerDecision, by: string | Wire.Reviewer) =>
    Effect.gen(function*() {
      const modifiedPayload = body.modifiedPayload === undefined ? undefined : JSON.stringify(body.modifiedPayload)
      const tooLarge = modifiedPayload === undefined ? undefined : Limits.modifiedPayloadOverLimit(body.modifiedPayload)
      if (tooLarge !== undefined) return yield* tooLarge
      const now = yield* store.now
      const won = yield* write(leashId, {
        decision: body.decision,
        reason: body.reason,
        modifiedPayload,
        decidedBy: typeof by === "string" ? by : by.name,
        ...(typeof by === "string" ? {} : { decidedById: by.id }),
        decidedAt: now
      }, now)
      if (won !== undefined) return won
      const row = yield* found(leashId)
      if (row.decision === undefined) {
        // Pending, yet the write lost: only possible when the deadline is exactly now.
        return yield* new Wire.ApiError.Conflict({ message: `leash ${leashId} reached its deadline; it has expired` })
      }
      return yield* new Wire.ApiError.Conflict({ message: noLongerPending(leashId, row.decision) })
    })

  const pending = (limit: number, cursor?: readonly [number, string]) =>
    Effect.gen(function*() {
      const now = yield* store.now
      for (const leashId of yield* store.expireDue(now)) yield* settled(leashId)
      const page = yield* store.pending(now, limit, cursor)
      return {
        leashes: page.rows.map((row): Wire.PendingLeashItem => ({
          leashId: row.leashId,
          status: "pending",
          traceLink: leashLink(base, row.leashId),
          createdAt: new Date(row.createdAt),
          expiresAt: new Date(row.expiresAt),
          request: row.summary.request,
          payloadPreview: row.summary.payloadPreview
        })),
        ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor })
      }
    })

  const shutdown = Effect.suspend(() => {
    closing = true
    return waiters.wakeAll
  })

  // v1.1: a leash id is compared in lowercase, whoever passes it (the API's paths are lowercased
  // on receipt already; the dashboard's are not)
  return LeashDesk.of({
    create,
    get: (leashId, waitSeconds) => get(leashId.toLowerCase(), waitSeconds),
    cancel: (leashId, by) => cancel(leashId.toLowerCase(), by),
    decide: (leashId, body, by) => decide(leashId.toLowerCase(), body, by),
    pending,
    shutdown
  })
})

/**
 * The leash desk as a scoped layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<LeashDesk, never, Store | Rules | Waiters | PublicUrl> = Layer.scoped(LeashDesk, make)
