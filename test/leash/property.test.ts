/**
 * A property of Leash.request over the HTTP gate: for any sequence of gate answers and faults
 * (5xx, 408, 429 with or without Retry-After in either form, other 4xx, refused connections,
 * hangs, slow answers, pending, every decision, bodies that do not decode, answers for another
 * leash), every call yields one Decision and one review step, is approved only if the gate said
 * approved or modified, sends the same body on every create, and never ends after its deadline.
 * Runs on a fake HttpClient under TestClock.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, FastCheck as fc, Fiber, Layer, Redacted, TestClock } from "effect"
import { HttpGate, Leash, Memory, Trail } from "houndsight"
import { expectWireValid } from "./helpers.js"

type Answer =
  | { readonly kind: "status"; readonly status: number; readonly retryAfter?: number; readonly asDate?: boolean }
  | { readonly kind: "reject"; readonly status: number }
  | { readonly kind: "pending"; readonly holdMillis: number }
  | { readonly kind: "decided"; readonly decision: string; readonly delayMillis: number }
  | { readonly kind: "refused" }
  | { readonly kind: "hang" }
  | { readonly kind: "notJson" }
  | { readonly kind: "badState" }
  | { readonly kind: "wrongId" }

const answer: fc.Arbitrary<Answer> = fc.oneof(
  fc.record(
    {
      kind: fc.constant("status" as const),
      status: fc.constantFrom(500, 502, 503, 504, 408, 429),
      retryAfter: fc.integer({ min: 0, max: 200 }),
      asDate: fc.boolean()
    },
    { requiredKeys: ["kind", "status"] }
  ),
  fc.record({ kind: fc.constant("reject" as const), status: fc.constantFrom(400, 401, 403, 404, 409, 413, 422) }),
  fc.record({ kind: fc.constant("pending" as const), holdMillis: fc.integer({ min: 0, max: 40_000 }) }),
  fc.record({
    kind: fc.constant("decided" as const),
    decision: fc.constantFrom("approved", "modified", "rejected", "blocked", "timeout"),
    delayMillis: fc.integer({ min: 0, max: 40_000 })
  }),
  fc.constant({ kind: "refused" as const }),
  fc.constant({ kind: "hang" as const }),
  fc.constant({ kind: "notJson" as const }),
  fc.constant({ kind: "badState" as const }),
  fc.constant({ kind: "wrongId" as const })
)

const otherId = "0190f5e4-8a3c-7d1e-9b2a-3c4d5e6f7a8b"

/** A fake HttpClient that answers the n-th request with `answers[n]`, then hangs. */
const fakeClient = (answers: ReadonlyArray<Answer>) => {
  const consumed: Array<Answer> = []
  const createBodies: Array<string> = []
  const client = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const isCreate = request.method === "POST" && url.pathname === "/v1/leashes"
      let leashId = decodeURIComponent(url.pathname.split("/")[3] ?? "")
      if (isCreate) {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        createBodies.push(body)
        leashId = (JSON.parse(body) as { leash_id: string }).leash_id
      }
      const a = answers[consumed.length]
      if (a === undefined) return yield* Effect.never
      consumed.push(a)
      const respond = (status: number, body: string, headers: Record<string, string> = {}) =>
        HttpClientResponse.fromWeb(
          request,
          new Response(body, { status, headers: { "content-type": "application/json", ...headers } })
        )
      const now = yield* Clock.currentTimeMillis
      switch (a.kind) {
        case "status": {
          const headers: Record<string, string> = {}
          if (a.retryAfter !== undefined) {
            headers["retry-after"] = a.asDate === true
              ? new Date(Math.ceil((now + a.retryAfter * 1000) / 1000) * 1000).toUTCString()
              : String(a.retryAfter)
          }
          return respond(a.status, JSON.stringify({ error: { code: "unavailable", message: "try later" } }), headers)
        }
        case "reject":
          return respond(a.status, JSON.stringify({ error: { code: "bad_request", message: "no" } }))
        case "pending":
          yield* Effect.sleep(a.holdMillis)
          return respond(200, JSON.stringify({ leash_id: leashId, status: "pending", trace_link: "t" }))
        case "decided":
          yield* Effect.sleep(a.delayMillis)
          return respond(
            200,
            JSON.stringify({
              leash_id: leashId,
              status: "decided",
              decision: {
                decision: a.decision,
                reason: `gate said ${a.decision}`,
                ...(a.decision === "modified" ? { modified_payload: { amountUsd: 1 } } : {}),
                decided_at: "2026-11-24T09:00:00.000Z",
                trace_link: "t"
              }
            })
          )
        case "refused":
          return yield* new HttpClientError.RequestError({
            request,
            reason: "Transport",
            cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })
          })
        case "hang":
          return yield* Effect.never
        case "notJson":
          return respond(200, "<html>login</html>")
        case "badState":
          return respond(200, JSON.stringify({ leash_id: leashId, status: "approved" }))
        case "wrongId":
          return respond(200, JSON.stringify({ leash_id: otherId, status: "pending", trace_link: "t" }))
      }
    })
  )
  return { client, consumed, createBodies }
}

