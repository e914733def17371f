/**
 * `npm run bench:server` (and part of `npm run bench`): the gate server as it is installed
 * (issue 15): the compiled package, started by its own bin with the bin's own settings (no node
 * flags), on an empty database.
 *
 * 1. **start-up**: from spawning `node server/bin/houndsight-server.mjs --port N --db <empty>`
 *    to the first `GET /healthz` answered 200 (polled every 5 ms from the spawn on), several
 *    times; target under 1 s.
 * 2. **1,000 waiting**: 1,000 agents each hold `GET /v1/leashes/{id}?wait_seconds=30` on a
 *    connection of their own; the server's RSS (VmRSS) with all of them held, and what one held
 *    poll adds (RSS held minus RSS with the same leashes created and no poll held, per poll);
 *    targets under 128 MiB and at most 30 KiB per poll.
 *
 * It builds the SDK and the server first (`npm run build:server`). Writes bench/server-results.json.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import * as Crypto from "node:crypto"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { cleanEnv as cleanParentEnv, freePort, type ServerChild, spawnServer } from "../test/support/serverProcess.js"
import { root } from "./gate/config.js"
import { buildShipped, shippedBin } from "./gate/server.js"

const quick = process.argv.includes("--quick") || process.env["BENCH_QUICK"] === "1"
const bin = shippedBin()
const startRuns = quick ? 3 : 7
const waiters = 1_000

const rssMiB = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024
}

/** The parent's environment without the gate's, the bench's and Node's own options. */
const cleanEnv = (): Record<string, string> => cleanParentEnv(["HOUNDSIGHT_", "BENCH_", "NODE_OPTIONS"])

interface Started {
  readonly child: ServerChild
  readonly port: number
  readonly millisToHealthy: number
  readonly output: () => string
  readonly stop: () => Promise<void>
}

/** Spawns the bin on an empty database and polls /healthz until it answers 200. */
const start = async (dir: string): Promise<Started> => {
  const port = await freePort()
  const t0 = performance.now()
  // the bin itself, as npx runs it (its #! line and the node flags it carries)
  const child = await spawnServer({
    bin,
    direct: true,
    args: ["--port", String(port), "--db", join(dir, "gate.db")],
    cwd: dir,
    dropEnv: ["HOUNDSIGHT_", "BENCH_", "NODE_OPTIONS"],
    ready: { healthz: port },
    startMillis: 30_000
  })
  const millisToHealthy = performance.now() - t0
  // the banner follows the listen; wait for it so the keys can be read
  while (!/Stop it with Ctrl-C/.test(child.output())) await new Promise((r) => setTimeout(r, 5))
  return {
    child,
    port,
    millisToHealthy,
    output: child.output,
    stop: async () => {
      await child.stop("SIGTERM")
    }
  }
}

