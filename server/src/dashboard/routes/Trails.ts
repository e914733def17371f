/**
 * The trails: `GET /trails` (paged, filtered as the API filters them), `GET /trails/{id}` (a
 * page of a trail's steps as a tree, the SDK's `Trail.link`; for a trail the server never
 * received, the leashes that cite it), `GET /trails/{id}/steps/{step}` (one step whole: the
 * trail page shows previews of inputs and outputs), and `GET /fragments/trails` (the trails
 * table alone, which the live view fetches when records arrive).
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import { Store, type TrailQuery } from "../../Store.js"
import * as Guards from "../Guards.js"
import { htmlResponse, pageHeaders, unauthorized } from "../Responses.js"
import * as TrailViews from "../TrailViews.js"

/** How many steps a page of a trail's page shows. */
const stepsPerPage = 100

/** How many trails, and leashes of an unknown trail, a page shows. */
const listPage = Wire.maxListLimit

const decodeTrailParams = Schema.decodeUnknownEither(Wire.Api.TrailListParams)
const decodeStepCursor = Schema.decodeUnknownEither(Wire.StepCursor)

/**
 * The trails table of a query (the queue shows the recent ones).
 *
 * @since 0.1.0
 * @category utils
 */
export const trailsTable = (store: Context.Tag.Service<Store>, query: TrailQuery) =>
  Effect.map(store.trails(query), (list) => TrailViews.trailsTable(list.trails))

/** The trails query of a page's URL: its filters, read as the API reads them. */
const trailQuery = Effect.map(HttpServerRequest.ParsedSearchParams, (params) => {
  const filters: TrailViews.TrailFilters = {
    agent: Guards.param(params, "agent"),
    status: Guards.param(params, "status"),
    trigger: Guards.param(params, "trigger"),
    flagged: Guards.param(params, "flagged"),
    tag: Guards.param(params, "tag"),
    from: Guards.param(params, "from"),
    to: Guards.param(params, "to")
  }
  const given: Record<string, string> = {}
  for (
    const [k, v] of Object.entries({
      ...filters,
      limit: Guards.param(params, "limit"),
      cursor: Guards.param(params, "cursor")
    })
  ) {
    if (v !== undefined && v !== "") given[k] = v
  }
  const query = decodeTrailParams(given)
  return { filters, query }
})

/**
 * The trails' routes.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes = (shared: Guards.Shared, guards: Guards.Guards) =>
  Effect.gen(function*() {
    const store = yield* Store
    const { queries } = shared
    const { framed, notFound } = guards

    const trailsPage = guards.page((session) =>
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

    const trailPage = guards.page((session) =>
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        if (!Guards.isId(id)) return yield* notFound(session, "There is no such trail: a trail id is a UUID.")
        const params = yield* HttpServerRequest.ParsedSearchParams
        const cursor = Guards.decoded(Guards.param(params, "cursor"), decodeStepCursor)
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

    const stepPage = guards.page((session) =>
      Effect.gen(function*() {
        const { id, step } = yield* HttpRouter.params
        if (!Guards.isId(id) || !Guards.isId(step)) {
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

    const trailsFragment = guards.guard(Effect.gen(function*() {
      if ((yield* guards.currentSession) === undefined) return unauthorized
      const { query } = yield* trailQuery
      if (Either.isLeft(query)) {
        return HttpServerResponse.text(Wire.ApiError.fromParseError(query.left).message, { status: 400, headers: pageHeaders })
      }
      return htmlResponse(yield* trailsTable(store, query.right))
    }))

    return HttpRouter.empty.pipe(
      HttpRouter.get("/trails", trailsPage),
      HttpRouter.get("/trails/:id", trailPage),
      HttpRouter.get("/trails/:id/steps/:step", stepPage),
      HttpRouter.get("/fragments/trails", trailsFragment)
    )
  })
