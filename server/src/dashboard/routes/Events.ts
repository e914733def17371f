/**
 * The live view, `GET /events`: server-sent events that tell one open page what changed for it
 * (see `Live`). The page names the pending leashes it shows when it connects (`?have=`, and
 * `?list=1` for the queue's first page); each change, and a periodic check that catches leashes
 * that expired on their own, sends the cards that joined its list, the ids that left it, the
 * decisions table when a decision was made, and the counts when they moved. The stream ends
 * when the reviewer's session does.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Reminders from "../../Reminders.js"
import type { PendingRow } from "../../Store.js"
import * as Guards from "../Guards.js"
import { render } from "../Html.js"
import * as LeashViews from "../LeashViews.js"
import * as Live from "../Live.js"
import { pageHeaders, unauthorized } from "../Responses.js"
import type * as Session from "../Session.js"
import * as Queue from "./Queue.js"

/** The most pending leashes one live page keeps track of (its first page and those it still shows). */
const maxTracked = 2 * Queue.limits.pending

/** The live view's periodic check (catches leashes that expired on their own). */
const refreshMillis = 5_000

/** How long a browser waits before it reconnects a dropped stream. */
const retryMillis = 3_000

const toPending = (row: PendingRow, share: number): LeashViews.Pending => ({
  leashId: row.leashId,
  request: row.summary.request,
  preview: row.summary.payloadPreview,
  createdAt: new Date(row.createdAt),
  expiresAt: new Date(row.expiresAt),
  remindAt: new Date(Reminders.reminderAt(row.createdAt, row.expiresAt, share))
})

/** What a live page was last told, compared at every change and check. */
interface Watch {
  /** Whether the page lists the pending leashes (the queue's first page). */
  readonly list: boolean
  view: Live.PendingView
  decisions: string | undefined
  counts: string | undefined
}

/**
 * The live view's route.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes = (shared: Guards.Shared, guards: Guards.Guards) =>
  Effect.gen(function*() {
    const { live, queries } = shared
    const share = yield* Reminders.Share

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
          const firstPage = watch.list ? yield* queries.pendingIds(now, Queue.limits.pending) : []
          const kept = yield* queries.stillPending(now, [...watch.view.shown])
          const change = Live.diffPending(watch.view.shown, firstPage, kept, maxTracked)
          watch.view = { shown: change.shown }
          const cards = yield* queries.pendingByIds(now, change.added)
          let decisions: string | undefined
          if (watch.list) {
            const ids = (yield* queries.recentDecisionIds(Queue.limits.decisions)).join(",")
            if (ids !== watch.decisions) {
              watch.decisions = ids
              decisions = render(LeashViews.decisionsTable(yield* queries.recentDecisions(Queue.limits.decisions)))
            }
          }
          if (cards.length > 0 || change.removed.length > 0 || decisions !== undefined || countsChanged) {
            out.push(Live.event("leashes", {
              added: cards.map((row) => ({
                id: row.leashId,
                html: render(LeashViews.pendingCard(toPending(row, share), session.csrf, "queue"))
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

    const events = guards.guard(Effect.gen(function*() {
      const session = yield* guards.currentSession
      if (session === undefined) return unauthorized
      const params = yield* HttpServerRequest.ParsedSearchParams
      // The page names the leashes it shows (the queue's cards, or a leash page's own leash).
      const have = (Guards.param(params, "have") ?? "").split(",").filter(Guards.isId).slice(0, maxTracked)
      const watch: Watch = {
        list: Guards.param(params, "list") === "1",
        view: { shown: new Set(have.map((id) => id.toLowerCase())) },
        decisions: undefined,
        counts: undefined
      }
      const stillSignedIn = Effect.map(guards.findSession(session.id), (s) => s !== undefined)
      const body = Stream.concat(
        Stream.make(Live.preamble(retryMillis)),
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

    return HttpRouter.empty.pipe(HttpRouter.get("/events", events))
  })
