/**
 * Signing in and out: `GET /login` (the form), `POST /login` (a reviewer key for a session),
 * `POST /logout`.
 *
 * The sign-in form has no session yet, so its CSRF token is a double submit: the form's hidden
 * field must equal a `SameSite=Strict` cookie set with the form (see `Session`). A cross-site
 * post, one without that cookie, or a body over `Session.maxLoginFormBytes` is refused before
 * the body is read, and the connection is closed rather than drained. Only a reviewer key signs
 * in: an agent key never does, so an agent can never approve itself.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Wire from "houndsight/wire"
import { Keys } from "../../Keys.js"
import * as Guards from "../Guards.js"
import * as Layout from "../Layout.js"
import { htmlResponse, redirect } from "../Responses.js"
import * as Session from "../Session.js"

/**
 * The sign-in and sign-out routes.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes = (shared: Guards.Shared, guards: Guards.Guards) =>
  Effect.gen(function*() {
    const keys = yield* Keys
    const { assets, publicUrl, secure, sessions } = shared

    const loginCookieOptions = { httpOnly: true, sameSite: "strict", path: "/login", secure, maxAge: "1 hour" } as const

    const loginForm = (request: HttpServerRequest.HttpServerRequest, next: string, error?: string, status = 200) => {
      const existing = request.cookies[Session.loginCookie]
      const csrf = Session.isToken(existing) ? existing : Session.token()
      return HttpServerResponse.unsafeSetCookie(
        htmlResponse(Layout.login(assets, { csrf, next, error }), status),
        Session.loginCookie,
        csrf,
        loginCookieOptions
      )
    }

    const getLogin = guards.guard(Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const params = yield* HttpServerRequest.ParsedSearchParams
      const nextParam = params["next"]
      const next = Session.localPath(typeof nextParam === "string" ? nextParam : undefined)
      if ((yield* guards.currentSession) !== undefined) return redirect(next)
      return loginForm(request, next)
    }))

    const postLogin = guards.guard(Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const foreign = Session.crossSite(request, publicUrl)
      if (foreign !== undefined) return loginForm(request, "/", `Refused: ${foreign}.`, 403)
      // refused before the body is read, and the connection closed rather than drained
      const early = Session.refuseLoginEarly(request)
      if (early !== undefined) {
        return HttpServerResponse.setHeader(loginForm(request, "/", early.message, early.status), "connection", "close")
      }
      const read = yield* Guards.formWithin(Session.maxLoginFormBytes)
      if (Option.isNone(read)) {
        return HttpServerResponse.setHeader(
          loginForm(request, "/", `The sign-in form could not be read, or is larger than ${Session.maxLoginFormBytes / 1024} KiB.`, 400),
          "connection",
          "close"
        )
      }
      const form = read.value
      const field = (name: string) => Option.getOrUndefined(UrlParams.getFirst(form, name))
      const next = Session.localPath(field("next"))
      if (!Session.sameToken(request.cookies[Session.loginCookie], field("csrf"))) {
        return loginForm(request, next, "The sign-in form had expired or came from elsewhere: sign in again.", 403)
      }
      const key = (field("key") ?? "").trim()
      if (key === "") return loginForm(request, next, "Enter a reviewer key (rv-hnd-…).", 400)
      const found = yield* keys.find(key)
      if (found._tag === "Revoked") {
        return loginForm(request, next, `This key (${found.id}) was revoked at ${found.revokedAt}: ask for a new one.`, 401)
      }
      if (found._tag === "Unknown") {
        return loginForm(
          request,
          next,
          "This server does not know that key. Use the reviewer key the server printed when it started.",
          401
        )
      }
      if (!Wire.canReview(found.holder.role)) {
        return loginForm(
          request,
          next,
          "That is an agent key (sk-hnd-…): agents may not review, so an agent can never approve itself. Use a reviewer key (rv-hnd-…).",
          403
        )
      }
      const session = yield* sessions.create(found.holder.name, yield* Clock.currentTimeMillis, found.holder.id)
      return redirect(next).pipe(
        HttpServerResponse.unsafeSetCookie(Session.sessionCookie, session.id, {
          httpOnly: true,
          sameSite: "strict",
          path: "/",
          secure,
          maxAge: `${Session.sessionMillis} millis`
        }),
        HttpServerResponse.expireCookie(Session.loginCookie, { path: "/login" })
      )
    }))

    const postLogout = guards.action((session) =>
      Effect.as(
        sessions.end(session.id),
        redirect("/login").pipe(
          HttpServerResponse.expireCookie(Session.sessionCookie, { path: "/", httpOnly: true, sameSite: "strict", secure })
        )
      )
    )

    return HttpRouter.empty.pipe(
      HttpRouter.get("/login", getLogin),
      HttpRouter.post("/login", postLogin),
      HttpRouter.post("/logout", postLogout)
    )
  })
