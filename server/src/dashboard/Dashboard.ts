/**
 * The reviewer dashboard, mounted in front of the API: its pages answer the paths below, and
 * every other request goes to the API unchanged (so `/v1/…` and `/healthz` are the contract's).
 *
 * | path | what |
 * |---|---|
 * | `GET /` | the queue: pending leashes (live), recent decisions, recent trails |
 * | `GET /login`, `POST /login`, `POST /logout` | sign-in with a reviewer key, sign-out |
 * | `GET /leashes/{id}` | a leash's page: the `trace_link` of every Decision |
 * | `POST /leashes/{id}/decision` | approve, reject with a reason, or approve a modified payload |
 * | `GET /trails`, `GET /trails/{id}` | trails (paged, filtered), and a page of a trail's steps as a tree (the SDK's `Trail.link`) |
 * | `GET /trails/{id}/steps/{step}` | one step whole (the trail page shows previews of inputs and outputs) |
 * | `GET /flags` | bypass flags |
 * | `GET /events` | server-sent events for the live view |
 * | `GET /fragments/trails` | the trails table, for the live view |
 * | `GET /assets/{name}` | the stylesheet, the script and the icon |
 *
 * Security: pages need a session (see `Session`); every state-changing form carries the
 * session's CSRF token and cross-site posts are refused; every agent-supplied string is written
 * as text (see `Html`); every answer carries a strict Content-Security-Policy (scripts and
 * styles from this server only, nothing inline, no framing).
 *
 * A decision made here goes through the `Gate`, like `POST /v1/leashes/{id}/decision`: the
 * same compare-and-set (a leash decided elsewhere first answers 409 here too), the same wake-up
 * of the agent's held long-poll, and `decided_by` is the reviewer key's name.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Wire from "houndsight/wire"
import * as Connections from "../Connections.js"
import { Gate } from "../Gate.js"
import { maxJsonDepth, nestsDeeperThan } from "../Http.js"
import * as PendingSlices from "../PendingSlices.js"
import { Keys } from "../Keys.js"
import { PublicUrl } from "../PublicUrl.js"
import { type PendingRow, Store, type TrailQuery } from "../Store.js"
import * as Assets from "./Assets.js"
import * as FlagViews from "./FlagViews.js"
import { type Html, html, render } from "./Html.js"
import * as Layout from "./Layout.js"
import * as LeashViews from "./LeashViews.js"
import * as Live from "./Live.js"
import * as Queries from "./Queries.js"
import * as Session from "./Session.js"
import * as TrailViews from "./TrailViews.js"

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

const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` on a
  // form post, and the cross-site check needs the real origin.
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin"
}

const pageHeaders = { ...securityHeaders, "cache-control": "no-store" }

/** How many pending leashes, decisions and trails the queue shows. */
const queueLimits = { pending: 100, decisions: 10, trails: 10 }

/** How many steps a page of a trail's page shows. */
const stepsPerPage = 100

/** How many trails and flags their pages show. */
const listPage = Wire.maxListLimit

/** The most pending leashes one live page keeps track of (its first page and those it still shows). */
const maxTracked = 2 * queueLimits.pending

/** The live view's periodic check (catches leashes that expired on their own). */
const refreshMillis = 5_000

/** The largest decision form the dashboard reads (a modified payload may be large). */
const maxFormBytes = Wire.maxIngestBytes

const uuid = Wire.uuidPattern