const request = (
  agent: Http.Agent,
  port: number,
  method: string,
  path: string,
  key: string,
  body?: unknown
): Promise<{ status: number; text: string }> =>
  new Promise((done, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body)
    const r = Http.request({
      host: "127.0.0.1",
      port,
      method,
      path,
      agent,
      headers: {
        authorization: `Bearer ${key}`,
        ...(text === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      }
    }, (response) => {
      let data = ""
      response.setEncoding("utf8").on("data", (c: string) => (data += c)).on("end", () => done({ status: response.statusCode ?? 0, text: data }))
    })
    r.on("error", reject)
    r.end(text)
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const main = async () => {
  buildShipped()

  // 1. start-up
  const times: Array<number> = []
  for (let i = 0; i < startRuns; i++) {
    const dir = mkdtempSync(join(tmpdir(), "houndsight-bench-start-"))
    try {
      const s = await start(dir)
      times.push(s.millisToHealthy)
      await s.stop()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  // node itself, on the same machine at the same time: what a start costs before any of our code
  const bare: Array<number> = []
  for (let i = 0; i < startRuns; i++) {
    const t0 = performance.now()
    execFileSync(process.execPath, ["-e", ""], { env: cleanEnv() })
    bare.push(performance.now() - t0)
  }
  const nodeAloneMs = median(bare)
  const startup = { nodeAloneMs, runs: times.length, medianMs: median(times), maxMs: Math.max(...times), minMs: Math.min(...times) }
  console.log(
    `start-up (spawn of the bin → first /healthz 200, empty database): median ${startup.medianMs.toFixed(0)} ms, ` +
      `min ${startup.minMs.toFixed(0)} ms, max ${startup.maxMs.toFixed(0)} ms over ${startup.runs} starts ` +
      `(node alone starts and exits in ${nodeAloneMs.toFixed(0)} ms now; load average ${loadavg()[0]!.toFixed(1)})`
  )

  // 2. 1,000 agents waiting
  const dir = mkdtempSync(join(tmpdir(), "houndsight-bench-wait-"))
  const s = await start(dir)
  try {
    const agentKey = /agent key\s+(sk-hnd-\S+)/.exec(s.output())![1]!
    const setup = new Http.Agent({ keepAlive: true, maxSockets: 16 })
    const ids: Array<string> = []
    for (let i = 0; i < waiters; i++) {
      const leashId = Crypto.randomUUID()
      ids.push(leashId)
      const answer = await request(setup, s.port, "POST", "/v1/leashes", agentKey, {
        leash_id: leashId,
        trail_id: Crypto.randomUUID(),
        step_id: Crypto.randomUUID(),
        agent: `agent-${i}`,
        action_name: "stripe.charge",
        action_summary: `Charge cus_${i} $120.00`,
        risk_signals: { amount_usd: 120 },
        payload: { customer: `cus_${i}`, amount_usd: 120 },
        timeout_seconds: 300,
        blocking: true
      })
      if (answer.status !== 200) throw new Error(`bench: creating a leash answered ${answer.status}: ${answer.text}`)
    }
    setup.destroy()
    await new Promise((r) => setTimeout(r, 1_000))
    const beforeMiB = rssMiB(s.child.pid)
    // one connection per agent, each holding its long-poll
    const held = new Http.Agent({ keepAlive: true, maxSockets: Infinity })
    let answered = 0
    const polls = ids.map((id) =>
      request(held, s.port, "GET", `/v1/leashes/${id}?wait_seconds=30`, agentKey).then((a) => {
        answered++
        return a
      })
    )
    // all requests written and held: wait until the server has read them all (its RSS settles)
    await new Promise((r) => setTimeout(r, quick ? 3_000 : 6_000))
    const heldMiB = rssMiB(s.child.pid)
    const sockets = Object.values(held.sockets).reduce((n, list) => n + (list?.length ?? 0), 0)
    const perPollKiB = ((heldMiB - beforeMiB) * 1024) / waiters
    const waiting = { agents: waiters, sockets, answeredEarly: answered, rssBeforeMiB: beforeMiB, rssHeldMiB: heldMiB, perPollKiB }
    console.log(
      `1,000 waiting (the bin's own settings): RSS ${heldMiB.toFixed(1)} MiB with ${sockets} polls held ` +
        `(${beforeMiB.toFixed(1)} MiB with the leashes and no poll); ${perPollKiB.toFixed(1)} KiB per held poll` +
        (answered > 0 ? `; ${answered} polls answered early (should be 0)` : "")
    )
    held.destroy()
    await Promise.allSettled(polls)

    const results = {
      date: new Date().toISOString(),
      quick,
      loadAverage: Number(loadavg()[0]!.toFixed(2)),
      startup,
      waiting,
      targets: {
        "start-up < 1 s": startup.medianMs < 1_000,
        "1,000 waiting < 128 MiB RSS": heldMiB < 128,
        "a held poll ≤ 30 KiB": perPollKiB <= 30
      }
    }
    writeFileSync(join(root, "bench", `server-results${quick ? ".quick" : ""}.json`), JSON.stringify(results, null, 2) + "\n")
    for (const [target, met] of Object.entries(results.targets)) console.log(`  ${met ? "met" : "NOT met"}: ${target}`)
  } finally {
    await s.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
