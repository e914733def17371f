/**
 * Reviewer sessions and the protections of every form that changes state.
 *
 * - **Sign-in** takes a reviewer key once; the browser then holds only a random session id in
 *   an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the dashboard is served over https).
 *   Sessions last 12 hours and are kept in the database (table `dashboard_sessions`), so every
 *   server instance on it knows them (a reviewer behind a round-robin proxy stays signed in) and
 *   a restart signs no one out. The table holds the SHA-256 of each session id, never the id:
 *   what it holds cannot be replayed as a cookie. Each request costs one lookup by that hash
 *   (its primary key); sign-out deletes the row, and expired rows are deleted as sessions start.
 * - **CSRF**: each session has a token that every state-changing form carries in a hidden
 *   field, compared in constant time: derived from the session id (`SHA-256("csrf:" + id)`), so
 *   it is stored nowhere and only the holder of the cookie can know it. The sign-in form, which
 *   has no session yet, carries a token that must equal a `SameSite=Strict` cookie set with the
 *   form (double submit).
 * - **Cross-site requests are refused** before the token is even read: a `Sec-Fetch-Site` other
 *   than `same-origin` or `none`, or an `Origin` that is not this server, is a 403.
 *
 * @since 0.1.0
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Crypto from "node:crypto"

/**
 * The session cookie's name.
 *
 * @since 0.1.0
 * @category constants
 */
export const sessionCookie = "houndsight_session"

/**
 * The cookie that pairs with the sign-in form's token.
 *
 * @since 0.1.0
 * @category constants
 */
export const loginCookie = "houndsight_login"

/**
 * How long a session lasts.
 *
 * @since 0.1.0
 * @category constants
 */
export const sessionMillis = 12 * 60 * 60 * 1000

/**
 * A signed-in reviewer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Session {
  readonly id: string
  /** The reviewer's name: what decisions record as `decided_by`. */
  readonly reviewer: string
  /** The id of the reviewer's key: the session ends when it is revoked. */
  readonly keyId: string
  /** The token every form of this session carries. */
  readonly csrf: string
  /** Epoch milliseconds. */
  readonly expiresAt: number
}

/**
 * The sessions of the dashboard, in the database (shared by every instance on it).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sessions {
  /** Starts a session for a reviewer (by name and key id). */
  readonly create: (reviewer: string, now: number, keyId?: string) => Effect.Effect<Session, SqlError>
  /** The live session of a cookie value, if any. */
  readonly find: (id: string | undefined, now: number) => Effect.Effect<Session | undefined, SqlError>
  /** Ends a session (sign-out). */
  readonly end: (id: string) => Effect.Effect<void, SqlError>
}

/**
 * A random token: 32 bytes in base64url.
 *
 * @since 0.1.0
 * @category constructors
 */
export const token = (): string => Crypto.randomBytes(32).toString("base64url")

const tokenPattern = /^[A-Za-z0-9_-]{43}$/

/**
 * Whether a cookie or field value has the shape of a token.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isToken = (value: string | undefined): value is string => value !== undefined && tokenPattern.test(value)

/**
 * Compares two tokens in constant time; a missing or malformed one never matches.
 *
 * @since 0.1.0
 * @category predicates
 */
export const sameToken = (expected: string | undefined, given: string | undefined): boolean => {
  if (!isToken(expected) || !isToken(given)) return false
  return Crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(given))
}

const sha256 = (text: string) => Crypto.createHash("sha256").update(text)

/**
 * What the database keeps of a session id: its SHA-256, in hex.
 *
 * @since 0.1.0
 * @category encoding
 */
export const idHash = (id: string): string => sha256(id).digest("hex")

/**
 * The CSRF token of a session: derived from its id, so only the cookie's holder knows it.
 *
 * @since 0.1.0
 * @category encoding
 */
export const csrfOf = (id: string): string => sha256(`csrf:${id}`).digest("base64url")

const iso = (millis: number): string => new Date(millis).toISOString()

