/**
 * The body of a webhook delivery (the `standard` format): `{id, type, timestamp, data}` as
 * Standard Webhooks suggests, `id` being the event's id (the same in every retry: receivers
 * deduplicate by it). A leash event's `data` is the leash's bounded summary, as the pending list
 * has it (action, summary, risk signals, the payload's preview, agent, trail and step, timeout,
 * created and expires), its dashboard link, its status at the event, and the decision for
 * `leash.decided` and `leash.expired`. A flag's `data` is the flag with its trail's link.
 *
 * It is built when it is sent, from the event and the leash as stored: what an event reports of
 * a leash (its request, and a decision once written) never changes.
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { leashLink } from "./PublicUrl.js"

/**
 * A stored event.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredEvent {
  readonly id: string
  readonly type: string
  /** The leash id (leash events) or the trail id (`flag.raised`). */
  readonly subject: string
  readonly data: string | null
  readonly created_at: string
}

/**
 * A leash's decision as a delivery tells it.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecisionData {
  readonly decision: string
  readonly reason: string
  readonly decided_by: string | null
  readonly decided_at: string
}

/**
 * What a leash event tells of its leash.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeashData {
  readonly leash_id: string
  readonly link: string
  readonly status: "pending" | "decided"
  readonly action_name: string
  readonly action_summary: string
  readonly risk_signals: Readonly<Record<string, unknown>>
  readonly payload_preview: { readonly text: string; readonly bytes: number; readonly cut: boolean }
  readonly agent: string
  readonly trail_id: string
  readonly step_id: string
  readonly timeout_seconds: number
  readonly created_at: string
  readonly expires_at: string
  readonly decision?: DecisionData
}

/**
 * What a `flag.raised` event tells.
 *
 * @since 0.1.0
 * @category models
 */
export interface FlagData {
  readonly trail_id: string
  readonly step_id: string
  readonly kind: string
  readonly action_name: string
  readonly link: string
}

/**
 * A delivery's body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Body {
  readonly id: string
  readonly type: string
  readonly timestamp: string
  readonly data: LeashData | FlagData
}

interface LeashColumns {
  readonly summary: string
  readonly created_at: number
  readonly expires_at: number
  readonly decision: string | null
  readonly reason: string | null
  readonly decided_by: string | null
  readonly decided_at: number | null
}

const iso = (millis: number | string): string => new Date(Number(millis)).toISOString()

/**
 * The body of an event, with links under `base` (the server's public URL); none when the event's
 * leash is gone.
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (sql: SqlClient.SqlClient, event: StoredEvent, base: string): Effect.Effect<Option.Option<Body>, SqlError> =>
  Effect.gen(function*() {
    const head = { id: event.id, type: event.type, timestamp: event.created_at }
    if (event.type === "flag.raised") {
      const flag = JSON.parse(event.data ?? "{}") as Omit<FlagData, "link">
      return Option.some({
        ...head,
        data: {
          trail_id: flag.trail_id,
          step_id: flag.step_id,
          kind: flag.kind,
          action_name: flag.action_name,
          link: `${base}/trails/${flag.trail_id}`
        }
      })
    }
    const [row] = yield* sql<LeashColumns>`SELECT summary, created_at, expires_at, decision, reason, decided_by, decided_at
      FROM leashes WHERE leash_id = ${event.subject}`
    if (row === undefined) return Option.none()
    const summary = JSON.parse(row.summary) as {
      request: Omit<LeashData, "link" | "status" | "payload_preview" | "created_at" | "expires_at">
      payload_preview: LeashData["payload_preview"]
    }
    const r = summary.request
    const decided = (event.type === "leash.decided" || event.type === "leash.expired") && row.decision !== null
    return Option.some({
      ...head,
      data: {
        leash_id: event.subject,
        link: leashLink(base, event.subject),
        status: decided ? "decided" : "pending",
        action_name: r.action_name,
        action_summary: r.action_summary,
        risk_signals: r.risk_signals,
        payload_preview: summary.payload_preview,
        agent: r.agent,
        trail_id: r.trail_id,
        step_id: r.step_id,
        timeout_seconds: r.timeout_seconds,
        created_at: iso(row.created_at),
        expires_at: iso(row.expires_at),
        ...(decided
          ? {
            decision: {
              decision: row.decision!,
              reason: row.reason ?? "",
              decided_by: row.decided_by,
              decided_at: iso(row.decided_at ?? row.expires_at)
            }
          }
          : {})
      }
    })
  })
