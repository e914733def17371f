/**
 * `POST /v1/traces` (issue 17, "OTLP into the gate server"), with the real OpenTelemetry JS
 * exporters (`@opentelemetry/exporter-trace-otlp-proto` and `-http`) sending to a server on
 * 127.0.0.1: spans become steps and the root span the trail, whatever order and requests they
 * arrive in; a re-sent span is a duplicate; `gen_ai.*` attributes fill `model` and `tokens`; a
 * review span carries its decision and the bypass audit flags on them as on native records; and
 * the OTLP/HTTP answers (`google.rpc.Status`, partial success, 400, 401/403, 413, 415).
 */
import { describe, expect, it } from "@effect/vitest"
import { context, trace, type Span, SpanStatusCode } from "@opentelemetry/api"
import { OTLPTraceExporter as HttpExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto"
import { resourceFromAttributes } from "@opentelemetry/resources"
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter
} from "@opentelemetry/sdk-trace-base"
import { Effect } from "effect"
import protobuf from "protobufjs/light.js"
import * as NodeHttp from "node:http"
import * as Zlib from "node:zlib"
import * as OtlpMapping from "../src/OtlpMapping.js"
import * as OtlpRoute from "../src/OtlpRoute.js"
import { signIn } from "./dashboard/helpers.js"
import { type Running, startServer } from "./helpers.js"

const rules = { sensitive: ["stripe.*"], rules: [] }

/** Spans recorded by a real tracer provider into memory, to be exported in the order a test picks. */
const recorder = (serviceName: string) => {
  const memory = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new SimpleSpanProcessor(memory)]
  })
  const tracer = provider.getTracer("otlp-test")
  let clock = Date.UTC(2026, 11, 2, 9, 0, 0)
  /** Starts a span one millisecond after the previous one. */
  const start = (name: string, parent?: Span, attributes: Record<string, string | number | boolean> = {}): Span =>
    tracer.startSpan(
      name,
      { attributes, startTime: new Date(clock++) },
      parent === undefined ? context.active() : trace.setSpan(context.active(), parent)
    )
  const end = (span: Span): void => span.end(new Date(clock++))
  const finished = (): ReadonlyArray<ReadableSpan> => memory.getFinishedSpans()
  const named = (name: string): ReadableSpan => finished().find((s) => s.name === name)!
  return { start, end, finished, named }
}

/** Exports these spans through a real OTLP exporter, as one request; fails unless it succeeded. */
const exportSpans = (exporter: SpanExporter, spans: ReadonlyArray<ReadableSpan>) =>
  Effect.async<void, Error>((resume) => {
    exporter.export([...spans], (result) => {
      resume(result.code === 0 ? Effect.void : Effect.fail(result.error ?? new Error(`export failed: ${result.code}`)))
    })
  })

const protoExporter = (s: Running, key: string, gzip: boolean) =>
  new ProtoExporter({
    url: `${s.url}/v1/traces`,
    headers: { authorization: `Bearer ${key}` },
    ...(gzip ? { compression: "gzip" as never } : {}),
    timeoutMillis: 5_000
  })

const jsonExporter = (s: Running, key: string) =>
  new HttpExporter({ url: `${s.url}/v1/traces`, headers: { authorization: `Bearer ${key}` }, timeoutMillis: 5_000 })

const trailIdOf = (span: ReadableSpan) => OtlpMapping.trailIdOf(Buffer.from(span.spanContext().traceId, "hex"))
const stepIdOf = (span: ReadableSpan) =>
  OtlpMapping.stepIdOf(Buffer.from(span.spanContext().traceId, "hex"), Buffer.from(span.spanContext().spanId, "hex"))

const trailDetail = (s: Running, trailId: string) =>
  Effect.map(s.reviewer.get(`/v1/trails/${trailId}`), (answer) => {
    expect(answer.status).toBe(200)
    return answer.body as {
      trail: Record<string, any> | null
      steps: ReadonlyArray<Record<string, any>>
      flags: ReadonlyArray<Record<string, any>>
    }
  })

