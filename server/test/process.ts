/**
 * Runs the real `houndsight-server` command (server/bin/dev.mjs: the TypeScript sources through tsx) as a child
 * process, for the tests that need a process: restarts after SIGKILL, exit codes, messages. The
 * spawning itself is test/support/serverProcess.ts, shared with the reliability suite and the benches.
 */
import { Effect, type Scope } from "effect"
import * as ChildProcess from "node:child_process"
import { cleanEnv, defaultStartMillis, devBin, scopedServer } from "../../test/support/serverProcess.js"

/** The command's entry point. */
export const bin = devBin

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

/** The whole banner; the keys are printed by the start that generated them only. */
const banner =
  /listening on (http:\/\/[^\s]+)(?:[\s\S]*agent key\s+(sk-hnd-\S+))?(?:[\s\S]*reviewer key\s+(rv-hnd-\S+))?[\s\S]*Stop it with Ctrl-C/

/**
 * Starts the command and waits for its banner; killed (SIGKILL) with the scope if still running.
 * Fails with everything it printed if it exits instead.
 */
export const spawnServer = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> }
): Effect.Effect<ServerProcess, Error, Scope.Scope> =>
  Effect.map(
    scopedServer({ args, cwd: options.cwd, ...(options.env === undefined ? {} : { env: options.env }), ready: banner }),
    (server) => ({
      url: server.url,
      port: server.port,
      agentKey: server.banner[2] ?? "",
      reviewerKey: server.banner[3] ?? "",
      output: server.output,
      stop: (signal) => Effect.promise(() => server.stop(signal))
    })
  )

/** Runs the command to its end (it is expected to exit on its own); answers its code and output. */
export const runServer = (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env?: Record<string, string> }
): Effect.Effect<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> =>
  Effect.async((resume) => {
    const child = ChildProcess.execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd, env: { ...cleanEnv(), ...options.env }, timeout: defaultStartMillis },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
        resume(Effect.succeed({ code, stdout, stderr }))
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })
