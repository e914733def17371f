/**
 * The leashes: `GET /leashes/{id}` (a leash's page, the `trace_link` of every Decision) and
 * `POST /leashes/{id}/decision` (approve, reject with a reason, or approve a modified payload);
 * `GET /leashes` is the queue.
 *
 * A decision made here goes through the `LeashDesk`, like `POST /v1/leashes/{id}/decision`: the
 * same compare-and-set (a leash decided elsewhere first answers 409 here too), the same wake-up
 * of the agent's held long-poll, and `decided_by` is the reviewer key's name.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Approvals from "../../Approvals.js"
import { LeashDesk, type Seen as LeashDeskSeen } from "../../LeashDesk.js"
import { maxJsonDepth, nestsDeeperThan } from "../../Http.js"
import { Store } from "../../Store.js"
import * as Guards from "../Guards.js"
import { html } from "../Html.js"
import * as LeashViews from "../LeashViews.js"
import { redirect } from "../Responses.js"

/** A reviewer's decision as the form sent it, or what was wrong with the form, in words for the reviewer. */
const readDecision = (form: UrlParams.UrlParams): Wire.ReviewerDecision | string => {
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

/** The payload round the form showed (two-person approval), when it says. */
const readSeen = (form: UrlParams.UrlParams): LeashDeskSeen | undefined => {
  const text = Option.getOrUndefined(UrlParams.getFirst(form, "round"))
  const round = text === undefined ? Number.NaN : Number(text)
  return Number.isSafeInteger(round) && round >= 0 ? { round } : undefined
}

const decodeRequest = Schema.decodeUnknownSync(Wire.LeashRequest)

/**
 * The leashes' routes.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes = (shared: Guards.Shared, guards: Guards.Guards) =>
  Effect.gen(function*() {
    const desk = yield* LeashDesk
    const store = yield* Store
    const { live } = shared
    const { errorPage, framed, notFound } = guards

    const leashPage = guards.page((session) =>
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        const params = yield* HttpServerRequest.ParsedSearchParams
        if (!Guards.isId(id)) return yield* notFound(session, `There is no leash ${id ?? ""}: a leash id is a UUID.`)
        // Through the gate first: a leash past its deadline is expired by the read.
        const state = yield* Effect.either(desk.get(id, 0))
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
        const gate = decision === undefined ? yield* desk.approvals(id) : undefined
        const notice = params["decided"] === "1" && decision !== undefined
          ? html`<p class="notice good" role="status">Decision recorded: the agent has its answer.</p>`
          : params["approved"] === "1" && gate !== undefined
          ? html`<p class="notice good" role="status" data-approval-recorded>Your approval was recorded: ${gate.count} of ${gate.required}. The agent waits until ${gate.required} reviewers have approved.</p>`
          : undefined
        const body = LeashViews.leashPage({
          leashId: id,
          request,
          createdAt: new Date(row.value.createdAt),
          expiresAt: new Date(row.value.expiresAt),
          decision,
          csrf: session.csrf,
          notice,
          approvals: gate === undefined ? undefined : {
            required: gate.required,
            round: gate.round,
            approvals: Approvals.toWire(gate.approvals),
            payload: gate.payload === undefined ? request.payload : JSON.parse(gate.payload) as unknown
          },
          viewer: { id: session.keyId, name: session.reviewer }
        })
        return yield* framed(session, { title: request.actionName, kind: "leash", section: "queue", body })
      })
    )

    const decide = guards.action((session, form) =>
      Effect.gen(function*() {
        const { id } = yield* HttpRouter.params
        const back = { href: `/leashes/${id}`, label: "Back to the leash" }
        if (!Guards.isId(id)) return yield* notFound(session, "There is no such leash: a leash id is a UUID.")
        const decision = readDecision(form)
        if (typeof decision === "string") return yield* errorPage(400, "Not decided", decision, session, back)
        const result = yield* Effect.either(
          desk.decide(id, decision, { id: session.keyId, name: session.reviewer }, readSeen(form))
        )
        if (result._tag === "Left") {
          const error = result.left
          if (error._tag === "NotFound") return yield* notFound(session, error.message)
          if (error._tag === "Conflict") {
            const title = error.code === "already_approved"
              ? "Already approved"
              : error.code === "payload_changed"
              ? "The payload changed"
              : "Already decided"
            return yield* errorPage(409, title, `Your decision was not recorded: ${error.message}.`, session, back)
          }
          if (error._tag === "PayloadTooLarge") {
            return yield* errorPage(413, "Not decided", `Your decision was not recorded: ${error.message}.`, session, back)
          }
          return yield* Effect.fail(error)
        }
        yield* live.publish("leashes")
        const toLeash = form.some(([k, v]) => k === "return" && v === "leash")
        // an approval that leaves the leash waiting for more reviewers
        if (result.right.status === "pending") return redirect(toLeash ? `/leashes/${id}?approved=1` : "/")
        return toLeash ? redirect(`/leashes/${id}?decided=1`) : redirect(`/?decided=${id}`)
      })
    )

    return HttpRouter.empty.pipe(
      HttpRouter.get("/leashes", Effect.succeed(redirect("/"))),
      HttpRouter.get("/leashes/:id", leashPage),
      HttpRouter.post("/leashes/:id/decision", decide)
    )
  })
