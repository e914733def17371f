/**
 * The leash through the fault proxy (ISSUE 7, point 3; DESIGN.md section 3), with the real SDK
 * (`Houndsight.layer`: the HTTP gate and the exporter) and the real server (a child process):
 *
 * - every fault gives the Decision section 3 names for it: transport faults, 5xx, 408 and 429
 *   until the deadline give `timeout` (naming the last failure); a `Retry-After` past the deadline
 *   gives `timeout` at once; any other 4xx, or a 2xx that is not a leash state, gives `error`;
 *   through faults that let some requests pass, the reviewer's decision arrives;
 * - no call returns after its deadline, give or take `slackMillis` (below) of scheduling;
 * - once the server is reachable again, exactly one review step per call reaches it, carrying
 *   the same Decision the agent got.
 *
 * The cases run side by side, each with its own proxy and its own live layer, so the file takes
 * about one deadline, not one per case.
 */
import { expect, it, layer } from "@effect/vitest"
import { Clock, Context, Effect, Fiber, Layer, Schema, TestClock } from "effect"
import { type Decision, Leash, Memory, Trail } from "houndsight"
import * as Crypto from "node:crypto"
import { FaultProxy, GateServer, Sdk, Wait } from "./support/index.js"

class Server extends Context.Tag("reliability/leash/Server")<Server, GateServer.GateServer>() {}

/** How late a call may return after its deadline (scheduling only; see `Sdk.deadlineSlackMillis`). */
const slackMillis = Sdk.deadlineSlackMillis

const leashPaths = (r: FaultProxy.ProxiedRequest) => r.path.startsWith("/v1/leashes")

/** What one call gave, and how long it took. */
interface Asked {
  readonly decision: Decision.Decision<unknown>
  readonly elapsed: number
  readonly deadlineMillis: number
}

const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number })

/** One `Leash.request` in its own trail, on the live layer `sdk`, timed. */
const ask = (
  sdk: Sdk.Live,
  summary: string,
  timeoutSeconds: number,
  options: { readonly blocking?: boolean; readonly amountUsd?: number } = {}
): Effect.Effect<Asked> =>
  Effect.gen(function*() {
    const started = Date.now()
    const decision = yield* Leash.request({
      actionName: "stripe.charge",
      actionSummary: summary,
      riskSignals: { amountUsd: options.amountUsd ?? 120 },
      payload: { customer: "cus_42", amountUsd: options.amountUsd ?? 120 },
      payloadSchema: Charge,
      timeoutSeconds,
      blocking: options.blocking ?? true
    })
    return { decision, elapsed: Date.now() - started, deadlineMillis: timeoutSeconds * 1000 }
  }).pipe(Trail.run({ trigger: "leash-test", payload: { summary } }), Sdk.provide(sdk))

/** Heals the proxy, closes the layer (the exporter flushes) and answers the review steps the server holds for the leash. */
const reviewStepsAfterHealing = (
  server: GateServer.GateServer,
  proxy: FaultProxy.FaultProxy,
  sdk: Sdk.Live,
  leashId: string
) =>
  Effect.gen(function*() {
    yield* proxy.up
    yield* proxy.heal
    yield* sdk.exporter.flush.pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("no flush") }))
    yield* sdk.close
    return yield* server.store.reviewSteps(leashId)
  })

/** One fault case: the plan, and what the Decision must be. */
interface Case {
  readonly name: string
  readonly faults?: FaultProxy.Faults
  /** Stops the proxy's listener for the whole call. */
  readonly down?: boolean
  readonly expected: "timeout" | "error"
  /** Words the reason must hold. */
  readonly reason: string
  /** The call must end well before its deadline (a Retry-After past it). */
  readonly early?: boolean
}

const status = (code: number, extra: Partial<FaultProxy.Answer> = {}): FaultProxy.Faults => ({
  answer: (r) => (leashPaths(r) ? { status: code, ...extra } : undefined)
})

