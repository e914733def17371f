/**
 * Agent shutdown (ISSUE 7, point 8): an agent process run with `NodeRuntime.runMain` on the live
 * layer gets SIGTERM in the middle of a trail and of a leash (fixtures/agent-until-signal.ts).
 * The trail is recorded `interrupted`, the review step is recorded (`interrupted`, decision
 * `timeout`, reason "interrupted"), the leash is cancelled on the server, and every record that
 * was still queued reaches the server before the process exits, with exit code 0. Through a
 * collector that fails the first attempts, the shutdown flush retries within its bound; with a
 * collector that never answers, the process still exits within the bound and says what it lost.
 *
 * The agent runs as `node --import tsx <fixture>` (not the tsx CLI, which SIGKILLs a child that
 * does not acknowledge a relayed signal within 30 ms).
 */
import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import * as ChildProcess from "node:child_process"
import { fileURLToPath } from "node:url"
import { FaultProxy, GateServer, Wait } from "./support/index.js"

class Server extends Context.Tag("reliability/shutdown/Server")<Server, GateServer.GateServer>() {}

const root = fileURLToPath(new URL("../../", import.meta.url))
const fixture = fileURLToPath(new URL("./fixtures/agent-until-signal.ts", import.meta.url))
const steps = 50

/** The agent process: its output so far, and its exit. */
interface AgentProcess {
  readonly child: ChildProcess.ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exited: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly at: number }>
}

/** Starts the fixture with `endpoint` and the agent key; SIGKILLed with the scope if still running. */
const startAgent = (endpoint: string, apiKey: string) =>
  Effect.acquireRelease(
    Effect.sync((): AgentProcess => {
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("HOUNDSIGHT_")) env[k] = v
      const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", fixture], {
        cwd: root,
        env: {
          ...env,
          HOUNDSIGHT_ENDPOINT: endpoint,
          HOUNDSIGHT_API_KEY: apiKey,
          HOUNDSIGHT_AGENT: "shutdown-test",
          STEPS: String(steps)
        },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
      const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
        child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() }))
      )
      return { child, stdout: () => stdout, stderr: () => stderr, exited: Effect.promise(() => exit) }
    }),
    (agent) =>
      Effect.sync(() => {
        if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill("SIGKILL")
      })
  )

/** Waits until the agent waits in its leash on the server; answers the trail and leash ids. */
const waitingInLeash = (server: GateServer.GateServer, agent: AgentProcess) =>
  Effect.gen(function*() {
    let trailId = ""
    yield* Wait.until(
      `the agent to ask the gate (stdout: ${agent.stdout()} stderr: ${agent.stderr()})`,
      Effect.sync(() => {
        const match = /asking (\S+)/.exec(agent.stdout())
        if (match !== null) trailId = match[1]!
        if (agent.child.exitCode !== null) throw new Error(`the agent exited early (${agent.child.exitCode}): ${agent.stderr()}`)
        return match !== null
      }),
      { withinMillis: 30_000 }
    )
    let leashId = ""
    yield* Wait.until(
      "the agent's leash to be pending on the server",
      Effect.map(server.pending, (pending) => {
        const found = pending.find((l) => l.request.trail_id === trailId)
        if (found !== undefined) leashId = found.leash_id
        return found !== undefined
      })
    )
    return { trailId, leashId }
  })

/** What the server holds of the agent's run. */
const recorded = (server: GateServer.GateServer, trailId: string) =>
  Effect.gen(function*() {
    const [trail] = yield* server.store.query<{ status: string | null; record: string | null }>(
      "SELECT status, record FROM trails WHERE id = ?",
      trailId
    )
    const stepRows = yield* server.store.query<{ record: string }>("SELECT record FROM steps WHERE trail_id = ? ORDER BY seq", trailId)
    return {
      trail: trail?.record == null ? undefined : (JSON.parse(trail.record) as Record<string, any>),
      steps: stepRows.map((r) => JSON.parse(r.record) as Record<string, any>)
    }
  })

