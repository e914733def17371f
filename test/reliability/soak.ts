/**
 * The soak: the reliability suite's rules over a longer run than CI allows.
 *
 * ```sh
 * npx tsx test/reliability/soak.ts                 # 5 minutes, 4 agents
 * SOAK_SECONDS=1800 SOAK_AGENTS=8 npx tsx test/reliability/soak.ts
 * HOUNDSIGHT_FAULT_SEED=1234 npx tsx test/reliability/soak.ts   # replay a run's faults
 * ```
 *
 * Agents (the real SDK, `Houndsight.layer`) run trails of steps with one leash each, through the
 * fault proxy (latency, resets, hangs, trickles, 503s on a share of the requests), against the
 * real server, which is SIGKILLed and restarted on the same file every 20 to 40 s. A reviewer
 * approves, rejects or edits most pending leashes and lets the rest expire. At the end the proxy
 * heals, the exporter flushes and closes, and the run checks:
 *
 * - the exporter: exported + dropped == offered; nothing queued or in flight;
 * - the store: no step id twice, none that the agents did not produce;
 * - every leash: the server's decision is the agent's (a `timeout` on both sides counts as the
 *   same), except two cases that are not promised and are counted instead: a decision the server
 *   took in the agent's last 1.5 s, and a call whose last attempt's answer was silently lost (a
 *   hang: the attempt ran to the deadline, so no time was left to settle the leash);
 * - every completed leash has exactly one review step on the server, with the agent's decision.
 *
 * It prints a summary and exits 1 when a rule broke.
 */
import { Context, Effect, Exit, Fiber, Scope } from "effect"
import { type Decision, Leash, Recorder, Sniff, Trail } from "houndsight"
import { FaultProxy, GateServer, Sdk } from "./support/index.js"

const seconds = Number(process.env["SOAK_SECONDS"] ?? "300")
const agentCount = Number(process.env["SOAK_AGENTS"] ?? "4")

interface Asked {
  readonly decision: Decision.Decision<unknown>
  readonly startedAt: number
  readonly timeoutSeconds: number
}

