/**
 * Leash.request and Leash.await over real sockets, against a programmable gate on loopback:
 * every decision value, retries, Retry-After, 4xx, transport faults, bodies that do not decode,
 * `blocking: false`, and interruption. Each test checks the decision, its reason and the one
 * review step.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Redacted, Schema, Tracer } from "effect"
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { Houndsight, HttpGate, Leash, Memory, type Trail } from "houndsight"
import { expectTypeOf } from "vitest"
import type { Decision, Wire } from "houndsight"
import { expectOneReview, inTrail, value } from "./helpers.js"
import {
  apiKey,
  closedPort,
  decided,
  errorBody,
  liveLayer,
  pending,
  type Reply,
  type Script,
  type Seen,
  startGate
} from "./gateServer.js"

const charge = {
  actionName: "stripe.charge",
  actionSummary: "Charge cus_42 $120.00",
  riskSignals: { amountUsd: 120 },
  payload: { customer: "cus_42", amountUsd: 120 },
  timeoutSeconds: 2
} as const

const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number })

/** Runs `self` in a trail against the gate at `url`; returns its exit and the review steps. */
const live = <A, E>(url: string, self: Effect.Effect<A, E, Trail.Trail | Leash.Leash>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(inTrail(self))
    const store = yield* Memory.MemoryStore
    const steps = [...(yield* store.steps)].sort((a, b) => a.seq - b.seq)
    return { exit, reviews: steps.filter((s) => s.layer === "review") }
  }).pipe(Effect.provide(liveLayer(url)))

/** Answers creates with `create(n)` and polls with `poll(n)`. */
const routes = (handlers: {
  readonly create?: (seen: Seen, n: number) => Reply | Promise<Reply>
  readonly poll?: (seen: Seen, n: number) => Reply | Promise<Reply>
  readonly cancel?: (seen: Seen, n: number) => Reply | Promise<Reply>
}): Script =>
(seen, n) => {
  const handler = seen.route === "create"
    ? handlers.create
    : seen.route === "poll"
    ? handlers.poll
    : seen.route === "cancel"
    ? handlers.cancel
    : undefined
  return handler === undefined ? { status: 404, json: errorBody("not_found", `no route ${seen.path}`) } : handler(seen, n)
}

/** A script that answers the `n`-th create with `replies[n]` (the last one repeats). */
const creates = (...replies: ReadonlyArray<(seen: Seen) => Reply>): Script =>
  routes({ create: (seen, n) => replies[Math.min(n, replies.length - 1)]!(seen) })

const ok = (json: (id: string | undefined) => unknown) => (seen: Seen): Reply => ({ status: 200, json: json(seen.leashId) })

const checkDecision = (
  ran: { exit: Exit.Exit<Decision.Decision<unknown>, unknown>; reviews: ReadonlyArray<Wire.StepRecord> },
  expected: {
    decision: Decision.Decision["decision"]
    reason: string | RegExp
    /** The page `traceLink` names: the leash's once a create was answered 2xx, else the trail's (v1.1). */
    page?: "leash" | "trail"
  },
  url: string
) => {
  const decision = value(ran.exit)
  expect(decision.decision).toBe(expected.decision)
  if (typeof expected.reason === "string") expect(decision.reason).toBe(expected.reason)
  else expect(decision.reason).toMatch(expected.reason)
  expect(decision.traceLink).toBe(
    expected.page === "trail" ? `${url}/trails/${ran.reviews[0]!.trailId}` : `${url}/leashes/${decision.leashId}`
  )
  expectOneReview(ran.reviews, decision)
  return decision
}

