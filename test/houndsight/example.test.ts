/**
 * The examples as users run them: child processes with the environment set, against a loopback
 * collector started by the test.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { collector } from "../exporter/collector.js"

const root = fileURLToPath(new URL("../../", import.meta.url))
const tsx = `${root}node_modules/.bin/tsx`

interface Run {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly exit: Effect.Effect<number | null>
}

/**
 * Spawns `tsx <script>` with the given environment (no inherited HOUNDSIGHT_* variables). With
 * `direct`, runs `node --import tsx <script>` instead: signals then reach the program itself (the
 * tsx CLI relays them to its child, and SIGKILLs a child that does not acknowledge within 30 ms,
 * which a loaded machine can miss).
 */
const run = (script: string, env: Record<string, string>, direct = false): Run => {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HOUNDSIGHT_")))
  const [command, argv] = direct ? [process.execPath, ["--import", "tsx", script]] : [tsx, [script]]
  const child = spawn(command, argv, { cwd: root, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => (stdout += chunk))
  child.stderr!.on("data", (chunk) => (stderr += chunk))
  const exit = Effect.async<number | null>((resume) => {
    if (child.exitCode !== null) return resume(Effect.succeed(child.exitCode))
    child.on("exit", (code) => resume(Effect.succeed(code)))
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exit }
}

describe("examples/sales-pipeline.ts", () => {
  it.scopedLive("with HOUNDSIGHT_* set, delivers its trail (running and finished) and its step, then exits 0", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const child = run("examples/sales-pipeline.ts", {
        HOUNDSIGHT_ENDPOINT: c.url,
        HOUNDSIGHT_API_KEY: "sk-hnd-example-key",
        HOUNDSIGHT_AGENT: "sales-pipeline"
      })
      const code = yield* child.exit
      expect(code, child.stderr() + child.stdout()).toBe(0)
      const { steps, trails } = c.delivered()
      expect(trails.map((t) => t.status).sort()).toEqual(["ok", "running"])
      expect(new Set(trails.map((t) => t.id)).size).toBe(1)
      const finished = trails.find((t) => t.status === "ok")!
      expect(finished).toMatchObject({
        agent: "sales-pipeline",
        trigger: "user_message",
        payload: { text: "Q2 forecast" },
        output: "Posted forecast",
        cost_usd: 0.0001
      })
      expect(steps).toHaveLength(1)
      expect(steps[0]).toMatchObject({
        trail_id: finished.id,
        parent_id: null,
        seq: 1,
        name: "salesforce_query",
        layer: "execute",
        status: "ok",
        input: { quarter: "Q2" },
        output: { deal_count: 17 }
      })
      expect(c.requests.every((r) => r.headers.authorization === "Bearer sk-hnd-example-key")).toBe(true)
      // the key is in no line the program wrote
      expect(child.stdout() + child.stderr()).not.toContain("sk-hnd-example-key")
    }))

  it.live("without HOUNDSIGHT_API_KEY, prints what it recorded in memory and exits 0 (npm run demo)", () =>
    Effect.gen(function*() {
      const child = run("examples/sales-pipeline.ts", {})
      const code = yield* child.exit
      expect(code, child.stderr()).toBe(0)
      const printed = child.stdout()
      const json = JSON.parse(printed.slice(printed.indexOf("{\n")))
      expect(json.trail).toMatchObject({ agent: "sales-pipeline", status: "ok", output: "Posted forecast" })
      expect(json.steps.map((s: { name: string }) => s.name)).toEqual(["salesforce_query"])
    }))

  it.live("with a reviewer key, refuses to start, names the setting, and exits 1", () =>
    Effect.gen(function*() {
      const child = run("examples/sales-pipeline.ts", {
        HOUNDSIGHT_API_KEY: "rv-hnd-reviewer-secret",
        HOUNDSIGHT_AGENT: "sales-pipeline"
      })
      const code = yield* child.exit
      expect(code).toBe(1)
      expect(child.stderr() + child.stdout()).toContain("HOUNDSIGHT_API_KEY is a reviewer key")
      expect(child.stderr() + child.stdout()).not.toContain("rv-hnd-reviewer-secret")
    }))
})

describe("NodeRuntime.runMain", () => {
  it.scopedLive("on SIGTERM, closes the layer's Scope, which flushes the interrupted trail and step", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const child = run("test/houndsight/fixtures/until-signal.ts", {
        HOUNDSIGHT_ENDPOINT: c.url,
        HOUNDSIGHT_API_KEY: "sk-hnd-example-key"
      }, true)
      yield* Effect.addFinalizer(() => Effect.sync(() => child.child.kill("SIGKILL")))
      yield* c.waitFor(() => child.stdout().includes("waiting"))
      child.child.kill("SIGTERM")
      const code = yield* child.exit
      expect(code, child.stderr()).toBe(0) // runMain: an interruption by a signal exits 0
      const { steps, trails } = c.delivered()
      expect(trails.map((t) => t.status).sort()).toEqual(["interrupted", "running"])
      expect(steps.map((s) => [s.name, s.status])).toEqual([["wait_for_signal", "interrupted"]])
    }))
})
