/**
 * The server serves the contract's own API description (`Wire.Api.HoundsightApi`): every
 * endpoint it declares answers with the declared success status and a body that decodes with
 * the declared schema, and every auth rule holds. A new endpoint in the description without a
 * server behind it fails here.
 */
import { HttpApi, HttpApiSchema, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Schema } from "effect"
import * as Wire from "houndsight/wire"
import { toResponse } from "../src/Http.js"
import { type Answer, type Client, gatedReviewStep, leashRequest, startServer, stepRecord, trailRecord } from "./helpers.js"

interface Declared {
  readonly key: string
  readonly group: string
  readonly method: string
  readonly path: string
  readonly status: number
  readonly success: Schema.Schema<unknown, unknown, never>
  readonly auth: "public" | "agent" | "reviewer"
}

const declared: ReadonlyArray<Declared> = (() => {
  const out: Array<Declared> = []
  HttpApi.reflect(Wire.Api.HoundsightApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group, middleware }) => {
      out.push({
        key: `${group.identifier}.${endpoint.name}`,
        group: group.identifier,
        method: endpoint.method,
        path: endpoint.path,
        status: HttpApiSchema.getStatusSuccess(endpoint.successSchema),
        success: endpoint.successSchema as Schema.Schema<unknown, unknown, never>,
        auth: middleware.has(Wire.Api.ReviewerAuth as never)
          ? "reviewer"
          : middleware.has(Wire.Api.AgentAuth as never)
          ? "agent"
          : "public"
      })
    }
  })
  return out
})()

/** The declared path with its `:params` filled in. */
const fill = (path: string, params: Record<string, string>): string =>
  path.replace(/:([a-z_]+)/g, (_, name: string) => {
    const value = params[name]
    if (value === undefined) throw new Error(`no value for :${name} in ${path}`)
    return value
  })

const isErrorBody = Schema.is(Wire.ErrorBody.ErrorBody)