describe("HttpGate: each decision value over real sockets", () => {
  const cases: ReadonlyArray<{
    name: string
    script: Script
    options?: Record<string, unknown>
    decision: Decision.Decision["decision"]
    reason: string | RegExp
    page?: "trail"
  }> = [
    { name: "approved", script: creates(ok((id) => decided(id, "approved", "looks fine"))), decision: "approved", reason: "looks fine" },
    {
      name: "modified",
      script: creates(ok((id) => decided(id, "modified", "capped", { modified_payload: { customer: "cus_42", amountUsd: 100 } }))),
      options: { payloadSchema: Charge },
      decision: "modified",
      reason: "capped"
    },
    { name: "rejected", script: creates(ok((id) => decided(id, "rejected", "not this customer"))), decision: "rejected", reason: "not this customer" },
    {
      name: "blocked",
      script: creates(ok((id) => decided(id, "blocked", "charges over $10,000 need finance"))),
      decision: "blocked",
      reason: "charges over $10,000 need finance"
    },
    {
      name: "timeout (expired server-side)",
      script: routes({ create: ok(pending), poll: ok((id) => decided(id, "timeout", "expired")) }),
      decision: "timeout",
      reason: "expired"
    },
    {
      name: "error (400)",
      script: creates(() => ({ status: 400, json: errorBody("bad_request", "action_summary: expected a string") })),
      decision: "error",
      reason: "the gate answered 400 bad_request: action_summary: expected a string",
      page: "trail"
    },
    {
      name: "async (blocking: false)",
      script: creates(ok(pending)),
      options: { blocking: false },
      decision: "async",
      reason: /Leash\.await/
    }
  ]
  for (const c of cases) {
    it.live(c.name, () =>
      Effect.gen(function*() {
        const gate = yield* startGate(c.script)
        const ran = yield* live(gate.url, Leash.request({ ...charge, ...c.options } as typeof charge))
        const decision = checkDecision(ran, c, gate.url)
        if (decision.decision === "modified") {
          expect(decision.modifiedPayload).toStrictEqual({ customer: "cus_42", amountUsd: 100 })
        }
        const [create] = gate.of("create")
        expect(create!.authorization).toBe(`Bearer ${apiKey}`)
        expect(JSON.parse(create!.body)).toMatchObject({
          leash_id: decision.leashId,
          step_id: ran.reviews[0]!.id,
          action_name: "stripe.charge",
          risk_signals: { amount_usd: 120 },
          timeout_seconds: 2,
          blocking: c.options?.["blocking"] ?? true
        })
      }).pipe(Effect.scoped))
  }
})

describe("HttpGate: the payload on the wire (v1.1)", () => {
  it.live("a payload at the limit goes out whole, and the body's payload is exactly 262,144 bytes of compact JSON", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(ok((id) => decided(id, "approved", "fine"))))
      const note = "€".repeat(87_377) // 3 bytes each; {"note":"…"} is 11 bytes around it, "xy" 2 more
      const payload = { note: `${note}xy` }
      const ran = yield* live(gate.url, Leash.request({ ...charge, payload }))
      expect(value(ran.exit).decision).toBe("approved")
      const body = JSON.parse(gate.of("create")[0]!.body)
      expect(body.payload).toStrictEqual(payload)
      expect(Buffer.byteLength(JSON.stringify(body.payload))).toBe(262_144)

      const over = yield* live(gate.url, Leash.request({ ...charge, payload: { note: `${note}xyz` } }))
      expect(value(over.exit)).toMatchObject({ decision: "error" })
      expect(value(over.exit).reason).toContain("262,145 bytes")
      expect(gate.of("create")).toHaveLength(1) // the larger one was never sent
    }).pipe(Effect.scoped))
})

