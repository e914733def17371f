/**
 * Crash and restart (ISSUE 7, point 4): the real server (a child process) is SIGKILLed while
 * agents wait in `Leash.request`, and started again on the same SQLite file. A reviewer then
 * decides every leash. Every agent still inside its deadline gets exactly that decision; every
 * agent whose deadline passed while the server was down got `timeout`, and the server refuses
 * the late decision (409: the leash expired); the server's record of each leash agrees with the
 * agent; and each agent's review step reaches the server once.
 *
 * The second test pins the case a restart makes likely: an agent that was refused for a while
 * sleeps in its back-off (up to 5 s) when the server comes back. A decision made seconds before
 * its deadline must still reach it.
 */
import { expect, it, layer } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Random } from "effect"
import { type Decision, Leash, Recorder, Sniff, Trail } from "houndsight"
import * as Crypto from "node:crypto"
import { FaultProxy, GateServer, Sdk, Wait } from "./support/index.js"

const slackMillis = Sdk.deadlineSlackMillis

class Server extends Context.Tag("reliability/restart/Server")<Server, GateServer.GateServer>() {}

interface Agent {
  readonly summary: string
  readonly timeoutSeconds: number
  readonly reviewer: GateServer.ReviewerDecision
}

interface Waited {
  readonly decision: Decision.Decision<unknown>
  readonly elapsed: number
}

const waitingAgent = (sdk: Sdk.Live, agent: Agent): Effect.Effect<Waited> =>
  Effect.gen(function*() {
    const started = Date.now()
    const decision = yield* Leash.request({
      actionName: "stripe.charge",
      actionSummary: agent.summary,
      riskSignals: { amountUsd: 120 },
      payload: { customer: "cus_42", amountUsd: 120 },
      timeoutSeconds: agent.timeoutSeconds
    })
    return { decision, elapsed: Date.now() - started }
  }).pipe(Trail.run({ trigger: "restart-test", payload: { summary: agent.summary } }), Sdk.provide(sdk))

/** The leash id of each summary, once the server lists every one of them as pending. */
const pendingIds = (server: GateServer.GateServer, summaries: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const ids = new Map<string, string>()
    yield* Wait.until(
      `${summaries.length} pending leashes`,
      Effect.map(server.pending, (pending) => {
        for (const l of pending) ids.set(l.request.action_summary, l.leash_id)
        return summaries.every((s) => ids.has(s))
      })
    )
    return ids
  })

