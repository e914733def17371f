/**
 * `npm run bench:gate`: the leash and the local server, measured end to end over loopback with
 * the server as its own process (`server/bin/houndsight-server.mjs`, as `npx houndsight-server`
 * runs it) and the agents in this process, on the real SDK (`Houndsight.layer`, so
 * `Leash.request` goes through `HttpGate` with the agent key, over `FetchHttpClient`).
 *
 * Cases, in the order they run, on the server as shipped (one server, one database):
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
 * Then case 1 again on the server compiled to JavaScript under plain `node`, as is and with V8
 * flags for a small heap, each on a fresh server. Throughput cases also report the server's
 * CPU time (`/proc/<pid>/stat`), which other work on a shared machine disturbs less than the
 * wall clock.
 *
 * Run under tsx, it compiles bench/gate.ts and the SDK's sources to JavaScript (as
 * bench/compile.ts does for `npm run bench`, and for the same reason) and measures in a child
 * `node --expose-gc` process. The server as shipped runs its TypeScript sources through tsx, as
 * its command does.
 *
 * Environment:
 * - `BENCH_QUICK=1`: a fast run (fewer leashes and batches); writes bench/gate-results.quick.json
 *   so the last full run's figures stay in bench/gate-results.json.
 * - `BENCH_PROFILE=/tmp/prof`: runs the server under `node --cpu-prof` and writes its profile
 *   there when the server stops (open it in Chrome DevTools or speedscope).
 * - `BENCH_ONLY=ingest,create`: runs only these cases (`waiting`, `one`, `floor`, `create`,
 *   `ingest`; for profiling one of them) after the warm-up; no results file is written.
 * - `BENCH_VERBOSE=1`: prints the server's output.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Crypto from "node:crypto"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { type Exporter, Houndsight, Leash, type Recorder, Trail } from "../src/index.js"
import { newId } from "../src/internal/state.js"

/** The project root: given by the parent to a compiled run, else the parent of bench/. */
const root: string = process.env["BENCH_ROOT"] ?? fileURLToPath(new URL("..", import.meta.url))

/** `tsx` (TypeScript sources) or `compiled` (JavaScript, as users run it). */
const mode: "tsx" | "compiled" = import.meta.url.endsWith(".ts") ? "tsx" : "compiled"

const quick = process.env["BENCH_QUICK"] === "1" || process.env["BENCH_QUICK"] === "true"
const profileDir = process.env["BENCH_PROFILE"] === "" ? undefined : process.env["BENCH_PROFILE"]
const verbose = process.env["BENCH_VERBOSE"] === "1"

const caseNames = ["waiting", "one", "floor", "create", "ingest"] as const
const only = (process.env["BENCH_ONLY"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
for (const name of only) {
  if (!(caseNames as ReadonlyArray<string>).includes(name)) {
    throw new Error(`bench: BENCH_ONLY names unknown case ${JSON.stringify(name)}; known: ${caseNames.join(", ")}`)
  }
}
const runs = (name: typeof caseNames[number]): boolean => only.length === 0 || only.includes(name)

/** How much each case does. */
const sizes = quick
  ? { waiting: 1000, oneByOne: 150, floor: 200, createSeconds: 1.5, ingestBatches: 20, warmup: 20 }
  : { waiting: 1000, oneByOne: 1000, floor: 500, createSeconds: 4, ingestBatches: 80, warmup: 40 }

/** After an agent's long-poll is sent, how long before the reviewer decides (so the server holds it). */
const settleMillis = 5
const createConcurrency = 32
const stepsPerBatch = 512

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))

// ---------------------------------------------------------------------------------------------
// compiling (run under tsx)
// ---------------------------------------------------------------------------------------------

const relativeImport = /(?:\bfrom|\bimport)\s*\(?\s*"(\.{1,2}\/[^"]+)\.js"/g

/** The server's import of the SDK (resolved to src/ by server/tsconfig.json). */
const sdkImport = /(\bfrom\s*)"houndsight"/g

/**
 * Transpiles `entries` and every file they reach through relative imports into `outDir`, and
 * returns the first entry's output. In the server's files, `from "houndsight"` becomes a
 * relative import of the compiled src/index.js, as server/tsconfig.json maps it.
 */
