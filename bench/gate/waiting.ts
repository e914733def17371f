/**
 * Case `waiting`: 1,000 waiting agents (bench/gate.ts, case 1).
 *
 * @since 0.1.0
 */
import { performance } from "node:perf_hooks"
import { type Connected, liveHeapMiB } from "./agents.js"
import { sizes, sleep } from "./config.js"
import type { GateResults } from "./results.js"
import { latency, mib, ms } from "./stats.js"

/**
 * 1,000 agents call `Leash.request` at once and wait; the server's RSS and this process's with
 * every long-poll held; then a reviewer decides the leashes one after the other, each timed
 * from just before its POST until the agent's fiber has the Decision.
 */
export const waitingCase = async (c: Connected): Promise<Pick<GateResults, "waiting" | "decisionResumeWaiting">> => {
  const { agents, polls, server } = c
  await sleep(1000)
  const serverIdle = server.memory()
  const agentIdle = process.memoryUsage().rss / 2 ** 20
  const agentIdleHeap = liveHeapMiB()
  const decided = new Map<string, (at: number) => void>()
  const wrong: Array<string> = []
  const onDecision = (leashId: string, at: number, decision: string) => {
    if (decision !== "approved") wrong.push(`${leashId}: ${decision}`)
    decided.get(leashId)?.(at)
  }
  const fibers = Array.from({ length: sizes.waiting }, () => agents.runFork(c.agent(120, onDecision)))
  const ids: Array<string> = []
  for (let i = 0; i < sizes.waiting; i++) ids.push(await polls.next())
  await sleep(1000)
  let serverRss = 0
  let agentRss = 0
  for (let i = 0; i < 5; i++) {
    serverRss = Math.max(serverRss, server.memory().rssMiB)
    agentRss = Math.max(agentRss, process.memoryUsage().rss / 2 ** 20)
    await sleep(100)
  }
  const agentHeap = liveHeapMiB()
  console.log(
    `  ${sizes.waiting} agents waiting: server RSS ${mib(serverRss)} MiB (idle ${mib(serverIdle.rssMiB)}), ` +
      `agents' process ${mib(agentRss)} MiB (before ${mib(agentIdle)}; live heap ${mib(agentHeap)} MiB, ` +
      `before ${mib(agentIdleHeap)})`
  )
  const resume: Array<number> = []
  const posts: Array<number> = []
  for (const id of ids) {
    const resumed = new Promise<number>((done) => decided.set(id, done))
    const t0 = performance.now()
    await c.decide(id)
    posts.push(performance.now() - t0)
    resume.push((await resumed) - t0)
  }
  for (const fiber of fibers) await agents.runPromise(fiber.await)
  if (wrong.length > 0) {
    throw new Error(`bench: ${wrong.length} waiting agents did not get approved: ${wrong.slice(0, 3).join("; ")}`)
  }
  const lat = latency(resume)
  console.log(`  decision → resume with ${sizes.waiting} waiting: p50 ${ms(lat.p50)} ms, p99 ${ms(lat.p99)} ms`)
  return {
    waiting: {
      agents: sizes.waiting,
      serverIdleRssMiB: serverIdle.rssMiB,
      serverRssMiB: serverRss,
      serverPeakMiB: server.memory().peakMiB,
      agentIdleRssMiB: agentIdle,
      agentRssMiB: agentRss,
      agentIdleLiveHeapMiB: agentIdleHeap,
      agentLiveHeapMiB: agentHeap,
      repolls: polls.repolls(ids)
    },
    decisionResumeWaiting: { ...lat, reviewerPost: latency(posts) }
  }
}
