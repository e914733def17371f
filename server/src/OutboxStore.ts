/**
 * The store with the outbox: each change of a leash (stored, decided, cancelled, expired) is
 * atomic with its event (`Outbox`): a new leash's event is written by a trigger in the insert's
 * own statement, the others in one transaction with their change. The delivery worker is woken
 * after each, and the reminders' timer (`Reminders`) is armed and disarmed with the leash.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { leashEvent, makeSignal, Signal } from "./Outbox.js"
import * as Reminders from "./Reminders.js"
import * as Store from "./Store.js"

/**
 * How the outbox runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The share of a leash's timeout after which a pending leash sends its reminder (default 0.8). */
  readonly reminderAt?: number | undefined
}

/**
 * The store, with each change of a leash and its event written atomically; the outbox
 * signal, notified after each; and the reminders' timer (in the layer's scope).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Store.Store | Signal, never, SqlClient.SqlClient> =>
  Layer.scopedContext(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* Store.make
    const signal = makeSignal()
    const reminders = yield* Reminders.make(
      sql,
      options.reminderAt ?? Reminders.defaultShare,
      (leashId, now) =>
        Effect.flatMap(leashEvent(sql, "leash.reminder", leashId, now, true), (written) => (written ? signal.notify : Effect.void))
    )

    /** Runs `change` and the events it calls for in one transaction, then wakes the worker. */
    const withEvents = <A>(
      change: Effect.Effect<A, SqlError>,
      events: (a: A) => Effect.Effect<unknown, SqlError>,
      after: (a: A) => Effect.Effect<void>
    ) =>
      Effect.tap(
        sql.withTransaction(Effect.tap(change, events)),
        (a) => Effect.zipRight(after(a), signal.notify)
      )

    const decorated = Store.Store.of({
      ...store,
      // The new leash's event is written by the `leash_events_on_insert` trigger, in the
      // insert's own statement (`Migrations`, `0009_leash_events`): no transaction here.
      insertLeash: (row) =>
        Effect.tap(store.insertLeash(row), (existing) =>
          Option.isSome(existing)
            ? Effect.void
            : row.decision === undefined
            ? Effect.zipRight(reminders.arm(row.leashId, row.createdAt, row.expiresAt), signal.notify)
            : signal.notify),
      decide: (leashId, decided, now) =>
        withEvents(
          store.decide(leashId, decided, now),
          (won) => (won ? leashEvent(sql, "leash.decided", leashId, now) : Effect.void),
          (won) => (won ? reminders.disarm(leashId) : Effect.void)
        ),
      expire: (leashId, now) =>
        withEvents(
          store.expire(leashId, now),
          (expired) => (expired ? leashEvent(sql, "leash.expired", leashId, now) : Effect.void),
          (expired) => (expired ? reminders.disarm(leashId) : Effect.void)
        ),
      expireDue: (now) =>
        withEvents(
          store.expireDue(now),
          (ids) => Effect.forEach(ids, (id) => leashEvent(sql, "leash.expired", id, now), { discard: true }),
          (ids) => Effect.forEach(ids, reminders.disarm, { discard: true })
        )
    })
    return Context.make(Store.Store, decorated).pipe(Context.add(Signal, signal))
  }))
