/**
 * The gate server as its own process, for the tests and the benches that need one: spawned on
 * 127.0.0.1 with a cleaned environment, ready once its banner says where it listens (or once
 * `GET /healthz` answers 200), and stopped by a signal with its exit awaited.
 *
 * ```ts
 * const server = await spawnServer({ args: ["--port", "0", "--db", db] })
 * // … server.url, server.pid, server.output()
 * await server.stop("SIGTERM")
 * ```
 *
 * `scopedServer` is the same as an Effect whose scope SIGKILLs the process. The benches pass
 * `bin` themselves (a compiled bench runs from node_modules/.cache, where this file's own
 * location says nothing of the project's).
 */
import { Effect, type Scope } from "effect"
import * as ChildProcess from "node:child_process"
import * as Http from "node:http"
import * as Net from "node:net"
import { performance } from "node:perf_hooks"
import type { Readable } from "node:stream"
import { fileURLToPath } from "node:url"

/** The command as the repository runs it: server/bin/dev.mjs (the TypeScript sources through tsx). */
export const devBin = fileURLToPath(new URL("../../server/bin/dev.mjs", import.meta.url))

/** The banner line that says where the server listens. */
export const listening = /listening on (http:\/\/\S+)/

/** How long a start may take by default (tsx compiles the server's sources on a cold cache). */
export const defaultStartMillis = 60_000

/** How to start the server. */
export interface SpawnOptions {
  /** The command's entry point; default {@link devBin}. */
  readonly bin?: string
  /** The command's arguments. */
  readonly args: ReadonlyArray<string>
  readonly cwd?: string
  /** Variables set for the process, over the cleaned parent environment. */
  readonly env?: Readonly<Record<string, string>>
  /** Prefixes of the parent's variables left out; default `HOUNDSIGHT_`. */
  readonly dropEnv?: ReadonlyArray<string>
  /** Node flags before the entry point. */
  readonly nodeFlags?: ReadonlyArray<string>
  /** Runs `bin` itself (its `#!` line and the flags it carries) instead of `node bin`. */
  readonly direct?: boolean
  /**
   * When it is ready: a banner pattern whose first group is the URL (default {@link listening}),
   * or `{ healthz: port }`: `GET /healthz` on that port answers 200, polled every 5 ms.
   */
  readonly ready?: RegExp | { readonly healthz: number }
  /** How long the start may take; default {@link defaultStartMillis}. */
  readonly startMillis?: number
  /** Told every chunk the process prints, on stdout or stderr. */
  readonly onOutput?: (chunk: string) => void
}

/** A started server process. */
export interface ServerChild {
  readonly child: ChildProcess.ChildProcessByStdio<null, Readable, Readable>
  readonly pid: number
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /** The banner's match (the healthz readiness matches the URL alone). */
  readonly banner: RegExpExecArray
  /** Everything it printed so far. */
  readonly output: () => string
  /** Its exit code once it has ended (`null` when a signal ended it). */
  readonly exited: Promise<number | null>
  /** Whether it runs now. */
  readonly running: () => boolean
  /** Sends `signal` (default SIGTERM) unless it has ended, and waits for the exit. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** The parent's environment without the variables whose names start with one of `drop`. */
export const cleanEnv = (drop: ReadonlyArray<string> = ["HOUNDSIGHT_"]): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !drop.some((prefix) => k.startsWith(prefix))) out[k] = v
  }
  return out
}

/** A port free on 127.0.0.1 now (the OS's pick, released before answering). */
export const freePort = (): Promise<number> =>
  new Promise((done, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => done(port))
    })
  })

/** Whether `GET /healthz` on 127.0.0.1:`port` answers 200 now (a fresh connection). */
export const healthy = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const request = Http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false }, (response) => {
      response.resume()
      done(response.statusCode === 200)
    })
    request.on("error", () => done(false))
  })

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))

/**
 * Spawns the server and waits until it is ready. Rejects with everything it printed when it
 * exits first or is not ready in time (then it is SIGKILLed).
 */
export const spawnServer = async (options: SpawnOptions): Promise<ServerChild> => {
  const bin = options.bin ?? devBin
  const command = options.direct === true ? bin : process.execPath
  const args = options.direct === true ? [...options.args] : [...(options.nodeFlags ?? []), bin, ...options.args]
  const child = ChildProcess.spawn(command, args, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { ...cleanEnv(options.dropEnv), ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const onData = (chunk: string) => {
    output += chunk
    options.onOutput?.(chunk)
  }
  child.stdout.setEncoding("utf8").on("data", onData)
  child.stderr.setEncoding("utf8").on("data", onData)
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
  const running = () => child.exitCode === null && child.signalCode === null
  const stop = (signal: NodeJS.Signals = "SIGTERM") => {
    if (running()) child.kill(signal)
    return exited
  }
  const startMillis = options.startMillis ?? defaultStartMillis
  const ready = options.ready ?? listening
  const banner = await (ready instanceof RegExp ? bannerOf(child, ready, () => output, exited, startMillis) : healthzOf(
    ready.healthz,
    running,
    () => output,
    startMillis
  )).catch(async (error: unknown) => {
    await stop("SIGKILL")
    throw error
  })
  const url = banner[1]!
  return { child, pid: child.pid!, url, port: Number(new URL(url).port), banner, output: () => output, exited, running, stop }
}

const bannerOf = (
  child: ServerChild["child"],
  pattern: RegExp,
  output: () => string,
  exited: Promise<number | null>,
  startMillis: number
): Promise<RegExpExecArray> =>
  new Promise((done, reject) => {
    let settled = false
    const settle = (f: () => void) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.stdout.off("data", check)
      f()
    }
    const check = () => {
      const match = pattern.exec(output())
      if (match !== null) settle(() => done(match))
    }
    const timer = setTimeout(
      () => settle(() => reject(new Error(`houndsight-server was not ready within ${startMillis} ms:\n${output()}`))),
      startMillis
    )
    child.stdout.on("data", check)
    void exited.then((code) =>
      settle(() => reject(new Error(`houndsight-server exited (${code}) before it was ready:\n${output()}`)))
    )
    check()
  })

const healthzOf = async (
  port: number,
  running: () => boolean,
  output: () => string,
  startMillis: number
): Promise<RegExpExecArray> => {
  const t0 = performance.now()
  for (;;) {
    if (!running()) throw new Error(`houndsight-server exited before it was healthy:\n${output()}`)
    if (performance.now() - t0 > startMillis) throw new Error(`houndsight-server: no /healthz 200 within ${startMillis} ms:\n${output()}`)
    if (await healthy(port)) break
    await sleep(5)
  }
  const url = `http://127.0.0.1:${port}`
  return Object.assign([url, url], { index: 0, input: url }) as RegExpExecArray
}

/** {@link spawnServer} in a scope: the process is SIGKILLed (and its exit awaited) when the scope closes. */
export const scopedServer = (options: SpawnOptions): Effect.Effect<ServerChild, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => spawnServer(options), catch: (e) => (e instanceof Error ? e : new Error(String(e))) }),
    (server) => Effect.promise(() => server.stop("SIGKILL"))
  )