it.effect.prop(
  "every call: one Decision, one review step, approved only if the gate said so, never after the deadline",
  {
    answers: fc.array(answer, { maxLength: 12 }),
    timeoutSeconds: fc.oneof(fc.integer({ min: 1, max: 120 }), fc.double({ min: 0.5, max: 60, noNaN: true })),
    blocking: fc.boolean()
  },
  ({ answers, blocking, timeoutSeconds }) =>
    Effect.gen(function*() {
      const fake = fakeClient(answers)
      const layer = Layer.merge(
        Memory.layer(),
        HttpGate.layer({ endpoint: "http://gate.test", apiKey: Redacted.make("sk-hnd-prop") }).pipe(
          Layer.provide(Layer.succeed(HttpClient.HttpClient, fake.client))
        )
      )
      const start = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.fork(
        Effect.gen(function*() {
          const decision = yield* Leash.request({
            actionName: "stripe.charge",
            actionSummary: "Charge $1",
            riskSignals: { amountUsd: 1 },
            payload: { amountUsd: 1 },
            timeoutSeconds,
            blocking
          })
          return { decision, at: yield* Clock.currentTimeMillis }
        }).pipe(
          Trail.run({ trigger: "prop", payload: {} }),
          Effect.zip(Effect.flatMap(Memory.MemoryStore, (store) => store.steps), { concurrent: false }),
          Effect.provide(layer)
        )
      )
      yield* TestClock.adjust(Math.ceil(timeoutSeconds * 1000) + 1_000)
      const exit = fiber.unsafePoll()
      expect(exit, "the call did not end by its deadline").not.toBeNull()
      expect(Exit.isSuccess(exit!)).toBe(true)
      const [{ at, decision }, steps] = yield* Fiber.join(fiber)

      // never after the deadline
      expect(at - start).toBeLessThanOrEqual(timeoutSeconds * 1000 + 1)

      // exactly one review step, carrying this decision
      const reviews = steps.filter((s) => s.layer === "review")
      expect(reviews).toHaveLength(1)
      expect(reviews[0]!.leash).toMatchObject({ decision: decision.decision, approved: decision.approved })
      expect((reviews[0]!.output as { decision: string }).decision).toBe(decision.decision)
      expectWireValid(reviews[0]!)

      // approved only if the gate's last answer said approved or modified
      if (decision.approved) {
        const last = fake.consumed[fake.consumed.length - 1]
        expect(last?.kind).toBe("decided")
        expect(["approved", "modified"]).toContain((last as { decision: string }).decision)
      }
      if (decision.decision === "async") expect(blocking).toBe(false)

      // one body for every retry of the create
      expect(new Set(fake.createBodies).size).toBeLessThanOrEqual(1)
    }),
  { fastCheck: { numRuns: 150 } }
)