const statusType = protobuf.Root.fromJSON({
  nested: { Status: { fields: { code: { type: "int32", id: 1 }, message: { type: "string", id: 2 } } } }
}).lookupType("Status")

/** A raw POST to /v1/traces. */
const post = (s: Running, body: Uint8Array | string, headers: Record<string, string>) =>
  Effect.promise(async () => {
    const response = await fetch(`${s.url}/v1/traces`, { method: "POST", headers, body: body as unknown as string })
    return { status: response.status, headers: response.headers, bytes: new Uint8Array(await response.arrayBuffer()) }
  })

const jsonOf = (bytes: Uint8Array): any => JSON.parse(Buffer.from(bytes).toString("utf8"))

/** A minimal OTLP/JSON request of one span. */
const jsonRequest = (span: Record<string, unknown>, traceId = "5b8efff798038103d269b633813fc60c") => ({
  resourceSpans: [{
    resource: { attributes: [{ key: "service.name", value: { stringValue: "json-agent" } }] },
    scopeSpans: [{
      scope: { name: "raw" },
      spans: [{
        traceId,
        spanId: "eee19b7ec3c1b174",
        name: "stripe.charge",
        kind: 3,
        startTimeUnixNano: "1764666000000000000",
        endTimeUnixNano: "1764666000500000000",
        attributes: [],
        status: {},
        ...span
      }]
    }]
  }]
})

describe("OTLP ids", () => {
  it("trace and span ids map to the UUID v8 values docs/otlp.md gives, computed independently", () => {
    const traceId = Buffer.from("5b8efff798038103d269b633813fc60c", "hex")
    expect(OtlpMapping.trailIdOf(traceId)).toBe("f5f5211d-5113-8872-9eeb-2ea66cca030e")
    expect(OtlpMapping.stepIdOf(traceId, Buffer.from("eee19b7ec3c1b174", "hex"))).toBe("3eb8ee41-39b1-8e2f-8261-049366ce8ef3")
  })
})

