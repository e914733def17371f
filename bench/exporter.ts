/**
 * `npm run bench:exporter`: the houndsight exporter against OpenTelemetry's OTLP/JSON exporter
 * (`@opentelemetry/exporter-trace-otlp-http` behind a `BatchSpanProcessor` with its defaults:
 * 2,048 queued, 512 a batch), both sending to the same loopback sink at the same offered load.
 *
 * Each measurement runs in a fresh child `node` process (so peak RSS, the JIT and the heap are
 * its own), on houndsight compiled to JavaScript as users run it (see bench/compile.ts for why
 * not tsx). The sink is another child process, plain Node, that parses every body and counts
 * records (houndsight trails + steps, OTLP spans). Per exporter and load it prints:
 *
 * - **delivered/s**: records the sink accepted, over the wall time from the first offer until the
 *   exporter finished shutting down (its final flush included);
 * - **lost**: offered − delivered (dropped by the exporter, or never sent);
 * - **peak RSS** of the exporting process;
 * - **offers that held the agent**: offers that took over 1 ms (an offer is a synchronous call
 *   on the agent's path; this counts the ones that did not return promptly), and the longest;
 * - **CPU per 1k delivered** of the exporting process (producing the records included);
 *
 * and, with the collector unreachable, the **heap per queued record**: the growth of the heap
 * (V8 heap + external memory, after a full GC) while the queue grows from 512 records to its
 * bound (the first 512 are in the failed request, waiting to be retried), divided by that growth,
 * for a houndsight step record and an OTel span in its queue. Both queues are bounded at 20,480
 * for this measurement (instead of 2,048) so that 20,000 records are measured, not 1,500: the
 * retry machinery allocates a few hundred kilobytes between two samples, which would otherwise
 * show up as 50–100 bytes a record.
 *
 * Loads: `full` offers as fast as the process can, yielding to the event loop (`setImmediate`)
 * every 100 offers, like an agent whose steps take no time; a number offers that many records a
 * second in 10 ms ticks. Rounds alternate which exporter goes first; the summary gives medians and
 * the ratio houndsight / OTLP of delivered/s paired round by round.
 *
 *   npm run bench:exporter                        # 5 rounds, 3 s a run; writes bench/exporter-results.json
 *   npm run bench:exporter -- --quick             # 1 round, 1 s a run; writes bench/exporter-results.quick.json
 *   npm run bench:exporter -- --rounds 5 --seconds 5 --loads full,50000,100000
 *   npm run bench:exporter -- --profile /tmp/prof # CPU profiles (node --cpu-prof) of the children
 *   npm run bench:exporter -- --peers houndsight  # one exporter only (to profile it)
 *   npm run bench:exporter -- --houndsight-http fetch   # houndsight on Node's own fetch (or undici:
 *                                                       # @effect/platform-node's layerUndici)
 *   npm run bench:exporter -- --verbose           # show the children's logs
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { writeFileSync } from "node:fs"
import * as net from "node:net"
import { join, relative } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { Exporter, Houndsight, Recorder } from "../src/index.js"
import type { StepRecord } from "../src/schema/StepRecord.js"
import { cacheDirOf, flagOf, median, runResultChild, versionIn } from "./children.js"
import { resetSink, sinkCounts, startSink } from "./sink.js"

const root = fileURLToPath(new URL("..", import.meta.url))

// ---------------------------------------------------------------------------------------------
// what one child measures
// ---------------------------------------------------------------------------------------------

type Peer = "houndsight" | "otlp"
type Load = "full" | number

interface ThroughputTask {
  readonly task: "throughput"
  readonly peer: Peer
  readonly load: Load
  readonly seconds: number
  readonly sink: string
}

interface HeapTask {
  readonly task: "heap"
  readonly peer: Peer
}

type Task = ThroughputTask | HeapTask

/** What a throughput child reports. */
interface Throughput {
  readonly peer: Peer
  readonly load: Load
  readonly offered: number
  readonly delivered: number
  readonly lost: number
  readonly recordsPerRequest: number
  /** Body bytes per record delivered. */
  readonly bytesPerRecord: number
  /** The sink's time to parse and count one request body. */
  readonly sinkParseMsPerRequest: number
  /** What the exporter itself counts as dropped (houndsight: stats.dropped; OTLP: not exposed). */
  readonly exporterDropped: number | null
  readonly wallSeconds: number
  readonly deliveredPerSecond: number
  readonly offeredPerSecond: number
  readonly cpuMsPer1kDelivered: number
  /** Offers that held the agent for more than 1 ms. */
  readonly offersOver1ms: number
  /** 99.9 % of offers returned within this many microseconds. */
  readonly offerP999Micros: number
  readonly longestOfferMicros: number
  readonly peakRssMiB: number
}

