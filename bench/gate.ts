/**
 * `npm run bench:gate`: the leash and the local server, measured end to end over loopback with
 * the server as its own process, as installed (the package's bin
 * `server/bin/houndsight-server.mjs` with the node flags of its `#!` line, loading the bundle
 * `server/dist/cli.mjs`, as `npx houndsight-server` runs it; built first by
 * `npm run build:server`) and the agents in this process, on the real SDK (`Houndsight.layer`, so
 * `Leash.request` goes through `HttpGate` with the agent key, over `FetchHttpClient`).
 *
 * Cases, in the order they run, on the server as installed (one server, one database):
 *
 * 1. **1,000 waiting agents**: 1,000 fibers call `Leash.request` at once and wait in their
 *    long-polls; the server's RSS (`/proc/<pid>/status`) with all 1,000 polls held, against
 *    its idle RSS, and this process's RSS and live heap (the agents' side). Then a reviewer
 *    decides those leashes one after the other, each timed like case 2 (a long-poll that ran
 *    out while the others were decided is sent again and counted as a re-poll).
 * 2. **decision → resume, one waiting** (the target's case): 1,000 leashes one at a time:
 *    an agent calls `Leash.request`; once its long-poll has been sent and 5 ms have passed, a
 *    reviewer decides (`POST /v1/leashes/{id}/decision`, reviewer key), timed from just before
 *    the POST is sent until the agent's fiber has its Decision.
 * 3. **floor-rule leash vs bare round trip**: `Leash.request` that a floor rule blocks at
 *    creation (one `POST /v1/leashes` answered `blocked`), against `GET /healthz` through the
 *    same `HttpClient`, interleaved one for one.
 * 4. **leash creations/s**: raw HTTP (`node:http`, keep-alive), 32 requests in flight,
 *    pending leashes (each queued for the server's expiry timer).
 * 5. **ingest steps/s**: raw HTTP `POST /v1/ingest`, batches of 512 step records built before
 *    timing, with 1 request in flight (as the SDK's exporter sends) and with 4.
 *
 * Then case 1 again on the same bundle under plain `node` (without the bin's flags) and on the
 * TypeScript sources through tsx (`server/bin/dev.mjs`, as the repository's tests and demo run
 * the server), each on a fresh server. Throughput cases also report the server's
 * CPU time (`/proc/<pid>/stat`), which other work on a shared machine disturbs less than the
 * wall clock.
 *
 * Each case is a file of bench/gate/ (`waiting.ts`, `one.ts`, `floor.ts`, `create.ts`,
 * `ingest.ts`); this file runs them on one server and writes the results. Run under tsx, it
 * compiles bench/gate.ts and what it imports to JavaScript (bench/compile.ts, as for
 * `npm run bench`, and for the same reason) and measures in a child `node --expose-gc` process.
 *
 * Environment:
 * - `BENCH_QUICK=1`: a fast run (fewer leashes and batches); writes bench/gate-results.quick.json
 *   so the last full run's figures stay in bench/gate-results.json.
 * - `BENCH_PROFILE=/tmp/prof`: runs the server under `node --cpu-prof` and writes its profile
 *   there when the server stops (open it in Chrome DevTools or speedscope).
 * - `BENCH_ONLY=ingest,create`: runs only these cases (`waiting`, `one`, `floor`, `create`,
 *   `ingest`; for profiling one of them) after the warm-up; no results file is written.
 * - `BENCH_VERBOSE=1`: prints the server's output.
 * - `BENCH_NO_BUILD=1`: runs the bundle already built (no `npm run build:server` first).
 *
 * @since 0.1.0
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { connect, warmUp } from "./gate/agents.js"
import { only, profileDir, quick, root, runs, sizes } from "./gate/config.js"
import { createCase } from "./gate/create.js"
import { floorCase } from "./gate/floor.js"
import { ingestCase } from "./gate/ingest.js"
import { oneCase } from "./gate/one.js"
import { type GateResults, table, versionOf } from "./gate/results.js"
import { buildShipped, cacheDir, shippedBin, shippedNodeFlags, startServer } from "./gate/server.js"
import { waitingCase } from "./gate/waiting.js"
import { machine as machineOf } from "./report.js"

export type { GateResults } from "./gate/results.js"
export type { Latency } from "./gate/stats.js"

/** `tsx` (TypeScript sources) or `compiled` (JavaScript, as users run it). */
const mode: "tsx" | "compiled" = import.meta.url.endsWith(".ts") ? "tsx" : "compiled"