const compile = async (entries: ReadonlyArray<string>, outDir: string): Promise<string> => {
  const ts = (await import("typescript")).default
  const sdkIndex = join(root, "src", "index.ts")
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, "utf8")
    for (const match of text.matchAll(relativeImport)) {
      visit(resolve(dirname(file), `${match[1]}.ts`))
    }
    if (sdkImport.test(text)) visit(sdkIndex)
    sdkImport.lastIndex = 0
  }
  for (const entry of entries) visit(entry)
  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, "package.json"), JSON.stringify({ type: "module", private: true }) + "\n")
  for (const file of seen) {
    let text = readFileSync(file, "utf8")
    if (sdkImport.test(text)) {
      const index = relative(dirname(file), sdkIndex).replace(/\.ts$/, ".js")
      text = text.replace(sdkImport, `$1"${index.startsWith(".") ? index : `./${index}`}"`)
    }
    sdkImport.lastIndex = 0
    const out = ts.transpileModule(text, {
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ES2022,
        esModuleInterop: true,
        isolatedModules: true
      },
      fileName: file,
      reportDiagnostics: true
    })
    const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error)
    if (errors.length > 0) {
      throw new Error(
        `bench: cannot compile ${relative(root, file)}: ${ts.flattenDiagnosticMessageText(errors[0]!.messageText, "\n")}`
      )
    }
    const target = join(outDir, relative(root, file)).replace(/\.ts$/, ".js")
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, out.outputText)
  }
  return join(outDir, relative(root, entries[0]!)).replace(/\.ts$/, ".js")
}

/** Where the compiled bench and server go. */
const cacheDir = (): string => join(root, "node_modules", ".cache", "houndsight-bench-gate")

const compileAndRun = async (): Promise<number> => {
  const entry = await compile([join(root, "bench", "gate.ts")], join(cacheDir(), "bench-out"))
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", entry], {
      stdio: "inherit",
      env: { ...process.env, BENCH_ROOT: root }
    })
    child.on("error", reject)
    child.on("exit", (code, signal) => done(code ?? (signal === null ? 1 : 128)))
  })
}

/**
 * The server compiled to JavaScript (server/src/main.ts and the SDK sources it imports, plus the
 * dashboard's assets), for running it under plain `node`; returns the compiled main.js.
 */
const compileServer = async (): Promise<string> => {
  const outDir = join(cacheDir(), "server-out")
  const main = await compile([join(root, "server", "src", "main.ts")], outDir)
  cpSync(join(root, "server", "src", "dashboard", "assets"), join(outDir, "server", "src", "dashboard", "assets"), {
    recursive: true
  })
  return main
}

// ---------------------------------------------------------------------------------------------
// the server process
// ---------------------------------------------------------------------------------------------

interface Memory {
  /** Resident set size now, MiB. */
  readonly rssMiB: number
  /** Peak resident set size so far (VmHWM), MiB. */
  readonly peakMiB: number
}

/** A process's RSS from /proc (Linux), or from `ps` elsewhere (no peak there). */
const memoryOf = (pid: number): Memory => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN)
    return { rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024 }
  } catch {
    const kib = Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim())
    return { rssMiB: kib / 1024, peakMiB: NaN }
  }
}

/** Clock ticks per second of /proc/<pid>/stat. */
let ticksPerSecond: number | undefined

/** A process's CPU time so far (user + system), in seconds: from /proc (Linux), else NaN. */
const cpuSecondsOf = (pid: number): number => {
  try {
    ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
    // the fields after the command name, which is in parentheses and may hold spaces
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return NaN
  }
}

interface ServerProcess {
  readonly url: string
  readonly pid: number
  readonly agentKey: string
  readonly reviewerKey: string
  readonly memory: () => Memory
  /** CPU seconds the server has used so far. */
  readonly cpuSeconds: () => number
  /** SIGTERM, then waits for the exit (the CPU profile is written then). */
  readonly stop: () => Promise<number | null>
}

const rulesFile = {
  sensitive: ["stripe.*", "email.send"],
  rules: [{
    action: "stripe.*",
    reason: "charges over $10,000 need finance",
    when: [{ signal: "amount_usd", op: ">", value: 10000 }]
  }]
}

/**
 * Starts the server on a fresh database in `dir`: the command as shipped (its TypeScript sources
 * through tsx), or, given `compiledMain`, that JavaScript entry under plain `node` (with
 * `nodeFlags`).
 */
const startServer = async (
  dir: string,
  compiledMain?: string,
  nodeFlags: ReadonlyArray<string> = []
): Promise<ServerProcess> => {
  const rules = join(dir, "rules.json")
  writeFileSync(rules, JSON.stringify(rulesFile))
  const agentKey = `sk-hnd-${Crypto.randomBytes(24).toString("base64url")}`
  const reviewerKey = `rv-hnd-${Crypto.randomBytes(24).toString("base64url")}`
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HOUNDSIGHT_") && !k.startsWith("BENCH_")) env[k] = v
  }
  env["HOUNDSIGHT_AGENT_KEY"] = agentKey
  env["HOUNDSIGHT_REVIEWER_KEY"] = reviewerKey
  const nodeArgs = [...nodeFlags, ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`])]
  const main = compiledMain ?? join(root, "server", "bin", "dev.mjs")
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, main, "--port", "0", "--db", join(dir, "gate.db"), "--rules", rules],
    { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] }
  )
  let output = ""
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    if (verbose) process.stderr.write(chunk)
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
  const url = await new Promise<string>((done, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: the server did not start within 60 s:\n${output}`)), 60_000)
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        done(match[1]!)
      }
    }
    child.stdout!.on("data", check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`bench: the server exited (${code}) before it was ready:\n${output}`))
    })
  })
  return {
    url,
    pid: child.pid!,
    agentKey,
    reviewerKey,
    memory: () => memoryOf(child.pid!),
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
      return exited
    }
  }
}

