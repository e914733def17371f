import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpServer from "@effect/platform/HttpServer"
import * as OpenApi from "@effect/platform/OpenApi"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { Wire } from "houndsight"
import { createServer } from "node:http"
import { ids, t0, t1, toWire } from "./helpers.js"

const { Api, ApiError } = Wire

describe("HoundsightApi description", () => {
  const spec = OpenApi.fromApi(Api.HoundsightApi)
  const op = (path: string, method: "get" | "post") => {
    const operation = (spec.paths[path] as Record<string, any> | undefined)?.[method]
    if (operation === undefined) throw new Error(`no ${method.toUpperCase()} ${path} in the description`)
    return operation
  }

  it("describes every endpoint of contract v1", () => {
    const routes = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`)
    )
    expect(routes.sort()).toEqual([
      "GET /healthz",
      "GET /v1/flags",
      "GET /v1/leashes",
      "GET /v1/leashes/{leash_id}",
      "GET /v1/trails",
      "GET /v1/trails/{id}",
      "POST /v1/ingest",
      "POST /v1/leashes",
      "POST /v1/leashes/{leash_id}/cancel",
      "POST /v1/leashes/{leash_id}/decision"
    ])
  })

  it("answers ingest with 202 and the rest with 200", () => {
    expect(Object.keys(op("/v1/ingest", "post").responses)).toContain("202")
    expect(Object.keys(op("/v1/ingest", "post").responses)).not.toContain("200")
    expect(Object.keys(op("/v1/leashes", "post").responses)).toContain("200")
    expect(Object.keys(op("/healthz", "get").responses)).toContain("200")
  })

  it("lists the error answers each endpoint can give", () => {
    const statuses = (path: string, method: "get" | "post") =>
      Object.keys(op(path, method).responses).filter((s) => s >= "400").sort()
    expect(statuses("/v1/ingest", "post")).toEqual(["400", "401", "413", "500", "503"])
    expect(statuses("/v1/leashes", "post")).toEqual(["400", "401", "413", "422", "500", "503"])
    expect(statuses("/v1/leashes/{leash_id}", "get")).toEqual(["400", "401", "404", "500", "503"])
    expect(statuses("/v1/leashes/{leash_id}/cancel", "post")).toEqual(["400", "401", "404", "500", "503"])
    expect(statuses("/v1/leashes/{leash_id}/decision", "post")).toEqual(
      ["400", "401", "403", "404", "409", "413", "500", "503"]
    )
    expect(statuses("/v1/trails/{id}", "get")).toEqual(["400", "401", "403", "404", "500", "503"])
  })

  it("describes error bodies as {error: {code, message}}", () => {
    const conflict = spec.components.schemas["ConflictBody"] as any
    expect(conflict.required).toEqual(["error"])
    expect(conflict.properties.error.required).toEqual(["code", "message"])
  })

  it("asks for a bearer key everywhere but /healthz", () => {
    expect(op("/healthz", "get").security).toEqual([])
    expect(op("/v1/ingest", "post").security).toEqual([{ bearer: [] }])
    expect(op("/v1/leashes/{leash_id}/decision", "post").security).toEqual([{ bearer: [] }])
    expect(spec.components.securitySchemes["bearer"]).toMatchObject({ type: "http", scheme: "bearer" })
  })

  it("names path and query parameters as they are on the wire", () => {
    const params = (path: string, method: "get" | "post") =>
      op(path, method).parameters.map((p: any) => `${p.in}:${p.name}${p.required ? "" : "?"}`)
    expect(params("/v1/leashes/{leash_id}", "get")).toEqual(["path:leash_id", "query:wait_seconds?"])
    // v1.1: every list is a page (`limit`, `cursor`)
    expect(params("/v1/leashes", "get")).toEqual(["query:status?", "query:limit?", "query:cursor?"])
    expect(params("/v1/flags", "get")).toEqual(["query:trail_id?", "query:limit?", "query:cursor?"])
    expect(params("/v1/trails/{id}", "get")).toEqual(["path:id", "query:limit?", "query:cursor?"])
  })

  it("takes the wire records as bodies", () => {
    const body = (path: string) => op(path, "post").requestBody.content["application/json"].schema
    expect(body("/v1/ingest")).toEqual({ $ref: "#/components/schemas/IngestBatch" })
    expect(body("/v1/leashes")).toEqual({ $ref: "#/components/schemas/LeashRequest" })
    expect(body("/v1/leashes/{leash_id}/decision")).toEqual({ $ref: "#/components/schemas/ReviewerDecision" })
  })
})

// A stub gate built from the description, to prove it can be served with the wire shapes of the
// contract: statuses, `{"error": {...}}` bodies, bearer roles, clamped wait_seconds.

const decidedId = "0190d7a4-5c1e-7000-8000-0000000000dd"
const agentKey = "sk-hnd-test"
const reviewerKey = "rv-hnd-test"
const traceLink = (id: string) => `http://127.0.0.1:7411/leashes/${id}`

const callerOf = (token: Redacted.Redacted<string>) => {
  const role = Wire.keyRole(Redacted.value(token))
  return role === undefined
    ? Effect.fail(new ApiError.Unauthorized({ message: "send Authorization: Bearer <key>" }))
    : Effect.succeed({ role, name: `${role}-key` })
}

const AuthLive = Layer.mergeAll(
  Layer.succeed(Api.AgentAuth, Api.AgentAuth.of({ bearer: callerOf })),
  Layer.succeed(
    Api.ReviewerAuth,
    Api.ReviewerAuth.of({
      bearer: (token) =>
        Effect.filterOrFail(
          callerOf(token),
          (caller) => Wire.canReview(caller.role),
          () => new ApiError.Forbidden({ message: "an agent key cannot decide a leash" })
        )
    })
  )
)

const makeStub = Effect.gen(function*() {
  const waits = yield* Ref.make<ReadonlyArray<number | undefined>>([])
  const HealthLive = HttpApiBuilder.group(
    Api.HoundsightApi,
    "health",
    (handlers) => handlers.handle("healthz", () => Effect.succeed({ status: "ok" as const }))
  )
  const AgentLive = HttpApiBuilder.group(Api.HoundsightApi, "agent", (handlers) =>
    handlers
      .handle("ingest", ({ payload }) =>
        Effect.succeed({ accepted: payload.trails.length + payload.steps.length, duplicates: 0 }))
      .handle("createLeash", ({ payload }) =>
        payload.leashId === decidedId
          ? Effect.fail(new ApiError.Unprocessable({ message: `leash ${decidedId} exists with a different body` }))
          : Effect.succeed({ leashId: payload.leashId, status: "pending" as const, traceLink: traceLink(payload.leashId) }))
      .handle("getLeash", ({ path, urlParams }) =>
        Ref.update(waits, (all) => [...all, urlParams.waitSeconds]).pipe(
          Effect.as({ leashId: path.leashId, status: "pending" as const, traceLink: traceLink(path.leashId) })
        ))
      .handle("cancelLeash", ({ path }) =>
        Effect.fail(new ApiError.NotFound({ message: `no leash ${path.leashId}` }))))
  const ReviewerLive = HttpApiBuilder.group(Api.HoundsightApi, "reviewer", (handlers) =>
    handlers
      .handle("decideLeash", ({ path, payload }) =>
        path.leashId === decidedId
          ? Effect.fail(new ApiError.Conflict({ message: `leash ${decidedId} was already decided: approved` }))
          : Api.Caller.pipe(Effect.map((caller) => ({
            leashId: path.leashId,
            status: "decided" as const,
            decision: {
              decision: payload.decision,
              reason: payload.reason,
              decidedBy: caller.name,
              decidedAt: new Date(t1),
              traceLink: traceLink(path.leashId)
            }
          }))))
      .handle("listTrails", () => Effect.succeed({ trails: [] }))
      .handle("getTrail", ({ path }) => Effect.fail(new ApiError.NotFound({ message: `no trail ${path.id}` })))
      .handle("listLeashes", () => Effect.succeed({ leashes: [] }))
      .handle("listFlags", () => Effect.succeed({ flags: [] })))
  // HttpApi answers its own HttpApiDecodeError with another body shape: map it to the contract's 400.
  const DecodeErrorsLive = HttpApiBuilder.middleware(Api.HoundsightApi, (app) =>
    Effect.mapError(
      app as HttpApp.Default<unknown>,
      (e) => e instanceof HttpApiDecodeError ? ApiError.fromDecodeError(e) : e
    ) as HttpApp.Default<Wire.ApiError.BadRequest>)
  const ApiLive = HttpApiBuilder.api(Api.HoundsightApi).pipe(
    Layer.provide([HealthLive, AgentLive, ReviewerLive]),
    Layer.provide(AuthLive)
  )
  const ServerLive = HttpApiBuilder.serve().pipe(
    Layer.provide(DecodeErrorsLive),
    Layer.provide(ApiLive),
    Layer.provideMerge(
      HttpServer.layerTestClient.pipe(
        Layer.provide(NodeHttpClient.layerWithoutAgent),
        Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
      )
    )
  )
  return { waits, ServerLive }
})

interface Answer {
  readonly status: number
  readonly body: unknown
}

const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    const text = yield* response.text
    return { status: response.status, body: text === "" ? undefined : JSON.parse(text) } satisfies Answer
  })

const withKey = (key: string) => HttpClientRequest.bearerToken(key)

const leashRequest: Wire.LeashRequest = {
  leashId: ids.leash,
  trailId: ids.trail,
  stepId: ids.review,
  agent: "billing-bot",
  actionName: "stripe.charge",
  actionSummary: "charge $12,000",
  riskSignals: { amountUsd: 12000 },
  payload: { cents: 1200000 },
  timeoutSeconds: 300,
  blocking: true
}

const expectErrorBody = (answer: Answer, status: number, code: string) => {
  expect(answer.status).toBe(status)
  const body = Schema.decodeUnknownSync(Wire.ErrorBody.ErrorBody)(answer.body)
  expect(body.error.code).toBe(code)
  expect(Object.keys(answer.body as object)).toEqual(["error"])
  return body.error.message
}

describe("HoundsightApi served by HttpApiBuilder", () => {
  it.live("answers with the contract's statuses and bodies", () =>
    Effect.gen(function*() {
      const { ServerLive, waits } = yield* makeStub
      yield* Effect.gen(function*() {
        const health = yield* send(HttpClientRequest.get("/healthz"))
        expect(health).toEqual({ status: 200, body: { status: "ok" } })

        const batch = toWire(Wire.IngestBatch, { trails: [], steps: [] })
        const noKey = yield* send(HttpClientRequest.post("/v1/ingest").pipe(HttpClientRequest.bodyUnsafeJson(batch)))
        expectErrorBody(noKey, 401, "unauthorized")

        const accepted = yield* send(
          HttpClientRequest.post("/v1/ingest").pipe(withKey(agentKey), HttpClientRequest.bodyUnsafeJson(batch))
        )
        expect(accepted).toEqual({ status: 202, body: { accepted: 0, duplicates: 0 } })

        const step = {
          id: ids.step,
          parent_id: null,
          seq: 1,
          name: "plan",
          layer: "plan",
          status: "ok",
          started_at: t0,
          ended_at: t1,
          events: []
        }
        const bad = yield* send(
          HttpClientRequest.post("/v1/ingest").pipe(
            withKey(agentKey),
            HttpClientRequest.bodyUnsafeJson({ trails: [], steps: [step] })
          )
        )
        expect(expectErrorBody(bad, 400, "bad_request")).toBe("steps[0].trail_id: is missing")

        const created = yield* send(
          HttpClientRequest.post("/v1/leashes").pipe(
            withKey(agentKey),
            HttpClientRequest.bodyUnsafeJson(toWire(Wire.LeashRequest, leashRequest))
          )
        )
        expect(created.status).toBe(200)
        expect(created.body).toEqual({ leash_id: ids.leash, status: "pending", trace_link: traceLink(ids.leash) })

        const clash = yield* send(
          HttpClientRequest.post("/v1/leashes").pipe(
            withKey(agentKey),
            HttpClientRequest.bodyUnsafeJson(toWire(Wire.LeashRequest, { ...leashRequest, leashId: decidedId }))
          )
        )
        expectErrorBody(clash, 422, "idempotency_conflict")

        const zero = yield* send(
          HttpClientRequest.post("/v1/leashes").pipe(
            withKey(agentKey),
            HttpClientRequest.bodyUnsafeJson({ ...toWire(Wire.LeashRequest, leashRequest), timeout_seconds: 0 })
          )
        )
        expect(expectErrorBody(zero, 400, "bad_request")).toContain("timeout_seconds: expected a number of seconds")

        for (const wait of ["99", "-3", "12"]) {
          const polled = yield* send(
            HttpClientRequest.get(`/v1/leashes/${ids.leash}`).pipe(
              withKey(agentKey),
              HttpClientRequest.setUrlParam("wait_seconds", wait)
            )
          )
          expect(polled.status).toBe(200)
        }
        yield* send(HttpClientRequest.get(`/v1/leashes/${ids.leash}`).pipe(withKey(agentKey)))
        expect(yield* Ref.get(waits)).toEqual([30, 0, 12, undefined])

        const fraction = yield* send(
          HttpClientRequest.get(`/v1/leashes/${ids.leash}`).pipe(
            withKey(agentKey),
            HttpClientRequest.setUrlParam("wait_seconds", "2.5")
          )
        )
        expect(expectErrorBody(fraction, 400, "bad_request")).toContain("wait_seconds")

        const badId = yield* send(HttpClientRequest.get("/v1/leashes/not-a-uuid").pipe(withKey(agentKey)))
        expect(expectErrorBody(badId, 400, "bad_request")).toContain("leash_id: expected a UUID")

        const cancel = yield* send(HttpClientRequest.post(`/v1/leashes/${ids.leash}/cancel`).pipe(withKey(agentKey)))
        expectErrorBody(cancel, 404, "not_found")

        const decision = toWire(Wire.ReviewerDecision, { decision: "approved", reason: "fine" })
        const byAgent = yield* send(
          HttpClientRequest.post(`/v1/leashes/${ids.leash}/decision`).pipe(
            withKey(agentKey),
            HttpClientRequest.bodyUnsafeJson(decision)
          )
        )
        expectErrorBody(byAgent, 403, "forbidden")

        const byReviewer = yield* send(
          HttpClientRequest.post(`/v1/leashes/${ids.leash}/decision`).pipe(
            withKey(reviewerKey),
            HttpClientRequest.bodyUnsafeJson(decision)
          )
        )
        expect(byReviewer.status).toBe(200)
        const state = Schema.decodeUnknownSync(Wire.LeashState)(byReviewer.body)
        expect(state.status === "decided" && state.decision.decidedBy).toBe("reviewer-key")

        const late = yield* send(
          HttpClientRequest.post(`/v1/leashes/${decidedId}/decision`).pipe(
            withKey(reviewerKey),
            HttpClientRequest.bodyUnsafeJson(decision)
          )
        )
        expect(expectErrorBody(late, 409, "already_decided")).toContain("already decided")

        const trail = yield* send(HttpClientRequest.get(`/v1/trails/${ids.trail}`).pipe(withKey(reviewerKey)))
        expectErrorBody(trail, 404, "not_found")

        const badLimit = yield* send(
          HttpClientRequest.get("/v1/trails").pipe(withKey(reviewerKey), HttpClientRequest.setUrlParam("limit", "0"))
        )
        expect(expectErrorBody(badLimit, 400, "bad_request")).toContain("limit")

        const lists = yield* Effect.forEach(
          ["/v1/trails", "/v1/leashes?status=pending", "/v1/flags"],
          (path) => send(HttpClientRequest.get(path).pipe(withKey(reviewerKey)))
        )
        expect(lists).toEqual([
          { status: 200, body: { trails: [] } },
          { status: 200, body: { leashes: [] } },
          { status: 200, body: { flags: [] } }
        ])
      }).pipe(Effect.provide(ServerLive))
    }))

  it.live("decodes every error answer back into its class", () =>
    Effect.gen(function*() {
      const { ServerLive } = yield* makeStub
      yield* Effect.gen(function*() {
        const client = yield* HttpClient.HttpClient
        const response = yield* client.execute(
          HttpClientRequest.post(`/v1/leashes/${decidedId}/decision`).pipe(
            withKey(reviewerKey),
            HttpClientRequest.bodyUnsafeJson({ decision: "rejected", reason: "no" })
          )
        )
        const error = yield* HttpClientResponse.schemaBodyJson(ApiError.ConflictBody)(response)
        expect(error).toBeInstanceOf(ApiError.Conflict)
        expect(error.code).toBe("already_decided")
        expect(ApiError.statusOf(error)).toBe(response.status)
      }).pipe(Effect.provide(ServerLive))
    }))
})