/** Everything the test expects the server to hold after a clean shutdown. */
const expectFullyRecorded = (server: GateServer.GateServer, ids: { trailId: string; leashId: string }, why: string) =>
  Effect.gen(function*() {
    const { steps: stored, trail } = yield* recorded(server, ids.trailId)
    expect(trail, why).toMatchObject({ id: ids.trailId, status: "interrupted", agent: "shutdown-fixture" }) // the code's agent wins over HOUNDSIGHT_AGENT
    expect(stored.filter((s) => s.name === "prepare").map((s) => s.status), why).toStrictEqual(Array(steps).fill("ok"))
    const review = stored.filter((s) => s.layer === "review")
    expect(review, why).toHaveLength(1)
    expect(review[0], why).toMatchObject({
      name: "stripe.charge",
      status: "interrupted",
      output: { decision: "timeout", approved: false, reason: "interrupted", leash_id: ids.leashId },
      leash: { leash_id: ids.leashId, decision: "timeout", reason: "interrupted" }
    })
    const flow = stored.find((s) => s.name === "charge_flow")
    expect(flow, why).toMatchObject({ status: "interrupted" })
    expect(review[0]!.parent_id, why).toBe(flow!.id)
    // the leash is cancelled: no reviewer can approve what nobody waits for
    expect(yield* server.store.leash(ids.leashId), why).toMatchObject({
      status: "decided",
      decision: "timeout",
      reason: "cancelled by the agent"
    })
    const late = yield* server.decide(ids.leashId, { decision: "approved", reason: "too late" })
    expect(late.status, why).toBe(409)
  })

layer(Layer.scoped(Server, GateServer.start()), { excludeTestServices: true, timeout: "60 seconds" })("agent shutdown", (it) => {
  it.scoped(
    "SIGTERM mid-trail and mid-leash: trail interrupted, review step recorded, leash cancelled, every queued record delivered, exit 0",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        const agent = yield* startAgent(server.url, server.agentKey)
        const ids = yield* waitingInLeash(server, agent)
        // nothing was sent yet: every record is still queued (the flush interval is a minute)
        expect((yield* recorded(server, ids.trailId)).steps).toHaveLength(0)

        agent.child.kill("SIGTERM")
        const exit = yield* agent.exited.pipe(
          Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error(`the agent did not exit: ${agent.stderr()}`) })
        )
        const why = `exit ${JSON.stringify(exit)}; stderr: ${agent.stderr()}`
        expect(exit.code, why).toBe(0)
        expect(agent.stdout(), why).not.toContain("decided")
        yield* expectFullyRecorded(server, ids, why)
      }),
    60_000
  )

  it.scoped(
    "SIGTERM while the collector fails the first attempts: the shutdown flush retries, and every queued record still arrives before the exit",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        let ingestAttempts = 0
        const proxy = yield* FaultProxy.make({
          target: server.port,
          faults: {
            toClient: { millis: 20, jitter: 20 },
            // the first two sends are cut mid-request (the server gets nothing), the third passes
            choose: (r) => (r.path === "/v1/ingest" ? (++ingestAttempts <= 2 ? "resetRequest" : "none") : undefined)
          }
        })
        const agent = yield* startAgent(proxy.url, server.agentKey)
        const ids = yield* waitingInLeash(server, agent)
        agent.child.kill("SIGTERM")
        const exit = yield* agent.exited.pipe(
          Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error(`the agent did not exit: ${agent.stderr()}`) })
        )
        const why = `exit ${JSON.stringify(exit)}; ${proxy.describe()}; stderr: ${agent.stderr()}`
        expect(exit.code, why).toBe(0)
        const ingest = (yield* proxy.exchanges).filter((e) => e.path === "/v1/ingest")
        expect(ingest.map((e) => e.fault), why).toStrictEqual(["resetRequest", "resetRequest", "none"])
        yield* expectFullyRecorded(server, ids, why)
      }),
    60_000
  )

  it.scoped(
    "SIGTERM with a collector that never answers: the process still exits within the bound, and says what it lost",
    () =>
      Effect.gen(function*() {
        const server = yield* Server
        const proxy = yield* FaultProxy.make({ target: server.port, faults: { only: (r) => r.path === "/v1/ingest", hang: 1 } })
        const agent = yield* startAgent(proxy.url, server.agentKey)
        const ids = yield* waitingInLeash(server, agent)
        const signalled = Date.now()
        agent.child.kill("SIGTERM")
        const exit = yield* agent.exited.pipe(
          Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`the agent did not exit: ${agent.stderr()}`) })
        )
        const why = `exit ${JSON.stringify(exit)}; stderr: ${agent.stderr()}`
        expect(exit.code, why).toBe(0)
        // the cancel (answered at once here), the flush bound (5 s) and the abort of the hung
        // request (1 s), plus 2 s of process scheduling slack
        expect(exit.at - signalled, why).toBeLessThan(5_000 + 1_000 + 2_000)
        // it says what it lost: every record of the run, in the request that got no answer
        expect(agent.stdout() + agent.stderr(), why).toMatch(
          new RegExp(`the exporter closed with ${steps + 4} record\\(s\\) not delivered`)
        )
        // the leash was still cancelled: the gate is not the collector
        expect(yield* server.store.leash(ids.leashId), why).toMatchObject({ decision: "timeout", reason: "cancelled by the agent" })
      }),
    60_000
  )
})