// ---------------------------------------------------------------------------------------------
// raw HTTP (node:http, keep-alive): the load generator of the throughput cases
// ---------------------------------------------------------------------------------------------

interface RawClient {
  readonly post: (path: string, body: string) => Promise<{ readonly status: number; readonly text: string }>
  readonly close: () => void
}

const rawClient = (base: string, key: string, sockets: number): RawClient => {
  const url = new URL(base)
  const agent = new Http.Agent({ keepAlive: true, maxSockets: sockets })
  const post = (path: string, body: string) =>
    new Promise<{ status: number; text: string }>((done, reject) => {
      const request = Http.request({
        host: url.hostname,
        port: url.port,
        path,
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body)
        }
      }, (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (c: Buffer) => chunks.push(c))
        response.on("end", () => done({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }))
        response.on("error", reject)
      })
      request.on("error", reject)
      request.end(body)
    })
  return { post, close: () => agent.destroy() }
}

// ---------------------------------------------------------------------------------------------
// statistics
// ---------------------------------------------------------------------------------------------

/**
 * Percentiles of a latency series, in milliseconds (nearest rank).
 *
 * @since 0.1.0
 * @category models
 */
export interface Latency {
  readonly n: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

const latency = (values: ReadonlyArray<number>): Latency => {
  const sorted = values.slice().sort((a, b) => a - b)
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length
  }
}

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
const mib = (x: number): string => x.toFixed(1)
const count = (x: number): string => Math.round(x).toLocaleString("en-US")

// ---------------------------------------------------------------------------------------------
// the agents (real SDK)
// ---------------------------------------------------------------------------------------------

/** What the agents' HttpClient saw: the first long-poll of each leash, and how many polls. */
class Polls {
  private readonly counts = new Map<string, number>()
  private readonly waiting: Array<(leashId: string) => void> = []
  private readonly queued: Array<string> = []

  seen(leashId: string): void {
    const n = (this.counts.get(leashId) ?? 0) + 1
    this.counts.set(leashId, n)
    if (n > 1) return
    const next = this.waiting.shift()
    if (next !== undefined) next(leashId)
    else this.queued.push(leashId)
  }

  /** The next leash whose agent sent its first long-poll. */
  next(): Promise<string> {
    const id = this.queued.shift()
    if (id !== undefined) return Promise.resolve(id)
    return new Promise((done) => this.waiting.push(done))
  }

  /** Polls beyond the first, over the given leashes (a long-poll that ran out and was sent again). */
  repolls(ids: Iterable<string>): number {
    let n = 0
    for (const id of ids) n += Math.max(0, (this.counts.get(id) ?? 0) - 1)
    return n
  }
}

const leashPath = /\/v1\/leashes\/([^/?]+)$/

/** `FetchHttpClient`, telling `polls` about every long-poll before it is sent. */
const watchedClient = (polls: Polls): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.tapRequest(client, (request) =>
        Effect.sync(() => {
          if (request.method !== "GET") return
          const match = leashPath.exec(request.url)
          const wait = UrlParams.getFirst(request.urlParams, "wait_seconds")
          if (match !== null && Option.isSome(wait) && Number(wait.value) > 0) polls.seen(decodeURIComponent(match[1]!))
        })))
  ).pipe(Layer.provide(FetchHttpClient.layer))

const charge = (amountUsd: number) => ({
  actionName: "stripe.charge",
  actionSummary: `Charge cus_42 $${amountUsd.toFixed(2)}`,
  riskSignals: { amountUsd, merchantCountry: "FR" },
  payload: { customer: "cus_42", amountUsd },
  timeoutSeconds: 600
})

// ---------------------------------------------------------------------------------------------
// ingest bodies
// ---------------------------------------------------------------------------------------------

const stepNames = ["llm.call", "search.docs", "plan.next", "tool.fetch", "crm.lookup", "summarise"] as const
const stepLayers = ["plan", "retrieve", "plan", "execute", "retrieve", "plan"] as const

/** Steps of one trail (one agent run) in the ingest case. */
const stepsPerTrail = 128

