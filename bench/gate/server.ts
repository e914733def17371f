/**
 * The gate server of the bench as its own process (test/support/serverProcess.ts spawns it):
 * the command as installed, its sources through tsx, or compiled to JavaScript, on a fresh
 * database with the bench's rules and keys; its memory and CPU time from /proc.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import * as Crypto from "node:crypto"
import { cpSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { spawnServer } from "../../test/support/serverProcess.js"
import { profileDir, root, verbose } from "./config.js"

/** The package's bin, server/bin/houndsight-server.mjs: what `npx houndsight-server` runs (it loads dist/cli.mjs). */
export const shippedBin = (): string => join(root, "server", "bin", "houndsight-server.mjs")

/**
 * The node flags of the bin's `#!` line (`#!/usr/bin/env -S node <flags>`), read from the bin
 * itself so the bench runs what ships: `node <flags> bin` is the bin run as npx runs it, with
 * room for the bench's own flags (`--cpu-prof`).
 */
export const shippedNodeFlags = (): ReadonlyArray<string> => {
  const first = readFileSync(shippedBin(), "utf8").split("\n", 1)[0]!
  const match = /^#!\/usr\/bin\/env -S node((?: +\S+)*) *$/.exec(first)
  if (match === null) {
    throw new Error(`bench: ${shippedBin()} does not start with "#!/usr/bin/env -S node <flags>": ${first}`)
  }
  return match[1]!.split(" ").filter((flag) => flag !== "")
}

/** Builds the SDK and the server package (`npm run build:server`), unless `BENCH_NO_BUILD=1`. */
export const buildShipped = (): void => {
  if (process.env["BENCH_NO_BUILD"] === "1") return
  console.log("  building the SDK and the server (npm run build:server)")
  execFileSync("npm", ["run", "--silent", "build:server"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] })
}

/** Where the compiled bench and server go. */
export const cacheDir = (): string => join(root, "node_modules", ".cache", "houndsight-bench-gate")

/**
 * The server compiled to JavaScript (server/src/main.ts and the SDK sources it imports, plus the
 * dashboard's assets), for running it under plain `node`; returns the compiled main.js.
 */
export const compileServer = async (): Promise<string> => {
  const outDir = join(cacheDir(), "server-out")
  // loaded here, not at the start: the agents' process is measured before the compiled servers run
  const { compileEntries } = await import("../compile.js")
  const main = compileEntries(root, [join(root, "server", "src", "main.ts")], outDir)
  cpSync(join(root, "server", "src", "dashboard", "assets"), join(outDir, "server", "src", "dashboard", "assets"), {
    recursive: true
  })
  return main
}

/** A process's memory. */
export interface Memory {
  /** Resident set size now, MiB. */
  readonly rssMiB: number
  /** Peak resident set size so far (VmHWM), MiB. */
  readonly peakMiB: number
}

/** A process's RSS from /proc (Linux), or from `ps` elsewhere (no peak there). */
export const memoryOf = (pid: number): Memory => {
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
export const cpuSecondsOf = (pid: number): number => {
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

/** The bench's server process. */
export interface ServerProcess {
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

/** The bench's rules: one floor rule on large charges. */
const rulesFile = {
  sensitive: ["stripe.*", "email.send"],
  rules: [{
    action: "stripe.*",
    reason: "charges over $10,000 need finance",
    when: [{ signal: "amount_usd", op: ">", value: 10000 }]
  }]
}

/** The keys a bench server starts with (instances on one database share them). */
export interface BenchKeys {
  readonly agentKey: string
  readonly reviewerKey: string
}

/** Fresh random keys of both kinds. */
export const freshKeys = (): BenchKeys => ({
  agentKey: `sk-hnd-${Crypto.randomBytes(24).toString("base64url")}`,
  reviewerKey: `rv-hnd-${Crypto.randomBytes(24).toString("base64url")}`
})

/** Where a bench server keeps its data, and with which keys. */
export interface StartOptions {
  /** The database setting (`--db`): default a fresh SQLite file in the folder. */
  readonly db?: string
  /** Default: fresh keys. */
  readonly keys?: BenchKeys
}

/**
 * Starts the server on a fresh database in `dir`: its TypeScript sources through tsx
 * (server/bin/dev.mjs, as the repository runs it), or, given `compiledMain`, that JavaScript
 * entry under `node` with `nodeFlags` (`shippedBin()` with `shippedNodeFlags()` is the server as
 * installed).
 */
export const startServer = async (
  dir: string,
  compiledMain?: string,
  nodeFlags: ReadonlyArray<string> = [],
  options: StartOptions = {}
): Promise<ServerProcess> => {
  const rules = join(dir, "rules.json")
  writeFileSync(rules, JSON.stringify(rulesFile))
  const { agentKey, reviewerKey } = options.keys ?? freshKeys()
  const nodeArgs = [...nodeFlags, ...(profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`])]
  const child = await spawnServer({
    bin: compiledMain ?? join(root, "server", "bin", "dev.mjs"),
    args: ["--port", "0", "--db", options.db ?? join(dir, "gate.db"), "--rules", rules],
    cwd: dir,
    env: { HOUNDSIGHT_AGENT_KEY: agentKey, HOUNDSIGHT_REVIEWER_KEY: reviewerKey },
    dropEnv: ["HOUNDSIGHT_", "BENCH_"],
    nodeFlags: nodeArgs,
    onOutput: (chunk) => {
      if (verbose) process.stderr.write(chunk)
    }
  })
  return {
    url: child.url,
    pid: child.pid,
    agentKey,
    reviewerKey,
    memory: () => memoryOf(child.pid),
    cpuSeconds: () => cpuSecondsOf(child.pid),
    stop: () => child.stop("SIGTERM")
  }
}