/** What a heap child reports. */
interface Heap {
  readonly peer: Peer
  readonly bytesPerQueuedRecord: number
  readonly queuedBefore: number
  readonly queuedAfter: number
  readonly peakRssMiB: number
}

/** Offers per `setImmediate` at full speed. */
const fullSpeedChunk = 100

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

/** How long each offer held its caller: a histogram in microseconds (the last bucket is 100 ms and more). */
class OfferClock {
  readonly micros = new Uint32Array(100_001)
  count = 0
  longest = 0
  time(offer: () => void): void {
    const t0 = performance.now()
    offer()
    const took = performance.now() - t0
    if (took > this.longest) this.longest = took
    this.micros[Math.min(100_000, Math.floor(took * 1000))]!++
    this.count++
  }
  /** The smallest duration (µs) that `share` of the offers did not exceed. */
  percentile(share: number): number {
    const rank = Math.ceil(share * this.count)
    let seen = 0
    for (let us = 0; us < this.micros.length; us++) {
      seen += this.micros[us]!
      if (seen >= rank) return us + 1
    }
    return this.micros.length
  }
  /** Offers that took more than `ms` milliseconds. */
  over(ms: number): number {
    let n = 0
    for (let us = ms * 1000; us < this.micros.length; us++) n += this.micros[us]!
    return n
  }
}

/** Offers at `load` for `seconds`; returns how many were offered. */
const produce = async (load: Load, seconds: number, offerOne: (i: number) => void): Promise<number> => {
  let offered = 0
  const start = performance.now()
  const end = start + seconds * 1000
  if (load === "full") {
    while (performance.now() < end) {
      for (let k = 0; k < fullSpeedChunk; k++) offerOne(offered++)
      await nextTurn()
    }
    return offered
  }
  const perTick = Math.max(1, Math.round(load / 100))
  for (let t = 0; t < seconds * 100; t++) {
    for (let k = 0; k < perTick; k++) offerOne(offered++)
    const wait = start + (t + 1) * 10 - performance.now()
    if (wait > 0) await sleep(wait)
  }
  return offered
}

/** A step record as the SDK builds one (src/internal/state.ts): fresh ids and dates. */
const stepFor = (i: number, trailId: string): StepRecord => ({
  id: globalThis.crypto.randomUUID(),
  trailId,
  parentId: null,
  seq: i + 1,
  name: "salesforce_query",
  layer: "execute",
  status: "ok",
  startedAt: new Date(),
  endedAt: new Date(),
  input: { quarter: "Q2", i },
  output: { deal_count: 17 },
  events: []
})

/** One exporter under test: offer a record, close (flushing), the count it keeps. */
interface Instance {
  readonly offer: (i: number, clock: OfferClock) => void
  readonly close: () => Promise<void>
  readonly dropped: () => number | null
  readonly queued: () => number
}

