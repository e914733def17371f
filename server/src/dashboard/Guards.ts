/**
 * What every dashboard route shares: the parts made once per server (`Shared`), and the guards
 * that stand before a handler (`Guards`).
 *
 * - `page`: a page for a signed-in reviewer; anyone else is sent to sign in (or hops, see
 *   `Layout.hop`). A session whose reviewer key was revoked ends there.
 * - `action`: a form post, refused when cross-site, without a session, unreadable, or without
 *   the session's CSRF token; nothing is changed then.
 * - `guard`: any failure of a handler becomes an error page (a 500 is logged).
 * - `isId`: a leash, trail or step id is a UUID (`Wire.uuidPattern`); anything else is a
 *   not-found page (`notFound`) before any read.
 *
 * @since 0.1.0
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Wire from "houndsight/wire"
import * as Connections from "../Connections.js"
import { Keys } from "../Keys.js"
import type * as Assets from "./Assets.js"
import type { Html } from "./Html.js"
import * as Layout from "./Layout.js"
import type * as Live from "./Live.js"
import type * as Queries from "./Queries.js"
import { htmlResponse, redirect } from "./Responses.js"
import * as Session from "./Session.js"

/**
 * The parts of the dashboard made once per server, given to every route module.
 *
 * @since 0.1.0
 * @category models
 */
export interface Shared {
  readonly assets: Assets.Assets
  readonly sessions: Session.Sessions
  readonly queries: Context.Tag.Service<Queries.Queries>
  readonly live: Live.Live
  /** The server's public URL (`PublicUrl`): the origin a form may come from. */
  readonly publicUrl: string
  /** Whether cookies are `Secure` (the dashboard is served over https). */
  readonly secure: boolean
}

type Response = HttpServerResponse.HttpServerResponse

/**
 * A link back from an error page.
 *
 * @since 0.1.0
 * @category models
 */
export interface Back {
  readonly href: string
  readonly label: string
}

/**
 * A page inside the dashboard's frame.
 *
 * @since 0.1.0
 * @category models
 */
export interface Framed {
  readonly title: string
  readonly kind: string
  readonly section?: Layout.Section
  readonly body: Html
}

/**
 * The guards and the pages they answer with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Guards {
  /** The request's live session, if any (a revoked key's session ends here). */
  readonly currentSession: Effect.Effect<Session.Session | undefined, never, HttpServerRequest.HttpServerRequest>
  /** The live session of a cookie value whose key is still in force, or `undefined`. */
  readonly findSession: (id: string | undefined) => Effect.Effect<Session.Session | undefined>
  /** A session whose reviewer key is still in force, or `undefined` (a revoked key's session ends here). */
  readonly stillValid: (found: Session.Session | undefined) => Effect.Effect<Session.Session | undefined>
  /** An error page; inside the frame when a session is given. */
  readonly errorPage: (
    status: number,
    title: string,
    message: string,
    session?: Session.Session | undefined,
    back?: Back
  ) => Effect.Effect<Response>
  /** A 404 page inside the frame. */
  readonly notFound: (session: Session.Session, what: string) => Effect.Effect<Response>
  /** A page inside the frame, with the reviewer and the counts of the navigation. */
  readonly framed: (session: Session.Session, page: Framed, status?: number) => Effect.Effect<Response>
  /** Answers any failure of a handler with an error page (a 500 is logged). */
  readonly guard: <E, R>(
    effect: Effect.Effect<Response, E, R>
  ) => Effect.Effect<Response, never, R | HttpServerRequest.HttpServerRequest>
  /** A page for a signed-in reviewer; anyone else is sent to sign in (or hops, see `Layout.hop`). */
  readonly page: <E, R>(
    handler: (session: Session.Session) => Effect.Effect<Response, E, R>
  ) => Effect.Effect<Response, never, R | HttpServerRequest.HttpServerRequest>
  /** A form post: refused when cross-site, without a session, or without the session's token. */
  readonly action: <E, R>(
    handler: (session: Session.Session, form: UrlParams.UrlParams) => Effect.Effect<Response, E, R>
  ) => Effect.Effect<Response, never, R | HttpServerRequest.HttpServerRequest>
}

/**
 * Whether a path segment is an id (leash, trail, step): a UUID.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isId = (id: string | undefined): id is string => id !== undefined && Wire.uuidPattern.test(id)

/**
 * The first value of a query parameter.
 *
 * @since 0.1.0
 * @category utils
 */
export const param = (
  params: Readonly<Record<string, string | ReadonlyArray<string>>>,
  name: string
): string | undefined => {
  const value = params[name]
  return typeof value === "string" ? value : value?.[0]
}

/**
 * A decoded query value, or `undefined` when absent or invalid.
 *
 * @since 0.1.0
 * @category utils
 */
export const decoded = <A>(
  value: string | undefined,
  decode: (u: unknown) => Either.Either<A, unknown>
): A | undefined => {
  if (value === undefined || value === "") return undefined
  const result = decode(value)
  return Either.isRight(result) ? result.right : undefined
}

