/**
 * Case `webhooks` (issue 19): a slow or failing receiver never slows the gate. The same figures
 * twice, on a fresh server each time: with no webhook, and with a webhook (every event) pointing
 * at a receiver on 127.0.0.1 that never answers (each delivery holds a socket until the worker's
 * timeout). Printed: leash creations/s (as case `create` measures them) and decision → resume
 * (a leash created, its agent's long-poll held, a reviewer's decision posted, until the poll
 * answers; one after the other), and the hanging one's ratio to the one without.
 *
 * Runs alone: `npx tsx bench/gate/webhooks.ts` (the server compiled to JavaScript, as bench/gate.ts
 * runs it); `BENCH_QUICK=1` for a shorter run.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { startReceiver } from "../../test/support/webhookReceiver.js"
import type { Connected } from "./agents.js"
import { settleMillis, sizes, sleep } from "./config.js"
import { createCase, leashBody } from "./create.js"
import { rawClient } from "./load.js"
import { compileServer, type ServerProcess, startServer } from "./server.js"
import { count, latency, ms } from "./stats.js"

/** The figures of one run. */
export interface WebhookRun {
  readonly creationsPerSecond: number
  /** Creations per second of the server's CPU time (less swayed by other work on the machine). */
  readonly creationsPerCpuSecond: number
  readonly resumeP50: number
  readonly resumeP99: number
  /** Requests the receiver held open at the end (0 without a webhook). */
  readonly heldSockets: number
}

/** Decision → resume, `n` leashes one after the other. */
const resumeTimes = async (server: ServerProcess, n: number): Promise<Array<number>> => {
  const agent = rawClient(server.url, server.agentKey, 4)
  const reviewer = rawClient(server.url, server.reviewerKey, 4)
  const times: Array<number> = []
  for (let i = 0; i < n; i++) {
    const body = leashBody(600)
    const leashId = (JSON.parse(body) as { leash_id: string }).leash_id
    const created = await agent.post("/v1/leashes", body)
    if (created.status !== 200) throw new Error(`bench: POST /v1/leashes answered ${created.status}: ${created.text}`)
    const poll = fetch(`${server.url}/v1/leashes/${leashId}?wait_seconds=30`, {
      headers: { authorization: `Bearer ${server.agentKey}` }
    }).then(async (r) => {
      const state = await r.json() as { status: string }
      return { at: performance.now(), status: state.status }
    })
    await sleep(settleMillis)
    const t0 = performance.now()
    const decided = await reviewer.post(`/v1/leashes/${leashId}/decision`, JSON.stringify({ decision: "approved" }))
    if (decided.status !== 200) throw new Error(`bench: the decision answered ${decided.status}: ${decided.text}`)
    const answered = await poll
    if (answered.status !== "decided") throw new Error(`bench: the long-poll answered ${answered.status}`)
    times.push(answered.at - t0)
  }
  agent.close()
  reviewer.close()
  return times
}

/** One run: a fresh server, with a webhook to a hanging receiver or none. */
const run = async (main: string, hanging: boolean): Promise<WebhookRun> => {
  const dir = mkdtempSync(join(Os.tmpdir(), "houndsight-bench-webhooks-"))
  const receiver = hanging ? await startReceiver(() => "hang") : undefined
  try {
    if (receiver !== undefined) {
      // the CLI as users run it, on the database the server then opens
      execFileSync(process.execPath, [
        main,
        "webhooks",
        "add",
        receiver.url,
        "--events",
        "leash.pending,leash.decided,leash.expired,leash.reminder,flag.raised",
        "--db",
        join(dir, "gate.db")
      ], { cwd: dir, stdio: "ignore" })
    }
    const server = await startServer(dir, main)
    try {
      const { creations } = await createCase({ server } as Connected)
      const lat = latency(await resumeTimes(server, sizes.floor))
      return {
        creationsPerSecond: creations.perSecond,
        creationsPerCpuSecond: creations.perServerCpuSecond,
        resumeP50: lat.p50,
        resumeP99: lat.p99,
        heldSockets: receiver?.open() ?? 0
      }
    } finally {
      await server.stop()
    }
  } finally {
    await receiver?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
/** How many runs of each kind (`BENCH_WEBHOOK_ROUNDS`, default 3). */
const rounds = Math.max(1, Number(process.env["BENCH_WEBHOOK_ROUNDS"] ?? 3) || 3)

/**
 * Runs the case: without and with a hanging webhook, `rounds` times each, alternating (the best
 * figure of each kind is kept, against a shared machine's noise); prints both and their ratio.
 */
export const webhooksCase = async (): Promise<{ readonly none: WebhookRun; readonly hanging: WebhookRun }> => {
  const main = await compileServer()
  const best = (a: WebhookRun, b: WebhookRun): WebhookRun => ({
    creationsPerSecond: Math.max(a.creationsPerSecond, b.creationsPerSecond),
    creationsPerCpuSecond: Math.max(a.creationsPerCpuSecond, b.creationsPerCpuSecond),
    resumeP50: Math.min(a.resumeP50, b.resumeP50),
    resumeP99: Math.min(a.resumeP99, b.resumeP99),
    heldSockets: Math.max(a.heldSockets, b.heldSockets)
  })
  const runs: { none: Array<WebhookRun>; hanging: Array<WebhookRun> } = { none: [], hanging: [] }
  for (let i = 0; i < rounds; i++) {
    console.log(`  run ${i + 1}: no webhook`)
    runs.none.push(await run(main, false))
    console.log(`  run ${i + 1}: a webhook to a receiver that never answers`)
    runs.hanging.push(await run(main, true))
  }
  const none = runs.none.reduce(best)
  const hanging = runs.hanging.reduce(best)
  const pct = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)} %`
  console.log(
    `  leash creations/s: ${count(none.creationsPerSecond)} without webhooks, ${count(hanging.creationsPerSecond)} ` +
      `with a hanging receiver (${pct(hanging.creationsPerSecond, none.creationsPerSecond)}); per server CPU second: ` +
      `${count(none.creationsPerCpuSecond)} and ${count(hanging.creationsPerCpuSecond)} ` +
      `(${pct(hanging.creationsPerCpuSecond, none.creationsPerCpuSecond)})`
  )
  console.log(
    `  decision → resume: p50 ${ms(none.resumeP50)} ms / p99 ${ms(none.resumeP99)} ms without webhooks, ` +
      `p50 ${ms(hanging.resumeP50)} ms / p99 ${ms(hanging.resumeP99)} ms with a hanging receiver ` +
      `(p50 ${pct(hanging.resumeP50, none.resumeP50)}); sockets the receiver held: ${hanging.heldSockets}`
  )
  return { none, hanging }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  console.log("webhooks: the gate with and without a hanging webhook receiver")
  await webhooksCase()
}
