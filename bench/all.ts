/**
 * `npm run bench`: every benchmark of the project, one after the other, then the targets of
 * issue 8 side by side with what this run measured.
 *
 * 1. **sniff** (`bench/index.ts`, also `npm run bench:sniff`): the per-step cost of a sniff,
 *    `collar`, `Bark`, `Sniff.cost`, nested sniffs and sniffs under `Effect.forEach`, against
 *    `Effect.withSpan`, an OpenTelemetry span and Effect's building blocks, in one process.
 * 2. **exporter** (`bench/exporter.ts`, also `npm run bench:exporter`): the exporter against
 *    OpenTelemetry's OTLP/JSON exporter, same loopback sink, same offered load; and the heap a
 *    queued record holds against an OTel span in its queue.
 * 3. **delivered** (`bench/delivered.ts`, also `npm run bench:delivered`): the producing
 *    process's CPU per delivered step at a steady 20,000/s and 2,000/s, houndsight's live layer
 *    against an OpenTelemetry span exported by OTLP/JSON and by OTLP/protobuf (issue 20).
 * 4. **gate** (`bench/gate.ts`, also `npm run bench:gate`): decision → resume, a floor-rule
 *    leash against a bare round trip, leash creations/s, ingest steps/s and the server's RSS
 *    with 1,000 agents waiting, against the local server as its own process.
 * 5. **server** (`bench/server.ts`, also `npm run bench:server`): the server as installed (the
 *    compiled package, started by its bin): spawn → first /healthz, and RSS with 1,000 agents on
 *    held long-polls (issue 15).
 * 6. **pg** (`bench/pg.ts`, also `npm run bench:pg`): the server on PostgreSQL, one instance and
 *    three behind a round-robin proxy: leash creations/s, ingest steps/s, and decision → resume
 *    across instances (issue 18); skipped with a line saying so without PostgreSQL.
 *
 * Each part runs in its own child process (and starts its own children: the parts must not
 * share a heap or a JIT), writes its own results file, and this script reads the three files,
 * prints the targets table and writes everything to bench/results.json.
 *
 * Environment: `BENCH_QUICK=1` runs every part quickly (to check that everything works) and
 * writes bench/results.quick.json instead, so the last full run's figures stay;
 * `BENCH_PARTS=sniff,gate` runs only these parts (and reads the others' last results files, if
 * any, for the table; results.json is then not written). The gate and server parts run the built
 * packages: this script builds them once (`npm run build:server`) before the parts, unless
 * `BENCH_NO_BUILD=1`, and tells those parts not to build again.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { type Busy, busyBetween, cpuTimes, describeBusy, speedMillis } from "./conditions.js"
import { buildShipped } from "./gate/server.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const quick = process.env["BENCH_QUICK"] === "1" || process.env["BENCH_QUICK"] === "true"

/** One part: its script, the arguments it needs for a quick run, and the file it writes. */
interface Part {
  readonly name: "sniff" | "exporter" | "delivered" | "gate" | "server" | "pg"
  readonly script: string
  readonly quickArgs: ReadonlyArray<string>
  readonly results: string
  /** Runs the built packages (`npm run build:server`): built once by this script for every such part. */
  readonly built?: true
}

const parts: ReadonlyArray<Part> = [
  { name: "sniff", script: "bench/index.ts", quickArgs: [], results: "sniff-results" },
  { name: "exporter", script: "bench/exporter.ts", quickArgs: ["--quick"], results: "exporter-results" },
  { name: "delivered", script: "bench/delivered.ts", quickArgs: ["--quick"], results: "delivered-results" },
  { name: "gate", script: "bench/gate.ts", quickArgs: [], results: "gate-results", built: true },
  { name: "server", script: "bench/server.ts", quickArgs: ["--quick"], results: "server-results", built: true },
  { name: "pg", script: "bench/pg.ts", quickArgs: [], results: "pg-results" }
]