const houndsight = async (endpoint: string, maxQueue?: number): Promise<Instance> => {
  const client = process.env["BENCH_HOUNDSIGHT_HTTP"]
  const httpClient = client === "fetch"
    ? FetchHttpClient.layer.pipe(Layer.provide(Layer.succeed(FetchHttpClient.Fetch, globalThis.fetch)))
    : client === "undici"
    ? (await import("@effect/platform-node/NodeHttpClient")).layerUndici
    : undefined
  const runtime = ManagedRuntime.make(
    Houndsight.layer({ apiKey: Redacted.make("sk-hnd-bench"), agent: "bench", endpoint, maxQueue, httpClient })
  )
  const recorder = await runtime.runPromise(Recorder.Recorder)
  const exporter = await runtime.runPromise(Exporter.Exporter)
  const trailId = globalThis.crypto.randomUUID()
  return {
    offer: (i, clock) => {
      const record = stepFor(i, trailId)
      clock.time(() => recorder.offerStep(record))
    },
    close: () => runtime.dispose(),
    dropped: () => exporter.unsafeStats().dropped,
    queued: () => exporter.unsafeStats().queued
  }
}

const otlp = async (endpoint: string, maxQueue?: number): Promise<Instance> => {
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http")
  const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base")
  const processor = new BatchSpanProcessor(
    new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }),
    maxQueue === undefined ? {} : { maxQueueSize: maxQueue }
  )
  const provider = new BasicTracerProvider({ spanProcessors: [processor] })
  const tracer = provider.getTracer("bench")
  return {
    offer: (i, clock) => {
      const span = tracer.startSpan("salesforce_query", {
        attributes: { input: JSON.stringify({ quarter: "Q2", i }), output: JSON.stringify({ deal_count: 17 }) }
      })
      clock.time(() => span.end())
    },
    close: () => provider.shutdown(),
    dropped: () => null,
    // the processor's queue (a private field of BatchSpanProcessorBase 2.x)
    queued: () => (processor as unknown as { _finishedSpans: ReadonlyArray<unknown> })._finishedSpans.length
  }
}

const instance = (peer: Peer, endpoint: string, maxQueue?: number): Promise<Instance> =>
  peer === "houndsight" ? houndsight(endpoint, maxQueue) : otlp(endpoint, maxQueue)

/** Records, requests and bytes the sink accepted from a peer, and the time it spent parsing them. */
const sinkCount = async (sink: string, peer: Peer) => {
  const counts = (await sinkCounts(sink)) as unknown as Readonly<Record<string, number>>
  return {
    records: counts[peer]!,
    requests: counts[`${peer}Requests`]!,
    bytes: counts[`${peer}Bytes`]!,
    parseMs: counts[`${peer}Ms`]!
  }
}

const peakRssMiB = (): number => Math.round(process.resourceUsage().maxRSS / 1024)

const runThroughput = async (task: ThroughputTask): Promise<Throughput> => {
  // warm up the JIT on a throwaway instance, then start from an empty sink
  const warm = await instance(task.peer, task.sink)
  const warmClock = new OfferClock()
  await produce("full", 0.5, (i) => warm.offer(i, warmClock))
  await warm.close()
  await resetSink(task.sink)

  const live = await instance(task.peer, task.sink)
  const clock = new OfferClock()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const offered = await produce(task.load, task.seconds, (i) => live.offer(i, clock))
  const offerSeconds = (performance.now() - t0) / 1000
  const exporterDropped = live.dropped()
  await live.close()
  const wallSeconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const { records: delivered, requests, bytes, parseMs } = await sinkCount(task.sink, task.peer)
  return {
    recordsPerRequest: requests === 0 ? 0 : Math.round(delivered / requests),
    bytesPerRecord: delivered === 0 ? 0 : Math.round(bytes / delivered),
    sinkParseMsPerRequest: requests === 0 ? 0 : parseMs / requests,
    peer: task.peer,
    load: task.load,
    offered,
    delivered,
    lost: offered - delivered,
    exporterDropped,
    wallSeconds,
    deliveredPerSecond: Math.round(delivered / wallSeconds),
    offeredPerSecond: Math.round(offered / offerSeconds),
    cpuMsPer1kDelivered: delivered === 0 ? Number.NaN : (cpu.user + cpu.system) / 1000 / (delivered / 1000),
    offersOver1ms: clock.over(1),
    offerP999Micros: clock.percentile(0.999),
    longestOfferMicros: Math.round(clock.longest * 1000),
    peakRssMiB: peakRssMiB()
  }
}

