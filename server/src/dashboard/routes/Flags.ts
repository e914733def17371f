/**
 * The bypass flags, `GET /flags`: newest first, paged, optionally of one trail
 * (`?trail_id=`), each with a summary of its trail.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import { Store } from "../../Store.js"
import * as FlagViews from "../FlagViews.js"
import * as Guards from "../Guards.js"
import { html } from "../Html.js"

/** How many flags a page shows. */
const listPage = Wire.maxListLimit

const decodeFlagCursor = Schema.decodeUnknownEither(Wire.FlagCursor)

/**
 * The flags' route.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes = (_shared: Guards.Shared, guards: Guards.Guards) =>
  Effect.gen(function*() {
    const store = yield* Store

    const flagsPage = guards.page((session) =>
      Effect.gen(function*() {
        const params = yield* HttpServerRequest.ParsedSearchParams
        const trailId = Guards.param(params, "trail_id")
        const oneTrail = Guards.isId(trailId) ? trailId.toLowerCase() : undefined
        const cursor = Guards.decoded(Guards.param(params, "cursor"), decodeFlagCursor)
        const list = yield* store.flags(oneTrail, listPage, cursor)
        const trails = new Map(
          (yield* store.trailSummaries([...new Set(list.flags.map((f) => f.trailId))])).map((t) => [t.id, t])
        )
        const more = list.nextCursor === undefined ? "" : html`<p class="pager"><a href="${`/flags?${
          new URLSearchParams({ ...(oneTrail === undefined ? {} : { trail_id: oneTrail }), cursor: list.nextCursor })
        }`}" rel="next" data-next-page>Next ${listPage} →</a></p>`
        return yield* guards.framed(session, {
          title: "Flags",
          kind: "flags",
          section: "flags",
          body: html`${FlagViews.flagsPage(list.flags, trails)}${more}`
        })
      })
    )

    return HttpRouter.empty.pipe(HttpRouter.get("/flags", flagsPage))
  })