const chosen = (() => {
  const env = (process.env["BENCH_PARTS"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
  for (const name of env) {
    if (!parts.some((p) => p.name === name)) {
      throw new Error(
        `bench: BENCH_PARTS names unknown part ${JSON.stringify(name)}; known: ${parts.map((p) => p.name).join(", ")}`
      )
    }
  }
  return env.length === 0 ? parts : parts.filter((p) => env.includes(p.name))
})()

const resultsFile = (part: Part): string => join(root, "bench", `${part.results}${quick ? ".quick" : ""}.json`)

/** Runs one part under tsx in a child process, its output shown as it comes; rejects on failure. */
const runPart = (part: Part): Promise<void> =>
  new Promise((resolve, reject) => {
    console.log(`\n== ${part.name} (${part.script}${quick ? ", quick" : ""})\n`)
    const child = spawn(process.execPath, ["--import", "tsx", part.script, ...(quick ? part.quickArgs : [])], {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, BENCH_ROOT: root, ...(part.built === true ? { BENCH_NO_BUILD: "1" } : {}) }
    })
    child.on("error", reject)
    child.on("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`bench: the ${part.name} part failed (${signal ?? `exit code ${code}`}); see its output above`)))
  })

const readJson = (file: string): any => (existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined)

/** A target, what was measured, and whether the measurement meets it (undefined: not measured). */
interface Target {
  readonly target: string
  readonly measured: string
  readonly met: boolean | undefined
}

const fixed = (n: number, digits = 2): string => n.toFixed(digits)
const whole = (n: number): string => Math.round(n).toLocaleString("en-US")

/** The targets of issue 8, from the three results files. */
const targetsOf = (sniff: any, exporter: any, delivered: any, gate: any, server: any, pg: any): ReadonlyArray<Target> => {
  const targets: Array<Target> = []
  // issue 20: the whole cost of a delivered step, at each rate
  for (const s of delivered?.summary ?? []) {
    const r = s.houndsightOverOtlpJson
    targets.push({
      target: `a delivered step at ${whole(s.rate)}/s costs ≤ 0.5× an OpenTelemetry span with OTLP/JSON (CPU)`,
      measured: r === undefined
        ? "not measured"
        : `${fixed(r.median)}× (${fixed(s.sides.houndsight.netMicrosPerStep)} µs against ${
          fixed(s.sides["otlp.json"].netMicrosPerStep)
        } µs; OTLP/protobuf ${fixed(s.sides["otlp.proto"]?.netMicrosPerStep ?? NaN)} µs)`,
      met: r === undefined ? undefined : r.median <= 0.5
    })
  }
  const ratio = (a: string, b: string): number | undefined => sniff?.ratios?.[a]?.[b]?.median
  const vsOtel = ratio("sniff", "otel")
  const vsSpan = ratio("sniff", "withSpan")
  targets.push({
    target: "a sniff costs ≤ 1.0× an OpenTelemetry span",
    measured: vsOtel === undefined ? "not measured" : `${fixed(vsOtel)}×`,
    met: vsOtel === undefined ? undefined : vsOtel <= 1
  })
  targets.push({
    target: "a sniff costs ≤ 0.25× `Effect.withSpan`",
    measured: vsSpan === undefined ? "not measured" : `${fixed(vsSpan)}×`,
    met: vsSpan === undefined ? undefined : vsSpan <= 0.25
  })
  const full = exporter?.summary?.find((s: any) => s.load === "full")
  targets.push({
    target: "the exporter delivers ≥ 2× OTLP/JSON's records/s at full speed",
    measured: full === undefined
      ? "not measured"
      : `${fixed(full.deliveredRatio)}× (${whole(full.houndsight.deliveredPerSecond)}/s against ${
        whole(full.otlp.deliveredPerSecond)
      }/s)`,
    met: full === undefined ? undefined : full.deliveredRatio >= 2
  })
  const at50k = exporter?.summary?.find((s: any) => s.load === 50_000)
  targets.push({
    target: "the exporter loses at most 0.01 % at 50,000 records/s in each round, default queue",
    measured: at50k === undefined
      ? "not measured"
      : `${whole(at50k.houndsight.lost)} lost, median of ${exporter.config?.rounds ?? "?"} rounds; worst round ${fixed(exporter.worstLossPercentAt50k ?? NaN, 3)} % (OTLP/JSON: ${whole(at50k.otlp.lost)})`,
    met: at50k === undefined ? undefined : exporter.targets?.["at most 0.01 % lost at 50,000/s in each round"] === true
  })
  const heap = exporter?.heap
  targets.push({
    target: "heap per queued record ≤ 0.3× an OTel span in its queue",
    measured: heap === undefined
      ? "not measured"
      : `${fixed(heap.ratio)}× (${whole(heap.houndsight)} B against ${whole(heap.otlp)} B)`,
    met: heap === undefined ? undefined : heap.ratio <= 0.3
  })
  const resume = gate?.decisionResumeOne
  targets.push({
    target: "reviewer decision → agent resumes, p99 ≤ 20 ms",
    measured: resume === undefined
      ? "not measured"
      : `p99 ${fixed(resume.p99, 1)} ms, p50 ${fixed(resume.p50, 1)} ms (${resume.n} leashes)`,
    met: resume === undefined ? undefined : resume.p99 <= 20
  })
  const floor = gate?.floorRule
  targets.push({
    target: "a floor-rule leash ≤ 2× a bare round trip, and ≤ 0.6 ms of server CPU a floor-rule creation",
    measured: floor === undefined
      ? "not measured"
      : `${fixed(floor.pairedRatioMedian)}× (p50 ${fixed(floor.leash.p50, 1)} ms against ${fixed(floor.bare.p50, 1)} ms); ` +
        (floor.serverCpuMsPerLeash === undefined ? "server CPU not measured" : `server CPU ${fixed(floor.serverCpuMsPerLeash)} ms`),
    met: floor === undefined
      ? undefined
      : floor.pairedRatioMedian <= 2 && floor.serverCpuMsPerLeash !== undefined && floor.serverCpuMsPerLeash <= 0.6
  })
  const ingest: Array<any> | undefined = gate?.ingest
  const best = ingest === undefined || ingest.length === 0
    ? undefined
    : ingest.reduce((a, b) => (b.stepsPerSecond > a.stepsPerSecond ? b : a))
  targets.push({
    target: "the server ingests ≥ 50,000 steps/s",
    measured: best === undefined
      ? "not measured"
      : `${whole(best.stepsPerSecond)} steps/s (${best.inFlight} request(s) in flight; ${
        whole(best.stepsPerServerCpuSecond)
      } per server CPU-second)`,
    met: best === undefined ? undefined : best.stepsPerSecond >= 50_000
  })
  const waiting = gate?.waiting
  targets.push({
    target: "the server holds 1,000 waiting agents in < 100 MB RSS",
    measured: waiting === undefined
      ? "not measured"
      : `${whole(waiting.serverRssMiB)} MiB as installed (idle ${whole(waiting.serverIdleRssMiB)} MiB)` +
        (gate.plainNode?.waiting === undefined
          ? ""
          : `; the bundle under plain node ${whole(gate.plainNode.waiting.serverRssMiB)} MiB`),
    met: waiting === undefined ? undefined : waiting.serverRssMiB * 1.048576 < 100
  })
  // issue 15: the server as installed (bench/server.ts)
  const startup = server?.startup
  targets.push({
    target: "the compiled server: spawn of the bin → first /healthz 200 on an empty database < 1 s",
    measured: startup === undefined
      ? "not measured"
      : `median ${whole(startup.medianMs)} ms (min ${whole(startup.minMs)}, max ${whole(startup.maxMs)}; ${startup.runs} starts; ` +
        `node alone ${whole(startup.nodeAloneMs ?? NaN)} ms)`,
    met: startup === undefined ? undefined : startup.medianMs < 1_000
  })
  const held = server?.waiting
  targets.push({
    target: "1,000 agents on held long-polls < 128 MiB RSS with the bin's own settings",
    measured: held === undefined ? "not measured" : `${fixed(held.rssHeldMiB, 1)} MiB`,
    met: held === undefined ? undefined : held.rssHeldMiB < 128
  })
  targets.push({
    target: "a held long-poll costs ≤ 30 KiB",
    measured: held === undefined ? "not measured" : `${fixed(held.perPollKiB, 1)} KiB`,
    met: held === undefined ? undefined : held.perPollKiB <= 30
  })
  // issue 18: decision → resume across instances on PostgreSQL
  const across = pg?.acrossInstances
  targets.push({
    target: "decision → resume across instances on PostgreSQL, p99 ≤ 50 ms (1,000 leashes)",
    measured: across === undefined ? "not measured" : `p99 ${fixed(across.p99, 1)} ms (p50 ${fixed(across.p50, 1)} ms)`,
    met: across === undefined ? undefined : across.p99 <= 50
  })
  return targets
}

const main = async (): Promise<void> => {
  const started = performance.now()
  const speedAtStart = speedMillis()
  console.log(
    `bench: this machine does the fixed speed work in ${speedAtStart} ms (bench/conditions.ts; smaller is faster: ` +
      `compare figures of two runs by it, not by the CPU's name)`
  )
  if (chosen.some((part) => part.built === true)) buildShipped()
  const conditions: Array<{ readonly part: string; readonly seconds: number; readonly busy: Busy | undefined }> = []
  for (const part of chosen) {
    const before = cpuTimes()
    const t0 = performance.now()
    await runPart(part)
    const busy = busyBetween(before, cpuTimes())
    const seconds = Math.round((performance.now() - t0) / 100) / 10
    conditions.push({ part: part.name, seconds, busy })
    console.log(`\n(${part.name} took ${seconds} s; ${describeBusy(busy)})`)
  }
  const speedAtEnd = speedMillis()
  const [sniff, exporter, delivered, gate, server, pg] = parts.map((p) => readJson(resultsFile(p)))
  const targets = targetsOf(sniff, exporter, delivered, gate, server, pg)

  console.log(`\n== targets (issues 8, 15, 18 and 20)${quick ? ", from a quick run" : ""}\n`)
  console.log("| target | measured | met |")
  console.log("|---|---|---|")
  for (const t of targets) console.log(`| ${t.target} | ${t.measured} | ${t.met === undefined ? "—" : t.met ? "yes" : "no"} |`)
  const met = targets.filter((t) => t.met === true).length
  console.log(`\n${met} of ${targets.length} targets met. All parts took ${((performance.now() - started) / 1000).toFixed(0)} s.`)
  console.log(`The fixed speed work took ${speedAtStart} ms at the start and ${speedAtEnd} ms at the end.`)
  for (const c of conditions) console.log(`  ${c.part}: ${c.seconds} s; ${describeBusy(c.busy)}`)

  if (chosen.length !== parts.length) {
    console.log("BENCH_PARTS is set: bench/results.json was not written.")
    return
  }
  const file = join(root, "bench", quick ? "results.quick.json" : "results.json")
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        quick,
        machine: {
          node: process.version,
          platform: `${process.platform} ${process.arch}`,
          cpu: Os.cpus()[0]?.model.trim() ?? "unknown",
          cores: Os.cpus().length,
          memoryGiB: Math.round(Os.totalmem() / 2 ** 30),
          loadAverageAtEnd: Number(Os.loadavg()[0]!.toFixed(2)),
          speedMillisAtStart: speedAtStart,
          speedMillisAtEnd: speedAtEnd
        },
        conditions,
        targets,
        sniff,
        exporter,
        delivered,
        gate,
        server,
        pg
      },
      null,
      2
    ) + "\n"
  )
  console.log(`Wrote ${file}`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