/** Compiles the bench and runs it in a child `node --expose-gc` process; resolves to its exit code. */
const compileAndRun = async (): Promise<number> => {
  const { compileAndRun: run } = await import("./compile.js")
  return run(root, "gate.ts", join(cacheDir(), "bench-out"), ["--expose-gc"])
}

/** The other ways of running the server, for the waiting case (its memory and latency). */
const otherForms = [
  { key: "plainNode", label: "the bundle, plain node", shipped: true },
  { key: "sources", label: "sources through tsx", shipped: false }
] as const

const measure = async (): Promise<void> => {
  const machine = machineOf({
    effect: versionOf("effect"),
    "@effect/platform": versionOf("@effect/platform"),
    "@effect/sql-sqlite-node": versionOf("@effect/sql-sqlite-node"),
    "better-sqlite3": versionOf("better-sqlite3")
  })
  console.log(
    `gate bench (${mode}): node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage}` +
      `${quick ? " (quick)" : ""}`
  )
  const began = performance.now()
  const results: Partial<Record<keyof GateResults, unknown>> = { date: new Date().toISOString(), quick, machine }

  // ---- the server as installed (npx houndsight-server: the bin with its node flags): every case
  buildShipped()
  const bin = shippedBin()
  const flags = shippedNodeFlags()
  {
    const dir = mkdtempSync(join(Os.tmpdir(), "houndsight-bench-gate-"))
    const server = await startServer(dir, bin, flags)
    console.log(`  server (as installed: node ${flags.join(" ")} ${bin}) pid ${server.pid} at ${server.url}`)
    const c = await connect(server)
    try {
      await warmUp(c, sizes.warmup)
      console.log(`  warmed up (${sizes.warmup.rounds} rounds, ${sizes.warmup.ingestBatches} ingest batches)`)
      if (runs("waiting")) Object.assign(results, await waitingCase(c))
      if (runs("one")) Object.assign(results, await oneCase(c))
      if (runs("floor")) Object.assign(results, await floorCase(c))
      if (runs("create")) Object.assign(results, await createCase(c))
      if (runs("ingest")) Object.assign(results, await ingestCase(c))
      results.serverAtEnd = server.memory()
    } finally {
      await c.close()
      const code = await server.stop()
      if (code !== 0) console.error(`bench: the server exited with ${code}`)
      rmSync(dir, { recursive: true, force: true })
    }
  }

  // ---- the same bundle under plain node (without the bin's flags), and the sources through
  // tsx: 1,000 waiting agents
  if (runs("waiting")) {
    for (const form of otherForms) {
      const dir = mkdtempSync(join(Os.tmpdir(), "houndsight-bench-gate-"))
      const server = await (form.shipped ? startServer(dir, bin, []) : startServer(dir))
      console.log(`  server (${form.label}) pid ${server.pid} at ${server.url}`)
      const c = await connect(server)
      try {
        await warmUp(c, sizes.shortWarmup)
        results[form.key] = await waitingCase(c)
      } finally {
        await c.close()
        const code = await server.stop()
        if (code !== 0) console.error(`bench: the server (${form.label}) exited with ${code}`)
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }

  const seconds = (performance.now() - began) / 1000
  results.seconds = seconds
  results.loadAverageAtEnd = Math.round(Os.loadavg()[0]! * 100) / 100
  if (profileDir !== undefined) console.log(`The servers' CPU profiles are in ${profileDir}`)
  if (only.length > 0) {
    console.log(`BENCH_ONLY is set: no table, and no results file. Measured in ${seconds.toFixed(1)} s.`)
    return
  }
  const r = results as unknown as GateResults
  console.log(`\n${table(r)}\n`)
  const file = join(root, "bench", quick ? "gate-results.quick.json" : "gate-results.json")
  writeFileSync(file, JSON.stringify(r, null, 2) + "\n")
  console.log(`Measured in ${r.seconds.toFixed(1)} s (load ${machine.loadAverage} at the start, ${r.loadAverageAtEnd} at the end). Wrote ${file}`)
}

const main = async (): Promise<void> => {
  if (mode === "tsx") {
    process.exitCode = await compileAndRun()
    return
  }
  await measure()
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error)
  process.exitCode = 1
})
