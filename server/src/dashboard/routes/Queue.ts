/**
 * The queue, `GET /`: the pending leashes (paged; kept live by `/events`), closest to expiry
 * first, those past the server's reminder share marked ("expires in 2 min"), the recent
 * decisions and the recent trails, and a notice for the leash just decided from it.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import { LeashDesk } from "../../LeashDesk.js"
import * as PendingSlices from "../../PendingSlices.js"
import * as Reminders from "../../Reminders.js"
import { Store } from "../../Store.js"
import * as Guards from "../Guards.js"
import { html } from "../Html.js"
import * as LeashViews from "../LeashViews.js"
import * as Trails from "./Trails.js"

/**
 * How many pending leashes, decisions and trails the queue shows.
 *
 * @since 0.1.0
 * @category constants
 */
export const limits = { pending: 100, decisions: 10, trails: 10 } as const

const decodeLeashCursor = Schema.decodeUnknownEither(Wire.LeashCursor)

/**
 * The queue's route.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes = (shared: Guards.Shared, guards: Guards.Guards) =>
  Effect.gen(function*() {
    const desk = yield* LeashDesk
    const store = yield* Store
    const { queries } = shared
    const share = yield* Reminders.Share

    /** A page of pending leashes, as summaries (the gate expires the due ones first). */
    const pendingPage = (cursor?: readonly [number, string]) =>
      Effect.map(PendingSlices.read(desk, limits.pending, cursor), ({ leashes, nextCursor }) => ({
        pending: leashes.map((l): LeashViews.Pending => ({
          leashId: l.leashId,
          request: l.request,
          preview: l.payloadPreview,
          createdAt: l.createdAt,
          expiresAt: l.expiresAt,
          approvals: l.approvalsRequired === undefined ? undefined : { required: l.approvalsRequired, approvals: l.approvals ?? [] },
          remindAt: new Date(Reminders.reminderAt(l.createdAt.getTime(), l.expiresAt.getTime(), share))
        })),
        nextCursor
      }))

    const decidedNotice = (leashId: string | undefined) =>
      Effect.gen(function*() {
        if (!Guards.isId(leashId)) return undefined
        const [decision] = yield* queries.recentDecisionOf(leashId)
        if (decision === undefined) return undefined
        return html`<p class="notice good" role="status">${LeashViews.decisionPill(decision.decision)} <strong>${decision.request.actionName}</strong> for ${decision.request.agent}: the agent has its answer. <a href="/leashes/${leashId}">leash page</a></p>`
      })

    const queuePage = guards.page((session) =>
      Effect.gen(function*() {
        const params = yield* HttpServerRequest.ParsedSearchParams
        const notice = yield* decidedNotice(Guards.param(params, "decided"))
        const cursor = Guards.decoded(Guards.param(params, "cursor"), decodeLeashCursor)
        const { nextCursor, pending } = yield* pendingPage(cursor)
        const body = LeashViews.queue({
          pending,
          pendingList: yield* LeashViews.pendingListInSlices(pending, session.csrf, cursor !== undefined, {
            id: session.keyId,
            name: session.reviewer
          }),
          nextCursor,
          paged: cursor !== undefined,
          decisions: yield* queries.recentDecisions(limits.decisions),
          trails: yield* Trails.trailsTable(store, { limit: limits.trails }),
          csrf: session.csrf,
          notice
        })
        return yield* guards.framed(session, { title: "Queue", kind: "queue", section: "queue", body })
      })
    )

    return HttpRouter.empty.pipe(HttpRouter.get("/", queuePage))
  })