it.scopedLive(
  "SIGKILL while agents wait; restarted on the same file, a reviewer decides: agents inside their deadline get that decision, the others timeout, and the server agrees with each",
  () =>
    Effect.gen(function*() {
      const server = yield* GateServer.start()
      const sdk = yield* Sdk.live({
        apiKey: server.agentKey,
        endpoint: server.url,
        flushInterval: "20 millis",
        retryBaseDelay: "20 millis",
        retryMaxDelay: "500 millis"
      })
      const tag = Crypto.randomUUID()
      const short: ReadonlyArray<Agent> = [1, 2, 3].map((i) => ({
        summary: `short ${i} ${tag}`,
        timeoutSeconds: 3,
        reviewer: { decision: "approved", reason: "too late" }
      }))
      const long: ReadonlyArray<Agent> = [
        { decision: "approved", reason: "approved after the crash" },
        { decision: "rejected", reason: "rejected after the crash" },
        { decision: "modified", reason: "edited after the crash", modified_payload: { customer: "cus_42", amountUsd: 90 } }
      ].map((reviewer, i) => ({
        summary: `long ${i} ${tag}`,
        timeoutSeconds: 60,
        reviewer: reviewer as GateServer.ReviewerDecision
      }))
      const agents = [...short, ...long]
      const fibers = yield* Effect.forEach(agents, (agent) => Effect.fork(waitingAgent(sdk, agent)))
      const ids = yield* pendingIds(server, agents.map((a) => a.summary))

      // the crash, while every agent waits in a long-poll
      expect(yield* server.kill("SIGKILL")).toBeNull()
      // the short deadlines pass while the server is down
      const shortResults = yield* Effect.forEach(fibers.slice(0, short.length), Fiber.join)
      yield* server.start

      // the reviewer decides every leash, straight at the restarted server
      const answers = new Map<string, GateServer.Answer>()
      for (const agent of agents) answers.set(agent.summary, yield* server.decide(ids.get(agent.summary)!, agent.reviewer))
      const longResults = yield* Effect.forEach(fibers.slice(short.length), (f) =>
        Fiber.join(f).pipe(
          Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("an agent inside its deadline never got the decision") })
        ))

      const results = [...shortResults, ...longResults]
      for (const [i, agent] of agents.entries()) {
        const { decision, elapsed } = results[i]!
        const leashId = ids.get(agent.summary)!
        const row = (yield* server.store.leash(leashId))!
        const answer = answers.get(agent.summary)!
        const why = `${agent.summary}: agent ${JSON.stringify(decision)} after ${elapsed} ms; server ${JSON.stringify(row)}; reviewer got ${answer.status} ${answer.text}`
        expect(decision.leashId, why).toBe(leashId)
        expect(elapsed, why).toBeLessThanOrEqual(agent.timeoutSeconds * 1000 + slackMillis)
        if (agent.timeoutSeconds === 3) {
          // past its deadline: timeout, and the server refuses the reviewer
          expect(decision, why).toMatchObject({ decision: "timeout", approved: false })
          expect(decision.reason, why).toContain("no decision in 3 s; last failure: could not reach the gate")
          expect(answer.status, why).toBe(409)
          expect(answer.body.error.message, why).toContain("expired")
          expect(row, why).toMatchObject({ status: "decided", decision: "timeout", reason: "expired" })
        } else {
          // inside its deadline: exactly the reviewer's decision
          expect(answer.status, why).toBe(200)
          expect(decision, why).toMatchObject({ decision: agent.reviewer.decision, reason: agent.reviewer.reason })
          if (agent.reviewer.decision === "modified") {
            expect(decision, why).toMatchObject({ modifiedPayload: agent.reviewer.modified_payload })
          }
          expect(row, why).toMatchObject({ status: "decided", decision: agent.reviewer.decision, reason: agent.reviewer.reason })
        }
        // the server agrees with the agent
        expect(row.decision, why).toBe(decision.decision)
      }

      // every review step reaches the restarted server, once, with the agent's decision
      yield* sdk.exporter.flush.pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("no flush") }))
      yield* sdk.close
      for (const [i, agent] of agents.entries()) {
        const steps = yield* server.store.reviewSteps(ids.get(agent.summary)!)
        expect(steps.map((s) => s.output.decision), agent.summary).toStrictEqual([results[i]!.decision.decision])
      }
    }),
  120_000
)