describe("the API description", () => {
  it("declares the endpoints of DESIGN.md section 2", () => {
    expect(declared.map((d) => `${d.method} ${d.path} ${d.auth}`)).toStrictEqual([
      "GET /healthz public",
      "POST /v1/ingest agent",
      "POST /v1/leashes agent",
      "GET /v1/leashes/:leash_id agent",
      "POST /v1/leashes/:leash_id/cancel agent",
      "POST /v1/leashes/:leash_id/decision reviewer",
      "GET /v1/trails reviewer",
      "GET /v1/trails/:id reviewer",
      "GET /v1/leashes reviewer",
      "GET /v1/flags reviewer"
    ])
  })

  it.scopedLive("every declared endpoint is served with its success status and a body its schema decodes", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: { sensitive: ["stripe.*"], rules: [] } })
      const trail = trailRecord({ status: "ok", ended_at: "2026-11-24T09:01:00.000Z", cost_usd: 0.25 })
      const steps = [
        stepRecord(trail.id, 1, "plan", { layer: "plan" }),
        stepRecord(trail.id, 2, "stripe.refund"), // unleashed: a flag
        yield* gatedReviewStep(s, trail.id, 3, "stripe.charge", "approved"),
        stepRecord(trail.id, 4, "stripe.charge")
      ]
      const created = leashRequest()
      const toDecide = leashRequest()
      const stillPending = leashRequest()
      for (const leash of [toDecide, stillPending]) {
        expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
      }

      const fixtures: Record<
        string,
        { readonly client: Client; readonly params?: Record<string, string>; readonly query?: string; readonly body?: unknown }
      > = {
        "health.healthz": { client: s.anonymous },
        "agent.ingest": { client: s.agent, body: { trails: [trail], steps } },
        "agent.createLeash": { client: s.agent, body: created },
        "agent.getLeash": { client: s.agent, params: { leash_id: created.leash_id }, query: "?wait_seconds=0" },
        "agent.cancelLeash": { client: s.agent, params: { leash_id: created.leash_id } },
        "reviewer.decideLeash": {
          client: s.reviewer,
          params: { leash_id: toDecide.leash_id },
          body: { decision: "modified", reason: "lower the amount", modified_payload: { amount_usd: 100 } }
        },
        "reviewer.listTrails": { client: s.reviewer, query: "?limit=10" },
        "reviewer.getTrail": { client: s.reviewer, params: { id: trail.id } },
        "reviewer.listLeashes": { client: s.reviewer, query: "?status=pending" },
        "reviewer.listFlags": { client: s.reviewer, query: `?trail_id=${trail.id}` }
      }
      expect(Object.keys(fixtures).sort()).toStrictEqual(declared.map((d) => d.key).sort())

      const answers: Record<string, Answer> = {}
      for (const d of declared) {
        const f = fixtures[d.key]!
        const answer = yield* f.client.request(d.method, `${fill(d.path, f.params ?? {})}${f.query ?? ""}`, {
          body: f.body
        })
        expect(answer.status, `${d.key}: ${answer.text}`).toBe(d.status)
        expect(answer.headers.get("content-type"), d.key).toMatch(/^application\/json/)
        expect(() => Schema.decodeUnknownSync(d.success)(answer.body), d.key).not.toThrow()
        answers[d.key] = answer
      }
      // The lists are not trivially empty: the schemas above judged real content.
      expect(answers["agent.ingest"]!.body).toStrictEqual({ accepted: 5, duplicates: 0 })
      expect(answers["reviewer.listTrails"]!.body.trails).toHaveLength(1)
      expect(answers["reviewer.getTrail"]!.body.steps).toHaveLength(4)
      expect(answers["reviewer.listLeashes"]!.body.leashes.map((l: any) => l.leash_id)).toStrictEqual([
        stillPending.leash_id
      ])
      expect(answers["reviewer.listFlags"]!.body.flags).toMatchObject([{ kind: "unleashed_action", seq: 2 }])
      expect(answers["reviewer.decideLeash"]!.body.decision).toMatchObject({
        decision: "modified",
        modified_payload: { amount_usd: 100 }
      })
    }))

  it.scopedLive("auth: no key or an unknown key is 401, an agent key on a reviewer endpoint is 403, a reviewer key passes the agent routes' authentication but may not cancel", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const params = { leash_id: leashRequest().leash_id, id: trailRecord().id }
      const unknownAgent = "sk-hnd-not-a-key-of-this-server"
      for (const d of declared) {
        const path = fill(d.path, params)
        const noKey = yield* s.anonymous.request(d.method, path)
        if (d.auth === "public") {
          expect(noKey.status, d.key).toBe(200)
          continue
        }
        expect(noKey.status, d.key).toBe(401)
        expect(noKey.body.error.code, d.key).toBe("unauthorized")
        expect(isErrorBody(noKey.body), d.key).toBe(true)

        const unknown = yield* s.anonymous.request(d.method, path, { headers: { authorization: `Bearer ${unknownAgent}` } })
        expect(unknown.status, d.key).toBe(401)
        expect(unknown.body.error.message, d.key).toContain("unknown key")
        // and says what makes a key the server knows
        expect(unknown.body.error.message, d.key).toContain("houndsight-server keys create --agent NAME")

        const notBearer = yield* s.anonymous.request(d.method, path, { headers: { authorization: s.agentKey } })
        expect(notBearer.status, d.key).toBe(401)

        const asAgent = yield* s.agent.request(d.method, path)
        const asReviewer = yield* s.reviewer.request(d.method, path)
        if (d.auth === "reviewer") {
          expect(asAgent.status, d.key).toBe(403)
          expect(asAgent.body.error).toMatchObject({ code: "forbidden" })
          expect(asAgent.body.error.message).toContain("reviewer key")
        } else {
          expect([401, 403], d.key).not.toContain(asAgent.status)
        }
        if (d.key === "agent.cancelLeash") {
          // v1.1: a reviewer key reads and decides; it does not end an agent's leash
          expect(asReviewer.status, d.key).toBe(403)
          expect(asReviewer.body.error.message, d.key).toContain("not cancel leashes")
        } else {
          expect([401, 403], d.key).not.toContain(asReviewer.status)
        }
      }
    }))

  it.scopedLive("an agent key can never decide a leash: 403, and the leash stays pending", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: leash })
      const answer = yield* s.agent.post(`/v1/leashes/${leash.leash_id}/decision`, {
        body: { decision: "approved", reason: "I approve myself" }
      })
      expect(answer.status).toBe(403)
      const state = yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)
      expect(state.body).toMatchObject({ status: "pending" })
    }))

  it.scopedLive("an unknown path or method is a 404 with the error body, naming the methods a known path takes", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const nowhere = yield* s.agent.get("/v2/anything")
      expect(nowhere.status).toBe(404)
      expect(nowhere.body.error.code).toBe("not_found")
      const wrongMethod = yield* s.agent.get("/v1/ingest")
      expect(wrongMethod.status).toBe(404)
      expect(wrongMethod.body.error.message).toContain("/v1/ingest takes POST")
    }))

  it.effect("failures that are not bad input: a busy database is a 503 with Retry-After, a bug a 500, both with the error body", () =>
    Effect.gen(function*() {
      const request = HttpServerRequest.fromWeb(new Request("http://127.0.0.1/v1/ingest?x=1", { method: "POST" }))
      const answer = (response: HttpServerResponse.HttpServerResponse) =>
        Effect.promise(async () => {
          const web = HttpServerResponse.toWeb(response)
          return { status: web.status, retryAfter: web.headers.get("retry-after"), body: await web.json() as any }
        })
      const busy = yield* answer(
        yield* toResponse(Cause.fail(new SqlError({ cause: { code: "SQLITE_BUSY" }, message: "database is locked" })), request)
      )
      expect(busy).toStrictEqual({
        status: 503,
        retryAfter: "1",
        body: { error: { code: "unavailable", message: "the database is busy; try again in a moment" } }
      })
      const bug = yield* answer(yield* toResponse(Cause.die(new Error("boom")), request))
      expect(bug.status).toBe(500)
      expect(bug.body.error.code).toBe("internal")
      expect(bug.body.error.message).toContain("POST /v1/ingest")
      expect(bug.body.error.message).not.toContain("boom")
    }))
})
