/**
 * Webhooks: the endpoints the server notifies, kept in its database and managed by the CLI
 * (`houndsight-server webhooks add|list|remove|rotate-secret`), never in the rules file. Each has
 * a URL (http or https), the events it wants, optionally the action patterns it wants
 * (`stripe.*`), a format (`standard` or `slack`) and a signing secret in the Standard Webhooks
 * form (`whsec_` + base64 of 32 random bytes), shown once when made or rotated. A rotation keeps
 * the previous secret valid for {@link rotationGraceMillis}: meanwhile every delivery carries a
 * signature by each.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Wire from "houndsight/wire"
import * as Crypto from "node:crypto"

/**
 * The events a webhook may ask for.
 *
 * @since 0.1.0
 * @category constants
 */
export const eventTypes = ["leash.pending", "leash.decided", "leash.expired", "leash.reminder", "flag.raised"] as const

/**
 * An event's type.
 *
 * @since 0.1.0
 * @category models
 */
export type EventType = typeof eventTypes[number]

/**
 * The formats of a delivery's body: the Standard Webhooks JSON, or a Slack incoming-webhook message.
 *
 * @since 0.1.0
 * @category constants
 */
export const formats = ["standard", "slack"] as const

/**
 * A delivery's format.
 *
 * @since 0.1.0
 * @category models
 */
export type Format = typeof formats[number]

/**
 * How long a rotated-out secret stays valid: 24 hours.
 *
 * @since 0.1.0
 * @category constants
 */
export const rotationGraceMillis = 24 * 60 * 60 * 1000

/**
 * A stored webhook.
 *
 * @since 0.1.0
 * @category models
 */
export interface Webhook {
  readonly id: string
  readonly url: string
  readonly events: ReadonlyArray<EventType>
  /** Action patterns (`stripe.charge`, `stripe.*`); empty: every action. */
  readonly actions: ReadonlyArray<string>
  readonly format: Format
  readonly secret: Redacted.Redacted<string>
  /** The secret before the last rotation, while it is still valid. */
  readonly previousSecret: Redacted.Redacted<string> | undefined
  /** When the previous secret stops being valid (epoch milliseconds). */
  readonly previousUntil: number | undefined
  readonly createdAt: string
}

/**
 * What `webhooks add` asks for.
 *
 * @since 0.1.0
 * @category models
 */
export interface NewWebhook {
  readonly url: string
  readonly events: ReadonlyArray<EventType>
  readonly actions: ReadonlyArray<string>
  readonly format: Format
}

/**
 * A problem with what was asked for (the message says what to do).
 *
 * @since 0.1.0
 * @category models
 */
export interface Invalid {
  readonly _tag: "Invalid"
  readonly message: string
}

const invalid = (message: string): Invalid => ({ _tag: "Invalid", message })

/**
 * Checks a webhook URL: absolute http or https, no user name or password in it.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkUrl = (value: string): string | Invalid => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return invalid(`the webhook URL ${JSON.stringify(value.slice(0, 200))} is not a URL: give one such as https://hooks.example.com/houndsight`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return invalid(`the webhook URL must be http:// or https://, got ${url.protocol}//`)
  }
  if (url.username !== "" || url.password !== "") {
    return invalid("the webhook URL must not carry a user name or password: deliveries are signed instead")
  }
  if (value.length > 2048) return invalid(`the webhook URL is ${value.length} characters long; at most 2048`)
  return url.toString()
}

/**
 * Reads a comma-separated list of event names (each one of {@link eventTypes}).
 *
 * @since 0.1.0
 * @category validation
 */
export const checkEvents = (value: string | undefined): ReadonlyArray<EventType> | Invalid => {
  if (value === undefined || value.trim() === "") {
    return invalid(`--events needs a comma-separated list of events, among ${eventTypes.join(", ")}`)
  }
  const out: Array<EventType> = []
  for (const name of value.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    if (!(eventTypes as ReadonlyArray<string>).includes(name)) {
      return invalid(`--events: ${JSON.stringify(name)} is not an event; the events are ${eventTypes.join(", ")}`)
    }
    if (!out.includes(name as EventType)) out.push(name as EventType)
  }
  return out
}

/**
 * Reads a comma-separated list of action patterns (`stripe.charge`, `stripe.*`), as the rules
 * file writes them; none: every action.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkActions = (value: string | undefined): ReadonlyArray<string> | Invalid => {
  if (value === undefined) return []
  const patterns = value.split(",").map((p) => p.trim()).filter((p) => p !== "")
  if (patterns.length === 0) return invalid("--actions needs at least one action pattern, such as stripe.* or email.send")
  for (const p of patterns) {
    if (p === "*" || p.length > 256 || !/^[^\s*]+(\.\*)?$/.test(p) || p.startsWith(".")) {
      return invalid(
        `--actions: ${JSON.stringify(p.slice(0, 80))} is not an action pattern; give an action name (email.send) or a prefix ending in .* (stripe.*)`
      )
    }
  }
  return [...new Set(patterns)]
}

/**
 * Reads a format name.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkFormat = (value: string | undefined): Format | Invalid =>
  value === undefined ? "standard" : (formats as ReadonlyArray<string>).includes(value)
  ? value as Format
  : invalid(`--format must be standard or slack, got ${JSON.stringify(value.slice(0, 40))}`)

/**
 * Whether a webhook wants an event of this type about this action (`undefined`: an event about
 * no action, which the action patterns do not filter).
 *
 * @since 0.1.0
 * @category filtering
 */