const cases: ReadonlyArray<Case> = [
  { name: "refused (nothing listens)", down: true, expected: "timeout", reason: "ECONNREFUSED" },
  { name: "reset on connect", faults: { refuse: 1 }, expected: "timeout", reason: "could not reach the gate" },
  { name: "reset mid-request", faults: { only: leashPaths, resetRequest: 1 }, expected: "timeout", reason: "last failure" },
  { name: "request never arrives", faults: { only: leashPaths, blackhole: 1 }, expected: "timeout", reason: "did not answer" },
  { name: "answer never comes", faults: { only: leashPaths, hang: 1 }, expected: "timeout", reason: "did not answer" },
  { name: "reset mid-response", faults: { only: leashPaths, resetResponse: 1 }, expected: "timeout", reason: "last failure" },
  { name: "close after the headers", faults: { only: leashPaths, closeAfterHeaders: 1 }, expected: "timeout", reason: "last failure" },
  {
    name: "a trickle slower than the deadline",
    faults: { only: leashPaths, trickle: 1, trickleRate: { bytes: 1, everyMillis: 200 } },
    expected: "timeout",
    reason: "did not answer"
  },
  { name: "500", faults: status(500), expected: "timeout", reason: "500" },
  { name: "502", faults: status(502), expected: "timeout", reason: "502" },
  { name: "503", faults: status(503), expected: "timeout", reason: "503" },
  { name: "504", faults: status(504), expected: "timeout", reason: "504" },
  { name: "408", faults: status(408), expected: "timeout", reason: "408" },
  { name: "429", faults: status(429), expected: "timeout", reason: "429" },
  {
    name: "429 with a Retry-After past the deadline",
    faults: status(429, { headers: { "retry-after": "60" } }),
    expected: "timeout",
    reason: "past the deadline",
    early: true
  },
  {
    name: "503 with a Retry-After date past the deadline",
    faults: status(503, { headers: { "retry-after": new Date(Date.now() + 3_600_000).toUTCString() } }),
    expected: "timeout",
    reason: "past the deadline",
    early: true
  },
  { name: "400", faults: status(400, { body: { error: { code: "bad_request", message: "risk_signals: nope" } } }), expected: "error", reason: "400 bad_request: risk_signals: nope", early: true },
  { name: "401", faults: status(401), expected: "error", reason: "401", early: true },
  { name: "403", faults: status(403), expected: "error", reason: "403", early: true },
  { name: "404", faults: status(404), expected: "error", reason: "404", early: true },
  { name: "409", faults: status(409), expected: "error", reason: "409", early: true },
  { name: "422", faults: status(422), expected: "error", reason: "422", early: true },
  { name: "a 200 that is not JSON", faults: status(200, { body: "<html>proxy login</html>" }), expected: "error", reason: "not JSON", early: true },
  { name: "a 200 that is not a leash state", faults: status(200, { body: { ok: true } }), expected: "error", reason: "not a leash state", early: true }
]

