/**
 * The reviewer's reads under what agents may store (issue 12, point 1; contract v1.1): every
 * read is bounded by its page, whatever the payloads and records behind it.
 *
 * Setup, on a fresh database:
 * - a trail of 10,000 steps at the record limit (256 KiB each), written through the server's
 *   `Store` in this process before the server starts (the API would take the same rows in 5 MiB
 *   batches, only slower);
 * - the server started as users start it (`server/bin/houndsight-server.mjs`), then 100 pending
 *   leashes at the limits, through the API: each payload `[{},{},…]` of exactly 262,144 bytes
 *   and risk signals of 16 KiB.
 *
 * Then for 60 s (`BENCH_SECONDS`): 10 open live tabs (`/events` of the queue), `/healthz` every
 * 50 ms, and the reads in turn: the pending list (`GET /v1/leashes`), the queue page (`GET /`),
 * the trail page (`GET /trails/{id}`, its first page of steps) and the trail's first page in
 * the API (`GET /v1/trails/{id}`); a leash created and one decided every 2 s, so the live tabs
 * have changes to carry. Printed: each read's time (max and p50) and answer size, the server's
 * RSS (max), `/healthz` p99, and the bytes the live tabs received.
 *
 * Last, the crash of issue 12 adapted: 56 leashes with 5 MiB payloads of `[{},{},…]` (a server
 * with v1.1's write limits refuses them with 413; one without stores them), then the pending list
 * and the queue page: the server must answer both, bounded, and stay up.
 *
 * Targets: each read under 500 ms, RSS under 300 MB, `/healthz` p99 under 50 ms.
 *
 * Run: `npx tsx bench/reads.ts` (about 5 minutes; `BENCH_SECONDS=10` for a short run;
 * `BENCH_SERVER_NODE_FLAGS="--max-old-space-size=96"` runs the server with those node flags, to
 * tell the memory it holds from the heap V8 keeps; `BENCH_CRASH=0` leaves out the crash scenario).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Wire } from "houndsight"
import * as Crypto from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Database from "../server/src/Database.js"
import * as Store from "../server/src/Store.js"
import { spawnServer } from "../test/support/serverProcess.js"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const seconds = Number(process.env["BENCH_SECONDS"] ?? 60)
const recordLimit = 256 * 1024
const payloadLimit = 262_144
const signalsLimit = 16 * 1024

const uuid = (): string => Crypto.randomUUID()
const iso = (millis: number): string => new Date(millis).toISOString()

/** `[{},{},…]` of exactly `bytes` bytes of compact JSON (3n + 1 bytes for n objects). */
const emptyObjects = (bytes: number): Array<object> => new Array(Math.floor((bytes - 1) / 3)).fill({})

const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const rssMiB = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024
}

// ---------------------------------------------------------------------------------------------
// The trail of 10,000 steps at the record limit, through the Store
// ---------------------------------------------------------------------------------------------

const seedTrail = (db: string, trailId: string) =>
  Effect.gen(function*() {
    const store = yield* Store.Store
    const decode = Schema.decodeUnknownSync(Wire.IngestBatch)
    const t0 = Date.UTC(2026, 10, 24, 9)
    const trail = {
      id: trailId,
      agent: "bench-bot",
      trigger: "bench",
      payload: { note: "a trail of 10,000 steps at the record limit" },
      status: "ok",
      started_at: iso(t0),
      ended_at: iso(t0 + 10_000_000),
      events: []
    }
    const step = (seq: number) => {
      const record = {
        id: uuid(),
        trail_id: trailId,
        parent_id: null,
        seq,
        name: `step-${seq}`,
        layer: "execute",
        status: "ok",
        started_at: iso(t0 + seq * 1000),
        ended_at: iso(t0 + seq * 1000 + 500),
        input: { text: "" },
        events: []
      }
      const room = recordLimit - Buffer.byteLength(JSON.stringify(record))
      record.input.text = "x".repeat(room)
      return record
    }
    yield* store.ingest(decode({ trails: [trail], steps: [] }), { sensitive: [] })
    for (let seq = 1; seq <= 10_000; seq += 20) {
      const steps = Array.from({ length: 20 }, (_, i) => step(seq + i))
      yield* store.ingest(decode({ trails: [], steps }), { sensitive: [] })
    }
  }).pipe(Effect.provide(Store.layer), Effect.provide(Database.layer(db)))

