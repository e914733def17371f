/**
 * `npm run bench:delivered`: what a delivered step costs the process that produces it, all in:
 * the step recorded by the SDK, queued, encoded and sent, against an OpenTelemetry span ended,
 * queued by its `BatchSpanProcessor` (its defaults) and exported by OTLP/JSON
 * (`@opentelemetry/exporter-trace-otlp-http`) or OTLP/protobuf
 * (`@opentelemetry/exporter-trace-otlp-proto`).
 *
 * Each side produces steps at a steady rate (ticks of 10 ms, `rate / 100` steps a tick) to the
 * same loopback sink (`bench/sink.ts`: its own process, which parses every body and counts what
 * it received; it answers houndsight as the gate server's ingest does). Sides, each in a fresh
 * child `node` process running houndsight compiled to JavaScript (bench/compile.ts says why):
 *
 * - **houndsight**: `Houndsight.layer` (the live layer, its defaults but the queue bound, see
 *   `queueBound`), one trail, each step a
 *   `Sniff.run("salesforce_query", { layer: "execute", input }, Effect.succeed(output))`;
 * - **loop.effect**: the same Effect pacing loop running `Effect.succeed(output)` without a sniff
 *   or a layer: houndsight's own loop;
 * - **otlp.json**, **otlp.proto**: a `BasicTracerProvider` with a `BatchSpanProcessor`, each step
 *   a span started with `input` and ended with `output` as attributes (JSON text, as an
 *   OpenTelemetry user writes them); the processor's defaults but the queue bound;
 * - **loop.plain**: the same plain pacing loop doing nothing: OpenTelemetry's own loop.
 *
 * A run warms up for a second at its rate, then measures `seconds` more and the close (the
 * layer's release, the provider's shutdown: every queued record sent). The figure is the
 * process's CPU (`process.cpuUsage()`, user + system) from the start of the measured part until
 * the close has returned, over the steps the sink received in that time; a side whose records
 * were not all delivered is reported as such. The net figure subtracts the side's own loop
 * measured in the same round (µs per step). Rounds alternate the order of the sides.
 *
 *   npm run bench:delivered                                   # 5 rounds, 3 s a run, 20,000/s and 2,000/s
 *   npm run bench:delivered -- --quick                        # 1 round, 1 s a run
 *   npm run bench:delivered -- --rounds 3 --seconds 2 --rates 20000 --sides houndsight,loop.effect
 *   npm run bench:delivered -- --profile /tmp/prof            # node --cpu-prof of each child
 *   npm run bench:delivered -- --verbose                      # the children's own output
 *
 * Writes bench/delivered-results.json (bench/delivered-results.quick.json for a quick run; no file
 * with custom settings).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { performance, PerformanceObserver } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { Exporter, Houndsight, Sniff, Trail } from "../src/index.js"
import { cacheDirOf, flagOf, median, runResultChild, versionIn } from "./children.js"
import { resetSink, sinkCounts, startSink } from "./sink.js"

const root = fileURLToPath(new URL("..", import.meta.url))

type Side = "houndsight" | "loop.effect" | "otlp.json" | "otlp.proto" | "loop.plain"
const allSides: ReadonlyArray<Side> = ["houndsight", "loop.effect", "otlp.json", "otlp.proto", "loop.plain"]
/** The loop each side's figure is net of. */
const loopOf: Readonly<Record<Side, Side | undefined>> = {
  houndsight: "loop.effect",
  "otlp.json": "loop.plain",
  "otlp.proto": "loop.plain",
  "loop.effect": undefined,
  "loop.plain": undefined
}

interface Task {
  readonly side: Side
  readonly rate: number
  readonly seconds: number
  readonly sink: string
}

/** What one child reports. */
interface Run {
  readonly side: Side
  readonly rate: number
  /** Steps made in the measured part. */
  readonly offered: number
  /** Steps the sink received from the start of the measured part until the close returned. */
  readonly delivered: number
  /** Steps made in the whole run (warm-up included) and steps the sink received in all. */
  readonly offeredInAll: number
  readonly deliveredInAll: number
  readonly cpuMicros: number
  /** Requests the sink received in the measured part. */
  readonly requests: number
  readonly wallSeconds: number
  /** CPU µs per delivered step (per step made, for a loop). */
  readonly cpuMicrosPerStep: number
  /** Milliseconds the main thread spent in garbage collection in the measured part, and how many collections. */
  readonly gcMillis: number
  readonly gcCount: number
}

/** Garbage collection of this process so far: the observer's sum of pauses and their count. */
const gc = { millis: 0, count: 0 }
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.millis += entry.duration
    gc.count++
  }
})

const warmSeconds = 1

