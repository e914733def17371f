/**
 * The exporter's cost: records delivered per second to a loopback sink, and the CPU the
 * exporting process spends per 1,000 records delivered, at fixed offered loads, beside
 * OpenTelemetry's OTLP/JSON exporter (`@opentelemetry/exporter-trace-otlp-http` behind a
 * `BatchSpanProcessor` with the same numbers: 2,048 queued, 512 a batch, 1 s delay) sending to
 * the same sink at the same load.
 *
 * The sink runs in a child process so that parsing the bodies is not charged to the exporter.
 * It counts records (Houndsight trails + steps, OTLP spans) from the bodies it accepted. Each
 * level offers records in 10 ms ticks for `seconds`, then closes the exporter (a flush) and
 * reads the sink's count: `delivered` is what reached the sink, `lost` is offered - delivered.
 *
 *   npx tsx bench/exporter.ts [--seconds 3] [--loads 5000,20000,50000,100000]
 *
 * Without `@opentelemetry/exporter-trace-otlp-http` installed, the OTLP rows are skipped.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, spawn } from "node:child_process"
import { performance } from "node:perf_hooks"
import { Exporter, Houndsight, Recorder } from "../src/index.js"
import type { StepRecord } from "../src/schema/StepRecord.js"

const args = process.argv.slice(2)
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback
}
const seconds = Number(flag("seconds", "3"))
const loads = flag("loads", "5000,20000,50000,100000").split(",").map(Number)

/** The sink: plain Node, counts records per kind, answers 202/200. */
const sinkSource = `
const http = require("node:http")
let houndsight = 0, otlp = 0
const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/count") {
    res.writeHead(200, { "content-type": "application/json" })
    return res.end(JSON.stringify({ houndsight, otlp }))
  }
  if (req.method === "POST" && req.url === "/reset") { houndsight = 0; otlp = 0; return res.end("{}") }
  const chunks = []
  req.on("data", (c) => chunks.push(c))
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    if (req.url === "/v1/ingest") {
      houndsight += body.trails.length + body.steps.length
      res.writeHead(202, { "content-type": "application/json" })
      return res.end(JSON.stringify({ accepted: body.trails.length + body.steps.length, duplicates: 0 }))
    }
    if (req.url === "/v1/traces") {
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) otlp += (ss.spans ?? []).length
      res.writeHead(200, { "content-type": "application/json" })
      return res.end("{}")
    }
    res.writeHead(404); res.end("{}")
  })
})
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"))
`

const startSink = (): Promise<{ child: ChildProcess; url: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", sinkSource], { stdio: ["ignore", "pipe", "inherit"] })
    child.once("error", reject)
    child.stdout!.once("data", (chunk: Buffer) => resolve({ child, url: `http://127.0.0.1:${chunk.toString().trim()}` }))
  })

const sinkCount = async (url: string): Promise<{ houndsight: number; otlp: number }> =>
  (await fetch(`${url}/count`)).json() as Promise<{ houndsight: number; otlp: number }>

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Offers `rate` records a second for `seconds`, in 10 ms ticks; returns how many were offered. */
const offerLoad = async (rate: number, offerOne: (i: number) => void): Promise<number> => {
  const perTick = Math.max(1, Math.round(rate / 100))
  const ticks = seconds * 100
  const start = performance.now()
  let offered = 0
  for (let t = 0; t < ticks; t++) {
    for (let k = 0; k < perTick; k++) offerOne(offered++)
    const next = start + (t + 1) * 10
    const wait = next - performance.now()
    if (wait > 0) await sleep(wait)
  }
  return offered
}

interface Row {
  readonly exporter: string
  readonly load: number
  readonly offered: number
  readonly delivered: number
  readonly lost: number
  readonly deliveredPerSecond: number
  readonly cpuMsPer1k: number
}

const measure = async (
  exporter: string,
  load: number,
  sinkUrl: string,
  kind: "houndsight" | "otlp",
  run: () => Promise<number>
): Promise<Row> => {
  await fetch(`${sinkUrl}/reset`, { method: "POST" })
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const offered = await run()
  const cpu = process.cpuUsage(cpu0)
  const wall = (performance.now() - t0) / 1000
  const delivered = (await sinkCount(sinkUrl))[kind]
  return {
    exporter,
    load,
    offered,
    delivered,
    lost: offered - delivered,
    deliveredPerSecond: Math.round(delivered / wall),
    cpuMsPer1k: delivered === 0 ? Number.NaN : ((cpu.user + cpu.system) / 1000) / (delivered / 1000)
  }
}