layer(Layer.scoped(Server, GateServer.start()), { excludeTestServices: true, timeout: "60 seconds" })("leash through faults", (it) => {
  it.scoped(
    `every fault gives the Decision section 3 names, never later than the deadline + ${slackMillis} ms, and one review step reaches the server once it is reachable`,
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        const timeoutSeconds = 4
        const results = yield* Effect.forEach(cases, (c) =>
          Effect.gen(function*() {
            const proxy = yield* FaultProxy.make({ target: server.port, faults: c.faults ?? {} })
            if (c.down === true) yield* proxy.down
            const sdk = yield* Sdk.live({
              apiKey: server.agentKey,
              endpoint: proxy.url,
              flushInterval: "20 millis",
              retryBaseDelay: "10 millis",
              retryMaxDelay: "50 millis"
            })
            const asked = yield* ask(sdk, `case: ${c.name}`, timeoutSeconds)
            const steps = yield* reviewStepsAfterHealing(server, proxy, sdk, asked.decision.leashId)
            return { c, asked, steps, seed: proxy.describe() }
          }), { concurrency: "unbounded" })

        for (const { asked, c, seed, steps } of results) {
          const why = `${c.name} (${seed}): ${JSON.stringify(asked.decision)} after ${asked.elapsed} ms`
          expect(asked.decision.decision, why).toBe(c.expected)
          expect(asked.decision.approved, why).toBe(false)
          expect(asked.decision.reason, why).toContain(c.reason)
          expect(asked.elapsed, why).toBeLessThanOrEqual(asked.deadlineMillis + slackMillis)
          if (c.early === true) expect(asked.elapsed, why).toBeLessThan(asked.deadlineMillis / 2)
          else expect(asked.decision.reason, why).toContain(`no decision in ${timeoutSeconds} s`)
          // exactly one review step, with the Decision the agent got
          expect(steps, why).toHaveLength(1)
          expect(steps[0], why).toMatchObject({
            layer: "review",
            name: "stripe.charge",
            status: "ok",
            output: { decision: c.expected, approved: false, reason: asked.decision.reason, leash_id: asked.decision.leashId },
            leash: { leash_id: asked.decision.leashId, decision: c.expected, reason: asked.decision.reason }
          })
        }
      }),
    60_000
  )

  it.scoped(
    "through faults on half the requests, the reviewer's decision reaches the agent before its deadline, and one review step reaches the server",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        const timeoutSeconds = 20
        const decisions: ReadonlyArray<GateServer.ReviewerDecision> = [
          { decision: "approved", reason: "fine" },
          { decision: "rejected", reason: "not this customer" },
          { decision: "modified", reason: "capped", modified_payload: { customer: "cus_42", amountUsd: 100 } },
          { decision: "approved", reason: "fine again" },
          { decision: "rejected", reason: "no" },
          { decision: "modified", reason: "capped lower", modified_payload: { customer: "cus_42", amountUsd: 50 } }
        ]
        const results = yield* Effect.forEach(decisions, (reviewer, i) =>
          Effect.gen(function*() {
            let n = 0
            const proxy = yield* FaultProxy.make({
              target: server.port,
              faults: {
                refuse: 0.1,
                resetRequest: 0.15,
                resetResponse: 0.15,
                closeAfterHeaders: 0.1,
                trickle: 0.1,
                trickleRate: { bytes: 32, everyMillis: 5 },
                toServer: { millis: 20, jitter: 20 },
                toClient: { millis: 20, jitter: 20 },
                answer: (r) => (leashPaths(r) && ++n % 10 === 0 ? { status: 503 } : undefined)
              }
            })
            const sdk = yield* Sdk.live({
              apiKey: server.agentKey,
              endpoint: proxy.url,
              flushInterval: "20 millis",
              requestTimeout: "2 seconds",
              retryBaseDelay: "10 millis",
              retryMaxDelay: "100 millis"
            })
            const summary = `mixed ${i} ${Crypto.randomUUID()}`
            const asking = yield* Effect.fork(ask(sdk, summary, timeoutSeconds))
            // the reviewer, straight at the server
            let leashId = ""
            yield* Wait.until(
              `the leash "${summary}" to be pending`,
              Effect.map(server.pending, (pending) => {
                const found = pending.find((l) => l.request.action_summary === summary)
                if (found !== undefined) leashId = found.leash_id
                return found !== undefined
              }),
              { withinMillis: 15_000, everyMillis: 20 }
            )
            const answer = yield* server.decide(leashId, reviewer)
            expect(answer.status).toBe(200)
            const asked = yield* asking.await.pipe(Effect.flatten)
            const steps = yield* reviewStepsAfterHealing(server, proxy, sdk, leashId)
            return { reviewer, asked, steps, leashId, seed: proxy.describe() }
          }), { concurrency: "unbounded" })

        for (const { asked, leashId, reviewer, seed, steps } of results) {
          const why = `${reviewer.reason} (${seed}): ${JSON.stringify(asked.decision)} after ${asked.elapsed} ms`
          expect(asked.decision, why).toMatchObject({ decision: reviewer.decision, reason: reviewer.reason, leashId })
          if (reviewer.decision === "modified") {
            expect(asked.decision, why).toMatchObject({ modifiedPayload: reviewer.modified_payload })
          }
          expect(asked.elapsed, why).toBeLessThan(asked.deadlineMillis)
          expect(steps, why).toHaveLength(1)
          expect(steps[0]!.output, why).toMatchObject({ decision: reviewer.decision, reason: reviewer.reason, leash_id: leashId })
        }
      }),
    60_000
  )

  it.scoped(
    "when every poll loses its answer, the agent settles the leash before its deadline and gets the decision the server holds",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        const proxy = yield* FaultProxy.make({
          target: server.port,
          faults: {
            // every long-poll is answered 503 by the proxy: the agent never sees the leash's state
            answer: (r) => (r.method === "GET" && r.path.startsWith("/v1/leashes/") ? { status: 503 } : undefined)
          }
        })
        const sdk = yield* Sdk.live({ apiKey: server.agentKey, endpoint: proxy.url, flushInterval: "20 millis" })
        const summary = `settled ${Crypto.randomUUID()}`
        const asking = yield* Effect.fork(ask(sdk, summary, 4))
        let leashId = ""
        yield* Wait.until(
          "the leash to be pending",
          Effect.map(server.pending, (pending) => {
            leashId = pending.find((l) => l.request.action_summary === summary)?.leash_id ?? ""
            return leashId !== ""
          })
        )
        expect((yield* server.decide(leashId, { decision: "approved", reason: "approved unseen" })).status).toBe(200)
        const asked = yield* asking.await.pipe(Effect.flatten)
        const why = `${JSON.stringify(asked.decision)} after ${asked.elapsed} ms`
        expect(asked.decision, why).toMatchObject({ decision: "approved", reason: "approved unseen", leashId })
        expect(asked.elapsed, why).toBeLessThanOrEqual(asked.deadlineMillis + slackMillis)
        const cancels = (yield* proxy.exchanges).filter((e) => e.path === `/v1/leashes/${leashId}/cancel`)
        expect(cancels.map((e) => e.status), why).toStrictEqual([200])
        const steps = yield* reviewStepsAfterHealing(server, proxy, sdk, leashId)
        expect(steps.map((s) => s.output.decision)).toStrictEqual(["approved"])
      }),
    60_000
  )

  it.scoped("blocking: false answers async through faults; Leash.await then gets the decision through faults", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const proxy = yield* FaultProxy.make({
        target: server.port,
        faults: { only: leashPaths, resetResponse: 0.3, closeAfterHeaders: 0.2, toClient: { millis: 10, jitter: 10 } }
      })
      const sdk = yield* Sdk.live({
        apiKey: server.agentKey,
        endpoint: proxy.url,
        flushInterval: "20 millis",
        retryBaseDelay: "10 millis"
      })
      const summary = `async ${Crypto.randomUUID()}`
      const result = yield* Effect.gen(function*() {
        const pending = yield* Leash.request({
          actionName: "email.send",
          actionSummary: summary,
          riskSignals: {},
          payload: { to: "board@example.com" },
          blocking: false,
          timeoutSeconds: 30
        })
        const reviewer = yield* Effect.fork(
          Effect.flatMap(server.decide(pending.leashId, { decision: "approved", reason: "send it" }), (a) =>
            a.status === 200 ? Effect.void : Effect.die(new Error(`decision answered ${a.status}: ${a.text}`)))
        )
        const decided = yield* Leash.await(pending, { timeoutSeconds: 10 })
        yield* reviewer.await
        return { pending, decided }
      }).pipe(Trail.run({ trigger: "leash-test", payload: {} }), Sdk.provide(sdk))
      expect(result.pending.decision, proxy.describe()).toBe("async")
      expect(result.decided, proxy.describe()).toMatchObject({ decision: "approved", reason: "send it", leashId: result.pending.leashId })
      const steps = yield* reviewStepsAfterHealing(server, proxy, sdk, result.pending.leashId)
      expect(steps.map((s) => s.output.decision).sort()).toStrictEqual(["approved", "async"])
    }), 60_000)
})