// the server is not killed in these two: they share one
layer(Layer.scoped(Server, GateServer.start()), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
  it.scoped(
    "an agent asleep in its back-off when the server comes back still gets a decision made well before its deadline",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        let unreachable = false
        const proxy = yield* FaultProxy.make({
          target: server.port,
          faults: { answer: (r) => (unreachable && r.path.startsWith("/v1/leashes") ? { status: 503 } : undefined) }
        })
        const sdk = yield* Sdk.live({ apiKey: server.agentKey, endpoint: proxy.url, flushInterval: "20 millis" })
        const summary = `asleep ${Crypto.randomUUID()}`
        const timeoutSeconds = 12
        // every back-off draw at its largest (full jitter's worst case): after the n-th failure in a
        // row the agent sleeps 0.999 × min(5 s, 250 ms × 2^n)
        const sleepAfter = (n: number) => Math.floor(0.999 * Math.min(5_000, 250 * 2 ** n))
        const agent = yield* Effect.fork(
          waitingAgent(sdk, { summary, timeoutSeconds, reviewer: { decision: "approved", reason: "" } }).pipe(
            Effect.withRandom(Random.fixed([0.999]))
          )
        )
        const ids = yield* pendingIds(server, [summary])
        const leashId = ids.get(summary)!
        const created = proxy.unsafeExchanges().find((e) => e.method === "POST" && e.path === "/v1/leashes")!
        const deadline = created.startedAt + timeoutSeconds * 1000 // a little after the agent's own

        // the server goes away for the agent while it long-polls: the held poll breaks (failure 0)
        // and every attempt after it is refused with a 503 (failures 1, 2, …)
        const isPoll = (e: FaultProxy.Exchange) => e.path.startsWith(`/v1/leashes/${leashId}?`)
        yield* Wait.until(
          "the agent's long-poll",
          Effect.sync(() => proxy.unsafeExchanges().some((e) => isPoll(e) && e.endedAt === undefined))
        )
        unreachable = true
        yield* proxy.resetConnections
        // wait for a refusal after which the agent sleeps past its deadline, while 1.7 s are left
        let asleepAt = 0
        yield* Wait.until(
          "a refusal that puts the agent to sleep across its deadline",
          Effect.sync(() => {
            const refused = proxy.unsafeExchanges().filter((e) => isPoll(e) && e.status === 503 && e.endedAt !== undefined)
            const last = refused[refused.length - 1]
            if (last === undefined) return false
            if (last.endedAt! > deadline - 1_700) throw new Error("this machine was too slow: the agent's deadline came before it slept across it")
            asleepAt = last.endedAt!
            return last.endedAt! + sleepAfter(refused.length) > deadline
          }),
          { withinMillis: timeoutSeconds * 1000, everyMillis: 2 }
        )

        // the server is back; the reviewer decides while the agent sleeps
        unreachable = false
        const answer = yield* server.decide(leashId, { decision: "approved", reason: "approved while the agent slept" })
        const decidedAt = Date.now()
        expect(answer.status).toBe(200)
        const { decision, elapsed } = yield* Fiber.join(agent)
        const row = yield* server.store.leash(leashId!)
        const why = `agent ${JSON.stringify(decision)} after ${elapsed} ms; asleep ${deadline - asleepAt} ms and decided ${
          deadline - decidedAt
        } ms before the deadline; server ${JSON.stringify(row)}`
        expect(decision, why).toMatchObject({ decision: "approved", reason: "approved while the agent slept", leashId })
        expect(elapsed, why).toBeLessThanOrEqual(timeoutSeconds * 1000)
        expect(row?.decision, why).toBe("approved")
      }),
    60_000
  )

  it.scoped(
    "an agent that asks while the server is unreachable, created only when it returns, cancels its leash when it gives up: the server refuses a later decision",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        const proxy = yield* FaultProxy.make({ target: server.port })
        const sdk = yield* Sdk.live({ apiKey: server.agentKey, endpoint: proxy.url, flushInterval: "20 millis" })
        const summary = `late ${Crypto.randomUUID()}`
        const timeoutSeconds = 5
        yield* proxy.down
        const started = Date.now()
        const agent = yield* Effect.fork(waitingAgent(sdk, { summary, timeoutSeconds, reviewer: { decision: "approved", reason: "" } }))
        // the server comes back after 1.5 s: the leash is created late, so the server would keep
        // it pending until 1.5 s or more after the agent's deadline
        yield* Effect.sleep("1500 millis")
        yield* proxy.up
        const { decision, elapsed } = yield* Fiber.join(agent)
        // (not looked up among the pending leashes while the agent waits: created late, a leash
        // can be created and cancelled between two looks)
        const leashId = decision.leashId
        expect(leashId, `the leash was created once the server was back: ${JSON.stringify(decision)}`).toBeTypeOf("string")
        // a reviewer decides after the agent gave up, before the server's own expiry
        yield* Effect.sleep(Math.max(0, started + timeoutSeconds * 1000 + 300 - Date.now()))
        const row = yield* server.store.leash(leashId!)
        expect(row!.expires_at, "the server's expiry is after the reviewer's decision").toBeGreaterThan(Date.now() + 200)
        const answer = yield* server.decide(leashId!, { decision: "approved", reason: "too late" })
        const after = yield* server.store.leash(leashId!)
        const why = `agent ${JSON.stringify(decision)} after ${elapsed} ms; reviewer got ${answer.status} ${answer.text}; server ${JSON.stringify(after)}`
        expect(decision, why).toMatchObject({ decision: "timeout", leashId })
        expect(decision.reason, why).toContain(`no decision in ${timeoutSeconds} s`)
        expect(elapsed, why).toBeLessThanOrEqual(timeoutSeconds * 1000 + slackMillis)
        expect(answer.status, why).toBe(409)
        expect(after, why).toMatchObject({ status: "decided", decision: "timeout", reason: "cancelled by the agent" })
        // the exporter may still be in the back-off of the outage: delivered before the close
        yield* sdk.exporter.flush.pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("no flush") }))
        yield* sdk.close
        const steps = yield* server.store.reviewSteps(leashId!)
        expect(steps.map((s) => s.output.decision), `${why}; the SDK logged ${JSON.stringify(sdk.logs())}`)
          .toStrictEqual(["timeout"])
      }),
    60_000
  )
})