/** A loopback port with nothing listening. */
const deadPort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (probe.address() as net.AddressInfo).port
      probe.close(() => resolve(port))
    })
  })

const heapNow = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("bench: the heap child needs node --expose-gc")
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.external
}

/** The queue bound of the heap measurement, for both exporters (see the module doc). */
const heapQueue = 20_480

const runHeap = async (task: HeapTask): Promise<Heap> => {
  const live = await instance(task.peer, `http://127.0.0.1:${await deadPort()}`, heapQueue)
  const clock = new OfferClock()
  let i = 0
  const offer = async (n: number) => {
    for (let k = 0; k < n; k++) live.offer(i++, clock)
    // let the exporter settle (send its first batch, which fails and waits to be retried)
    await sleep(300)
  }
  // the first 512 records leave in the first batch (in flight, retried): measure from 512 queued
  // to the bound, where a houndsight lane's slots (which grow by doubling) have grown 1:1 too
  await offer(1024)
  const h1 = heapNow()
  const q1 = live.queued()
  await offer(heapQueue - 512)
  const h2 = heapNow()
  const q2 = live.queued()
  return {
    peer: task.peer,
    bytesPerQueuedRecord: Math.round((h2 - h1) / (q2 - q1)),
    queuedBefore: q1,
    queuedAfter: q2,
    peakRssMiB: peakRssMiB()
  }
}

const child = async (task: Task): Promise<void> => {
  const result = task.task === "throughput" ? await runThroughput(task) : await runHeap(task)
  process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`)
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------
// the parent: compile, start the sink, run the children, report
// ---------------------------------------------------------------------------------------------

const args = process.argv.slice(2)
const flag = flagOf(args)
const quick = args.includes("--quick")
const verbose = args.includes("--verbose")
const rounds = Number(flag("rounds") ?? (quick ? 1 : 5))
const seconds = Number(flag("seconds") ?? (quick ? 1 : 3))
const loads: ReadonlyArray<Load> = (flag("loads") ?? "full,50000").split(",").map((l) => (l === "full" ? "full" : Number(l)))
const profileDir = flag("profile")
const peers: ReadonlyArray<Peer> = (flag("peers") ?? "houndsight,otlp").split(",") as Array<Peer>
/**
 * houndsight's HTTP client: `default` (the layer's FetchHttpClient, which on Node sends the
 * exporter's requests through node:http), `fetch` (FetchHttpClient on Node's own fetch) or
 * `undici` (@effect/platform-node's NodeHttpClient.layerUndici).
 */
const houndsightHttp = flag("houndsight-http") ?? "default"
if (!["default", "fetch", "undici"].includes(houndsightHttp)) {
  throw new Error(`bench: --houndsight-http must be default, fetch or undici, got ${JSON.stringify(houndsightHttp)}`)
}
const custom = ["rounds", "seconds", "loads", "profile", "peers", "houndsight-http"].some((name) => flag(name) !== undefined)

/** Transpiles bench/exporter.ts and what it imports (bench/compile.ts explains why); returns the entry. */
const compile = async (outDir: string): Promise<string> => (await import("./compile.js")).compileBench(root, outDir, "exporter.ts")

/** Runs one task in a child process and returns what it reported. */
const runChild = <A>(entry: string, task: Task): Promise<A> =>
  runResultChild<A>({
    entry,
    nodeArgs: ["--expose-gc", ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`])],
    task,
    cwd: root,
    what: `${task.task} for ${task.peer}`,
    verbose,
    env: { BENCH_HOUNDSIGHT_HTTP: houndsightHttp }
  })

const loadName = (load: Load): string => (load === "full" ? "full speed" : `${load.toLocaleString("en-US")}/s`)

