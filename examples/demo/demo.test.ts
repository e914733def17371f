/**
 * `npm run demo` as CI runs it: no terminal (stdin is not a TTY), so the demo's reviewer
 * approves the waiting charge after 2 s and says so; the demo tells what it waits for and where
 * to act, blocks the large charge, flags the agent that ignored a rejection, prints the
 * dashboard's address and a summary, removes its temporary database, and exits 0.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the demo as `npm run demo` does, with stdin that is not a terminal. */
const runDemo = Effect.async<Finished>((resume) => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HOUNDSIGHT_")) env[k] = v
  }
  const child = ChildProcess.spawn("npx", ["tsx", "examples/demo.ts"], {
    cwd: root,
    env: { ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
  return Effect.sync(() => child.kill("SIGKILL"))
})

describe("npm run demo", () => {
  it.live("runs without a terminal: the demo's reviewer approves after 2 s, and the demo exits 0", () =>
    Effect.gen(function*() {
      const { code, stderr, stdout } = yield* runDemo.pipe(
        Effect.timeoutFail({ duration: "100 seconds", onTimeout: () => new Error("the demo did not finish") })
      )
      expect(stdout + stderr).not.toMatch(/demo failed|level=(ERROR|WARN|FATAL)/)
      expect(code, stdout + stderr).toBe(0)

      const dashboard = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1]
      expect(dashboard).toBeDefined()
      expect(stdout).toMatch(/reviewer key\s+rv-hnd-\S+/)
      // 1. The forecast trail, with its dashboard link.
      expect(stdout).toMatch(new RegExp(`1/5 .*forecast[\\s\\S]*${dashboard}/trails/[0-9a-f-]{36}`))
      // 2. The charge waits: the demo says what for and where to act, then who decided.
      expect(stdout).toContain("billing-bot asks to run stripe.charge and waits for a reviewer")
      expect(stdout).toMatch(new RegExp(`Decide in the dashboard: ${dashboard}/leashes/[0-9a-f-]{36}`))
      expect(stdout).toContain("No terminal to ask here, so the demo's reviewer approves it in 2 s")
      expect(stdout).toContain(`The agent got approved: "approved by the demo's reviewer after 2 s (no terminal to ask)"`)
      expect(stdout).toContain("It charged cus_42.")
      // 3. Over the floor limit: blocked at once.
      expect(stdout).toContain(`charge cus_77 $25,000.00: blocked: "charges over $10,000 need finance"`)
      // 4. The rejection the agent ignored, flagged.
      expect(stdout).toContain(`rejected: "no mass email without marketing sign-off"`)
      expect(stdout).toContain(`${dashboard}/flags`)
      // The summary.
      // 5. The @effect/ai support agent: model calls with tokens and cost, the refund waiting for a reviewer.
      expect(stdout).toContain("5/5  support-agent, an @effect/ai agent on a scripted local model")
      expect(stdout).toContain(`waits for a reviewer: "Refund A-42 $120.00: arrived broken"`)
      expect(stdout).toContain(`The agent answered: "Done: order A-42 is refunded ($120, refund re_1)."`)
      expect(stdout).toMatch(/3 model calls \(scripted · scripted-support-model\): [1-9]\d* tokens in, [1-9]\d* out, \$0\.\d*[1-9]/)
      expect(stdout).toMatch(/trails\s+5 /)
      expect(stdout).toMatch(/leashes\s+4: approved, blocked, rejected, approved/)
      expect(stdout).toMatch(/flags\s+1: ignored_decision \(email\.send, step #2\)/)
      expect(stdout.trimEnd().split("\n").at(-1)).toContain("Done.")

      // The temporary database is gone.
      const db = /database\s+(\S+) \(temporary\)/.exec(stdout)?.[1]
      expect(db).toBeDefined()
      expect(Fs.existsSync(Path.dirname(db!))).toBe(false)
    }), 120_000)
})
