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
 * | `GET /deliveries` | failed webhook deliveries |
 * | `GET /events` | server-sent events for the live view |
 * | `GET /fragments/trails` | the trails table, for the live view |
 * | `GET /assets/{name}` | the stylesheet, the script and the icon |
 *
 * Security: pages need a session (see `Session`); every state-changing form carries the
 * session's CSRF token and cross-site posts are refused; every agent-supplied string is written
 * as text (see `Html`); every answer carries a strict Content-Security-Policy (scripts and
 * styles from this server only, nothing inline, no framing).
 *
 * A decision made here goes through the `LeashDesk`, like `POST /v1/leashes/{id}/decision`: the
 * same compare-and-set (a leash decided elsewhere first answers 409 here too), the same wake-up
 * of the agent's held long-poll, and `decided_by` is the reviewer key's name.
 *
 * Each group of routes is a module of `routes/` (`Queue`, `SignIn`, `Leashes`, `Trails`,
 * `Flags`, `Events`, `Assets`); the guards they share (a session, the CSRF token, ids, error
 * pages) are `Guards`; this module only assembles them.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { LeashDesk } from "../LeashDesk.js"
import type { Keys } from "../Keys.js"
import type { Notifier } from "../Notifier.js"
import { PublicUrl } from "../PublicUrl.js"
import type { Store } from "../Store.js"
import * as Assets from "./Assets.js"
import * as Guards from "./Guards.js"
import * as Live from "./Live.js"
import * as Queries from "./Queries.js"
import * as Responses from "./Responses.js"
import * as AssetRoutes from "./routes/Assets.js"
import * as Deliveries from "./routes/Deliveries.js"
import * as Events from "./routes/Events.js"
import * as Flags from "./routes/Flags.js"
import * as Leashes from "./routes/Leashes.js"
import * as Queue from "./routes/Queue.js"
import * as SignIn from "./routes/SignIn.js"
import * as Trails from "./routes/Trails.js"
import * as Session from "./Session.js"

/**
 * The Content-Security-Policy of every dashboard answer: only this server's own script,
 * stylesheet and images; no inline script or style; forms post only here; never framed.
 *
 * @since 0.1.0
 * @category constants
 */
export const contentSecurityPolicy: string = Responses.contentSecurityPolicy

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
  LeashDesk | Store | Keys | Notifier | PublicUrl | SqlClient.SqlClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const publicUrl = yield* PublicUrl
    const shared: Guards.Shared = {
      queries: yield* Queries.make,
      live: yield* Live.make,
      assets: Assets.load(),
      sessions: yield* Session.makeSessions,
      publicUrl,
      secure: Session.isSecure(publicUrl)
    }
    const guards = yield* Guards.make(shared)
    const router = HttpRouter.concatAll(
      yield* Queue.routes(shared, guards),
      yield* SignIn.routes(shared, guards),
      yield* Leashes.routes(shared, guards),
      yield* Trails.routes(shared, guards),
      yield* Flags.routes(shared, guards),
      yield* Deliveries.routes(shared, guards),
      yield* Events.routes(shared, guards),
      yield* AssetRoutes.routes(shared, guards)
    )
    const dashboard = yield* HttpRouter.toHttpApp(router)
    const { live } = shared

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