const parent = async (): Promise<void> => {
  const { machine } = await import("./report.js")
  const m = machine({
    effect: versionIn(root, "effect"),
    "@opentelemetry/exporter-trace-otlp-http": versionIn(root, "@opentelemetry/exporter-trace-otlp-http"),
    "@opentelemetry/sdk-trace-base": versionIn(root, "@opentelemetry/sdk-trace-base")
  })
  console.log(
    `exporter bench: node ${m.node}, ${m.cpu}, ${m.cores} cores, load ${m.loadAverage}, speed work ${m.speedMillis} ms; ${rounds} round(s), ` +
      `${seconds} s a run, loads ${loads.map(loadName).join(", ")}`
  )
  const entry = await compile(cacheDirOf(root, "houndsight-bench-exporter"))
  const sink = await startSink()
  const throughput: Array<Throughput & { readonly round: number }> = []
  const heap: Array<Heap & { readonly round: number }> = []
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? peers : [...peers].reverse()
      for (const load of loads) {
        for (const peer of order) {
          const row = await runChild<Throughput>(entry, { task: "throughput", peer, load, seconds, sink: sink.url })
          throughput.push({ round, ...row })
          console.log(
            `  round ${round + 1}, ${loadName(load)}, ${peer}: ${row.deliveredPerSecond.toLocaleString("en-US")} delivered/s, ` +
              `${row.lost} lost of ${row.offered}, ${row.recordsPerRequest} records and ` +
              `${row.bytesPerRecord * row.recordsPerRequest} bytes a request, sink parse ${row.sinkParseMsPerRequest.toFixed(2)} ms`
          )
        }
      }
      for (const peer of order) {
        const row = await runChild<Heap>(entry, { task: "heap", peer })
        heap.push({ round, ...row })
        console.log(
          `  round ${round + 1}, heap, ${peer}: ${row.bytesPerQueuedRecord} bytes per queued record ` +
            `(queue ${row.queuedBefore} → ${row.queuedAfter})`
        )
      }
    }
  } finally {
    sink.child.kill()
  }

  const summary = loads.map((load) => {
    const of = (peer: Peer) => throughput.filter((r) => r.peer === peer && r.load === load)
    const med = (peer: Peer, key: keyof Throughput) => median(of(peer).map((r) => r[key] as number))
    const stats = (peer: Peer) => ({
      deliveredPerSecond: med(peer, "deliveredPerSecond"),
      offeredPerSecond: med(peer, "offeredPerSecond"),
      lost: med(peer, "lost"),
      lostShare: median(of(peer).map((r) => r.lost / r.offered)),
      peakRssMiB: med(peer, "peakRssMiB"),
      offersOver1ms: med(peer, "offersOver1ms"),
      offerP999Micros: med(peer, "offerP999Micros"),
      longestOfferMicros: med(peer, "longestOfferMicros"),
      cpuMsPer1kDelivered: med(peer, "cpuMsPer1kDelivered"),
      bytesPerRecord: med(peer, "bytesPerRecord"),
      sinkParseMsPerRequest: med(peer, "sinkParseMsPerRequest")
    })
    const ratios = Array.from({ length: rounds }, (_, round) => {
      const h = throughput.find((r) => r.round === round && r.peer === "houndsight" && r.load === load)
      const o = throughput.find((r) => r.round === round && r.peer === "otlp" && r.load === load)
      return h === undefined || o === undefined ? Number.NaN : h.deliveredPerSecond / o.deliveredPerSecond
    })
    return {
      load,
      houndsight: stats("houndsight"),
      otlp: stats("otlp"),
      deliveredRatio: median(ratios),
      deliveredRatioMin: Math.min(...ratios),
      deliveredRatioMax: Math.max(...ratios)
    }
  })
  const heapOf = (peer: Peer) => median(heap.filter((r) => r.peer === peer).map((r) => r.bytesPerQueuedRecord))
  const heapSummary = {
    houndsight: heapOf("houndsight"),
    otlp: heapOf("otlp"),
    ratio: heapOf("houndsight") / heapOf("otlp"),
    peakRssMiB: {
      houndsight: median(heap.filter((r) => r.peer === "houndsight").map((r) => r.peakRssMiB)),
      otlp: median(heap.filter((r) => r.peer === "otlp").map((r) => r.peakRssMiB))
    }
  }
  const full = summary.find((s) => s.load === "full")
  const at50k = summary.find((s) => s.load === 50_000)
  /** The largest share of its records houndsight lost in one round at 50,000/s, in per cent. */
  const worstLossPercentAt50k = throughput
    .filter((r) => r.peer === "houndsight" && r.load === 50_000)
    .reduce((worst, r) => Math.max(worst, (r.lost / r.offered) * 100), 0)
  const targets = {
    "delivered/s at full speed >= 2x OTLP": full === undefined ? null : full.deliveredRatio >= 2,
    "at most 0.01 % lost at 50,000/s in each round": at50k === undefined ? null : worstLossPercentAt50k <= 0.01,
    "heap per queued record <= 0.3x an OTel span": heapSummary.ratio <= 0.3
  }

  const f = (n: number) => Math.round(n).toLocaleString("en-US")
  console.log(
    `\n| load | exporter | offered/s | delivered/s | lost | peak RSS | offer p99.9 | longest offer | offers > 1 ms | ` +
      `CPU per 1k delivered | body bytes a record | sink parse a request |`
  )
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const s of summary) {
    for (const peer of peers) {
      const x = s[peer]
      console.log(
        `| ${loadName(s.load)} | ${peer === "otlp" ? "OTLP/JSON" : "houndsight"} | ${f(x.offeredPerSecond)} | ${
          f(x.deliveredPerSecond)
        } | ${f(x.lost)} (${(x.lostShare * 100).toFixed(1)} %) | ${x.peakRssMiB} MiB | ${f(x.offerP999Micros)} µs | ${
          f(x.longestOfferMicros)
        } µs | ${x.offersOver1ms} | ${x.cpuMsPer1kDelivered.toFixed(1)} ms | ${x.bytesPerRecord} | ${
          x.sinkParseMsPerRequest.toFixed(1)
        } ms |`
      )
    }
  }
  console.log("")
  for (const s of summary) {
    console.log(
      `${loadName(s.load)}: houndsight delivers ${s.deliveredRatio.toFixed(2)}× the records/s of OTLP/JSON ` +
        `(rounds ${s.deliveredRatioMin.toFixed(2)}–${s.deliveredRatioMax.toFixed(2)})`
    )
  }
  console.log(
    `heap per queued record, collector unreachable: houndsight ${heapSummary.houndsight} bytes, OTel span ` +
      `${heapSummary.otlp} bytes (${heapSummary.ratio.toFixed(2)}×)`
  )
  console.log(
    "offers that suspended the agent: 0 (an offer is a synchronous call that returns void; the timings above " +
      "include GC pauses and, on a shared machine, the process being descheduled)"
  )
  for (const [target, met] of Object.entries(targets)) {
    console.log(`  ${met === null ? "not measured" : met ? "met    " : "MISSED "} ${target}`)
  }

  if (custom) {
    console.log("Custom settings: bench/exporter-results.json was not written.")
    return
  }
  const file = join(root, "bench", quick ? "exporter-results.quick.json" : "exporter-results.json")
  writeFileSync(
    file,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        machine: m,
        config: {
          rounds,
          seconds,
          loads,
          fullSpeedChunk,
          houndsightHttp,
          otlp: "BatchSpanProcessor defaults (2,048 queued, 512 a batch, 5 s delay)",
          heapQueue
        },
        summary,
        heap: heapSummary,
        worstLossPercentAt50k,
        targets,
        throughput,
        heapRounds: heap
      },
      null,
      2
    ) + "\n"
  )
  console.log(`Wrote ${relative(root, file)}`)
}

const childIndex = process.argv.indexOf("--child")
Effect.runPromise(
  Effect.promise(() => childIndex >= 0 ? child(JSON.parse(process.argv[childIndex + 1]!) as Task) : parent())
).catch((error) => {
  console.error(error)
  process.exit(1)
})
