/**
 * `npm run bench:pg`: the gate server on PostgreSQL, one instance and three on one database,
 * beside the SQLite figures of `npm run bench:gate` (the same cases, bench/gate/*).
 *
 * A fresh PostgreSQL cluster (test/support/postgres.ts: Debian's binaries, a free loopback port)
 * holds a fresh database for each setup; the servers are the command as shipped, each its own
 * process, started with `--db postgres://…` and the same keys and rules.
 *
 * 1. **one instance**: leash creations/s (32 in flight) and ingest steps/s (512-step batches, 1
 *    and 4 in flight), as bench/gate.ts measures them on SQLite.
 * 2. **three instances behind a round-robin proxy** (test/support/roundRobin.ts, no stickiness,
 *    in this process): the same two cases through the proxy; the server CPU is the three
 *    instances' sum.
 * 3. **decision → resume across instances**: an agent's `Leash.request` long-polls instance A,
 *    a reviewer decides on instance B, one leash at a time (1,000; 150 with `BENCH_QUICK=1`): the
 *    wake-up crosses instances through PostgreSQL's `LISTEN`/`NOTIFY`.
 *
 * Without PostgreSQL binaries it prints one line saying so and writes nothing. Results go to
 * bench/pg-results.json (bench/pg-results.quick.json when quick). Like bench/gate.ts, it compiles
 * itself (bench/compile.ts) and measures in a child `node` process.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Scope } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import * as Postgres from "../test/support/postgres.js"
import * as RoundRobin from "../test/support/roundRobin.js"
import { connect, warmUp } from "./gate/agents.js"
import { quick, root, sizes } from "./gate/config.js"
import { createCase } from "./gate/create.js"
import { ingestCase } from "./gate/ingest.js"
import { oneCase } from "./gate/one.js"
import type { GateResults } from "./gate/results.js"
import { cacheDir, freshKeys, type ServerProcess, startServer } from "./gate/server.js"
import { ms } from "./gate/stats.js"
import { machine as machineOf } from "./report.js"

/** `tsx` (TypeScript sources) or `compiled` (JavaScript, as users run it). */
const mode: "tsx" | "compiled" = import.meta.url.endsWith(".ts") ? "tsx" : "compiled"

/** What the PostgreSQL bench writes. */
export interface PgResults {
  readonly date: string
  readonly quick: boolean
  readonly machine: ReturnType<typeof machineOf>
  readonly one: Pick<GateResults, "creations" | "ingest">
  readonly three: Pick<GateResults, "creations" | "ingest">
  readonly acrossInstances: GateResults["decisionResumeOne"]
  readonly seconds: number
}

/** Starts `n` instances on one fresh database of the cluster, with the same keys. */
const startInstances = async (pg: Postgres.Postgres, name: string, n: number) => {
  const url = await Effect.runPromise(pg.database(name))
  const keys = freshKeys()
  const dirs = Array.from({ length: n }, () => mkdtempSync(join(Os.tmpdir(), "houndsight-bench-pg-")))
  // the first alone (it migrates), then the others together
  const first = await startServer(dirs[0]!, undefined, [], { db: url, keys })
  const rest = await Promise.all(dirs.slice(1).map((dir) => startServer(dir, undefined, [], { db: url, keys })))
  const servers = [first, ...rest]
  const stop = async () => {
    for (const server of servers) {
      const code = await server.stop()
      if (code !== 0) console.error(`bench: a server exited with ${code}`)
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
  return { servers, stop }
}

/** Instances seen as one server at `url` (a proxy in front): CPU summed, memory of the first. */
const asOne = (servers: ReadonlyArray<ServerProcess>, url: string): ServerProcess => ({
  ...servers[0]!,
  url,
  cpuSeconds: () => servers.reduce((sum, s) => sum + s.cpuSeconds(), 0)
})

const throughput = async (server: ServerProcess): Promise<Pick<GateResults, "creations" | "ingest">> => {
  const c = await connect(server)
  try {
    await warmUp(c, sizes.shortWarmup)
    return { ...(await createCase(c)), ...(await ingestCase(c)) }
  } finally {
    await c.close()
  }
}

const measure = async (): Promise<void> => {
  const machine = machineOf({})
  if (!Postgres.available) {
    console.log(Postgres.skipMessage.replace("tests skipped", "bench skipped"))
    if (Postgres.required) process.exitCode = 1
    return
  }
  console.log(`PostgreSQL bench: node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage}${quick ? " (quick)" : ""}`)
  const began = performance.now()
  const scope = Effect.runSync(Scope.make())
  try {
    const pg = await Effect.runPromise(Scope.extend(Postgres.start, scope))
    console.log(`  PostgreSQL on 127.0.0.1:${pg.port}`)

    console.log("  one instance")
    const single = await startInstances(pg, "bench_one", 1)
    const one = await throughput(single.servers[0]!).finally(single.stop)

    console.log("  three instances behind a round-robin proxy")
    const triple = await startInstances(pg, "bench_three", 3)
    let three: PgResults["three"]
    let acrossInstances: PgResults["acrossInstances"]
    try {
      const proxy = await Effect.runPromise(Scope.extend(RoundRobin.start(triple.servers.map((s) => s.url)), scope))
      three = await throughput(asOne(triple.servers, proxy.url))
      console.log("  decision → resume across instances (the agent waits on A, the reviewer decides on B)")
      const [a, b] = triple.servers as [ServerProcess, ServerProcess]
      const agentSide = await connect(a)
      const reviewerSide = await connect(b)
      try {
        await warmUp(agentSide, sizes.shortWarmup)
        const result = await oneCase({ ...agentSide, decide: reviewerSide.decide })
        acrossInstances = result.decisionResumeOne
      } finally {
        await agentSide.close()
        await reviewerSide.close()
      }
    } finally {
      await triple.stop()
    }
    const results: PgResults = {
      date: new Date().toISOString(),
      quick,
      machine,
      one,
      three,
      acrossInstances,
      seconds: (performance.now() - began) / 1000
    }
    console.log(
      `\n| PostgreSQL | leash creations/s | ingest steps/s (1 in flight) | ingest steps/s (4 in flight) |\n|---|---:|---:|---:|\n` +
        [["1 instance", one], ["3 instances", three]].map(([label, r]) => {
          const x = r as PgResults["one"]
          return `| ${label} | ${Math.round(x.creations.perSecond)} | ${Math.round(x.ingest[0]!.stepsPerSecond)} | ${
            Math.round(x.ingest[1]!.stepsPerSecond)
          } |`
        }).join("\n") +
        `\n\ndecision → resume across instances: p50 ${ms(acrossInstances.p50)} ms, p99 ${ms(acrossInstances.p99)} ms (target p99 ≤ 50 ms)\n`
    )
    const file = join(root, "bench", quick ? "pg-results.quick.json" : "pg-results.json")
    writeFileSync(file, JSON.stringify(results, null, 2) + "\n")
    console.log(`Measured in ${results.seconds.toFixed(1)} s. Wrote ${file}`)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const main = async (): Promise<void> => {
  if (mode === "tsx") {
    const { compileAndRun } = await import("./compile.js")
    process.exitCode = await compileAndRun(root, "pg.ts", join(cacheDir(), "bench-pg-out"), [])
    return
  }
  await measure()
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error)
  process.exitCode = 1
})
