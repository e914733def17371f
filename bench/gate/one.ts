/**
 * Case `one`: decision → resume, one agent waiting at a time (bench/gate.ts, case 2).
 *
 * @since 0.1.0
 */
import { performance } from "node:perf_hooks"
import type { Connected } from "./agents.js"
import { settleMillis, sizes, sleep } from "./config.js"
import type { GateResults } from "./results.js"
import { latency, ms } from "./stats.js"

/** Runs the case on the connected server. */
export const oneCase = async (c: Connected): Promise<Pick<GateResults, "decisionResumeOne">> => {
  const { agents, polls } = c
  const resume: Array<number> = []
  const posts: Array<number> = []
  const ids: Array<string> = []
  for (let i = 0; i < sizes.oneByOne; i++) {
    let at = 0
    let got = ""
    const fiber = agents.runFork(c.agent(120, (_, t, d) => {
      at = t
      got = d
    }))
    const id = await polls.next()
    ids.push(id)
    await sleep(settleMillis)
    const t0 = performance.now()
    await c.decide(id)
    posts.push(performance.now() - t0)
    await agents.runPromise(fiber.await)
    if (got !== "approved") throw new Error(`bench: leash ${id} got ${got}, not approved`)
    resume.push(at - t0)
  }
  const lat = latency(resume)
  const decisionResumeOne: GateResults["decisionResumeOne"] = { ...lat, reviewerPost: latency(posts), repolls: polls.repolls(ids) }
  console.log(`  decision → resume, one waiting: p50 ${ms(lat.p50)} ms, p99 ${ms(lat.p99)} ms`)

  return { decisionResumeOne }
}
