/**
 * The outbox: every event the webhooks may announce is a row of `outbox_events`, written in the
 * same transaction as the change that caused it, so an event is never lost and never announced
 * for a change that did not happen (the delivery worker, `Delivery`, sends them later).
 *
 * - `leash.pending`: a leash stored pending; `leash.decided`: a leash decided (by a reviewer, a
 *   floor rule at creation, or cancelled by its agent); `leash.expired`: a leash that reached its
 *   deadline; `leash.reminder`: a leash still pending once a share of its timeout has passed
 *   (`Reminders`); `flag.raised`: a bypass flag, the first time it is raised.
 * - Each event has a unique key (`pending:{leash}`, `decided:{leash}`, `expired:{leash}`,
 *   `reminder:{leash}`, `flag:{trail}:{step}`), so whatever writes it twice (a second instance, a
 *   restart, a flag recomputed) writes it once.
 *
 * The leash events come from the store: a new leash's (`leash.pending`, or `leash.decided` when a
 * floor rule decided it) from a trigger on `leashes` (`Migrations`, `0009_leash_events`); the
 * others from a decorated `Store` (`OutboxStore`), whose `decide`, `expire` and `expireDue` run
 * with their events in one transaction. The flags come from the audit ({@link flagsRaised}, in
 * the ingest's transaction).
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as Crypto from "node:crypto"
import type { EventType } from "./Webhooks.js"

/**
 * The wake-up of the delivery worker: `notify` after an event is written; `listen` answers an
 * effect that completes at the first `notify` after `listen` ran (so a notify while the worker
 * is busy is not missed).
 *
 * @since 0.1.0
 * @category tags
 */
export class Signal extends Context.Tag("houndsight-server/Outbox/Signal")<Signal, {
  readonly notify: Effect.Effect<void>
  readonly listen: Effect.Effect<Effect.Effect<void>>
}>() {}

/**
 * A new signal.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSignal = (): Context.Tag.Service<Signal> => {
  let next = Deferred.unsafeMake<void>(FiberId.none)
  return {
    notify: Effect.sync(() => {
      const done = next
      next = Deferred.unsafeMake<void>(FiberId.none)
      Deferred.unsafeDone(done, Exit.void)
    }),
    listen: Effect.sync(() => Deferred.await(next))
  }
}

/**
 * Writes a leash event (with the leash's action, for the webhooks' action patterns), once per
 * key, and only while some webhook exists (a webhook receives the events of changes stored after
 * it was added: without webhooks there is nobody to tell); with `whilePending`, only while the
 * leash is still pending and not due at `now`.
 *
 * @since 0.1.0
 * @category statements
 */
export const leashEvent = (
  sql: SqlClient.SqlClient,
  type: Exclude<EventType, "flag.raised">,
  leashId: string,
  now: number,
  whilePending?: boolean
): Effect.Effect<boolean, SqlError> => {
  const key = `${type.slice("leash.".length)}:${leashId}`
  const pending = whilePending === true ? sql` AND status = 'pending' AND expires_at > ${now}` : sql``
  return Effect.map(
    sql<{ id: string }>`INSERT INTO outbox_events (id, type, subject, action_name, data, dedupe_key, created_at)
      SELECT ${Crypto.randomUUID()}, ${type}, leash_id, action_name, NULL, ${key}, ${new Date(now).toISOString()}
      FROM leashes WHERE leash_id = ${leashId}${pending} AND EXISTS (SELECT 1 FROM webhooks)
      ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    (rows) => rows.length === 1
  )
}

/**
 * Whether flags written now are announced: off while the migrations run (an old migration
 * recomputes flags before the outbox exists; `0007_webhooks` counts those as announced).
 *
 * @since 0.1.0
 * @category fiber refs
 */
export const announcingFlags: FiberRef.FiberRef<boolean> = FiberRef.unsafeMake(true)

/**
 * Writes a `flag.raised` event for each flag never announced before. `flags` are the audit's
 * rows, `[trail_id, step_id, seq, kind, action_name, review_step_id]`; called in the transaction
 * that writes them.
 *
 * @since 0.1.0
 * @category statements
 */
export const flagsRaised = (sql: SqlClient.SqlClient, flags: ReadonlyArray<unknown>): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    if (flags.length === 0 || !(yield* FiberRef.get(announcingFlags))) return
    const now = new Date(yield* Clock.currentTimeMillis).toISOString()
    const rows = flags.map((f) => {
      const [trailId, stepId, seq, kind, actionName, reviewStepId] = f as [string, string, number, string, string, string | null]
      return {
        id: Crypto.randomUUID(),
        type: "flag.raised",
        subject: trailId,
        action_name: actionName,
        data: JSON.stringify({ trail_id: trailId, step_id: stepId, seq, kind, action_name: actionName, review_step_id: reviewStepId }),
        dedupe_key: `flag:${trailId}:${stepId}`,
        created_at: now
      }
    })
    // in slices: a statement's parameters are bounded (7 a row)
    for (let i = 0; i < rows.length; i += 500) {
      yield* sql`INSERT INTO outbox_events ${sql.insert(rows.slice(i, i + 500))} ON CONFLICT (dedupe_key) DO NOTHING`
    }
  })
