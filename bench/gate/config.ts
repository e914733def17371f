/**
 * The gate bench's settings, from the environment (bench/gate.ts describes them), and what each
 * case does.
 *
 * @since 0.1.0
 */
import { fileURLToPath } from "node:url"

/** The project root: given by the parent to a compiled run, else the parent of bench/. */
export const root: string = process.env["BENCH_ROOT"] ?? fileURLToPath(new URL("../..", import.meta.url))

/** `BENCH_QUICK=1`: a fast run. */
export const quick = process.env["BENCH_QUICK"] === "1" || process.env["BENCH_QUICK"] === "true"
/** `BENCH_PROFILE`: where the servers write their CPU profiles. */
export const profileDir = process.env["BENCH_PROFILE"] === "" ? undefined : process.env["BENCH_PROFILE"]
/** `BENCH_VERBOSE=1`: print the server's output. */
export const verbose = process.env["BENCH_VERBOSE"] === "1"

/** The cases, in the order they run. */
export const caseNames = ["waiting", "one", "floor", "create", "ingest"] as const
/** `BENCH_ONLY`: the cases to run (all when empty). */
export const only = (process.env["BENCH_ONLY"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
for (const name of only) {
  if (!(caseNames as ReadonlyArray<string>).includes(name)) {
    throw new Error(`bench: BENCH_ONLY names unknown case ${JSON.stringify(name)}; known: ${caseNames.join(", ")}`)
  }
}
/** Whether the case `name` runs in this run. */
export const runs = (name: typeof caseNames[number]): boolean => only.length === 0 || only.includes(name)

/** What runs before a server's cases: `rounds` rounds (a health check, a floor-rule leash, a pending leash decided) and `ingestBatches` ingest batches. */
export interface Warmup {
  readonly rounds: number
  readonly ingestBatches: number
}

/**
 * How much each case does. `warmup` runs before the shipped server's cases: a gate server runs
 * for days, so its figures are those of a server whose code V8 has optimized. After 40 rounds a
 * floor-rule creation still took twice the server CPU it takes after 1,000 (BENCHMARKS.md, "Full
 * runs of 2026-12-02, evening"). The other servers (the bundle under plain node, the sources
 * through tsx), measured for their memory with 1,000 agents waiting, and the PostgreSQL bench
 * keep the warm-up their earlier figures had (`shortWarmup`).
 */
export const sizes: {
  readonly waiting: number
  readonly oneByOne: number
  readonly floor: number
  readonly createSeconds: number
  readonly ingestBatches: number
  readonly warmup: Warmup
  readonly shortWarmup: Warmup
} = quick
  ? {
    waiting: 1000,
    oneByOne: 150,
    floor: 200,
    createSeconds: 1.5,
    ingestBatches: 20,
    warmup: { rounds: 20, ingestBatches: 4 },
    shortWarmup: { rounds: 20, ingestBatches: 4 }
  }
  : {
    waiting: 1000,
    oneByOne: 1000,
    floor: 500,
    createSeconds: 4,
    ingestBatches: 80,
    warmup: { rounds: 1000, ingestBatches: 40 },
    shortWarmup: { rounds: 40, ingestBatches: 4 }
  }

/** After an agent's long-poll is sent, how long before the reviewer decides (so the server holds it). */
export const settleMillis = 5
/** Requests in flight in the creations case. */
export const createConcurrency = 32
/** Step records in one ingest body. */
export const stepsPerBatch = 512

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))
