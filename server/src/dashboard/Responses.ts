/**
 * The answers every dashboard route writes: an HTML page, a redirect after a form, the plain
 * 401 of the live view's endpoints, all with the same security headers (a strict
 * Content-Security-Policy, no sniffing, no framing, no caching of pages).
 *
 * @since 0.1.0
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { type Html, render } from "./Html.js"

/**
 * The Content-Security-Policy of every dashboard answer: only this server's own script,
 * stylesheet and images; no inline script or style; forms post only here; never framed.
 *
 * @since 0.1.0
 * @category constants
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'"
].join("; ")

/**
 * The headers of every dashboard answer, assets included.
 *
 * @since 0.1.0
 * @category constants
 */
export const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` on a
  // form post, and the cross-site check needs the real origin.
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin"
}

/**
 * The headers of a page (or an event stream, a fragment): the security headers, never cached.
 *
 * @since 0.1.0
 * @category constants
 */
export const pageHeaders: Readonly<Record<string, string>> = { ...securityHeaders, "cache-control": "no-store" }

/**
 * A rendered page.
 *
 * @since 0.1.0
 * @category constructors
 */
export const htmlResponse = (body: Html, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(render(body), { status, contentType: "text/html; charset=utf-8", headers: pageHeaders })

/**
 * `303 See Other` to `location` (after a form, or to sign in).
 *
 * @since 0.1.0
 * @category constructors
 */
export const redirect = (location: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.redirect(location, { status: 303, headers: pageHeaders })

/**
 * The answer of the live view's endpoints (`/events`, `/fragments/…`) to a request without a
 * session: they are fetched by a page's script, not shown, so it is plain text.
 *
 * @since 0.1.0
 * @category constants
 */
export const unauthorized: HttpServerResponse.HttpServerResponse = HttpServerResponse.text(
  "sign in first: GET /login",
  { status: 401, headers: pageHeaders }
)