/**
 * The queue bound of both sides (houndsight's `maxQueue`, the processor's `maxQueueSize`; every
 * other setting is the default): large enough that a busy moment on a shared machine drops
 * nothing, so each side pays for every step it made. Loss at the default bounds is
 * `bench/exporter.ts`'s measure.
 */
const queueBound = 262_144

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const input = (i: number) => ({ quarter: "Q2", i })
const output = { deal_count: 17 }

/** The plain pacing loop: `rate` steps a second in 10 ms ticks for `seconds`; returns the steps made. */
const plainLoop = async (rate: number, seconds: number, step: (i: number) => void): Promise<number> => {
  const perTick = Math.max(1, Math.round(rate / 100))
  const start = performance.now()
  let i = 0
  for (let t = 0; t < seconds * 100; t++) {
    for (let k = 0; k < perTick; k++) step(i++)
    const wait = start + (t + 1) * 10 - performance.now()
    if (wait > 0) await sleep(wait)
  }
  return i
}

/** The same pacing loop as an Effect program, each step an Effect. */
const effectLoop = <R>(rate: number, seconds: number, step: (i: number) => Effect.Effect<unknown, never, R>) =>
  Effect.gen(function*() {
    const perTick = Math.max(1, Math.round(rate / 100))
    const start = performance.now()
    let i = 0
    for (let t = 0; t < seconds * 100; t++) {
      for (let k = 0; k < perTick; k++) yield* step(i++)
      const wait = start + (t + 1) * 10 - performance.now()
      if (wait > 0) yield* Effect.sleep(wait)
    }
    return i
  })

/** The steps and requests the sink has from `side` (none for a loop). */
const received = async (side: Side, sink: string): Promise<{ readonly steps: number; readonly requests: number }> => {
  if (side === "loop.effect" || side === "loop.plain") return { steps: 0, requests: 0 }
  const c = await sinkCounts(sink)
  return side === "houndsight"
    ? { steps: c.houndsightSteps, requests: c.houndsightRequests }
    : side === "otlp.json"
    ? { steps: c.otlp, requests: c.otlpRequests }
    : { steps: c.otlpProto, requests: c.otlpProtoRequests }
}

/** The measured part of a run: CPU and wall from `mark()` until `close()` has returned. */
interface Window {
  readonly gc0: { readonly millis: number; readonly count: number }
  readonly cpu0: NodeJS.CpuUsage
  readonly t0: number
  readonly at: { readonly steps: number; readonly requests: number }
}

const openWindow = async (task: Task): Promise<Window> => {
  const at = await received(task.side, task.sink)
  return { at, gc0: { ...gc }, cpu0: process.cpuUsage(), t0: performance.now() }
}

const closeWindow = async (task: Task, w: Window, offered: number, offeredInAll: number): Promise<Run> => {
  const cpu = process.cpuUsage(w.cpu0)
  const wallSeconds = (performance.now() - w.t0) / 1000
  const gcMillis = Math.round((gc.millis - w.gc0.millis) * 10) / 10
  const gcCount = gc.count - w.gc0.count
  const loop = task.side === "loop.effect" || task.side === "loop.plain"
  const end = await received(task.side, task.sink)
  const deliveredInAll = loop ? offeredInAll : end.steps
  const delivered = loop ? offered : deliveredInAll - w.at.steps
  const cpuMicros = cpu.user + cpu.system
  return {
    side: task.side,
    rate: task.rate,
    offered,
    delivered,
    offeredInAll,
    deliveredInAll,
    cpuMicros,
    requests: end.requests - w.at.requests,
    wallSeconds,
    cpuMicrosPerStep: delivered === 0 ? Number.NaN : cpuMicros / delivered,
    gcMillis,
    gcCount
  }
}

const runHoundsight = async (task: Task): Promise<Run> => {
  const runtime = ManagedRuntime.make(
    Houndsight.layer({ apiKey: Redacted.make("sk-hnd-bench"), agent: "bench", endpoint: task.sink, maxQueue: queueBound })
  )
  await runtime.runPromise(Exporter.Exporter)
  const step = (i: number) => Sniff.run("salesforce_query", { layer: "execute", input: input(i) }, Effect.succeed(output))
  let window: Window | undefined
  let offered = 0
  const offeredInAll = await runtime.runPromise(
    Effect.gen(function*() {
      const warm = yield* effectLoop(task.rate, warmSeconds, step)
      window = yield* Effect.promise(() => openWindow(task))
      offered = yield* effectLoop(task.rate, task.seconds, (i) => step(warm + i))
      return warm + offered
    }).pipe(Trail.run({ trigger: "bench", payload: {} }))
  )
  await runtime.dispose()
  return closeWindow(task, window!, offered, offeredInAll)
}

const runEffectLoop = async (task: Task): Promise<Run> => {
  const step = () => Effect.succeed(output)
  const warm = await Effect.runPromise(effectLoop(task.rate, warmSeconds, step))
  const window = await openWindow(task)
  const offered = await Effect.runPromise(effectLoop(task.rate, task.seconds, step))
  return closeWindow(task, window, offered, warm + offered)
}

