/**
 * The failed webhook deliveries, `GET /deliveries` (reviewers only): each delivery the worker
 * gave up after its retries, newest first, with the receiver's host, the event, the attempts
 * made and the last error.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Delivery from "../../Delivery.js"
import type * as Guards from "../Guards.js"
import { type Html, html, url } from "../Html.js"

/** How many failed deliveries the page lists. */
const listed = 100

const hostOf = (u: string | undefined): string => {
  if (u === undefined) return "(webhook removed)"
  try {
    return new URL(u).host
  } catch {
    return u.slice(0, 80)
  }
}

/**
 * The page's body.
 *
 * @since 0.1.0
 * @category pages
 */
export const deliveriesPage = (failed: ReadonlyArray<Delivery.Failed>): Html =>
  html`<section>
  <h1>Failed webhook deliveries</h1>
  <p class="muted">Each delivery is retried with back-off for up to 24 hours after its event; these were given up. Webhooks are managed with <code>houndsight-server webhooks</code>.</p>
  ${
    failed.length === 0
      ? html`<p class="notice good">No failed deliveries.</p>`
      : html`<table class="table deliveries">
  <thead><tr><th>Receiver</th><th>Event</th><th>About</th><th>Attempts</th><th>Last error</th><th>Given up</th></tr></thead>
  <tbody>${
        failed.map((d) =>
          html`<tr data-delivery="${d.id}">
    <td><code>${hostOf(d.url)}</code></td>
    <td><code>${d.type}</code></td>
    <td>${
            d.type === "flag.raised"
              ? html`<a href="${url`/trails/${d.subject}`}">trail</a>`
              : html`<a href="${url`/leashes/${d.subject}`}">leash</a>`
          }</td>
    <td>${String(d.attempts)}</td>
    <td>${d.lastError ?? ""}</td>
    <td class="small muted">${d.failedAt}</td>
  </tr>`
        )
      }</tbody>
</table>`
  }
</section>`

/**
 * The route.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes = (_shared: Guards.Shared, guards: Guards.Guards) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const page = guards.page((session) =>
      Effect.gen(function*() {
        const failed = yield* Delivery.failed(sql, listed)
        return yield* guards.framed(session, { title: "Deliveries", kind: "deliveries", section: "deliveries", body: deliveriesPage(failed) })
      })
    )
    return HttpRouter.empty.pipe(HttpRouter.get("/deliveries", page))
  })