/**
 * The session store on the database of the `SqlClient` (table `dashboard_sessions`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSessions: Effect.Effect<Sessions, never, SqlClient.SqlClient> = Effect.map(
  SqlClient.SqlClient,
  (sql): Sessions => ({
    create: (reviewer, now, keyId = reviewer) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM dashboard_sessions WHERE expires_at <= ${iso(now)}`
        const id = token()
        const expiresAt = now + sessionMillis
        yield* sql`INSERT INTO dashboard_sessions (id_hash, reviewer, key_id, created_at, expires_at)
          VALUES (${idHash(id)}, ${reviewer}, ${keyId}, ${iso(now)}, ${iso(expiresAt)})`
        return { id, reviewer, keyId, csrf: csrfOf(id), expiresAt }
      }),
    find: (id, now) =>
      !isToken(id) ? Effect.succeed(undefined) : Effect.map(
        sql<{ reviewer: string; key_id: string; expires_at: string }>`SELECT reviewer, key_id, expires_at
          FROM dashboard_sessions WHERE id_hash = ${idHash(id)} AND expires_at > ${iso(now)}`,
        (rows) => {
          const row = rows[0]
          return row === undefined
            ? undefined
            : { id, reviewer: row.reviewer, keyId: row.key_id, csrf: csrfOf(id), expiresAt: Date.parse(row.expires_at) }
        }
      ),
    end: (id) => Effect.asVoid(sql`DELETE FROM dashboard_sessions WHERE id_hash = ${idHash(id)}`)
  })
)

const hostOf = (origin: string): string | undefined => {
  try {
    return new URL(origin).host
  } catch {
    return undefined
  }
}

/**
 * Why a state-changing request must be refused as cross-site, or `undefined` when it may go on.
 * A browser says where a request comes from in `Sec-Fetch-Site` and `Origin`; a request from
 * another site (a hidden form on a page elsewhere) is refused whatever it carries. A request with
 * neither header (not from a browser) still needs its token.
 *
 * @since 0.1.0
 * @category checks
 */
export const crossSite = (
  request: HttpServerRequest.HttpServerRequest,
  publicUrl: string
): string | undefined => {
  const site = request.headers["sec-fetch-site"]
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    return `the request came from another site (Sec-Fetch-Site: ${site})`
  }
  const origin = request.headers["origin"]
  if (origin === undefined) return undefined
  const host = request.headers["host"]
  const from = hostOf(origin)
  if (from !== undefined && (from === host || from === hostOf(publicUrl))) return undefined
  return `the request came from ${origin === "null" ? "an opaque origin" : origin}, not from this dashboard`
}

/**
 * Whether the dashboard is served over https (then cookies are `Secure`).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isSecure = (publicUrl: string): boolean => publicUrl.startsWith("https:")

/**
 * A local path to return to after sign-in: only a path on this server (`/…`, never `//host` or
 * `/\host`), else `/`.
 *
 * @since 0.1.0
 * @category checks
 */
export const localPath = (next: string | undefined): string => {
  if (next === undefined || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/"
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return "/"
  // A `Location` header holds bytes, not characters: anything past ASCII (`/中`) is sent
  // percent-encoded, as a browser would send it (a lone surrogate cannot be: then `/`).
  try {
    return next.replace(/[^\u0000-\u007f]+/g, (chars) => encodeURIComponent(chars))
  } catch {
    return "/"
  }
}

/**
 * The largest sign-in form the server reads: 8 KiB (a key, a token and a path back). A larger
 * one, by its `Content-Length` or as it arrives, is refused without reading the rest.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLoginFormBytes = 8 * 1024

/**
 * Why a sign-in post must be refused before its body is read, or `undefined`: without the
 * sign-in page's cookie it cannot carry the matching token (403), and a declared body over
 * `maxLoginFormBytes` is not a sign-in form (413).
 *
 * @since 0.1.0
 * @category checks
 */
export const refuseLoginEarly = (
  request: HttpServerRequest.HttpServerRequest
): { readonly status: 403 | 413; readonly message: string } | undefined => {
  if (!isToken(request.cookies[loginCookie])) {
    return { status: 403, message: "The sign-in form had expired or came from elsewhere: sign in again." }
  }
  const length = request.headers["content-length"]
  if (length !== undefined && (!/^\d+$/.test(length) || Number(length) > maxLoginFormBytes)) {
    return { status: 413, message: `The sign-in form is larger than ${maxLoginFormBytes / 1024} KiB: sign in from the form itself.` }
  }
  return undefined
}
