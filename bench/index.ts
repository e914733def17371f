/**
 * `npm run bench:sniff` (the first part of `npm run bench`, see ./all.ts): measures what a houndsight sniff costs per step next to Effect's `withSpan`,
 * an OpenTelemetry JS span and the Effect building blocks a sniff could be made of, all in one
 * process, in rotated rounds. Prints a Markdown table and writes bench/sniff-results.json.
 *
 * Run by tsx, it first compiles src/ and bench/ to JavaScript (./compile.ts says why) and
 * measures in a child `node` process running that output, as users run houndsight.
 *
 * Environment:
 * - `BENCH_QUICK=1`: a fast run (few, short rounds) to check that everything works; it writes
 *   bench/sniff-results.quick.json, so the figures of the last full run stay in bench/sniff-results.json.
 * - `BENCH_ONLY=sniff,withSpan`: run only these cases (for profiling); no results file is written.
 * - `BENCH_ROUNDS=n`: override the number of measured rounds.
 * - `BENCH_PROFILE=/tmp/prof`: run the measuring process under `node --cpu-prof` and write the
 *   profile into that directory (open it in Chrome DevTools or speedscope).
 * - `BENCH_SOURCE=1`: measure the TypeScript sources under tsx instead (slower houndsight; see
 *   ./compile.ts); no results file is written.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Recorder } from "../src/index.js"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { makeCases } from "./cases.js"
import { type BenchConfig, runBench } from "./harness.js"
import { makeOtelPeer } from "./otel.js"
import { batching } from "./recorder.js"
import { comparisons, machine, resultsJson, table } from "./report.js"
import { verifyDesigns } from "./verify.js"

/** The project root: given by the parent to a compiled run, else the parent of bench/. */
const root: string = process.env["BENCH_ROOT"] ?? fileURLToPath(new URL("..", import.meta.url))

/** `tsx` (TypeScript sources) or `compiled` (JavaScript, as users run it). */
const mode: "tsx" | "compiled" = import.meta.url.endsWith(".ts") ? "tsx" : "compiled"

const versionOf = (pkg: string): string => {
  try {
    const file = join(root, "node_modules", pkg, "package.json")
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version
  } catch {
    return "unknown"
  }
}

const readConfig = (): BenchConfig & { readonly quick: boolean } => {
  const quick = process.env["BENCH_QUICK"] === "1" || process.env["BENCH_QUICK"] === "true"
  const base = quick ? { rounds: 5, targetMs: 10, warmupMs: 30 } : { rounds: 25, targetMs: 40, warmupMs: 250 }
  const roundsEnv = process.env["BENCH_ROUNDS"]
  if (roundsEnv === undefined) return { quick, ...base }
  const rounds = Number(roundsEnv)
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1000) {
    throw new Error(`bench: BENCH_ROUNDS must be a whole number from 1 to 1000, got ${JSON.stringify(roundsEnv)}`)
  }
  return { quick, ...base, rounds }
}

/** Compiles the bench and runs it in a child `node` process; resolves to its exit code. */
const compileAndRun = async (): Promise<number> => {
  const { compileAndRun: run } = await import("./compile.js")
  const profile = process.env["BENCH_PROFILE"]
  const nodeArgs = profile === undefined || profile === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`]
  return run(root, "index.ts", join(root, "node_modules", ".cache", "houndsight-bench"), nodeArgs)
}

const main = async (): Promise<void> => {
  if (mode === "tsx" && process.env["BENCH_SOURCE"] !== "1") {
    process.exitCode = await compileAndRun()
    return
  }
  const config = readConfig()
  const m = machine({
    effect: versionOf("effect"),
    "@opentelemetry/sdk-trace-base": versionOf("@opentelemetry/sdk-trace-base"),
    "@opentelemetry/api": versionOf("@opentelemetry/api")
  })
  console.log(
    `houndsight bench (${mode}): node ${m.node}, ${m.cpu}, ${m.cores} cores, load ${m.loadAverage}, speed work ${m.speedMillis} ms; ` +
      `${config.rounds} rounds of ~${config.targetMs} ms per case${config.quick ? " (quick)" : ""}`
  )

  await Effect.runPromise(verifyDesigns)

  const recorder = batching()
  const runtime = ManagedRuntime.make(Layer.succeed(Recorder.Recorder, recorder))
  const otel = makeOtelPeer()
  let cases = makeCases({ otel })
  const only = process.env["BENCH_ONLY"]
  if (only !== undefined && only !== "") {
    const wanted = only.split(",").map((s) => s.trim())
    const unknown = wanted.filter((id) => !cases.some((c) => c.id === id))
    if (unknown.length > 0) {
      throw new Error(
        `bench: BENCH_ONLY names unknown case(s) ${unknown.join(", ")}; known: ${cases.map((c) => c.id).join(", ")}`
      )
    }
    // keep the baselines of the chosen cases so net figures still make sense
    const keep = new Set(wanted.flatMap((id) => [id, cases.find((c) => c.id === id)!.baseline ?? id]))
    cases = cases.filter((c) => keep.has(c.id))
  }

  const started = performance.now()
  const result = await runBench(runtime, cases, config, (line) => console.log(line))
  const seconds = (performance.now() - started) / 1000
  await otel.check()
  await otel.shutdown()
  await runtime.dispose()

  console.log(`\n${table(result)}\n\n${comparisons(result)}\n`)
  const spanStep = result.cases.find((c) => c.id === "span.step")?.netUsPerOp
  const sniffNet = result.cases.find((c) => c.id === "sniff")?.netUsPerOp
  if (spanStep !== undefined && sniffNet !== undefined) {
    // issue 17's target: what recording a span as a step adds costs at most 1.5 sniffs
    console.log(
      `- recording a span as a step adds ${spanStep.median.toFixed(3)} µs/op to the span: ` +
        `${(spanStep.median / sniffNet.median).toFixed(2)}× a sniff's net ${sniffNet.median.toFixed(3)} µs/op (target ≤ 1.5×)\n`
    )
  }
  const counts = otel.counts()
  console.log(
    `OpenTelemetry: ${counts.ended} spans ended, ${counts.exported} exported, ${counts.dropped} dropped. ` +
      `Measured in ${seconds.toFixed(1)} s.`
  )
  if ((only !== undefined && only !== "") || mode === "tsx") {
    console.log(`${mode === "tsx" ? "Measured under tsx" : "BENCH_ONLY is set"}: bench/sniff-results.json was not written.`)
    return
  }
  // a quick run does not overwrite the figures of the last full run
  const file = join(root, "bench", config.quick ? "sniff-results.quick.json" : "sniff-results.json")
  writeFileSync(
    file,
    resultsJson(m, config, result, {
      mode,
      otelSpans: counts,
      batchingRecorderReceived: recorder.received(),
      seconds
    })
  )
  console.log(`Wrote ${file}`)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exitCode = 1
})