export const wants = (webhook: Webhook, type: string, actionName: string | null | undefined): boolean =>
  (webhook.events as ReadonlyArray<string>).includes(type) &&
  (webhook.actions.length === 0 || actionName == null || webhook.actions.some((p) => Wire.Rules.matches(p, actionName)))

/**
 * A new signing secret: `whsec_` and the base64 of 32 random bytes.
 *
 * @since 0.1.0
 * @category secrets
 */
export const newSecret = (): Redacted.Redacted<string> => Redacted.make(`whsec_${Crypto.randomBytes(32).toString("base64")}`)

interface WebhookColumns {
  readonly id: string
  readonly url: string
  readonly events: string
  readonly actions: string
  readonly format: string
  readonly secret: string
  readonly previous_secret: string | null
  readonly previous_until: string | null
  readonly created_at: string
}

const toWebhook = (row: WebhookColumns): Webhook => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as ReadonlyArray<EventType>,
  actions: JSON.parse(row.actions) as ReadonlyArray<string>,
  format: row.format === "slack" ? "slack" : "standard",
  secret: Redacted.make(row.secret),
  previousSecret: row.previous_secret === null ? undefined : Redacted.make(row.previous_secret),
  previousUntil: row.previous_until === null ? undefined : Date.parse(row.previous_until),
  createdAt: row.created_at
})

/**
 * Every webhook, oldest first.
 *
 * @since 0.1.0
 * @category statements
 */
export const list: Effect.Effect<ReadonlyArray<Webhook>, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    Effect.map(
      sql<WebhookColumns>`SELECT id, url, events, actions, format, secret, previous_secret, previous_until, created_at
        FROM webhooks ORDER BY created_at, id`,
      (rows) => rows.map(toWebhook)
    )
)

/**
 * Stores a new webhook; answers it (its secret, to show once).
 *
 * @since 0.1.0
 * @category statements
 */
export const add = (hook: NewWebhook): Effect.Effect<Webhook, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const id = `wh_${Crypto.randomBytes(6).toString("hex")}`
    const secret = newSecret()
    const createdAt = new Date().toISOString()
    yield* sql`INSERT INTO webhooks (id, url, events, actions, format, secret, previous_secret, previous_until, created_at)
      VALUES (${id}, ${hook.url}, ${JSON.stringify(hook.events)}, ${JSON.stringify(hook.actions)}, ${hook.format},
        ${Redacted.value(secret)}, NULL, NULL, ${createdAt})`
    return { ...hook, id, secret, previousSecret: undefined, previousUntil: undefined, createdAt }
  })

/**
 * Removes a webhook and its deliveries not yet made; `false` when no webhook has the id.
 *
 * @since 0.1.0
 * @category statements
 */
export const remove = (id: string): Effect.Effect<boolean, SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(Effect.gen(function*() {
      const gone = yield* sql<{ id: string }>`DELETE FROM webhooks WHERE id = ${id} RETURNING id`
      yield* sql`DELETE FROM webhook_deliveries WHERE webhook_id = ${id} AND status = 'pending'`
      return gone.length === 1
    })))

/**
 * Gives a webhook a new secret, the current one staying valid for {@link rotationGraceMillis};
 * answers the webhook with its new secret (to show once), or none when no webhook has the id.
 *
 * @since 0.1.0
 * @category statements
 */
export const rotateSecret = (id: string): Effect.Effect<Option.Option<Webhook>, SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const secret = newSecret()
    const until = new Date(Date.now() + rotationGraceMillis).toISOString()
    const rows = yield* sql<WebhookColumns>`UPDATE webhooks SET previous_secret = secret, previous_until = ${until},
        secret = ${Redacted.value(secret)} WHERE id = ${id}
      RETURNING id, url, events, actions, format, secret, previous_secret, previous_until, created_at`
    return Option.map(Option.fromNullable(rows[0]), toWebhook)
  })

/**
 * The Standard Webhooks signature of a delivery: `v1,` and the base64 HMAC-SHA256 of
 * `{id}.{timestamp}.{body}` keyed by the secret's base64 part (after `whsec_`).
 *
 * @since 0.1.0
 * @category signing
 */
export const sign = (secret: Redacted.Redacted<string>, id: string, timestamp: number, body: string): string => {
  const key = Buffer.from(Redacted.value(secret).replace(/^whsec_/, ""), "base64")
  return `v1,${Crypto.createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`
}

/**
 * The `webhook-signature` header of a delivery at `now`: a signature by the current secret, and
 * one by the previous secret while it is valid, space-separated.
 *
 * @since 0.1.0
 * @category signing
 */
export const signatureHeader = (webhook: Webhook, id: string, timestamp: number, body: string, now: number): string => {
  const current = sign(webhook.secret, id, timestamp, body)
  return webhook.previousSecret !== undefined && webhook.previousUntil !== undefined && now < webhook.previousUntil
    ? `${current} ${sign(webhook.previousSecret, id, timestamp, body)}`
    : current
}