/**
 * `batches` ingest bodies of 512 step records each, as an exporter in a busy agent process
 * sends them: 64 agent runs (trails) in flight, each run 128 steps long, and every batch carries
 * the next 8 steps of each run. Runs are staggered, so every batch 4 runs end and 4 new ones
 * begin. Steps carry small JSON inputs and outputs, token counts and a cost. One run in 8 leashes
 * an action: a review step (approved) at seq 60 and the action, `stripe.charge`, at seq 61; the
 * server recomputes such a trail's bypass flags over all its steps whenever steps of it arrive.
 */
const ingestBodies = (batches: number): Array<string> => {
  const perTrail = stepsPerBatch / 64
  const start = Date.UTC(2026, 10, 24, 9, 0, 0)
  let runs = 0
  const trails = Array.from({ length: 64 }, (_, j) => ({
    id: newId(start),
    seq: (j % (stepsPerTrail / perTrail)) * perTrail,
    leashes: runs++ % 8 === 0
  }))
  const bodies: Array<string> = []
  for (let b = 0; b < batches; b++) {
    // an agent process sending 512 steps every 10 ms; ids are the SDK's (UUID v7 of the start)
    const at = start + b * 10
    const steps: Array<unknown> = []
    for (const trail of trails) {
      if (trail.seq >= stepsPerTrail) {
        trail.id = newId(at)
        trail.seq = 0
        trail.leashes = runs++ % 8 === 0
      }
      for (let k = 0; k < perTrail; k++) {
        const seq = ++trail.seq
        const i = seq % stepNames.length
        const times = {
          started_at: new Date(at).toISOString(),
          ended_at: new Date(at + 4).toISOString()
        }
        if (trail.leashes && seq === 60) {
          const leashId = newId(at)
          steps.push({
            id: newId(at),
            trail_id: trail.id,
            parent_id: null,
            seq,
            name: "stripe.charge",
            layer: "review",
            status: "ok",
            ...times,
            input: { action_summary: "Charge cus_42 $120.00", risk_signals: { amount_usd: 120 }, payload: { amount_usd: 120 } },
            output: { decision: "approved", approved: true, reason: "looks fine", leash_id: leashId },
            events: [],
            leash: { leash_id: leashId, action_name: "stripe.charge", decision: "approved", approved: true, reason: "looks fine" }
          })
          continue
        }
        steps.push({
          id: newId(at),
          trail_id: trail.id,
          parent_id: null,
          seq,
          name: trail.leashes && seq === 61 ? "stripe.charge" : stepNames[i],
          layer: trail.leashes && seq === 61 ? "execute" : stepLayers[i],
          status: "ok",
          ...times,
          input: { query: `account history of cus_${seq % 997}`, k: 5 },
          output: { text: "three invoices, one overdue", items: 3 },
          tokens: { input: 512, output: 128 },
          cost_usd: 0.0012,
          events: []
        })
      }
    }
    bodies.push(JSON.stringify({ trails: [], steps }))
  }
  return bodies
}

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

/**
 * Every figure of one run, as written to bench/gate-results.json.
 *
 * @since 0.1.0
 * @category models
 */
export interface GateResults {
  readonly date: string
  readonly quick: boolean
  readonly machine: Record<string, unknown>
  readonly seconds: number
  readonly waiting: {
    readonly agents: number
    readonly serverIdleRssMiB: number
    readonly serverRssMiB: number
    readonly serverPeakMiB: number
    readonly agentIdleRssMiB: number
    readonly agentRssMiB: number
    /** This process's V8 heap in use after a full GC (NaN without --expose-gc). */
    readonly agentIdleLiveHeapMiB: number
    readonly agentLiveHeapMiB: number
    readonly repolls: number
  }
  readonly decisionResumeWaiting: Latency & { readonly reviewerPost: Latency }
  readonly decisionResumeOne: Latency & { readonly reviewerPost: Latency; readonly repolls: number }
  readonly floorRule: { readonly leash: Latency; readonly bare: Latency; readonly ratioP50: number; readonly ratioP99: number; readonly pairedRatioMedian: number }
  readonly creations: {
    readonly perSecond: number
    readonly perServerCpuSecond: number
    readonly created: number
    readonly seconds: number
    readonly serverCpuSeconds: number
    readonly concurrency: number
    readonly latency: Latency
  }
  readonly ingest: ReadonlyArray<{
    readonly inFlight: number
    readonly batches: number
    readonly steps: number
    readonly seconds: number
    readonly serverCpuSeconds: number
    readonly stepsPerSecond: number
    readonly stepsPerServerCpuSecond: number
    readonly latency: Latency
  }>
  readonly serverAtEnd: Memory
  /** The waiting case again, on the server compiled to JavaScript under plain node. */
  readonly compiled: Pick<GateResults, "waiting" | "decisionResumeWaiting">
  /** The same, with V8 flags for a small heap (`--max-semi-space-size=1 --optimize-for-size`). */
  readonly compiledSmallHeap: Pick<GateResults, "waiting" | "decisionResumeWaiting">
  readonly loadAverageAtEnd: number
}