describe("HttpGate: retries and the deadline", () => {
  it.live("5xx, then success: the same body on every attempt", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(
        () => ({ status: 503, json: errorBody("unavailable", "restarting") }),
        () => ({ status: 502, text: "<html>bad gateway</html>" }),
        ok((id) => decided(id, "approved", "fine"))
      ))
      const ran = yield* live(gate.url, Leash.request(charge))
      checkDecision(ran, { decision: "approved", reason: "fine" }, gate.url)
      const bodies = gate.of("create").map((s) => s.body)
      expect(bodies).toHaveLength(3)
      expect(new Set(bodies).size).toBe(1)
    }).pipe(Effect.scoped))

  it.live("5xx until the deadline: timeout naming the last failure", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(() => ({ status: 503, json: errorBody("unavailable", "down for maintenance") })))
      const ran = yield* live(gate.url, Leash.request({ ...charge, timeoutSeconds: 1 }))
      checkDecision(ran, {
        decision: "timeout",
        reason: "no decision in 1 s; last failure: the gate answered 503 unavailable: down for maintenance",
        page: "trail"
      }, gate.url)
      expect(gate.of("create").length).toBeGreaterThan(1)
    }).pipe(Effect.scoped))

  for (
    const [status, form] of [
      [408, "seconds"],
      [408, "date"],
      [429, "seconds"],
      [429, "date"]
    ] as const
  ) {
    it.live(`${status} with Retry-After as ${form === "seconds" ? "seconds" : "an HTTP date"}: waits that long, then retries`, () =>
      Effect.gen(function*() {
        const gate = yield* startGate(creates(
          () => ({
            status,
            json: errorBody(status === 408 ? "request_timeout" : "rate_limited", "try later"),
            // an HTTP date has whole seconds: 2 s ahead is a wait between 1 and 2 s
            headers: { "retry-after": form === "seconds" ? "1" : new Date(Date.now() + 2000).toUTCString() }
          }),
          ok((id) => decided(id, "approved", "fine"))
        ))
        const ran = yield* live(gate.url, Leash.request({ ...charge, timeoutSeconds: 4 }))
        checkDecision(ran, { decision: "approved", reason: "fine" }, gate.url)
        const [first, second] = gate.of("create")
        // never the 250 ms back-off: the server's wait
        expect(second!.at - first!.at).toBeGreaterThanOrEqual(900)
        expect(second!.body).toBe(first!.body)
      }).pipe(Effect.scoped))
  }

  it.live("Retry-After beyond the deadline: timeout at once, without another attempt", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(() => ({
        status: 503,
        json: errorBody("unavailable", "maintenance"),
        headers: { "retry-after": "120" }
      })))
      const ran = yield* live(gate.url, Leash.request(charge))
      checkDecision(ran, {
        decision: "timeout",
        reason: "no decision in 2 s: the gate asked to retry in 120 s (the gate answered 503 unavailable: maintenance), past the deadline",
        page: "trail"
      }, gate.url)
      expect(gate.of("create")).toHaveLength(1)
    }).pipe(Effect.scoped))
})

describe("HttpGate: the gate says the request is wrong", () => {
  for (
    const [status, code] of [
      [400, "bad_request"],
      [401, "unauthorized"],
      [404, "not_found"],
      [409, "conflict"],
      [422, "leash_conflict"]
    ] as const
  ) {
    it.live(`${status}: error with the status and the server's message, no retry`, () =>
      Effect.gen(function*() {
        const gate = yield* startGate(creates(() => ({ status, json: errorBody(code, `the server says ${code}`) })))
        const ran = yield* live(gate.url, Leash.request(charge))
        checkDecision(ran, {
          decision: "error",
          reason: `the gate answered ${status} ${code}: the server says ${code}`,
          page: "trail"
        }, gate.url)
        expect(gate.of("create")).toHaveLength(1)
      }).pipe(Effect.scoped))
  }
})

describe("HttpGate: transport faults", () => {
  it.live("connection refused until the deadline: timeout naming ECONNREFUSED", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const url = `http://127.0.0.1:${port}`
      const ran = yield* live(url, Leash.request({ ...charge, timeoutSeconds: 1 }))
      checkDecision(ran, { decision: "timeout", reason: /^no decision in 1 s; last failure: could not reach the gate at .*ECONNREFUSED/, page: "trail" }, url)
    }))

  it.live("reset mid-request, then success: approved", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(() => ({ reset: true }), ok((id) => decided(id, "approved", "fine"))))
      const ran = yield* live(gate.url, Leash.request(charge))
      checkDecision(ran, { decision: "approved", reason: "fine" }, gate.url)
      expect(gate.of("create")).toHaveLength(2)
    }).pipe(Effect.scoped))

  it.live("a gate that never answers: timeout at the deadline, the attempt cut there", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(() => ({ hang: true })))
      const ran = yield* live(gate.url, Leash.request({ ...charge, timeoutSeconds: 1 }))
      checkDecision(ran, { decision: "timeout", reason: "no decision in 1 s; last failure: the gate did not answer before the deadline", page: "trail" }, gate.url)
      expect(gate.of("create")).toHaveLength(1)
    }).pipe(Effect.scoped))
})

