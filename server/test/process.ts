/**
 * Runs the real `houndsight-server` command (server/bin/dev.mjs: the TypeScript sources through tsx) as a child
 * process, for the tests that need a process: restarts after SIGKILL, exit codes, messages.
 */
import { Effect, type Scope } from "effect"
import * as ChildProcess from "node:child_process"
import { fileURLToPath } from "node:url"

/** The command's entry point. */
export const bin = fileURLToPath(new URL("../bin/dev.mjs", import.meta.url))

/** How long a start may take (tsx compiles the sources on a cold cache). */
const startMillis = 60_000

/** A running server process. */
export interface ServerProcess {
  readonly url: string
  readonly port: number
  /** The keys the banner printed ("" on a later start, which prints key ids only). */
  readonly agentKey: string
  readonly reviewerKey: string
  /** Everything it printed so far. */
  readonly output: () => string
  /** Sends a signal and waits for the process to end; answers its exit code (`null` if killed). */
  readonly stop: (signal: NodeJS.Signals) => Effect.Effect<number | null>
}

const env = (extra: Record<string, string>) => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("HOUNDSIGHT_")) out[k] = v
  }
  return { ...out, ...extra }
}

/**
 * Starts the command and waits for its banner; killed (SIGKILL) with the scope if still running.
 * Fails with everything it printed if it exits instead.
 */
export const spawnServer = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> }
): Effect.Effect<ServerProcess, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(process.execPath, [bin, ...args], {
          cwd: options.cwd,
          env: env(options.env ?? {}),
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      (child) =>
        Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGKILL")
        })
    )
    let output = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))

    const banner = yield* Effect.async<RegExpExecArray, Error>((resume) => {
      const check = () => {
        // the keys are printed by the start that generated them only
        const match = /listening on (http:\/\/[^\s]+)(?:[\s\S]*agent key\s+(sk-hnd-\S+))?(?:[\s\S]*reviewer key\s+(rv-hnd-\S+))?[\s\S]*Stop it with Ctrl-C/
          .exec(output)
        if (match !== null) {
          cleanup()
          resume(Effect.succeed(match))
        }
      }
      const onExit = (code: number | null) => {
        cleanup()
        resume(Effect.fail(new Error(`houndsight-server exited (${code}) before it was ready:\n${output}`)))
      }
      const timer = setTimeout(() => {
        cleanup()
        resume(Effect.fail(new Error(`houndsight-server was not ready within ${startMillis} ms:\n${output}`)))
      }, startMillis)
      const cleanup = () => {
        clearTimeout(timer)
        child.stdout.off("data", check)
        child.off("exit", onExit)
      }
      child.stdout.on("data", check)
      child.once("exit", onExit)
      check()
    })
    const url = banner[1]!
    return {
      url,
      port: Number(new URL(url).port),
      agentKey: banner[2] ?? "",
      reviewerKey: banner[3] ?? "",
      output: () => output,
      stop: (signal) =>
        Effect.promise(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        })
    }
  })

/** Runs the command to its end (it is expected to exit on its own); answers its code and output. */
export const runServer = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> }
): Effect.Effect<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> =>
  Effect.async((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd, env: env(options.env ?? {}), timeout: startMillis },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resume(Effect.succeed({ code, stdout, stderr }))
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })
