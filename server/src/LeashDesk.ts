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
 * - **Two-person approval**: a leash an approval rule made need N distinct reviewers stays pending
 *   through the first N - 1 approvals (each answers the pending state with the approvals so far;
 *   the same person again is `409 already_approved`); any rejection rejects; a modification
 *   counts as its author's approval of the new payload and restarts the count; the Nth approval
 *   completes it (`approved`, or `modified` when a modification is under review, with every
 *   approver in `approvers`) by the same compare-and-set (`Approvals`). Held long-polls are woken
 *   by the completing decision only.
 * - **Cancel** turns a pending leash into `timeout`, "cancelled by the agent"; on a leash that
 *   is no longer pending it answers the current state.
 * - **Long-poll**: `get(id, waitSeconds)` holds until the leash is decided (woken by whoever
 *   wrote the decision), the wait is over, or the leash expires.
 * - **Several instances** on one database: every write that changes a leash (a create, a
 *   decision, a cancel, an expiry) is announced to the other instances (`Notifier`), which wake
 *   their own held polls of it; a woken poll re-reads the leash and holds on while it is still
 *   pending. A poll also arms this instance's expiry timer for its leash, so it expires at its
 *   deadline even when the instance that created it is gone (the expiry's compare-and-set lets
 *   one instance write it).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Approvals from "./Approvals.js"