const program = Effect.gen(function*() {
  const server = yield* GateServer.start()
  const proxy = yield* FaultProxy.make({
    target: server.port,
    faults: {
      toServer: { millis: 5, jitter: 5 },
      toClient: { millis: 5, jitter: 5 },
      refuse: 0.03,
      resetRequest: 0.04,
      hang: 0.01,
      resetResponse: 0.05,
      closeAfterHeaders: 0.03,
      trickle: 0.03,
      trickleRate: { bytes: 256, everyMillis: 5 }
    }
  })
  console.log(`soak: ${seconds} s, ${agentCount} agents; ${proxy.describe()}; server ${server.url}`)
  const sdk = yield* Sdk.live({
    apiKey: server.agentKey,
    agent: "soak",
    endpoint: proxy.url,
    flushInterval: "200 millis",
    requestTimeout: "3 seconds",
    retryMaxDelay: "2 seconds"
  })
  const recorder = Context.get(sdk.context, Recorder.Recorder)
  const produced = new Set<string>()
  const counted: Recorder.RecorderShape = {
    ...recorder,
    offerStep: (record) => {
      produced.add(record.id)
      recorder.offerStep(record)
    }
  }
  const context = Context.add(sdk.context, Recorder.Recorder, counted)
  const asked: Array<Asked> = []
  const end = Date.now() + seconds * 1000

  const agent = (n: number) =>
    Effect.gen(function*() {
      let i = 0
      while (Date.now() < end) {
        const timeoutSeconds = 2 + ((n * 7 + i++) % 9)
        yield* Effect.gen(function*() {
          for (let s = 0; s < 20; s++) yield* Sniff.run("soak.step", { layer: "execute" }, Effect.void)
          const startedAt = Date.now()
          const decision = yield* Leash.request({
            actionName: "stripe.charge",
            actionSummary: `soak agent ${n} run ${i}`,
            riskSignals: { amountUsd: 10 + i },
            payload: { customer: `cus_${n}`, amountUsd: 10 + i },
            timeoutSeconds
          })
          asked.push({ decision, startedAt, timeoutSeconds })
        }).pipe(Trail.run({ trigger: "soak", payload: { n, i } }), Effect.provide(context))
      }
    })

  const reviewer = Effect.gen(function*() {
    let k = 0
    while (Date.now() < end) {
      if (server.running()) {
        const pending = yield* server.pending.pipe(Effect.orElseSucceed(() => []))
        for (const leash of pending) {
          const choice = k++ % 10
          if (choice >= 7) continue // left to expire
          const decision = choice < 4
            ? { decision: "approved" as const, reason: "soak approves" }
            : choice < 6
            ? { decision: "rejected" as const, reason: "soak rejects" }
            : { decision: "modified" as const, reason: "soak edits", modified_payload: { ...leash.request.payload, amountUsd: 1 } }
          yield* server.decide(leash.leash_id, decision).pipe(Effect.ignore)
        }
      }
      yield* Effect.sleep("300 millis")
    }
  }).pipe(Effect.catchAllDefect(() => Effect.void))

  const chaos = Effect.gen(function*() {
    let restarts = 0
    while (Date.now() < end - 10_000) {
      yield* Effect.sleep(20_000 + Math.floor(Math.random() * 20_000))
      if (Date.now() >= end - 10_000) break
      yield* server.kill("SIGKILL")
      yield* Effect.sleep(1_000 + Math.floor(Math.random() * 2_000))
      yield* server.start
      restarts++
    }
    return restarts
  })

  const agents = yield* Effect.forEach(Array.from({ length: agentCount }, (_, n) => n), (n) => Effect.fork(agent(n)))
  const reviewing = yield* Effect.fork(reviewer)
  const restarts = yield* chaos
  yield* Effect.forEach(agents, Fiber.join, { discard: true })
  yield* Fiber.join(reviewing)

  yield* proxy.heal
  yield* sdk.exporter.flush.pipe(Effect.timeoutOption("60 seconds"))
  yield* sdk.close
  const stats = sdk.exporter.unsafeStats()

  const problems: Array<string> = []
  if (stats.exported + stats.dropped !== stats.offered) problems.push(`exported + dropped != offered: ${JSON.stringify(stats)}`)
  if (stats.queued + stats.inFlight !== 0) problems.push(`records left queued or in flight: ${JSON.stringify(stats)}`)
  const [counts] = yield* server.store.query<{ n: number; d: number }>(
    "SELECT count(*) AS n, count(DISTINCT id) AS d FROM steps WHERE name = 'soak.step'"
  )
  if (counts!.n !== counts!.d) problems.push(`${counts!.n - counts!.d} step ids stored twice`)
  const stored = yield* server.store.query<{ id: string }>("SELECT id FROM steps WHERE name = 'soak.step'")
  const invented = stored.filter((r) => !produced.has(r.id)).length
  if (invented > 0) problems.push(`${invented} stored steps the agents never produced`)

  let lastMoment = 0
  let lostAnswer = 0
  for (const a of asked) {
    const row = yield* server.store.leash(a.decision.leashId)
    const deadline = a.startedAt + a.timeoutSeconds * 1000
    const serverSays = row?.decision ?? (row === undefined ? "absent" : "pending")
    const same = serverSays === a.decision.decision ||
      (a.decision.decision === "timeout" && (serverSays === "absent" || serverSays === "timeout"))
    if (!same) {
      if (row?.decided_at != null && row.decided_at > deadline - 1_500) lastMoment++
      else if (/did not answer (before the deadline|within)/.test(a.decision.reason)) lostAnswer++
      else {
        problems.push(
          `leash ${a.decision.leashId}: the agent got ${a.decision.decision} (${a.decision.reason}), the server says ${serverSays}; ` +
            `deadline ${a.timeoutSeconds} s; server created ${(row?.created_at ?? 0) - a.startedAt} ms and decided ${
              (row?.decided_at ?? 0) - a.startedAt
            } ms after the agent asked`
        )
      }
    }
    const steps = yield* server.store.reviewSteps(a.decision.leashId)
    if (steps.length !== 1 || steps[0]!["output"]?.decision !== a.decision.decision) {
      problems.push(`leash ${a.decision.leashId}: ${steps.length} review steps on the server, expected one saying ${a.decision.decision}`)
    }
  }
  const byDecision: Record<string, number> = {}
  for (const a of asked) byDecision[a.decision.decision] = (byDecision[a.decision.decision] ?? 0) + 1
  console.log(JSON.stringify({
    seconds,
    agents: agentCount,
    seed: proxy.seed,
    restarts,
    leashes: asked.length,
    decisions: byDecision,
    lastMomentDisagreements: lastMoment,
    lostAnswerDisagreements: lostAnswer,
    exporter: stats,
    storedSteps: counts!.n,
    proxy: yield* proxy.stats
  }, null, 2))
  if (problems.length > 0) {
    console.error(`soak: ${problems.length} problem(s):\n${problems.slice(0, 50).join("\n")}`)
    return false
  }
  console.log("soak: every rule held")
  return true
})

const main = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const ok = yield* Effect.exit(Scope.extend(program, scope))
  yield* Scope.close(scope, Exit.void)
  if (Exit.isFailure(ok)) {
    console.error("soak: the run failed", ok.cause)
    return 1
  }
  return ok.value ? 0 : 1
})

Effect.runPromise(main).then((code) => process.exit(code))