const versionOf = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")) as { version: string })
      .version
  } catch {
    return "unknown"
  }
}

/** The other ways of running the server, for the waiting case (its RSS). */
const leanVariants = [
  { key: "compiled", label: "compiled, node", flags: [] },
  {
    key: "compiledSmallHeap",
    label: "compiled, node --max-semi-space-size=1 --optimize-for-size",
    flags: ["--max-semi-space-size=1", "--optimize-for-size"]
  }
] as const

/** One server and the clients the cases use against it. */
interface Connected {
  readonly server: ServerProcess
  readonly polls: Polls
  /** The agents: `Houndsight.layer` with the agent key, over the watched `FetchHttpClient`. */
  readonly agents: ManagedRuntime.ManagedRuntime<Leash.Leash | Recorder.Recorder | Exporter.Exporter, Houndsight.HoundsightConfigError>
  readonly plain: ManagedRuntime.ManagedRuntime<HttpClient.HttpClient, never>
  /** `POST /v1/leashes/{id}/decision` as the reviewer; resolves when the server answered 200. */
  readonly decide: (leashId: string) => Promise<void>
  /** `GET /healthz` through the same `FetchHttpClient`, body read. */
  readonly healthz: Effect.Effect<string>
  /** One agent: a trail with one leash; tells `onDecision` the moment its fiber has the Decision. */
  readonly agent: (
    amountUsd: number,
    onDecision: (leashId: string, at: number, decision: string) => void
  ) => Effect.Effect<unknown, never, Leash.Leash | Recorder.Recorder>
  readonly close: () => Promise<void>
}

const connect = async (server: ServerProcess): Promise<Connected> => {
  const polls = new Polls()
  const agents = ManagedRuntime.make(
    Houndsight.layer({
      apiKey: Redacted.make(server.agentKey),
      agent: "bench-agent",
      endpoint: server.url,
      httpClient: watchedClient(polls)
    })
  )
  const plain = ManagedRuntime.make(FetchHttpClient.layer)
  const http = await plain.runPromise(HttpClient.HttpClient)
  const reviewer = http.pipe(HttpClient.mapRequest(HttpClientRequest.bearerToken(server.reviewerKey)))
  const decide = (leashId: string) =>
    plain.runPromise(Effect.scoped(Effect.gen(function*() {
      const response = yield* reviewer.execute(
        HttpClientRequest.post(`${server.url}/v1/leashes/${leashId}/decision`).pipe(
          HttpClientRequest.bodyUnsafeJson({ decision: "approved", reason: "looks fine" })
        )
      )
      const text = yield* response.text
      if (response.status !== 200) throw new Error(`bench: the decision on ${leashId} answered ${response.status}: ${text}`)
    })))
  const healthz = Effect.orDie(Effect.scoped(Effect.flatMap(http.get(`${server.url}/healthz`), (response) => response.text)))
  const agent = (amountUsd: number, onDecision: (leashId: string, at: number, decision: string) => void) =>
    Trail.run(
      { trigger: "bench", payload: {} },
      Effect.tap(Leash.request(charge(amountUsd)), (d) => Effect.sync(() => onDecision(d.leashId, performance.now(), d.decision)))
    )
  const close = async () => {
    await agents.dispose()
    await plain.dispose()
  }
  return { server, polls, agents, plain, decide, healthz, agent, close }
}

/** Warms up both sides: JIT, connections, prepared statements. */
const warmUp = async (c: Connected): Promise<void> => {
  const warm = rawClient(c.server.url, c.server.agentKey, 4)
  for (const body of ingestBodies(4)) await warm.post("/v1/ingest", body)
  warm.close()
  for (let i = 0; i < sizes.warmup; i++) {
    await c.plain.runPromise(c.healthz)
    await c.agents.runPromise(c.agent(25_000, () => {}))
    const fiber = c.agents.runFork(c.agent(120, () => {}))
    await c.decide(await c.polls.next())
    await c.agents.runPromise(fiber.await)
  }
}

/** This process's V8 heap in use after a full GC, MiB (NaN when `gc` is not exposed). */
const liveHeapMiB = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return NaN
  gc()
  return process.memoryUsage().heapUsed / 2 ** 20
}

/**
 * 1,000 agents call `Leash.request` at once and wait; the server's RSS and this process's with
 * every long-poll held; then a reviewer decides the leashes one after the other, each timed
 * from just before its POST until the agent's fiber has the Decision.
 */