const htmlResponse = (body: Html, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(render(body), { status, contentType: "text/html; charset=utf-8", headers: pageHeaders })

const redirect = (location: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.redirect(location, { status: 303, headers: pageHeaders })

const pathAndQuery = (request: HttpServerRequest.HttpServerRequest): string => Session.localPath(request.url)

type Decision = Wire.ReviewerDecision

/** What was wrong with a decision form, in words for the reviewer. */
const readDecision = (form: UrlParams.UrlParams): Decision | string => {
  const decision = Option.getOrUndefined(UrlParams.getFirst(form, "decision"))
  const reason = (Option.getOrUndefined(UrlParams.getFirst(form, "reason")) ?? "").trim()
  if (reason.length > 4096) return `The reason is ${reason.length} characters long; keep it to 4,096.`
  switch (decision) {
    case "approved":
      return { decision, reason: reason === "" ? "approved in the dashboard" : reason }
    case "rejected":
      if (reason === "") {
        return "A rejection needs a reason: the agent receives it and the trail records it. Write one, then reject again."
      }
      return { decision, reason }
    case "modified": {
      const text = Option.getOrUndefined(UrlParams.getFirst(form, "modified_payload"))
      if (text === undefined || text.trim() === "") {
        return "The modified payload is empty: write the JSON the agent should use. Nothing was sent."
      }
      if (nestsDeeperThan(text)) {
        return `The modified payload is nested deeper than ${maxJsonDepth} levels, more than the gate accepts. Nothing was sent: flatten it and approve again.`
      }
      try {
        return {
          decision,
          reason: reason === "" ? "approved with changes in the dashboard" : reason,
          modifiedPayload: JSON.parse(text) as unknown
        }
      } catch (e) {
        return `The modified payload is not valid JSON (${
          e instanceof Error ? e.message : String(e)
        }). Nothing was sent: fix it and approve again.`
      }
    }
    default:
      return `Choose approve, reject or modify (the form sent ${
        decision === undefined ? "no decision" : JSON.stringify(decision.slice(0, 40))
      }).`
  }
}

const decodeRequest = Schema.decodeUnknownSync(Wire.LeashRequest)
const decodeTrailParams = Schema.decodeUnknownEither(Wire.Api.TrailListParams)
const decodeStepCursor = Schema.decodeUnknownEither(Wire.StepCursor)
const decodeLeashCursor = Schema.decodeUnknownEither(Wire.LeashCursor)
const decodeFlagCursor = Schema.decodeUnknownEither(Wire.FlagCursor)

/** The first value of a query parameter. */
const param = (params: Readonly<Record<string, string | ReadonlyArray<string>>>, name: string): string | undefined => {
  const value = params[name]
  return typeof value === "string" ? value : value?.[0]
}

/** A decoded query value, or `undefined` when absent or invalid. */
const decoded = <A>(value: string | undefined, decode: (u: unknown) => Either.Either<A, unknown>): A | undefined => {
  if (value === undefined || value === "") return undefined
  const result = decode(value)
  return Either.isRight(result) ? result.right : undefined
}

const toPending = (row: PendingRow): LeashViews.Pending => ({
  leashId: row.leashId,
  request: row.summary.request,
  preview: row.summary.payloadPreview,
  createdAt: new Date(row.createdAt),
  expiresAt: new Date(row.expiresAt)
})

/**
 * Puts the dashboard in front of `api`: a request for one of the dashboard's paths is answered
 * here, every other goes to `api`. The dashboard also watches the API's answers, so a leash
 * created, decided or cancelled through the API, or a batch of records, reaches open pages at
 * once. Its live streams end when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mount = <R>(
  api: HttpApp.Default<never, R>
): Effect.Effect<
  HttpApp.Default<never, R>,
  never,
  Gate | Store | Keys | PublicUrl | SqlClient.SqlClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const gate = yield* Gate
    const store = yield* Store
    const keys = yield* Keys
    const publicUrl = yield* PublicUrl
    const queries = yield* Queries.make
    const live = yield* Live.make
    const assets = Assets.load()
    const sessions = Session.makeSessions()
    const secure = Session.isSecure(publicUrl)

    const errorPage = (
      status: number,
      title: string,
      message: string,
      session?: Session.Session | undefined,
      back?: { readonly href: string; readonly label: string }
    ) =>
      Effect.map(session === undefined ? Effect.succeed(undefined) : chromeOf(session), (chrome) =>
        htmlResponse(Layout.error(assets, { title, message, chrome, back }), status))

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

    const framed = (
      session: Session.Session,
      p: { readonly title: string; readonly kind: string; readonly section?: Layout.Section; readonly body: Html },
      status = 200
    ) => Effect.map(chromeOf(session), (chrome) => htmlResponse(Layout.page(assets, { ...p, chrome }), status))

    /** Answers any failure of a handler with an error page (a 500 is logged). */
    const guard = <E, Rq>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, Rq>) =>
      Effect.catchAllCause(effect, (cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause as Cause.Cause<never>)
          : Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
            Effect.zipRight(
              Effect.logError(`dashboard: ${request.method} ${request.url} failed`, cause),
              errorPage(500, "Something went wrong", "The dashboard could not answer this request; the server's log has the details.")
            )))

    /** A live session whose reviewer key is still in force; a revoked key's sessions end here. */
    const stillValid = (found: Session.Session | undefined) =>
      found === undefined ? Effect.succeed(undefined) : Effect.map(
        Effect.orElseSucceed(keys.active(found.keyId), () => undefined),
        (active) => {
          if (active === false) sessions.end(found.id)
          return active === true ? found : undefined
        }
      )

    const currentSession = Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.map(stillValid(sessions.find(request.cookies[Session.sessionCookie], now)), (session) => {
            // a signed-in reviewer's connection is never closed to make room (see Connections)
            if (session !== undefined) Connections.markAuthenticated(request.source)
            return session
          }))
    )

    /** A page for a signed-in reviewer; anyone else is sent to sign in (or hops, see `Layout.hop`). */
    const page = <E, Rq>(
      handler: (session: Session.Session) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, Rq>
    ) =>
      guard(Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const session = yield* currentSession
        if (session !== undefined) return yield* handler(session)
        const here = pathAndQuery(request)
        if (request.headers["sec-fetch-site"] === "cross-site") return htmlResponse(Layout.hop(assets, here))
        return redirect(`/login?next=${encodeURIComponent(here)}`)
      }))

    /** A form post: refused when cross-site, without a session, or without the session's token. */
    const action = <E, Rq>(
      handler: (
        session: Session.Session,
        form: UrlParams.UrlParams
      ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, Rq>
    ) =>
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

    const readForm = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const length = request.headers["content-length"]
      if (length !== undefined && Number(length) > maxFormBytes) return Effect.succeed(undefined)
      return request.urlParamsBody.pipe(
        HttpServerRequest.withMaxBodySize(Option.some(maxFormBytes)),
        Effect.option,
        Effect.map(Option.getOrUndefined)
      )
    })

    // -------------------------------------------------------------------------------------------
    // Sign-in
    // -------------------------------------------------------------------------------------------

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

    const getLogin = guard(Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const params = yield* HttpServerRequest.ParsedSearchParams
      const nextParam = params["next"]
      const next = Session.localPath(typeof nextParam === "string" ? nextParam : undefined)
      if ((yield* currentSession) !== undefined) return redirect(next)
      return loginForm(request, next)
    }))

    const postLogin = guard(Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const foreign = Session.crossSite(request, publicUrl)
      if (foreign !== undefined) return loginForm(request, "/", `Refused: ${foreign}.`, 403)
      // refused before the body is read, and the connection closed rather than drained
      const early = Session.refuseLoginEarly(request)
      if (early !== undefined) {
        return HttpServerResponse.setHeader(loginForm(request, "/", early.message, early.status), "connection", "close")
      }
      const read = yield* request.urlParamsBody.pipe(
        HttpServerRequest.withMaxBodySize(Option.some(Session.maxLoginFormBytes)),
        Effect.option
      )
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
      const session = sessions.create(found.holder.name, yield* Clock.currentTimeMillis, found.holder.id)
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

    const postLogout = action((session) =>
      Effect.sync(() => {
        sessions.end(session.id)
        return redirect("/login").pipe(
          HttpServerResponse.expireCookie(Session.sessionCookie, { path: "/", httpOnly: true, sameSite: "strict", secure })
        )
      })
    )

    // -------------------------------------------------------------------------------------------
    // Leashes
    // -------------------------------------------------------------------------------------------

    /** A page of pending leashes, as summaries (the gate expires the due ones first). */
    const pendingPage = (cursor?: readonly [number, string]) =>
      Effect.map(PendingSlices.read(gate, queueLimits.pending, cursor), ({ leashes, nextCursor }) => ({
        pending: leashes.map((l): LeashViews.Pending => ({
          leashId: l.leashId,
          request: l.request,
          preview: l.payloadPreview,
          createdAt: l.createdAt,
          expiresAt: l.expiresAt
        })),
        nextCursor
      }))

    const trailsTable = (query: TrailQuery) => Effect.map(store.trails(query), (list) => TrailViews.trailsTable(list.trails))

    const decidedNotice = (leashId: string | undefined) =>
      Effect.gen(function*() {
        if (leashId === undefined || !uuid.test(leashId)) return undefined
        const [decision] = yield* queries.recentDecisionOf(leashId)
        if (decision === undefined) return undefined
        return html`<p class="notice good" role="status">${LeashViews.decisionPill(decision.decision)} <strong>${decision.request.actionName}</strong> for ${decision.request.agent}: the agent has its answer. <a href="/leashes/${leashId}">leash page</a></p>`
      })

    const queuePage = page((session) =>
      Effect.gen(function*() {
        const params = yield* HttpServerRequest.ParsedSearchParams
        const notice = yield* decidedNotice(param(params, "decided"))
        const cursor = decoded(param(params, "cursor"), decodeLeashCursor)
        const { nextCursor, pending } = yield* pendingPage(cursor)
        const body = LeashViews.queue({
          pending,
          pendingList: yield* LeashViews.pendingListInSlices(pending, session.csrf, cursor !== undefined),
          nextCursor,
          paged: cursor !== undefined,
          decisions: yield* queries.recentDecisions(queueLimits.decisions),
          trails: yield* trailsTable({ limit: queueLimits.trails }),
          csrf: session.csrf,
          notice
        })
        return yield* framed(session, { title: "Queue", kind: "queue", section: "queue", body })
      })
    )

    const notFound = (session: Session.Session, what: string) =>
      errorPage(404, "Not found", what, session)

    const leashPage = page((session) =>
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        const params = yield* HttpServerRequest.ParsedSearchParams
        if (id === undefined || !uuid.test(id)) return yield* notFound(session, `There is no leash ${id ?? ""}: a leash id is a UUID.`)
        // Through the gate first: a leash past its deadline is expired by the read.
        const state = yield* Effect.either(gate.get(id, 0))
        const row = yield* store.leash(id)
        if (state._tag === "Left" || Option.isNone(row)) {
          return yield* notFound(
            session,
            `There is no leash ${id} on this server. Leash links open on the server that the agent asked.`
          )
        }
        // The whole request, as received (in the agent's key order): this page is the only one that reads it.
        const request = decodeRequest(JSON.parse(row.value.request))
        const decision = state.right.status === "decided" ? state.right.decision : undefined
        const notice = params["decided"] === "1" && decision !== undefined
          ? html`<p class="notice good" role="status">Decision recorded: the agent has its answer.</p>`
          : undefined
        const body = LeashViews.leashPage({
          leashId: id,
          request,
          createdAt: new Date(row.value.createdAt),
          expiresAt: new Date(row.value.expiresAt),
          decision,
          csrf: session.csrf,
          notice
        })
        return yield* framed(session, { title: request.actionName, kind: "leash", section: "queue", body })
      })
    )

    const decide = action((session, form) =>
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        const back = { href: `/leashes/${id}`, label: "Back to the leash" }
        if (id === undefined || !uuid.test(id)) return yield* notFound(session, "There is no such leash: a leash id is a UUID.")
        const decision = readDecision(form)
        if (typeof decision === "string") return yield* errorPage(400, "Not decided", decision, session, back)
        const result = yield* Effect.either(gate.decide(id, decision, { id: session.keyId, name: session.reviewer }))
        if (result._tag === "Left") {
          const error = result.left
          if (error._tag === "NotFound") return yield* notFound(session, error.message)
          if (error._tag === "Conflict") {
            return yield* errorPage(409, "Already decided", `Your decision was not recorded: ${error.message}.`, session, back)
          }
          if (error._tag === "PayloadTooLarge") {
            return yield* errorPage(413, "Not decided", `Your decision was not recorded: ${error.message}.`, session, back)
          }
          return yield* Effect.fail(error)
        }
        yield* live.publish("leashes")
        return form.some(([k, v]) => k === "return" && v === "leash")
          ? redirect(`/leashes/${id}?decided=1`)
          : redirect(`/?decided=${id}`)
      })
    )

    // -------------------------------------------------------------------------------------------
    // Trails and flags
    // -------------------------------------------------------------------------------------------

    /** The trails query of a page's URL: its filters, read as the API reads them. */
    const trailQuery = Effect.map(HttpServerRequest.ParsedSearchParams, (params) => {
      const filters: TrailViews.TrailFilters = {
        agent: param(params, "agent"),
        status: param(params, "status"),
        trigger: param(params, "trigger"),
        flagged: param(params, "flagged"),
        tag: param(params, "tag"),
        from: param(params, "from"),
        to: param(params, "to")
      }
      const given: Record<string, string> = {}
      for (const [k, v] of Object.entries({ ...filters, limit: param(params, "limit"), cursor: param(params, "cursor") })) {
        if (v !== undefined && v !== "") given[k] = v
      }
      const query = decodeTrailParams(given)
      return { filters, query }
    })

    const trailsPage = page((session) =>
      Effect.gen(function*() {
        const { filters, query } = yield* trailQuery
        const body = Either.isLeft(query)
          ? TrailViews.trailsPage({
            list: { trails: [] },
            filters,
            limit: listPage,
            paged: false,
            error: `These filters cannot be read (${
              Wire.ApiError.fromParseError(query.left).message
            }). Change them, or clear them.`
          })
          : TrailViews.trailsPage({
            list: yield* store.trails(query.right),
            filters,
            limit: query.right.limit,
            paged: query.right.cursor !== undefined
          })
        return yield* framed(session, { title: "Trails", kind: "trails", section: "trails", body })
      })
    )

    const trailPage = page((session) =>
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        if (id === undefined || !uuid.test(id)) return yield* notFound(session, "There is no such trail: a trail id is a UUID.")
        const params = yield* HttpServerRequest.ParsedSearchParams
        const cursor = decoded(param(params, "cursor"), decodeStepCursor)
        const read = yield* queries.trailPage(id, { limit: stepsPerPage, cursor })
        if (Option.isNone(read)) {
          // v1.1: the SDK links this page for a leash that never reached the server.
          const leashes = yield* queries.leashesOfTrail(id, listPage)
          return yield* framed(session, {
            title: "Trail",
            kind: "trail",
            section: "trails",
            body: TrailViews.unknownTrailPage({
              id,
              leashes: leashes.map((l) => ({
                leashId: l.leashId,
                actionName: l.summary.request.actionName,
                actionSummary: l.summary.request.actionSummary,
                agent: l.summary.request.agent,
                status: l.status,
                decision: l.decision,
                createdAt: l.createdAt
              }))
            })
          })
        }
        const { detail, previews } = read.value
        // the server's own record of each cited leash (v1.1: shown before the agent's claim)
        const facts: ReadonlyMap<string, TrailViews.LeashFacts> = yield* store.heldLeashes(
          detail.steps.flatMap((step) => step.leash === undefined ? [] : [step.leash.leashId])
        )
        // A step whose parent is on another page of the steps is not an orphan: say where it is.
        const onPage = new Set(detail.steps.map((step) => step.id))
        const absent = new Set<string>()
        for (const step of detail.steps) {
          if (step.parentId !== null && !onPage.has(step.parentId)) absent.add(step.parentId)
        }
        const parentsElsewhere = yield* queries.stepsHeld(id, [...absent])
        const whole = cursor === undefined && detail.nextCursor === undefined
        const leashCount = whole ? undefined : yield* queries.leashCount(id)
        const trail = detail.trail
        return yield* framed(session, {
          title: trail === null ? "Trail" : `${trail.agent} · ${trail.trigger}`,
          kind: "trail",
          section: "trails",
          body: TrailViews.trailPage({
            id,
            detail,
            facts,
            previews,
            paged: cursor !== undefined,
            parentsElsewhere,
            leashCount
          })
        })
      })
    )

    const stepPage = page((session) =>
      Effect.gen(function*() {
        const { id, step } = yield* HttpRouter.params
        if (id === undefined || step === undefined || !uuid.test(id) || !uuid.test(step)) {
          return yield* notFound(session, "There is no such step: trail and step ids are UUIDs.")
        }
        const found = yield* queries.step(id.toLowerCase(), step.toLowerCase())
        if (Option.isNone(found)) return yield* notFound(session, `Trail ${id} has no step ${step} on this server.`)
        return yield* framed(session, {
          title: found.value.name,
          kind: "step",
          section: "trails",
          body: TrailViews.stepPage(found.value)
        })
      })
    )

    const flagsPage = page((session) =>
      Effect.gen(function*() {
        const params = yield* HttpServerRequest.ParsedSearchParams
        const trailId = param(params, "trail_id")
        const oneTrail = trailId !== undefined && uuid.test(trailId) ? trailId.toLowerCase() : undefined
        const cursor = decoded(param(params, "cursor"), decodeFlagCursor)
        const list = yield* store.flags(oneTrail, listPage, cursor)
        const trails = new Map(
          (yield* store.trailSummaries([...new Set(list.flags.map((f) => f.trailId))])).map((t) => [t.id, t])
        )
        const more = list.nextCursor === undefined ? "" : html`<p class="pager"><a href="${`/flags?${
          new URLSearchParams({ ...(oneTrail === undefined ? {} : { trail_id: oneTrail }), cursor: list.nextCursor })
        }`}" rel="next" data-next-page>Next ${listPage} →</a></p>`
        return yield* framed(session, {
          title: "Flags",
          kind: "flags",
          section: "flags",
          body: html`${FlagViews.flagsPage(list.flags, trails)}${more}`
        })
      })
    )

    // -------------------------------------------------------------------------------------------
    // Live view
    // -------------------------------------------------------------------------------------------

    const unauthorized = HttpServerResponse.text("sign in first: GET /login", { status: 401, headers: pageHeaders })

    const trailsFragment = guard(Effect.gen(function*() {
      if ((yield* currentSession) === undefined) return unauthorized
      const { query } = yield* trailQuery
      if (Either.isLeft(query)) {
        return HttpServerResponse.text(Wire.ApiError.fromParseError(query.left).message, { status: 400, headers: pageHeaders })
      }
      return htmlResponse(yield* trailsTable(query.right))
    }))

    /** What a live page was last told, compared at every change and check. */
    interface Watch {
      /** Whether the page lists the pending leashes (the queue's first page). */
      readonly list: boolean
      view: Live.PendingView
      decisions: string | undefined
      counts: string | undefined
    }

    /** What changed for one page since it was last told: an event, or nothing. */
    const changesFor = (session: Session.Session, watch: Watch, topics: ReadonlyArray<Live.Topic>) =>
      Effect.gen(function*() {
        const out: Array<Uint8Array> = []
        const now = yield* Clock.currentTimeMillis
        const counts = yield* queries.counts(now)
        const countsKey = `${counts.pending}/${counts.flags}`
        const countsChanged = countsKey !== watch.counts
        watch.counts = countsKey
        if (topics.includes("leashes")) {
          const firstPage = watch.list ? yield* queries.pendingIds(now, queueLimits.pending) : []
          const kept = yield* queries.stillPending(now, [...watch.view.shown])
          const change = Live.diffPending(watch.view.shown, firstPage, kept, maxTracked)
          watch.view = { shown: change.shown }
          const cards = yield* queries.pendingByIds(now, change.added)
          let decisions: string | undefined
          if (watch.list) {
            const ids = (yield* queries.recentDecisionIds(queueLimits.decisions)).join(",")
            if (ids !== watch.decisions) {
              watch.decisions = ids
              decisions = render(LeashViews.decisionsTable(yield* queries.recentDecisions(queueLimits.decisions)))
            }
          }
          if (cards.length > 0 || change.removed.length > 0 || decisions !== undefined || countsChanged) {
            out.push(Live.event("leashes", {
              added: cards.map((row) => ({
                id: row.leashId,
                html: render(LeashViews.pendingCard(toPending(row), session.csrf, "queue"))
              })),
              removed: change.removed,
              ...(decisions === undefined ? {} : { decisions }),
              counts
            }))
          }
        }
        if (topics.includes("trails")) out.push(Live.event("trails", { counts }))
        return out
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.as(Effect.logWarning("dashboard: a live update could not be rendered; the next one repairs it", cause), [])
        )
      )

    const events = guard(Effect.gen(function*() {
      const session = yield* currentSession
      if (session === undefined) return unauthorized
      const params = yield* HttpServerRequest.ParsedSearchParams
      // The page names the leashes it shows (the queue's cards, or a leash page's own leash).
      const have = (param(params, "have") ?? "").split(",").filter((id) => uuid.test(id)).slice(0, maxTracked)
      const watch: Watch = {
        list: param(params, "list") === "1",
        view: { shown: new Set(have.map((id) => id.toLowerCase())) },
        decisions: undefined,
        counts: undefined
      }
      const stillSignedIn = Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Effect.map(stillValid(sessions.find(session.id, now)), (s) => s !== undefined)
      )
      const body = Stream.concat(
        Stream.make(Live.preamble(3_000)),
        live.changes(refreshMillis).pipe(
          Stream.mapEffect((topics) => Effect.map(stillSignedIn, (signedIn) => ({ signedIn, topics }))),
          Stream.takeWhile(({ signedIn }) => signedIn),
          Stream.mapEffect(({ topics }) => changesFor(session, watch, topics)),
          Stream.flattenIterables
        )
      )
      return HttpServerResponse.stream(body, {
        contentType: "text/event-stream; charset=utf-8",
        headers: { ...pageHeaders, "x-accel-buffering": "no", connection: "close" }
      })
    }))

    // -------------------------------------------------------------------------------------------
    // Assets
    // -------------------------------------------------------------------------------------------

    const asset = Effect.gen(function*() {
      const { name } = yield* HttpRouter.params
      const found = name === undefined ? undefined : assets.byName.get(name)
      if (found === undefined) {
        return HttpServerResponse.text("no such asset", { status: 404, headers: securityHeaders })
      }
      return HttpServerResponse.uint8Array(found.body, {
        contentType: found.contentType,
        headers: { ...securityHeaders, "cache-control": "public, max-age=31536000, immutable", etag: `"${found.hash}"` }
      })
    })

    const router = HttpRouter.empty.pipe(
      HttpRouter.get("/", queuePage),
      HttpRouter.get("/login", getLogin),
      HttpRouter.post("/login", postLogin),
      HttpRouter.post("/logout", postLogout),
      HttpRouter.get("/leashes", Effect.succeed(redirect("/"))),
      HttpRouter.get("/leashes/:id", leashPage),
      HttpRouter.post("/leashes/:id/decision", decide),
      HttpRouter.get("/trails", trailsPage),
      HttpRouter.get("/trails/:id", trailPage),
      HttpRouter.get("/trails/:id/steps/:step", stepPage),
      HttpRouter.get("/flags", flagsPage),
      HttpRouter.get("/events", events),
      HttpRouter.get("/fragments/trails", trailsFragment),
      HttpRouter.get("/assets/:name", asset)
    )
    const dashboard = yield* HttpRouter.toHttpApp(router)

    return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const answered = Effect.tap(api, (response) => {
        const topic = Live.topicOf(request, response)
        return topic === undefined ? Effect.void : live.publish(topic)
      })
      // The API's paths go straight to it: none is a dashboard page, and a miss of the
      // dashboard's router costs a RouteNotFound error (with its stack) on every API request.
      const url = request.url
      return url.startsWith("/v1/") || url === "/healthz" || url.startsWith("/healthz?")
        ? answered
        : Effect.catchTag(dashboard, "RouteNotFound", () => answered)
    })
  })
