/**
 * Reminders: a leash still pending once a share of its timeout has passed (default 80 %, the
 * server's `--reminder-at`) sends one `leash.reminder`. Each pending leash's reminder time is a
 * deadline of one `Expiry` timer (armed when the leash is stored, and for every pending leash
 * at startup; disarmed when it is decided or expires). At that time the reminder is written to
 * the outbox only if the leash is still pending, under the key `reminder:{leash}`, so it is
 * written once whatever restarts or instances arm it again.
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Expiry from "./Expiry.js"

/**
 * The default share of a leash's timeout after which it is reminded of: 0.8.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultShare = 0.8

/**
 * The server's reminder share, for the dashboard's mark of leashes close to expiry (the default
 * when no server set it).
 *
 * @since 0.1.0
 * @category tags
 */
export class Share extends Context.Reference<Share>()("houndsight-server/Reminders/Share", {
  defaultValue: () => defaultShare
}) {}

/**
 * Checks a reminder share: a number above 0 and below 1 (`1` would remind at the deadline,
 * when the leash expires instead). Answers the share, or a message saying what is wrong.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkShare = (value: string): number | string => {
  const share = /^\d*\.?\d+$/.test(value.trim()) ? Number(value) : NaN
  return share > 0 && share < 1
    ? share
    : `must be a share of the timeout above 0 and below 1, such as 0.8 (80 %), got ${JSON.stringify(value.slice(0, 40))}`
}

/**
 * When a leash created at `createdAt` and due at `expiresAt` is reminded of (epoch milliseconds).
 *
 * @since 0.1.0
 * @category utils
 */
export const reminderAt = (createdAt: number, expiresAt: number, share: number): number =>
  createdAt + Math.floor((expiresAt - createdAt) * share)

/**
 * The reminders of one server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reminders {
  /** Arms the reminder of a pending leash. */
  readonly arm: (leashId: string, createdAt: number, expiresAt: number) => Effect.Effect<void>
  /** Disarms it (the leash is decided or expired). */
  readonly disarm: (leashId: string) => Effect.Effect<void>
}

/**
 * The reminders, with every pending leash of the database armed; `fire` writes a reminder (it
 * checks the leash is still pending). The timer runs in the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  sql: SqlClient.SqlClient,
  share: number,
  fire: (leashId: string, now: number) => Effect.Effect<void, SqlError>
): Effect.Effect<Reminders, never, Scope.Scope> =>
  Effect.gen(function*() {
    const timer = yield* Expiry.make({
      onDue: (leashId, _at, now) =>
        fire(leashId, now).pipe(
          Effect.catchAllCause((cause) => Effect.logWarning(`could not write the reminder of leash ${leashId}`, cause))
        )
    })
    const pending = yield* Effect.orDie(
      sql<{ leash_id: string; created_at: number; expires_at: number }>`SELECT leash_id, created_at, expires_at
        FROM leashes WHERE status = 'pending'`
    )
    for (const row of pending) {
      yield* timer.arm(row.leash_id, reminderAt(Number(row.created_at), Number(row.expires_at), share))
    }
    return {
      arm: (leashId, createdAt, expiresAt) => timer.arm(leashId, reminderAt(createdAt, expiresAt, share)),
      disarm: timer.disarm
    }
  })