const waitingCase = async (c: Connected): Promise<Pick<GateResults, "waiting" | "decisionResumeWaiting">> => {
  const { agents, polls, server } = c
  await sleep(1000)
  const serverIdle = server.memory()
  const agentIdle = process.memoryUsage().rss / 2 ** 20
  const agentIdleHeap = liveHeapMiB()
  const decided = new Map<string, (at: number) => void>()
  const wrong: Array<string> = []
  const onDecision = (leashId: string, at: number, decision: string) => {
    if (decision !== "approved") wrong.push(`${leashId}: ${decision}`)
    decided.get(leashId)?.(at)
  }
  const fibers = Array.from({ length: sizes.waiting }, () => agents.runFork(c.agent(120, onDecision)))
  const ids: Array<string> = []
  for (let i = 0; i < sizes.waiting; i++) ids.push(await polls.next())
  await sleep(1000)
  let serverRss = 0
  let agentRss = 0
  for (let i = 0; i < 5; i++) {
    serverRss = Math.max(serverRss, server.memory().rssMiB)
    agentRss = Math.max(agentRss, process.memoryUsage().rss / 2 ** 20)
    await sleep(100)
  }
  const agentHeap = liveHeapMiB()
  console.log(
    `  ${sizes.waiting} agents waiting: server RSS ${mib(serverRss)} MiB (idle ${mib(serverIdle.rssMiB)}), ` +
      `agents' process ${mib(agentRss)} MiB (before ${mib(agentIdle)}; live heap ${mib(agentHeap)} MiB, ` +
      `before ${mib(agentIdleHeap)})`
  )
  const resume: Array<number> = []
  const posts: Array<number> = []
  for (const id of ids) {
    const resumed = new Promise<number>((done) => decided.set(id, done))
    const t0 = performance.now()
    await c.decide(id)
    posts.push(performance.now() - t0)
    resume.push((await resumed) - t0)
  }
  for (const fiber of fibers) await agents.runPromise(fiber.await)
  if (wrong.length > 0) {
    throw new Error(`bench: ${wrong.length} waiting agents did not get approved: ${wrong.slice(0, 3).join("; ")}`)
  }
  const lat = latency(resume)
  console.log(`  decision → resume with ${sizes.waiting} waiting: p50 ${ms(lat.p50)} ms, p99 ${ms(lat.p99)} ms`)
  return {
    waiting: {
      agents: sizes.waiting,
      serverIdleRssMiB: serverIdle.rssMiB,
      serverRssMiB: serverRss,
      serverPeakMiB: server.memory().peakMiB,
      agentIdleRssMiB: agentIdle,
      agentRssMiB: agentRss,
      agentIdleLiveHeapMiB: agentIdleHeap,
      agentLiveHeapMiB: agentHeap,
      repolls: polls.repolls(ids)
    },
    decisionResumeWaiting: { ...lat, reviewerPost: latency(posts) }
  }
}