/**
 * The request's form body, read up to `maxBytes` (`None` when it is larger or unreadable).
 *
 * @since 0.1.0
 * @category utils
 */
export const formWithin = (
  maxBytes: number
): Effect.Effect<Option.Option<UrlParams.UrlParams>, never, HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    request.urlParamsBody.pipe(
      HttpServerRequest.withMaxBodySize(Option.some(maxBytes)),
      Effect.option
    ))

/** The largest decision form the dashboard reads (a modified payload may be large). */
const maxFormBytes = Wire.maxIngestBytes

/** A form post's body, or `undefined` when it declares or holds more than `maxFormBytes`. */
const readForm = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
  const length = request.headers["content-length"]
  if (length !== undefined && Number(length) > maxFormBytes) return Effect.succeed(undefined)
  return Effect.map(formWithin(maxFormBytes), Option.getOrUndefined)
})

/**
 * The guards of one server's dashboard.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (shared: Shared): Effect.Effect<Guards, never, Keys> =>
  Effect.map(Keys, (keys) => {
    const { assets, publicUrl, queries, sessions } = shared

    const chromeOf = (session: Session.Session) =>
      Effect.gen(function*() {
        const counts = yield* queries.counts(yield* Clock.currentTimeMillis)
        const developmentKey = yield* keys.developmentKey
        return {
          reviewer: session.reviewer,
          csrf: session.csrf,
          pending: counts.pending,
          flags: counts.flags,
          ...(developmentKey !== undefined ? { developmentKey } : {})
        }
      }).pipe(
        Effect.orElseSucceed(() => ({ reviewer: session.reviewer, csrf: session.csrf, pending: 0, flags: 0 }))
      )

    const errorPage: Guards["errorPage"] = (status, title, message, session, back) =>
      Effect.map(session === undefined ? Effect.succeed(undefined) : chromeOf(session), (chrome) =>
        htmlResponse(Layout.error(assets, { title, message, chrome, back }), status))

    const notFound: Guards["notFound"] = (session, what) => errorPage(404, "Not found", what, session)

    const framed: Guards["framed"] = (session, p, status = 200) =>
      Effect.map(chromeOf(session), (chrome) => htmlResponse(Layout.page(assets, { ...p, chrome }), status))

    const guard: Guards["guard"] = (effect) =>
      Effect.catchAllCause(effect, (cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
            Effect.zipRight(
              Effect.logError(`dashboard: ${request.method} ${request.url} failed`, cause),
              errorPage(500, "Something went wrong", "The dashboard could not answer this request; the server's log has the details.")
            )))

    // fails closed: a key or session that cannot be read counts as signed out
    const stillValid: Guards["stillValid"] = (found) =>
      found === undefined ? Effect.succeed(undefined) : Effect.flatMap(
        Effect.orElseSucceed(keys.active(found.keyId), () => undefined),
        (active) =>
          active === false
            ? Effect.as(Effect.ignore(sessions.end(found.id)), undefined)
            : Effect.succeed(active === true ? found : undefined)
      )

    const findSession: Guards["findSession"] = (id) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Effect.flatMap(Effect.orElseSucceed(sessions.find(id, now), () => undefined), stillValid)
      )

    const currentSession: Guards["currentSession"] = Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) =>
        Effect.map(findSession(request.cookies[Session.sessionCookie]), (session) => {
          // a signed-in reviewer's connection is never closed to make room (see Connections)
          if (session !== undefined) Connections.markAuthenticated(request.source)
          return session
        })
    )

    const page: Guards["page"] = (handler) =>
      guard(Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const session = yield* currentSession
        if (session !== undefined) return yield* handler(session)
        const here = Session.localPath(request.url)
        if (request.headers["sec-fetch-site"] === "cross-site") return htmlResponse(Layout.hop(assets, here))
        return redirect(`/login?next=${encodeURIComponent(here)}`)
      }))

    const action: Guards["action"] = (handler) =>
      guard(Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const foreign = Session.crossSite(request, publicUrl)
        if (foreign !== undefined) {
          return yield* errorPage(403, "Refused", `Nothing was changed: ${foreign}. Decide from the dashboard itself.`)
        }
        const session = yield* currentSession
        if (session === undefined) {
          return yield* errorPage(
            403,
            "Signed out",
            "Nothing was changed: your session has ended (or the server restarted). Sign in again, then retry.",
            undefined,
            { href: "/login", label: "Sign in" }
          )
        }
        const form = yield* readForm
        if (form === undefined) {
          return yield* errorPage(400, "Unreadable form", "Nothing was changed: the form could not be read.", session)
        }
        if (!Session.sameToken(session.csrf, Option.getOrUndefined(UrlParams.getFirst(form, "csrf")))) {
          return yield* errorPage(
            403,
            "Refused",
            "Nothing was changed: the form did not carry this session's security token. Reload the page and try again.",
            session
          )
        }
        return yield* handler(session, form)
      }))

    return { currentSession, findSession, stillValid, errorPage, notFound, framed, guard, page, action }
  })