const runOtlp = async (task: Task): Promise<Run> => {
  const { OTLPTraceExporter } = task.side === "otlp.json"
    ? await import("@opentelemetry/exporter-trace-otlp-http")
    : await import("@opentelemetry/exporter-trace-otlp-proto")
  const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base")
  const provider = new BasicTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${task.sink}/v1/traces` }), { maxQueueSize: queueBound })
    ]
  })
  const tracer = provider.getTracer("bench")
  const step = (i: number) => {
    const span = tracer.startSpan("salesforce_query", { attributes: { input: JSON.stringify(input(i)) } })
    span.setAttribute("output", JSON.stringify(output))
    span.end()
  }
  const warm = await plainLoop(task.rate, warmSeconds, step)
  const window = await openWindow(task)
  const offered = await plainLoop(task.rate, task.seconds, step)
  // a backlog of more than the exporter's 30 concurrent requests fails the shutdown's flush
  // ("Concurrent export limit reached"): the run is then reported as not all delivered
  await provider.shutdown().catch((error: unknown) => console.error(`bench: ${task.side} shutdown: ${String(error)}`))
  return closeWindow(task, window, offered, warm + offered)
}

const runPlainLoop = async (task: Task): Promise<Run> => {
  const step = () => {}
  const warm = await plainLoop(task.rate, warmSeconds, step)
  const window = await openWindow(task)
  const offered = await plainLoop(task.rate, task.seconds, step)
  return closeWindow(task, window, offered, warm + offered)
}

const child = async (task: Task): Promise<void> => {
  gcObserver.observe({ entryTypes: ["gc"] })
  const run = task.side === "houndsight"
    ? await runHoundsight(task)
    : task.side === "loop.effect"
    ? await runEffectLoop(task)
    : task.side === "loop.plain"
    ? await runPlainLoop(task)
    : await runOtlp(task)
  process.stdout.write(`\nRESULT ${JSON.stringify(run)}\n`)
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------
// the parent
// ---------------------------------------------------------------------------------------------

const args = process.argv.slice(2)
const flag = flagOf(args)
const quick = args.includes("--quick") || process.env["BENCH_QUICK"] === "1"
const rounds = Number(flag("rounds") ?? (quick ? 1 : 5))
const seconds = Number(flag("seconds") ?? (quick ? 1 : 3))
const rates = (flag("rates") ?? "20000,2000").split(",").map(Number)
const sides = (flag("sides") ?? allSides.join(",")).split(",") as Array<Side>
const profileDir = flag("profile")
const verbose = args.includes("--verbose")
const custom = ["rounds", "seconds", "rates", "sides", "profile"].some((name) => flag(name) !== undefined)
for (const side of sides) {
  if (!allSides.includes(side)) throw new Error(`bench: unknown side ${JSON.stringify(side)}; known: ${allSides.join(", ")}`)
}
for (const rate of rates) {
  if (!Number.isInteger(rate) || rate < 100) throw new Error(`bench: --rates takes whole numbers of steps a second, ≥ 100`)
}

const runChild = (entry: string, task: Task): Promise<Run> =>
  runResultChild<Run>({
    entry,
    nodeArgs: profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`],
    task,
    cwd: root,
    what: task.side,
    verbose
  })