const measure = async (): Promise<void> => {
  const cpus = Os.cpus()
  const machine = {
    node: process.version,
    platform: `${Os.platform()} ${Os.arch()} ${Os.release()}`,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(Os.totalmem() / 2 ** 30),
    loadAverage: Math.round(Os.loadavg()[0]! * 100) / 100,
    versions: {
      effect: versionOf("effect"),
      "@effect/platform": versionOf("@effect/platform"),
      "@effect/sql-sqlite-node": versionOf("@effect/sql-sqlite-node"),
      "better-sqlite3": versionOf("better-sqlite3")
    }
  }
  console.log(
    `gate bench (${mode}): node ${machine.node}, ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage}` +
      `${quick ? " (quick)" : ""}`
  )
  const began = performance.now()
  const results: Partial<Record<keyof GateResults, unknown>> = { date: new Date().toISOString(), quick, machine }

  // ---- the server as shipped (npx houndsight-server: its sources through tsx): every case
  {
    const dir = mkdtempSync(join(Os.tmpdir(), "houndsight-bench-gate-"))
    const server = await startServer(dir)
    console.log(`  server (as shipped, tsx) pid ${server.pid} at ${server.url}`)
    const c = await connect(server)
    const { agents, healthz, polls } = c
    try {
      await warmUp(c)
      console.log(`  warmed up (${sizes.warmup} of each)`)
      if (runs("waiting")) Object.assign(results, await waitingCase(c))
      // ---- decision → resume, one agent at a time
      if (runs("one")) {
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
        results.decisionResumeOne = { ...lat, reviewerPost: latency(posts), repolls: polls.repolls(ids) }
        console.log(`  decision → resume, one waiting: p50 ${ms(lat.p50)} ms, p99 ${ms(lat.p99)} ms`)
      }

      // ---- floor-rule leash vs bare round trip, interleaved
      if (runs("floor")) {
        const leash: Array<number> = []
        const bare: Array<number> = []
        const blocked = Trail.run(
          { trigger: "bench", payload: {} },
          Effect.gen(function*() {
            for (let i = 0; i < sizes.floor; i++) {
              const timeLeash = Effect.gen(function*() {
                const t0 = performance.now()
                const d = yield* Leash.request(charge(25_000))
                leash.push(performance.now() - t0)
                if (d.decision !== "blocked") return yield* Effect.dieMessage(`bench: a floor-rule leash got ${d.decision}: ${d.reason}`)
              })
              const timeBare = Effect.gen(function*() {
                const t0 = performance.now()
                yield* healthz
                bare.push(performance.now() - t0)
              })
              if (i % 2 === 0) {
                yield* timeLeash
                yield* timeBare
              } else {
                yield* timeBare
                yield* timeLeash
              }
            }
          })
        )
        await agents.runPromise(blocked)
        const l = latency(leash)
        const b = latency(bare)
        const paired = latency(leash.map((x, i) => x / bare[i]!))
        results.floorRule = { leash: l, bare: b, ratioP50: l.p50 / b.p50, ratioP99: l.p99 / b.p99, pairedRatioMedian: paired.p50 }
        console.log(
          `  floor-rule leash p50 ${ms(l.p50)} ms / bare p50 ${ms(b.p50)} ms = ${(l.p50 / b.p50).toFixed(2)}×; ` +
            `p99 ${ms(l.p99)} / ${ms(b.p99)} = ${(l.p99 / b.p99).toFixed(2)}×`
        )
      }

      // ---- leash creations/s (raw HTTP, pending leashes)
      if (runs("create")) {
        const raw = rawClient(server.url, server.agentKey, createConcurrency)
        const lat: Array<number> = []
        let created = 0
        const cpu0 = server.cpuSeconds()
        const t0 = performance.now()
        const deadline = t0 + sizes.createSeconds * 1000
        const worker = async () => {
          while (performance.now() < deadline) {
            const body = JSON.stringify({
              leash_id: Crypto.randomUUID(),
              trail_id: Crypto.randomUUID(),
              step_id: Crypto.randomUUID(),
              agent: "bench-agent",
              action_name: "stripe.charge",
              action_summary: "Charge cus_42 $120.00",
              risk_signals: { amount_usd: 120, merchant_country: "FR" },
              payload: { customer: "cus_42", amountUsd: 120 },
              timeout_seconds: 600,
              blocking: true
            })
            const s = performance.now()
            const answer = await raw.post("/v1/leashes", body)
            if (answer.status !== 200) throw new Error(`bench: POST /v1/leashes answered ${answer.status}: ${answer.text}`)
            lat.push(performance.now() - s)
            created++
          }
        }
        await Promise.all(Array.from({ length: createConcurrency }, worker))
        const seconds = (performance.now() - t0) / 1000
        const serverCpuSeconds = server.cpuSeconds() - cpu0
        raw.close()
        results.creations = {
          perSecond: created / seconds,
          perServerCpuSecond: created / serverCpuSeconds,
          created,
          seconds,
          serverCpuSeconds,
          concurrency: createConcurrency,
          latency: latency(lat)
        }
        console.log(
          `  leash creations: ${count(created / seconds)}/s (${created} in ${seconds.toFixed(1)} s; ` +
            `${count(created / serverCpuSeconds)} per server CPU second)`
        )
      }

      // ---- ingest steps/s (raw HTTP, 512 steps a batch)
      if (runs("ingest")) {
        const rows: Array<unknown> = []
        for (const inFlight of [1, 4]) {
          const bodies = ingestBodies(sizes.ingestBatches)
          const raw = rawClient(server.url, server.agentKey, inFlight)
          const lat: Array<number> = []
          let next = 0
          let accepted = 0
          const cpu0 = server.cpuSeconds()
          const t0 = performance.now()
          const worker = async () => {
            while (next < bodies.length) {
              const body = bodies[next++]!
              const s = performance.now()
              const answer = await raw.post("/v1/ingest", body)
              if (answer.status !== 202) throw new Error(`bench: POST /v1/ingest answered ${answer.status}: ${answer.text.slice(0, 500)}`)
              lat.push(performance.now() - s)
              accepted += (JSON.parse(answer.text) as { accepted: number }).accepted
            }
          }
          await Promise.all(Array.from({ length: inFlight }, worker))
          const seconds = (performance.now() - t0) / 1000
          const serverCpuSeconds = server.cpuSeconds() - cpu0
          raw.close()
          const steps = bodies.length * stepsPerBatch
          if (accepted !== steps) throw new Error(`bench: the server accepted ${accepted} of ${steps} steps`)
          rows.push({
            inFlight,
            batches: bodies.length,
            steps,
            seconds,
            serverCpuSeconds,
            stepsPerSecond: steps / seconds,
            stepsPerServerCpuSecond: steps / serverCpuSeconds,
            latency: latency(lat)
          })
          console.log(
            `  ingest, ${inFlight} in flight: ${count(steps / seconds)} steps/s (${steps} in ${seconds.toFixed(1)} s; ` +
              `${count(steps / serverCpuSeconds)} per server CPU second)`
          )
        }
        results.ingest = rows
      }
      results.serverAtEnd = server.memory()
    } finally {
      await c.close()
      const code = await server.stop()
      if (code !== 0) console.error(`bench: the server exited with ${code}`)
      rmSync(dir, { recursive: true, force: true })
    }
  }

  // ---- the same server compiled to JavaScript, under plain node (as is, then with V8 flags for
  // a small heap): 1,000 waiting agents
  if (runs("waiting")) {
    const main = await compileServer()
    for (const variant of leanVariants) {
      const dir = mkdtempSync(join(Os.tmpdir(), "houndsight-bench-gate-"))
      const server = await startServer(dir, main, variant.flags)
      console.log(`  server (${variant.label}) pid ${server.pid} at ${server.url}`)
      const c = await connect(server)
      try {
        await warmUp(c)
        results[variant.key] = await waitingCase(c)
      } finally {
        await c.close()
        const code = await server.stop()
        if (code !== 0) console.error(`bench: the server (${variant.label}) exited with ${code}`)
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

/** The Markdown table of one run, with each target and whether it was met. */
const table = (r: GateResults): string => {
  const met = (ok: boolean) => (ok ? "met" : "**not met**")
  const lat = (title: string, l: Latency, figure = "", target = "", verdict = ""): ReadonlyArray<string> => [
    title,
    count(l.n),
    `${ms(l.p50)} ms`,
    `${ms(l.p99)} ms`,
    `${ms(l.max)} ms`,
    figure,
    target,
    verdict
  ]
  const memory = (title: string, figure: string, target = "", verdict = ""): ReadonlyArray<string> => [
    title,
    "",
    "",
    "",
    "",
    figure,
    target,
    verdict
  ]
  const waiting = (label: string, v: Pick<GateResults, "waiting" | "decisionResumeWaiting">) => [
    lat(
      `decision → resume, ${count(v.waiting.agents)} waiting (${label})`,
      v.decisionResumeWaiting,
      `${count(v.waiting.repolls)} re-polls`
    ),
    memory(
      `server RSS, ${count(v.waiting.agents)} agents waiting (${label})`,
      `${mib(v.waiting.serverRssMiB)} MiB (idle ${mib(v.waiting.serverIdleRssMiB)})`,
      "< 100 MB",
      met(v.waiting.serverRssMiB * 2 ** 20 < 100e6)
    )
  ]
  const one = r.decisionResumeOne
  const w = r.waiting
  const rows: Array<ReadonlyArray<string>> = [
    ["case", "n", "p50", "p99", "max", "figure", "target", ""],
    ["---", "---:", "---:", "---:", "---:", "---:", "---", "---"],
    lat("decision → resume, one waiting", one, `${count(one.repolls)} re-polls`, "p99 ≤ 20 ms", met(one.p99 <= 20)),
    lat("reviewer's POST alone (one waiting)", one.reviewerPost),
    lat(
      "floor-rule leash (`Leash.request` → blocked)",
      r.floorRule.leash,
      `${r.floorRule.ratioP50.toFixed(2)}× bare (p50), ${r.floorRule.ratioP99.toFixed(2)}× (p99)`,
      "≤ 1.5× bare",
      met(r.floorRule.ratioP50 <= 1.5)
    ),
    lat("bare round trip (`GET /healthz`, same HttpClient)", r.floorRule.bare),
    lat(
      `leash creations (raw HTTP, ${r.creations.concurrency} in flight)`,
      r.creations.latency,
      `${count(r.creations.perSecond)}/s (${count(r.creations.perServerCpuSecond)} per server CPU s)`
    ),
    ...r.ingest.map((row) =>
      lat(
        `ingest, 512 steps a batch (raw HTTP, ${row.inFlight} in flight)`,
        row.latency,
        `${count(row.stepsPerSecond)} steps/s (${count(row.stepsPerServerCpuSecond)} per server CPU s)`,
        "≥ 50,000 steps/s",
        met(row.stepsPerSecond >= 50_000)
      )
    ),
    ...waiting("as shipped: tsx", r),
    ...waiting("compiled: node", r.compiled),
    ...waiting("compiled, small heap", r.compiledSmallHeap),
    memory(
      `agents' process, ${count(w.agents)} waiting (as shipped)`,
      `RSS ${mib(w.agentRssMiB)} MiB (before ${mib(w.agentIdleRssMiB)}); live heap ${mib(w.agentLiveHeapMiB)} MiB (before ${
        mib(w.agentIdleLiveHeapMiB)
      })`
    )
  ]
  return rows.map((cells) => `| ${cells.join(" | ")} |`).join("\n")
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