describe("HttpGate: answers that do not decode", () => {
  it.live("a 2xx that is not JSON: error", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(() => ({ status: 200, text: "<html>proxy login</html>" })))
      const ran = yield* live(gate.url, Leash.request(charge))
      checkDecision(ran, { decision: "error", reason: /^the gate answered 200 with a body that is not JSON: "<html>proxy login<\/html>"/, page: "trail" }, gate.url)
    }).pipe(Effect.scoped))

  it.live("a 2xx that is not a leash state: error with the decode error", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(ok((id) => ({ leash_id: id, status: "approved" }))))
      const ran = yield* live(gate.url, Leash.request(charge))
      const decision = checkDecision(ran, { decision: "error", reason: /^the gate answered 200 with a body that is not a leash state/, page: "trail" }, gate.url)
      expect(decision.reason).toContain("status")
    }).pipe(Effect.scoped))

  it.live("a modified payload that fails payloadSchema: error", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(creates(ok((id) => decided(id, "modified", "edited", { modified_payload: { customer: 7 } }))))
      const ran = yield* live(gate.url, Leash.request({ ...charge, payloadSchema: Charge }))
      const decision = value(ran.exit)
      expect(decision.decision).toBe("error")
      expect(decision.reason).toMatch(/^the reviewer's modified payload does not match payloadSchema/)
      expectOneReview(ran.reviews, decision, { modifiedPayload: { customer: 7 } })
    }).pipe(Effect.scoped))
})

describe("HttpGate: waiting", () => {
  it.live("a pending leash is long-polled until the reviewer decides", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(routes({
        create: ok(pending),
        poll: (seen) =>
          new Promise<Reply>((resolve) => setTimeout(() => resolve({ status: 200, json: decided(seen.leashId, "approved", "ok by alice") }), 200))
      }))
      const ran = yield* live(gate.url, Leash.request(charge))
      checkDecision(ran, { decision: "approved", reason: "ok by alice" }, gate.url)
      const [poll] = gate.of("poll")
      expect(Number(poll!.query.get("wait_seconds"))).toBeGreaterThanOrEqual(1)
      expect(Number(poll!.query.get("wait_seconds"))).toBeLessThanOrEqual(2)
      expect(poll!.authorization).toBe(`Bearer ${apiKey}`)
    }).pipe(Effect.scoped))

  it.live("blocking: false, then Leash.await: async, then the decision, one review step each", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(routes({
        create: ok(pending),
        poll: ok((id) => decided(id, "rejected", "not today"))
      }))
      const ran = yield* live(
        gate.url,
        Effect.gen(function*() {
          const first = yield* Leash.request({ ...charge, blocking: false })
          const second = yield* Leash.await(first, { timeoutSeconds: 2 })
          return [first, second] as const
        })
      )
      const [first, second] = value(ran.exit)
      expect(first).toMatchObject({ decision: "async", approved: false })
      expect(second).toMatchObject({ decision: "rejected", reason: "not today", leashId: first.leashId })
      expect(ran.reviews).toHaveLength(2)
      expectOneReview([ran.reviews[0]!], first)
      expectOneReview([ran.reviews[1]!], second)
      expect(gate.of("poll")[0]!.leashId).toBe(first.leashId)
    }).pipe(Effect.scoped))

  it.live("interrupted while waiting: the review step is recorded and the leash cancelled", () =>
    Effect.gen(function*() {
      const polling = yield* Deferred.make<void>()
      const gate = yield* startGate(routes({
        create: ok(pending),
        poll: () => {
          Effect.runSync(Deferred.succeed(polling, undefined))
          return { hang: true }
        },
        cancel: ok((id) => decided(id, "timeout", "cancelled by the agent"))
      }))
      const ran = yield* live(
        gate.url,
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Leash.request(charge))
          yield* Deferred.await(polling)
          return yield* Fiber.interrupt(fiber)
        })
      )
      expect(Exit.isInterrupted(value(ran.exit))).toBe(true)
      expect(ran.reviews).toHaveLength(1)
      expect(ran.reviews[0]).toMatchObject({
        status: "interrupted",
        output: { decision: "timeout", approved: false, reason: "interrupted" },
        leash: { decision: "timeout", reason: "interrupted" }
      })
      const [cancel] = gate.of("cancel")
      expect(cancel!.leashId).toBe(JSON.parse(gate.of("create")[0]!.body).leash_id)
      expect(cancel!.authorization).toBe(`Bearer ${apiKey}`)
    }).pipe(Effect.scoped))
})