const parent = async (): Promise<void> => {
  const { machine } = await import("./report.js")
  const m = machine({
    effect: versionIn(root, "effect"),
    "@opentelemetry/sdk-trace-base": versionIn(root, "@opentelemetry/sdk-trace-base"),
    "@opentelemetry/exporter-trace-otlp-http": versionIn(root, "@opentelemetry/exporter-trace-otlp-http"),
    "@opentelemetry/exporter-trace-otlp-proto": versionIn(root, "@opentelemetry/exporter-trace-otlp-proto")
  })
  console.log(
    `delivered-step bench: node ${m.node}, ${m.cpu}, ${m.cores} cores, load ${m.loadAverage}, speed work ${m.speedMillis} ms; ${rounds} round(s), ` +
      `${seconds} s a run (after ${warmSeconds} s of warm-up), rates ${rates.join(", ")}/s, sides ${sides.join(", ")}`
  )
  const { compileBench } = await import("./compile.js")
  const entry = compileBench(root, cacheDirOf(root, "houndsight-bench-delivered"), "delivered.ts")
  const sink = await startSink()
  const runs: Array<Run & { readonly round: number; readonly loadAverage: number }> = []
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse()
      for (const rate of rates) {
        for (const side of order) {
          await resetSink(sink.url)
          const run = await runChild(entry, { side, rate, seconds, sink: sink.url })
          const loadAverage = Math.round((await import("node:os")).loadavg()[0]! * 100) / 100
          runs.push({ round, loadAverage, ...run })
          const lost = run.offeredInAll - run.deliveredInAll
          console.log(
            `  round ${round + 1}, ${rate}/s, ${side}: ${run.cpuMicrosPerStep.toFixed(2)} µs CPU a step ` +
              `(${run.delivered} steps in ${run.requests} requests, ${(run.cpuMicros / 1000).toFixed(0)} ms CPU, ` +
              `${run.wallSeconds.toFixed(2)} s; GC ${run.gcMillis} ms in ${run.gcCount})` +
              (lost === 0 ? "" : `; NOT ALL DELIVERED: ${lost} of ${run.offeredInAll} missing`) + `; load ${loadAverage}`
          )
        }
      }
    }
  } finally {
    sink.child.kill()
  }

  /** The net µs a step of `side` at `rate` in `round` (its loop's µs a step subtracted). */
  const net = (side: Side, rate: number, round: number): number => {
    const run = runs.find((r) => r.side === side && r.rate === rate && r.round === round)
    const loop = loopOf[side]
    const base = loop === undefined ? undefined : runs.find((r) => r.side === loop && r.rate === rate && r.round === round)
    if (run === undefined || run.offeredInAll !== run.deliveredInAll) return Number.NaN
    return run.cpuMicrosPerStep - (base?.cpuMicrosPerStep ?? 0)
  }
  const roundsList = Array.from({ length: rounds }, (_, r) => r)
  const summary = rates.map((rate) => {
    const perSide = Object.fromEntries(sides.map((side) => {
      const of = runs.filter((r) => r.side === side && r.rate === rate)
      return [side, {
        grossMicrosPerStep: median(of.map((r) => r.cpuMicrosPerStep)),
        netMicrosPerStep: median(roundsList.map((round) => net(side, rate, round))),
        allDelivered: of.every((r) => r.offeredInAll === r.deliveredInAll)
      }]
    }))
    const ratio = (a: Side, b: Side) => {
      if (!sides.includes(a) || !sides.includes(b)) return undefined
      // a round where either side did not deliver everything has no pair
      const paired = roundsList.map((round) => net(a, rate, round) / net(b, rate, round)).filter((x) => !Number.isNaN(x))
      return { median: median(paired), min: Math.min(...paired), max: Math.max(...paired), pairs: paired.length }
    }
    return {
      rate,
      sides: perSide,
      houndsightOverOtlpJson: ratio("houndsight", "otlp.json"),
      houndsightOverOtlpProto: ratio("houndsight", "otlp.proto")
    }
  })

  console.log(`\n| rate | side | CPU µs a delivered step | net of its loop |`)
  console.log("|---|---|---:|---:|")
  for (const s of summary) {
    for (const side of sides) {
      const x = s.sides[side]!
      console.log(
        `| ${s.rate.toLocaleString("en-US")}/s | ${side} | ${x.grossMicrosPerStep.toFixed(2)} | ${
          loopOf[side] === undefined ? "—" : x.netMicrosPerStep.toFixed(2)
        }${x.allDelivered ? "" : " (not all delivered)"} |`
      )
    }
  }
  console.log("")
  for (const s of summary) {
    for (const [name, r] of [["OTLP/JSON", s.houndsightOverOtlpJson], ["OTLP/protobuf", s.houndsightOverOtlpProto]] as const) {
      if (r === undefined) continue
      console.log(
        `${s.rate.toLocaleString("en-US")}/s: a delivered houndsight step costs ${r.median.toFixed(2)}× an OpenTelemetry span ` +
          `with ${name} (${r.pairs} pair(s) of rounds both fully delivered: ${r.min.toFixed(2)}–${r.max.toFixed(2)})`
      )
    }
  }
  const targetMet = summary.every((s) => s.houndsightOverOtlpJson !== undefined && s.houndsightOverOtlpJson.median <= 0.5)
  console.log(`  ${targetMet ? "met    " : "MISSED "} a delivered step ≤ 0.5× OpenTelemetry with OTLP/JSON at every rate`)

  if (custom) {
    console.log("Custom settings: bench/delivered-results.json was not written.")
    return
  }
  const file = join(root, "bench", quick ? "delivered-results.quick.json" : "delivered-results.json")
  writeFileSync(
    file,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        machine: m,
        config: { rounds, seconds, warmSeconds, rates, sides, tickMillis: 10 },
        summary,
        targets: { "a delivered step <= 0.5x OpenTelemetry with OTLP/JSON at every rate": targetMet },
        runs
      },
      null,
      2
    ) + "\n"
  )
  console.log(`Wrote ${relative(root, file)}`)
}

const childIndex = process.argv.indexOf("--child")
;(childIndex >= 0 ? child(JSON.parse(process.argv[childIndex + 1]!) as Task) : parent()).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