const at = new Date()
const stepFor = (i: number, trailId: string): StepRecord => ({
  id: globalThis.crypto.randomUUID(),
  trailId,
  parentId: null,
  seq: i + 1,
  name: "salesforce_query",
  layer: "execute",
  status: "ok",
  startedAt: at,
  endedAt: at,
  input: { quarter: "Q2", i },
  output: { deal_count: 17 },
  events: []
})

const houndsightRun = (sinkUrl: string, load: number) => async (): Promise<number> => {
  const runtime = ManagedRuntime.make(
    Houndsight.layer({ apiKey: Redacted.make("sk-hnd-bench"), agent: "bench", endpoint: sinkUrl })
  )
  const recorder = await runtime.runPromise(Recorder.Recorder)
  const trailId = globalThis.crypto.randomUUID()
  const offered = await offerLoad(load, (i) => recorder.offerStep(stepFor(i, trailId)))
  const stats = await runtime.runPromise(Exporter.stats)
  await runtime.dispose() // closes the Scope: flushes within 5 s
  if (stats.dropped > 0) process.stderr.write(`  houndsight dropped ${stats.dropped} at ${load}/s\n`)
  return offered
}

const loadOtlp = async (): Promise<((sinkUrl: string, load: number) => () => Promise<number>) | undefined> => {
  const name = "@opentelemetry/exporter-trace-otlp-http"
  let otlp: any
  try {
    otlp = await import(name)
  } catch {
    return undefined
  }
  const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base")
  return (sinkUrl, load) => async () => {
    const exporter = new otlp.OTLPTraceExporter({ url: `${sinkUrl}/v1/traces` })
    const provider = new BasicTracerProvider({
      spanProcessors: [
        new BatchSpanProcessor(exporter, {
          maxQueueSize: 2048,
          maxExportBatchSize: 512,
          scheduledDelayMillis: 1000,
          exportTimeoutMillis: 10_000
        })
      ]
    })
    const tracer = provider.getTracer("bench")
    const offered = await offerLoad(load, (i) => {
      const span = tracer.startSpan("salesforce_query", {
        attributes: { "input": JSON.stringify({ quarter: "Q2", i }), "output": JSON.stringify({ deal_count: 17 }) }
      })
      span.end()
    })
    await provider.shutdown() // flushes
    return offered
  }
}

const main = async () => {
  const sink = await startSink()
  const otlp = await loadOtlp()
  const rows: Array<Row> = []
  try {
    // one warm-up run of each, not reported
    await measure("houndsight", 1000, sink.url, "houndsight", houndsightRun(sink.url, 1000))
    if (otlp) await measure("otlp-json", 1000, sink.url, "otlp", otlp(sink.url, 1000))
    for (const load of loads) {
      rows.push(await measure("houndsight", load, sink.url, "houndsight", houndsightRun(sink.url, load)))
      if (otlp) rows.push(await measure("otlp-json", load, sink.url, "otlp", otlp(sink.url, load)))
    }
  } finally {
    sink.child.kill()
  }
  console.log(`exporter cost, ${seconds} s per load, sink in a child process (CPU is the exporting process only)`)
  console.log("| exporter | offered/s | offered | delivered | lost | delivered/s | CPU ms per 1k delivered |")
  console.log("|---|---:|---:|---:|---:|---:|---:|")
  for (const r of rows) {
    console.log(
      `| ${r.exporter} | ${r.load} | ${r.offered} | ${r.delivered} | ${r.lost} | ${r.deliveredPerSecond} | ${
        r.cpuMsPer1k.toFixed(2)
      } |`
    )
  }
  if (!otlp) {
    console.log(
      "\nOTLP rows skipped: @opentelemetry/exporter-trace-otlp-http is not installed (npm i -D it to compare)."
    )
  }
}

Effect.runPromise(Effect.promise(main)).catch((error) => {
  console.error(error)
  process.exit(1)
})