describe("POST /v1/traces", () => {
  it.scopedLive(
    "protobuf and gzip, children before parents across requests: seq follows start time, the root span makes the trail, gen_ai attributes give model and tokens, a rejected review's action is an ignored decision",
    () =>
      Effect.gen(function*() {
        const s = yield* startServer({ rulesFile: rules })
        const r = recorder("billing-bot")
        const root = r.start("handle-ticket", undefined, { "houndsight.payload": "{\"ticket\":42}" })
        const model = r.start("chat gpt-4o", root, {
          "gen_ai.operation.name": "chat",
          "gen_ai.provider.name": "openai",
          "gen_ai.request.model": "gpt-4o",
          "gen_ai.response.model": "gpt-4o-2024-08-06",
          "gen_ai.usage.input_tokens": 120,
          "gen_ai.usage.output_tokens": 30,
          "gen_ai.usage.cache_read.input_tokens": 100,
          "gen_ai.usage.reasoning.output_tokens": 12
        })
        r.end(model)
        const review = r.start("review stripe.charge", root, {
          "houndsight.layer": "review",
          "houndsight.leash.id": "0F8FAD5B-D9CB-469F-A165-70867728950E",
          "houndsight.leash.action_name": "stripe.charge",
          "houndsight.leash.decision": "rejected",
          "houndsight.leash.reason": "too large"
        })
        r.end(review)
        const charge = r.start("stripe.charge", root, { amount_usd: 120 })
        charge.setStatus({ code: SpanStatusCode.ERROR, message: "card declined" })
        r.end(charge)
        r.end(root)

        const exporter = protoExporter(s, s.agentKey, true)
        // the last-starting span first, then the root, then the two that started in between
        yield* exportSpans(exporter, [r.named("stripe.charge")])
        yield* exportSpans(exporter, [r.named("handle-ticket")])
        yield* exportSpans(exporter, [r.named("review stripe.charge"), r.named("chat gpt-4o")])

        const trailId = trailIdOf(r.named("handle-ticket"))
        const detail = yield* trailDetail(s, trailId)
        expect(detail.trail).toMatchObject({
          id: trailId,
          agent: "billing-bot",
          trigger: "handle-ticket",
          payload: { ticket: 42 },
          status: "ok",
          started_at: "2026-12-02T09:00:00.000Z",
          ended_at: "2026-12-02T09:00:00.007Z"
        })
        expect(detail.steps.map((step) => step.name)).toEqual(["handle-ticket", "chat gpt-4o", "stripe.charge", "stripe.charge"])
        expect(detail.steps.map((step) => step.layer)).toEqual(["execute", "reason", "review", "execute"])
        const seqs = detail.steps.map((step) => step.seq as number)
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
        expect(new Set(seqs).size).toBe(4)
        const rootId = stepIdOf(r.named("handle-ticket"))
        expect(detail.steps[0]).toMatchObject({ id: rootId, parent_id: null })
        for (const step of detail.steps.slice(1)) expect(step.parent_id).toBe(rootId)
        expect(detail.steps[1]).toMatchObject({
          model: { provider: "openai", name: "gpt-4o-2024-08-06" },
          tokens: { input: 120, output: 30, cached_input: 100, reasoning: 12 }
        })
        expect(detail.steps[2]).toMatchObject({
          status: "ok",
          leash: {
            leash_id: "0f8fad5b-d9cb-469f-a165-70867728950e",
            action_name: "stripe.charge",
            decision: "rejected",
            approved: false,
            reason: "too large"
          }
        })
        expect(detail.steps[3]).toMatchObject({
          status: "error",
          error: { type: "Error", message: "card declined" },
          input: { amount_usd: 120 }
        })
        expect(detail.flags).toEqual([
          expect.objectContaining({ kind: "ignored_decision", step_id: stepIdOf(r.named("stripe.charge")) })
        ])
        yield* Effect.promise(() => exporter.shutdown())
      })
  )

  it.scopedLive(
    "OTLP/JSON with hex ids: a sensitive execute span with no review is an unleashed action; a re-sent trace is a duplicate that changes nothing",
    () =>
      Effect.gen(function*() {
        const s = yield* startServer({ rulesFile: rules })
        const r = recorder("json-agent")
        const root = r.start("run")
        r.end(r.start("stripe.refund", root, { "houndsight.layer": "execute", "houndsight.output": "{\"refunded\":true}" }))
        r.end(r.start("lookup", root))
        r.end(root)
        const exporter = jsonExporter(s, s.agentKey)
        yield* exportSpans(exporter, r.finished())
        const trailId = trailIdOf(r.named("run"))
        const first = yield* trailDetail(s, trailId)
        expect(first.steps).toHaveLength(3)
        expect(first.steps.find((step) => step.name === "stripe.refund")).toMatchObject({ output: { refunded: true } })
        expect(first.flags).toEqual([
          expect.objectContaining({ kind: "unleashed_action", step_id: stepIdOf(r.named("stripe.refund")), action_name: "stripe.refund" })
        ])
        // the same spans again, in the other order, in two requests
        yield* exportSpans(exporter, [r.named("run")])
        yield* exportSpans(exporter, [r.named("lookup"), r.named("stripe.refund")])
        const again = yield* trailDetail(s, trailId)
        expect(again).toEqual(first)
        const list = yield* s.reviewer.get(`/v1/trails?agent=json-agent`)
        expect(list.body.trails.map((t: { id: string }) => t.id)).toEqual([trailId])
        // the dashboard's trail page shows the spans as steps, and the flag
        const { tab } = yield* signIn(s)
        const page = yield* tab.get(`/trails/${trailId}`)
        expect(page.status).toBe(200)
        for (const id of first.steps.map((step) => step.id)) expect(page.text).toContain(`id="step-${id}"`)
        expect(page.text).toContain("stripe.refund")
        expect(page.text.toLowerCase()).toContain("unleashed action")
        yield* Effect.promise(() => exporter.shutdown())
      })
  )

  it.scopedLive("a review span approved by a leash the server holds is verified: its action is not flagged", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const r = recorder("billing-bot")
      const root = r.start("pay")
      r.end(root)
      const trailId = trailIdOf(r.named("pay"))
      const leashId = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
      const created = yield* s.agent.post("/v1/leashes", {
        body: {
          leash_id: leashId,
          trail_id: trailId,
          step_id: "16fd2706-8baf-433b-82eb-8c7fada847da",
          agent: "billing-bot",
          action_name: "stripe.charge",
          action_summary: "Charge $12",
          risk_signals: { amount_usd: 12 },
          payload: { amount_usd: 12 },
          timeout_seconds: 300,
          blocking: true
        }
      })
      expect(created.status).toBe(200)
      const decided = yield* s.reviewer.post(`/v1/leashes/${leashId}/decision`, { body: { decision: "approved" } })
      expect(decided.status).toBe(200)
      // spans of the same trace, recorded after the decision
      const parent = trace.wrapSpanContext(r.named("pay").spanContext())
      const review = r.start("stripe.charge", parent, {
        "houndsight.layer": "review",
        "houndsight.leash.id": leashId,
        "houndsight.leash.decision": "approved"
      })
      r.end(review)
      const charge = r.start("stripe.charge", parent)
      r.end(charge)
      const exporter = protoExporter(s, s.agentKey, false)
      yield* exportSpans(exporter, r.finished())
      const detail = yield* trailDetail(s, trailId)
      expect(detail.steps.map((step) => step.layer)).toEqual(["execute", "review", "execute"])
      expect(detail.flags).toEqual([])
      yield* Effect.promise(() => exporter.shutdown())
    }))

  it.scopedLive("answers in OTLP: partial success names the rejected span, 415, 400 (protobuf Status for a protobuf request), 413 for a gzip bomb, 401 and 403", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const auth = { authorization: `Bearer ${s.agentKey}` }

      const partial = yield* post(
        s,
        JSON.stringify(jsonRequest({ attributes: [{ key: "houndsight.layer", value: { stringValue: "teleport" } }] })),
        { ...auth, "content-type": "application/json" }
      )
      expect(partial.status).toBe(200)
      const body = jsonOf(partial.bytes)
      expect(body.partialSuccess.rejectedSpans).toBe(1)
      expect(body.partialSuccess.errorMessage).toContain("houndsight.layer must be one of")

      const ok = yield* post(s, JSON.stringify(jsonRequest({})), { ...auth, "content-type": "application/json" })
      expect(ok.status).toBe(200)
      expect(jsonOf(ok.bytes)).toEqual({})
      const stored = yield* s.reviewer.get("/v1/trails/f5f5211d-5113-8872-9eeb-2ea66cca030e")
      expect(stored.body.steps.map((step: { id: string }) => step.id)).toEqual(["3eb8ee41-39b1-8e2f-8261-049366ce8ef3"])
      expect(stored.body.trail).toMatchObject({ agent: "json-agent", trigger: "stripe.charge", tags: { "otel.trace_id": "5b8efff798038103d269b633813fc60c" } })
      const openApi = yield* s.anonymous.get("/v1/openapi.json")
      expect(Object.keys(openApi.body.paths["/v1/traces"].post.requestBody.content)).toEqual(["application/x-protobuf", "application/json"])
      const flags = yield* s.reviewer.get(`/v1/flags`)
      expect(flags.body.flags).toEqual([expect.objectContaining({ kind: "unleashed_action", action_name: "stripe.charge" })])

      const wrongType = yield* post(s, "x", { ...auth, "content-type": "text/plain" })
      expect(wrongType.status).toBe(415)
      expect(jsonOf(wrongType.bytes)).toMatchObject({ code: 3, message: expect.stringContaining("application/x-protobuf") })

      const badProto = yield* post(s, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), {
        ...auth,
        "content-type": "application/x-protobuf"
      })
      expect(badProto.status).toBe(400)
      expect(badProto.headers.get("content-type")).toBe("application/x-protobuf")
      expect(statusType.toObject(statusType.decode(badProto.bytes))).toMatchObject({
        code: 3,
        message: expect.stringContaining("not a protobuf ExportTraceServiceRequest")
      })

      const badJson = yield* post(s, "{\"resourceSpans\": 7}", { ...auth, "content-type": "application/json" })
      expect(badJson.status).toBe(400)
      expect(jsonOf(badJson.bytes).message).toContain("resourceSpans must be a list")

      const badHex = yield* post(s, JSON.stringify(jsonRequest({}, "not-hex")), { ...auth, "content-type": "application/json" })
      expect(jsonOf(badHex.bytes).partialSuccess).toMatchObject({ rejectedSpans: 1, errorMessage: expect.stringContaining("32 hex digits") })

      // 64 MiB of zeros gzip to about 64 KiB: inflated only up to the limit, then refused
      const bomb = Zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024))
      expect(bomb.length).toBeLessThan(256 * 1024)
      const bombed = yield* post(s, bomb, { ...auth, "content-type": "application/x-protobuf", "content-encoding": "gzip" })
      expect(bombed.status).toBe(413)
      expect(statusType.toObject(statusType.decode(bombed.bytes))).toMatchObject({
        code: 8,
        message: expect.stringContaining("inflates past")
      })

      const noKey = yield* post(s, JSON.stringify(jsonRequest({})), { "content-type": "application/json" })
      expect(noKey.status).toBe(401)
      expect(jsonOf(noKey.bytes)).toMatchObject({ code: 16 })
      const reviewerKey = yield* post(s, JSON.stringify(jsonRequest({}, "6b8efff798038103d269b633813fc60c")), {
        authorization: `Bearer ${s.reviewerKey}`,
        "content-type": "application/json"
      })
      expect(reviewerKey.status).toBe(403)
      const refused = yield* s.reviewer.get(`/v1/trails/${OtlpMapping.trailIdOf(Buffer.from("6b8efff798038103d269b633813fc60c", "hex"))}`)
      expect(refused.status).toBe(404)
    }))

  it.scopedLive("more requests decoding at once than the server allows: 429 with Retry-After, and the server answers again once they end", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const url = new URL(`${s.url}/v1/traces`)
      // requests whose bodies never finish arriving hold their place until they are cut
      const held = yield* Effect.acquireRelease(
        Effect.sync(() =>
          Array.from({ length: OtlpRoute.maxConcurrent }, () => {
            const request = NodeHttp.request({
              host: url.hostname,
              port: url.port,
              path: url.pathname,
              method: "POST",
              headers: { authorization: `Bearer ${s.agentKey}`, "content-type": "application/json" }
            })
            request.on("error", () => {})
            request.write("{\"resourceSpans\": [")
            return request
          })
        ),
        (requests) => Effect.sync(() => requests.forEach((r) => r.destroy()))
      )
      const probe = post(s, JSON.stringify(jsonRequest({})), {
        authorization: `Bearer ${s.agentKey}`,
        "content-type": "application/json"
      })
      let answer = yield* probe
      for (let i = 0; i < 100 && answer.status !== 429; i++) {
        yield* Effect.sleep("20 millis")
        answer = yield* probe
      }
      expect(answer.status).toBe(429)
      expect(answer.headers.get("retry-after")).toBe("1")
      expect(jsonOf(answer.bytes)).toMatchObject({ code: 8, message: expect.stringContaining("retry after 1 s") })
      held.forEach((r) => r.destroy())
      let after = yield* probe
      for (let i = 0; i < 100 && after.status === 429; i++) {
        yield* Effect.sleep("20 millis")
        after = yield* probe
      }
      expect(after.status).toBe(200)
    }))

  it.scopedLive("the real exporter is told why: a refused key fails the export", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ rulesFile: rules })
      const r = recorder("billing-bot")
      r.end(r.start("run"))
      const exporter = protoExporter(s, "sk-hnd-not-a-key", true)
      const error = yield* Effect.flip(exportSpans(exporter, r.finished()))
      expect(String(error)).toMatch(/401|Unauthorized/i)
      yield* Effect.promise(() => exporter.shutdown())
    }))
})