// ---------------------------------------------------------------------------------------------
// The server, as users start it
// ---------------------------------------------------------------------------------------------

interface Server {
  readonly url: string
  readonly pid: number
  readonly agentKey: string
  readonly reviewerKey: string
  readonly stop: () => Promise<void>
}

const startServer = async (dir: string, db: string): Promise<Server> => {
  const agentKey = `sk-hnd-${Crypto.randomBytes(24).toString("base64url")}`
  const reviewerKey = `rv-hnd-${Crypto.randomBytes(24).toString("base64url")}`
  const nodeFlags = (process.env["BENCH_SERVER_NODE_FLAGS"] ?? "").split(" ").filter((f) => f !== "")
  const child = await spawnServer({
    bin: join(root, "server", "bin", "houndsight-server.mjs"),
    args: ["--port", "0", "--db", db],
    cwd: dir,
    env: { HOUNDSIGHT_AGENT_KEY: agentKey, HOUNDSIGHT_REVIEWER_KEY: reviewerKey },
    dropEnv: ["HOUNDSIGHT_", "BENCH_"],
    nodeFlags,
    startMillis: 120_000
  })
  return {
    url: child.url,
    pid: child.pid,
    agentKey,
    reviewerKey,
    stop: async () => {
      await child.stop("SIGTERM")
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

interface Timed {
  readonly status: number
  readonly millis: number
  readonly bytes: number
  readonly text: string
}

const request = async (url: string, init: RequestInit = {}): Promise<Timed> => {
  const start = performance.now()
  const response = await fetch(url, { redirect: "manual", ...init })
  const text = await response.text()
  return { status: response.status, millis: performance.now() - start, bytes: Buffer.byteLength(text), text }
}

/** Signs in as the reviewer; answers the session cookie. */
const signIn = async (base: string, key: string): Promise<string> => {
  const login = await fetch(`${base}/login`)
  const loginCookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
  const csrf = /name="csrf" value="([^"]+)"/.exec(await login.text())![1]!
  const answer = await fetch(`${base}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { cookie: loginCookie, "content-type": "application/x-www-form-urlencoded", origin: base },
    body: new URLSearchParams({ csrf, key, next: "/" }).toString()
  })
  const session = answer.headers.getSetCookie().find((c) => c.startsWith("houndsight_session") || c.includes("session"))
  if (answer.status !== 303 || session === undefined) throw new Error(`sign-in failed: ${answer.status}`)
  return session.split(";")[0]!
}

/** A live tab: the queue's `/events`, read until closed; counts the bytes and events it got. */
const liveTab = (base: string, cookie: string, have: ReadonlyArray<string>) => {
  const controller = new AbortController()
  const stats = { bytes: 0, events: 0 }
  const done = (async () => {
    const response = await fetch(`${base}/events?list=1&have=${have.join(",")}`, {
      headers: { cookie },
      signal: controller.signal
    })
    const reader = response.body!.getReader()
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) return
      stats.bytes += chunk.value.length
      stats.events += new TextDecoder().decode(chunk.value).split("\nevent: ").length - 1 +
        (new TextDecoder().decode(chunk.value).startsWith("event: ") ? 1 : 0)
    }
  })().catch(() => {})
  return { stats, close: () => controller.abort(), done }
}

const leash = (payload: unknown, signals: Record<string, unknown>) => ({
  leash_id: uuid(),
  trail_id: uuid(),
  step_id: uuid(),
  agent: "bench-bot",
  action_name: "bulk.export",
  action_summary: "Export every row",
  risk_signals: signals,
  payload,
  timeout_seconds: 3600,
  blocking: true
})

/** Risk signals of exactly `bytes` bytes of compact JSON. */
const signalsOf = (bytes: number): Record<string, unknown> => {
  const signals = { amount_usd: 1, note: "" }
  signals.note = "s".repeat(bytes - Buffer.byteLength(JSON.stringify(signals)))
  return signals
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

const main = async () => {
  const dir = mkdtempSync(join(Os.tmpdir(), "houndsight-bench-reads-"))
  const db = join(dir, "reads.db")
  const trailId = uuid()
  try {
    let start = performance.now()
    await Effect.runPromise(seedTrail(db, trailId))
    console.log(`seeded a trail of 10,000 steps of 256 KiB in ${((performance.now() - start) / 1000).toFixed(1)} s`)

    const server = await startServer(dir, db)
    const idleRss = rssMiB(server.pid)
    const agent = { authorization: `Bearer ${server.agentKey}`, "content-type": "application/json" }
    const reviewer = { authorization: `Bearer ${server.reviewerKey}` }
    const payload = emptyObjects(payloadLimit)
    const signals = signalsOf(signalsLimit)
    if (Buffer.byteLength(JSON.stringify(payload)) !== payloadLimit) throw new Error("payload not at the limit")
    if (Buffer.byteLength(JSON.stringify(signals)) !== signalsLimit) throw new Error("signals not at the limit")
    start = performance.now()
    for (let i = 0; i < 100; i++) {
      const answer = await request(`${server.url}/v1/leashes`, {
        method: "POST",
        headers: agent,
        body: JSON.stringify(leash(payload, signals))
      })
      if (answer.status !== 200) throw new Error(`leash ${i}: ${answer.status} ${answer.text.slice(0, 200)}`)
    }
    console.log(`100 pending leashes at the limits (payload 262,144 B, risk signals 16,384 B) in ${
      ((performance.now() - start) / 1000).toFixed(1)
    } s`)
    const cookie = await signIn(server.url, server.reviewerKey)

    // The machine's noise floor: /healthz alone, before any read (2 cores shared with others).
    const floor: Array<number> = []
    for (const until = performance.now() + 5000; performance.now() < until;) {
      floor.push((await request(`${server.url}/healthz`)).millis)
      await new Promise((r) => setTimeout(r, 50))
    }
    console.log(`server RSS idle ${idleRss.toFixed(0)} MiB, with the leashes ${rssMiB(server.pid).toFixed(0)} MiB; /healthz alone p99 ${
      percentile(floor, 99).toFixed(1)
    } ms, p50 ${percentile(floor, 50).toFixed(1)} ms; load average ${Os.loadavg().map((l) => l.toFixed(1)).join(" ")} on ${
      Os.cpus().length
    } cores`)

    const reads: Record<string, { readonly url: string; readonly headers: Record<string, string> }> = {
      "GET /v1/leashes (pending list)": { url: `${server.url}/v1/leashes`, headers: reviewer },
      "GET / (queue page)": { url: `${server.url}/`, headers: { cookie } },
      "GET /trails/{id} (trail page)": { url: `${server.url}/trails/${trailId}`, headers: { cookie } },
      "GET /v1/trails/{id} (trail, API)": { url: `${server.url}/v1/trails/${trailId}`, headers: reviewer },
      "GET /v1/trails (trail list)": { url: `${server.url}/v1/trails`, headers: reviewer }
    }
    const timings = new Map<string, Array<number>>(Object.keys(reads).map((k) => [k, []]))
    const sizes = new Map<string, number>()

    const pending = JSON.parse((await request(`${server.url}/v1/leashes`, { headers: reviewer })).text)
    const have = pending.leashes.map((l: any) => l.leash_id as string)
    const tabs = Array.from({ length: 10 }, () => liveTab(server.url, cookie, have))

    const health: Array<number> = []
    let rss = rssMiB(server.pid)
    let running = true
    const healthLoop = (async () => {
      while (running) {
        const t = await request(`${server.url}/healthz`)
        if (t.status !== 200) throw new Error(`/healthz answered ${t.status}`)
        health.push(t.millis)
        rss = Math.max(rss, rssMiB(server.pid))
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    const writeLoop = (async () => {
      let decided = 0
      while (running) {
        await request(`${server.url}/v1/leashes`, { method: "POST", headers: agent, body: JSON.stringify(leash(payload, signals)) })
        const id = have[decided++]
        if (id !== undefined) {
          await request(`${server.url}/v1/leashes/${id}/decision`, {
            method: "POST",
            headers: { ...reviewer, "content-type": "application/json" },
            body: JSON.stringify({ decision: "approved", reason: "bench" })
          })
        }
        await new Promise((r) => setTimeout(r, 2000))
      }
    })()
    const until = performance.now() + seconds * 1000
    while (performance.now() < until) {
      for (const [name, read] of Object.entries(reads)) {
        const t = await request(read.url, { headers: read.headers })
        if (t.status !== 200) throw new Error(`${name} answered ${t.status}: ${t.text.slice(0, 200)}`)
        timings.get(name)!.push(t.millis)
        sizes.set(name, t.bytes)
        rss = Math.max(rss, rssMiB(server.pid))
      }
    }
    running = false
    await Promise.all([healthLoop, writeLoop])
    for (const tab of tabs) tab.close()
    await Promise.all(tabs.map((t) => t.done))

    console.log(`\n${seconds} s with 10 live tabs, /healthz every 50 ms, a leash created and one decided every 2 s:`)
    for (const [name, values] of timings) {
      console.log(`  ${name.padEnd(34)} max ${Math.max(...values).toFixed(0).padStart(5)} ms  p50 ${
        percentile(values, 50).toFixed(0).padStart(4)
      } ms  (${values.length} reads, ${(sizes.get(name)! / 1024).toFixed(0)} KiB each)`)
    }
    console.log(`  /healthz p99 ${percentile(health, 99).toFixed(1)} ms, p50 ${percentile(health, 50).toFixed(1)} ms (${health.length} probes)`)
    console.log(`  server RSS max ${rss.toFixed(0)} MiB (idle ${idleRss.toFixed(0)} MiB); load average ${
      Os.loadavg().map((l) => l.toFixed(1)).join(" ")
    }`)
    const liveBytes = tabs.reduce((n, t) => n + t.stats.bytes, 0)
    console.log(`  live tabs received ${(liveBytes / 1024).toFixed(0)} KiB in all (${(liveBytes / 10 / 1024).toFixed(0)} KiB a tab)`)
    const worst = Math.max(...[...timings.values()].flat())
    const ok = worst < 500 && rss < 300 && percentile(health, 99) < 50
    console.log(`  targets (each read < 500 ms, RSS < 300 MB, /healthz p99 < 50 ms): ${ok ? "met" : "NOT met"}`)

    // The crash of issue 12, adapted: 56 payloads of 5 MiB of `[{},{},…]`.
    if (process.env["BENCH_CRASH"] === "0") return await server.stop()
    console.log(`\nthe crash scenario: 56 leashes with 5 MiB payloads of [{},{},…]`)
    const huge = emptyObjects(5 * 1024 * 1024 - 2048)
    const statuses = new Map<number, number>()
    for (let i = 0; i < 56; i++) {
      const answer = await request(`${server.url}/v1/leashes`, {
        method: "POST",
        headers: agent,
        body: JSON.stringify(leash(huge, { amount_usd: 1 }))
      })
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
      rss = Math.max(rss, rssMiB(server.pid))
    }
    console.log(`  answers: ${[...statuses].map(([status, n]) => `${n} × ${status}`).join(", ")}`)
    for (const [name, read] of Object.entries(reads).slice(0, 2)) {
      const t = await request(read.url, { headers: read.headers })
      console.log(`  ${name.padEnd(34)} ${t.status} in ${t.millis.toFixed(0)} ms (${(t.bytes / 1024).toFixed(0)} KiB)`)
    }
    const alive = await request(`${server.url}/healthz`)
    console.log(`  /healthz after: ${alive.status} in ${alive.millis.toFixed(1)} ms; server RSS now ${rssMiB(server.pid).toFixed(0)} MiB`)
    await server.stop()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