it.effect("a transport slow to abort the request cut at the deadline does not delay the Decision past it", () =>
  Effect.gen(function*() {
    // a gate whose requests never answer and take 3 s to abort once interrupted (a slow socket close)
    const slowAbort = Effect.never.pipe(Effect.onInterrupt(() => Effect.sleep("3 seconds")))
    const gate: Leash.Gate = { create: () => slowAbort, poll: () => slowAbort, cancel: () => slowAbort }
    const fiber = yield* Effect.fork(
      Effect.zip(
        Leash.request({ actionName: "stripe.charge", actionSummary: "Charge", riskSignals: {}, payload: {}, timeoutSeconds: 5 }),
        Clock.currentTimeMillis
      ).pipe(
        Trail.run({ trigger: "leash-test", payload: {} }),
        Effect.provide(Layer.merge(Memory.layer(), Layer.succeed(Leash.Leash, gate)))
      )
    )
    yield* TestClock.adjust("5 seconds")
    const ended = fiber.unsafePoll() !== null
    yield* TestClock.adjust("3 seconds") // lets a late fiber finish, so the test ends either way
    expect(ended, "the call had not returned at its deadline: it waited for the transport's abort").toBe(true)
    const [decision, at] = yield* Fiber.join(fiber)
    expect(at).toBe(5_000)
    expect(decision).toMatchObject({ decision: "timeout", reason: "no decision in 5 s; last failure: the gate did not answer before the deadline" })
  }))

it.effect("an attempt cut by the deadline does not hide the gate's last answer in the reason", () =>
  Effect.gen(function*() {
    let calls = 0
    const gate: Leash.Gate = {
      create: () =>
        ++calls === 1
          ? Effect.fail(new Leash.GateError({ reason: "Transient", status: 503, message: "the gate answered 503 unavailable: busy" }))
          : Effect.never,
      poll: () => Effect.never,
      cancel: () => Effect.never
    }
    const fiber = yield* Effect.fork(
      Leash.request({ actionName: "stripe.charge", actionSummary: "Charge", riskSignals: {}, payload: {}, timeoutSeconds: 5 }).pipe(
        Trail.run({ trigger: "leash-test", payload: {} }),
        Effect.provide(Layer.merge(Memory.layer(), Layer.succeed(Leash.Leash, gate)))
      )
    )
    yield* TestClock.adjust("5 seconds")
    const decision = yield* Fiber.join(fiber)
    expect(calls).toBe(2)
    expect(decision).toMatchObject({
      decision: "timeout",
      reason: "no decision in 5 s; last failure: the gate answered 503 unavailable: busy"
    })
  }))
