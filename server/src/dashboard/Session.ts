/**
 * Reviewer sessions and the protections of every form that changes state.
 *
 * - **Sign-in** takes a reviewer key once; the browser then holds only a random session id in
 *   an `HttpOnly`, `SameSite=Strict` cookie (`Secure` when the dashboard is served over https).
 *   Sessions live in the server's memory for 12 hours: restarting the server signs everyone out.
 * - **CSRF**: each session has a random token that every state-changing form carries in a hidden
 *   field, compared in constant time. The sign-in form, which has no session yet, carries a token
 *   that must equal a `SameSite=Strict` cookie set with the form (double submit).
 * - **Cross-site requests are refused** before the token is even read: a `Sec-Fetch-Site` other
 *   than `same-origin` or `none`, or an `Origin` that is not this server, is a 403.
 *
 * @since 0.1.0
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
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
 * The sessions of one server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sessions {
  /** Starts a session for a reviewer (by name and key id). */
  readonly create: (reviewer: string, now: number, keyId?: string) => Session
  /** The live session of a cookie value, if any (an expired one is forgotten). */
  readonly find: (id: string | undefined, now: number) => Session | undefined
  /** Ends a session (sign-out). */
  readonly end: (id: string) => void
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

/**
 * An empty session store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSessions = (): Sessions => {
  const sessions = new Map<string, Session>()
  const sweep = (now: number) => {
    for (const [id, s] of sessions) if (s.expiresAt <= now) sessions.delete(id)
  }
  return {
    create: (reviewer, now, keyId = reviewer) => {
      sweep(now)
      const session: Session = { id: token(), reviewer, keyId, csrf: token(), expiresAt: now + sessionMillis }
      sessions.set(session.id, session)
      return session
    },
    find: (id, now) => {
      if (!isToken(id)) return undefined
      const session = sessions.get(id)
      if (session === undefined) return undefined
      if (session.expiresAt <= now) {
        sessions.delete(id)
        return undefined
      }
      return session
    },
    end: (id) => {
      sessions.delete(id)
    }
  }
}

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