describe("HttpGate: its own calls", () => {
  it.live("are not traced and carry no trace headers, even inside the agent's spans", () =>
    Effect.gen(function*() {
      const gate = yield* startGate(routes({ create: ok(pending), poll: ok((id) => decided(id, "approved", "fine")) }))
      const native = yield* Effect.tracer
      const spans: Array<string> = []
      const recording = Tracer.make({
        span: (name, ...rest) => {
          spans.push(name)
          return native.span(name, ...rest)
        },
        context: (f, fiber) => native.context(f, fiber)
      })
      const ran = yield* live(gate.url, Leash.request(charge).pipe(Effect.withSpan("agent.charge"))).pipe(
        Effect.withTracer(recording)
      )
      checkDecision(ran, { decision: "approved", reason: "fine" }, gate.url)
      expect(spans).toStrictEqual(["agent.charge"])
      for (const seen of gate.seen()) {
        expect(Object.keys(seen.headers).filter((h) => h === "traceparent" || h.startsWith("b3"))).toStrictEqual([])
      }
    }).pipe(Effect.scoped))
})

describe("HttpGate.layer", () => {
  it.effect("refuses a reviewer key with the typed HoundsightConfigError Houndsight.layer gives, not a defect", () =>
    Effect.gen(function*() {
      const layer = HttpGate.layer({ endpoint: "http://127.0.0.1:7411", apiKey: Redacted.make("rv-hnd-reviewer") })
      expectTypeOf(layer).toEqualTypeOf<Layer.Layer<Leash.Leash, Houndsight.HoundsightConfigError, HttpClient.HttpClient>>()
      const error = yield* Effect.flip(Layer.build(layer).pipe(Effect.provide(FetchHttpClient.layer), Effect.scoped))
      expect(error).toBeInstanceOf(Houndsight.HoundsightConfigError)
      expect(error).toMatchObject({ _tag: "HoundsightConfigError", setting: "apiKey", reason: "Invalid" })
      expect(error.message).toContain("reviewer key")
      expect(String(error)).not.toContain("rv-hnd-reviewer")
      // the same words as the live layer's
      const live = yield* Effect.flip(Houndsight.validate({ apiKey: Redacted.make("rv-hnd-reviewer"), agent: "a" }))
      expect(error.message).toBe(live.message)
    }))

  it.effect("refuses an endpoint that is not an http(s) URL, or none, with a typed error naming the setting", () =>
    Effect.gen(function*() {
      for (const endpoint of ["127.0.0.1:7411", "ftp://127.0.0.1:7411", undefined]) {
        const error = yield* Effect.flip(
          HttpGate.make({ endpoint: endpoint as string, apiKey: Redacted.make(apiKey) }).pipe(
            Effect.provide(FetchHttpClient.layer)
          )
        )
        expect(error).toMatchObject({ _tag: "HoundsightConfigError", setting: "endpoint" })
        expect(error.message).toContain("http://127.0.0.1:7411")
      }
    }))

  it("reads Retry-After in both forms", () => {
    const now = Date.parse("2026-11-24T09:00:00.000Z")
    expect(HttpGate.parseRetryAfter("3", now)).toBe(3000)
    expect(HttpGate.parseRetryAfter("Tue, 24 Nov 2026 09:00:05 GMT", now)).toBe(5000)
    expect(HttpGate.parseRetryAfter("Tue, 24 Nov 2026 08:00:00 GMT", now)).toBe(0)
    expect(HttpGate.parseRetryAfter("soon", now)).toBeUndefined()
    expect(HttpGate.parseRetryAfter("-1", now)).toBeUndefined()
    // one rule with the exporter's (RFC 9110): delay-seconds are whole; a bare number is no date
    expect(HttpGate.parseRetryAfter("1.5", now)).toBeUndefined()
    expect(HttpGate.parseRetryAfter("2026", now)).toBe(2_026_000)
    expect(HttpGate.parseRetryAfter("2026-11-24", now)).toBeUndefined()
    expect(HttpGate.parseRetryAfter(" 7 ", now)).toBe(7000)
  })
})