import * as Canonical from "./Canonical.js"
import * as Expiry from "./Expiry.js"
import * as Limits from "./Limits.js"
import { Notifier } from "./Notifier.js"
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
 * What a reviewer was shown when they decided: the payload round of a leash that needs several
 * approvals (0: the agent's payload; one more per modification). An approval of another round
 * is `409 payload_changed`: it would approve a payload its reviewer did not see.
 *
 * @since 0.2.0
 * @category models
 */
export interface Seen {
  readonly round: number
}

/** How often a decision of a leash with an approval gate reads again after losing to another. */
const maxGatedAttempts = 8

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
   * and `reviewer`), or a name alone; `seen`, what the reviewer was shown (the dashboard's form).
   */
  readonly decide: (
    leashId: string,
    decision: Wire.ReviewerDecision,
    by: string | Wire.Reviewer,
    seen?: Seen
  ) => Effect.Effect<
    Wire.LeashState,
    Wire.ApiError.NotFound | Wire.ApiError.Conflict | Wire.ApiError.PayloadTooLarge | SqlError
  >
  /** The approval gate of a leash that needs several approvals, with its round's approvals (the dashboard). */
  readonly approvals: (leashId: string) => Effect.Effect<Approvals.Progress | undefined, SqlError>
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
  const sql = yield* SqlClient.SqlClient
  const store = yield* Store
  const rules = yield* Rules
  const waiters = yield* Waiters
  const notifier = yield* Notifier
  const base = yield* PublicUrl
  let closing = false

  /**
   * The answer for a leash: pending, or its decision (`d`); with its approval gate (`gate`), the
   * approvals so far, or every approver of an approving decision.
   */
  const stateOf = (leashId: string, d: Decided | undefined, gate?: Approvals.Progress): Wire.LeashState => {
    const traceLink = leashLink(base, leashId)
    if (d === undefined) {
      if (gate === undefined) return { leashId, status: "pending", traceLink }
      return {
        leashId,
        status: "pending",
        traceLink,
        approvalsRequired: gate.required,
        approvals: Approvals.toWire(gate.approvals),
        ...(gate.payload !== undefined ? { modifiedPayload: JSON.parse(gate.payload) as unknown } : {})
      }
    }
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
        ...(gate !== undefined && Wire.isApproving(d.decision) ? { approvers: gate.approvals.map((a) => a.reviewer) } : {}),
        decidedAt: new Date(d.decidedAt),
        traceLink
      }
    }
  }

  /** The answer for a stored leash, with its approval gate when it has one. */
  const toState = (row: LeashRow): Effect.Effect<Wire.LeashState, SqlError> => {
    const d = row.status === "pending" ? undefined : row.decision
    // only a pending leash's approvals, or an approving decision's approvers, are answered
    if (d !== undefined && !Wire.isApproving(d.decision)) return Effect.succeed(stateOf(row.leashId, d))
    return Effect.map(Approvals.progressOf(sql, row.leashId), (gate) => stateOf(row.leashId, d, gate))
  }

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
      // a compare-and-set: of the instances whose timers meet this deadline, only the one whose
      // write changed the row wakes the polls and tells the others; the store's clock decides
      // whether it is due (the database's on PostgreSQL)
      Effect.flatMap(
        Effect.flatMap(store.now, (now) => store.expire(leashId, now)),
        (expired) => (expired ? settled(leashId, expiredState(leashId, at)) : Effect.void)
      ).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning(`could not expire leash ${leashId}; it expires at its next read`, cause))
      )
  })

  /**
   * A leash was decided (`state`: what was written, when known): wakes its polls, disarms its
   * timer, and tells the other instances.
   */
  const settled = (leashId: string, state?: Wire.LeashState): Effect.Effect<void> =>
    Effect.zipRight(
      Effect.zipRight(waiters.wake(leashId, state), expiry.disarm(leashId)),
      notifier.announce("leashes", [leashId])
    )

  // Another instance changed these leashes: their held polls here re-read them.
  const runSync = Runtime.runSync(yield* Effect.runtime<never>())
  yield* Effect.acquireRelease(
    Effect.sync(() =>
      notifier.unsafeSubscribe((event) => {
        runSync(event._tag === "Changed"
          ? event.kind === "leashes" ? Effect.forEach(event.ids, (id) => waiters.wake(id), { discard: true }) : Effect.void
          : waiters.wakeAll)
      })
    ),
    (unsubscribe) => Effect.sync(unsubscribe)
  )

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
      // approval rules run after the floor rules: a block wins
      const required = rule === undefined ? Wire.Rules.approvalsRequired(rules.file, request.actionName, signals) : undefined
      const expiresAt = now + Math.max(1, Math.round(request.timeoutSeconds * 1000))
      const decision: Decided | undefined = rule === undefined ? undefined : {
        decision: "blocked",
        reason: rule.reason,
        modifiedPayload: undefined,
        decidedBy: floorRuleDecider,
        decidedAt: now
      }
      const insert = store.insertLeash({
        leashId: request.leashId,
        request: received,
        decoded: request,
        raw,
        createdAt: now,
        expiresAt,
        decision
      })
      // a leash that needs several approvals is stored with its gate, in one transaction: never
      // a pending leash that one approval would complete
      const existing = yield* (required === undefined ? insert : sql.withTransaction(
        Effect.tap(insert, (taken) => Option.isNone(taken) ? Approvals.open(sql, request.leashId, required) : Effect.void)
      ))
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
        return yield* toState(Option.getOrElse(row, () => existing.value))
      }
      if (decision === undefined) yield* expiry.arm(request.leashId, expiresAt)
      yield* notifier.announce("leashes", [request.leashId])
      return stateOf(
        request.leashId,
        decision,
        required === undefined ? undefined : { required, round: 0, count: 0, payload: undefined, approvals: [] }
      )
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

  const read = (leashId: string) => Effect.flatMap(found(leashId), toState)

  /** Holds a poll of `leashId` until it is decided or Node's clock reaches `endAt`. */
  const holdUntil = (leashId: string, endAt: number): Effect.Effect<Wire.LeashState, Wire.ApiError.NotFound | SqlError> =>
    Effect.suspend(() => {
      // listen before reading, so a decision written between the read and the wait is not missed
      const listener = waiters.unsafeListen(leashId)
      return Effect.flatMap(found(leashId), (row) => {
        if (row.status !== "pending") return toState(row)
        // The deadline is not this poll's timer: the expiry timer (on the server's Clock, which
        // tests replace) expires the leash and wakes its polls. A Node timer bounded by the
        // deadline would answer "pending" early whenever the Clock and Node's timers disagree.
        // Armed here too, so a leash another instance created expires here if that one is gone.
        return Effect.zipRight(
          expiry.arm(leashId, row.expiresAt),
          Effect.flatMap(hold(listener, endAt - Date.now()), (state) => {
            if (state !== undefined) return Effect.succeed(state)
            // Woken without the state (another instance wrote it, or notifications were missed):
            // read again, and hold on while it is still pending.
            if (!listener.woken || closing || Date.now() >= endAt) return read(leashId)
            return holdUntil(leashId, endAt)
          })
        )
      }).pipe(Effect.ensuring(Effect.sync(listener.stop)))
    })

  const get = (leashId: string, waitSeconds: number): Effect.Effect<Wire.LeashState, Wire.ApiError.NotFound | SqlError> =>
    Effect.suspend(() => {
      const wait = closing ? 0 : waitSeconds
      return wait <= 0 ? read(leashId) : holdUntil(leashId, Date.now() + wait * 1000)
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
      return won ?? (yield* toState(yield* found(leashId)))
    })

  /** A decision that lost its compare-and-set: its transaction is rolled back and read again. */
  const lost = Symbol("lost")

  /**
   * A decision of a leash with an approval gate (`Approvals`): a rejection rejects; an approval
   * or a modification is added to the gate by its compare-and-set, and the approval that reaches
   * the count completes the leash in the same transaction. A lost compare-and-set reads again: the
   * reviewer's approval counts next, unless the leash was completed or this person already
   * approved meanwhile.
   */
  const decideGated = (
    leashId: string,
    body: Wire.ReviewerDecision,
    reviewer: Wire.Reviewer,
    byId: string | undefined,
    modifiedPayload: string | undefined,
    first: Approvals.Progress,
    expectedRound: number | undefined
  ): Effect.Effect<Wire.LeashState, Wire.ApiError.NotFound | Wire.ApiError.Conflict | SqlError> =>
    Effect.gen(function*() {
      let gate: Approvals.Progress | undefined = first
      for (let attempt = 0; attempt < maxGatedAttempts; attempt++) {
        const row = yield* found(leashId)
        if (row.decision !== undefined) {
          return yield* new Wire.ApiError.Conflict({ message: noLongerPending(leashId, row.decision) })
        }
        gate = gate ?? (yield* Approvals.progressOf(sql, leashId))
        if (gate === undefined) return yield* Effect.die(`leash ${leashId} lost its approval gate`)
        const seen: Approvals.Progress = gate
        gate = undefined
        // an approval is of the payload its reviewer saw: not of one modified meanwhile
        const shown = expectedRound ?? first.round
        if (body.decision === "approved" && seen.round !== shown) {
          return yield* new Wire.ApiError.Conflict({
            code: "payload_changed",
            message: `the payload of leash ${leashId} was modified${
              seen.approvals[0] === undefined ? "" : ` by ${seen.approvals[0].reviewer.name}`
            } after you read it, so your approval was not recorded: read the leash again and approve the new payload if you agree`
          })
        }
        const now = yield* store.now
        const decided = (decision: Decided["decision"], payload: string | undefined): Decided => ({
          decision,
          reason: body.reason,
          modifiedPayload: payload,
          decidedBy: reviewer.name,
          ...(byId === undefined ? {} : { decidedById: byId }),
          decidedAt: now
        })
        if (body.decision === "rejected") {
          const won = yield* write(leashId, decided("rejected", undefined), now)
          if (won !== undefined) return won
          continue
        }
        if (body.decision === "approved" && Approvals.hasApproved(seen.approvals, reviewer)) {
          return yield* new Wire.ApiError.Conflict({
            code: "already_approved",
            message: `${reviewer.name} already approved leash ${leashId} (${seen.approvals.length} of ${seen.required} ` +
              `approvals so far): it needs ${seen.required} distinct reviewers; another reviewer must approve it`
          })
        }
        const approval: Approvals.Stored = { reviewer, decision: body.decision, at: now }
        const completes = body.decision === "approved" && seen.count + 1 >= seen.required
        const outcome = yield* sql.withTransaction(Effect.gen(function*() {
          const added = yield* Approvals.add(sql, leashId, seen, { ...approval, payload: modifiedPayload })
          if (!added) return lost
          if (!completes) return undefined
          const d = decided(seen.payload === undefined ? "approved" : "modified", seen.payload)
          // DESIGN.md section 2: the completing decision is the leash's compare-and-set
          if (!(yield* store.decide(leashId, d, now))) return yield* Effect.fail(lost)
          return d
        })).pipe(Effect.catchIf((e): e is typeof lost => e === lost, () => Effect.succeed(lost)))
        if (outcome === lost) continue
        if (outcome === undefined) return yield* read(leashId)
        const state = stateOf(leashId, outcome, { ...seen, approvals: [...seen.approvals, approval] })
        return yield* Effect.as(settled(leashId, state), state)
      }
      return yield* new Wire.ApiError.Conflict({
        message: `leash ${leashId} changed ${maxGatedAttempts} times while your decision was written; ` +
          "read it again and decide on what it shows now"
      })
    })

  const decide = (leashId: string, body: Wire.ReviewerDecision, by: string | Wire.Reviewer, seen?: Seen) =>
    Effect.gen(function*() {
      const modifiedPayload = body.modifiedPayload === undefined ? undefined : JSON.stringify(body.modifiedPayload)
      const tooLarge = modifiedPayload === undefined ? undefined : Limits.modifiedPayloadOverLimit(body.modifiedPayload)
      if (tooLarge !== undefined) return yield* tooLarge
      const gate = yield* Approvals.progressOf(sql, leashId)
      if (gate !== undefined) {
        const reviewer = typeof by === "string" ? { id: by, name: by } : by
        const byId = typeof by === "string" ? undefined : by.id
        return yield* decideGated(leashId, body, reviewer, byId, modifiedPayload, gate, seen?.round)
      }
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
      const gates = yield* Approvals.progress(sql, page.rows.map((row) => row.leashId))
      return {
        leashes: page.rows.map((row): Wire.PendingLeashItem => {
          const gate = gates.get(row.leashId)
          return {
            leashId: row.leashId,
            status: "pending",
            traceLink: leashLink(base, row.leashId),
            createdAt: new Date(row.createdAt),
            expiresAt: new Date(row.expiresAt),
            request: row.summary.request,
            payloadPreview: row.summary.payloadPreview,
            ...(gate === undefined ? {} : {
              approvalsRequired: gate.required,
              approvals: Approvals.toWire(gate.approvals)
            })
          }
        }),
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
    decide: (leashId, body, by, seen) => decide(leashId.toLowerCase(), body, by, seen),
    approvals: (leashId) => Approvals.progressOf(sql, leashId.toLowerCase()),
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
export const layer: Layer.Layer<LeashDesk, never, Store | Rules | Waiters | Notifier | PublicUrl | SqlClient.SqlClient> = Layer
  .scoped(LeashDesk, make)