it.scopedLive(
  "SIGKILL while the exporter streams records: after the restart every record is stored exactly once, and received + dropped == produced",
  () =>
    Effect.gen(function*() {
      const server = yield* GateServer.start()
      const sdk = yield* Sdk.live({
        apiKey: server.agentKey,
        agent: "crash-stream",
        endpoint: server.url,
        flushInterval: "10 millis",
        maxBatchRecords: 128,
        retryBaseDelay: "20 millis",
        retryMaxDelay: "200 millis",
        shutdownTimeout: "20 seconds"
      })
      const recorder = Context.get(sdk.context, Recorder.Recorder)
      const producedSteps = new Set<string>()
      const counted: Recorder.RecorderShape = {
        ...recorder,
        offerStep: (record) => {
          producedSteps.add(record.id)
          recorder.offerStep(record)
        }
      }
      const trails = 200
      const stepsPerTrail = 50
      const step = Sniff.run("crash.step", { layer: "execute" }, Effect.void)
      const produce = Effect.gen(function*() {
        for (let i = 0; i < trails; i++) {
          yield* Effect.forEach(Array.from({ length: stepsPerTrail }), () => step, { discard: true }).pipe(
            Trail.run({ trigger: "crash", payload: { i } }),
            Effect.provide(Context.add(sdk.context, Recorder.Recorder, counted))
          )
          yield* Effect.sleep("10 millis")
        }
      })
      const producing = yield* Effect.fork(produce)
      // the crash, once the server has stored some of the stream
      yield* Wait.until(
        "the first records stored",
        Effect.map(server.store.query<{ n: number }>("SELECT count(*) AS n FROM steps"), ([r]) => r!.n > 0)
      )
      expect(yield* server.kill("SIGKILL")).toBeNull()
      yield* Fiber.join(producing)
      yield* server.start
      yield* sdk.exporter.flush.pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("no flush after the restart") }))
      yield* sdk.close

      const stats = sdk.exporter.unsafeStats()
      const why = `stats ${JSON.stringify(stats)}`
      const [counts] = yield* server.store.query<{ n: number; distinct_ids: number }>(
        "SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids FROM steps WHERE name = 'crash.step'"
      )
      const stored = yield* server.store.query<{ id: string }>("SELECT id FROM steps WHERE name = 'crash.step'")
      const storedTrails = yield* server.store.query<{ status: string }>(
        "SELECT status FROM trails WHERE json_extract(record, '$.agent') = 'crash-stream'"
      )
      expect(stats.offered, why).toBe(trails * (2 + stepsPerTrail))
      expect(stats.exported + stats.dropped, why).toBe(stats.offered)
      expect(stats.dropped, why).toBe(stats.droppedByReason.queue_full) // nothing lost at the close
      expect(counts!.distinct_ids, why).toBe(counts!.n)
      expect(stored.filter((r) => !producedSteps.has(r.id)), why).toStrictEqual([])
      expect(storedTrails.length, why).toBe(trails)
      expect(storedTrails.every((t) => t.status === "ok"), why).toBe(true)
      expect(stats.exported, why).toBe(2 * trails + counts!.n)
      expect(counts!.n + stats.dropped, why).toBe(trails * stepsPerTrail)
    }),
  90_000
)
