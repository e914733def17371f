/**
 * The measuring harness: every case runs in one process, in rounds whose order rotates (and
 * reverses every other round) so no case always runs first or last; a warm-up calibrates how many
 * operations a round runs; and every case is compared with every other case round by round.
 *
 * No forced GC between runs: a full `gc()` before every short run made later runs slower and
 * slower (5 µs → 80 µs per `provideService` over a few seconds, V8 apparently discarding
 * optimized code), which measured the GC, not the case. Runs are long enough (about `targetMs`)
 * that a case pays mostly for its own garbage, and rotation spreads the rest.
 *
 * The figure is the process's CPU time (`process.cpuUsage()`, user + system) per operation, not
 * wall time: on a shared machine the wall clock also counts the time the process waited for a
 * core, which swung single runs by 10× while other builds ran; CPU time does not, and it still
 * counts the garbage collector's helper threads, a real cost of the case. Wall time is kept in
 * sniff-results.json beside it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as ManagedRuntime from "effect/ManagedRuntime"
import { performance } from "node:perf_hooks"

/**
 * One benchmark case. `program(n)` runs `n` operations (a multiple of 1,000) inside one Effect
 * program.
 *
 * @since 0.1.0
 * @category models
 */
export interface BenchCase<R> {
  /** Short stable id, used as the key in sniff-results.json. */
  readonly id: string
  /** What one operation is, for the table. */
  readonly title: string
  /** The case whose per-operation time is subtracted to give the net cost (the loop itself). */
  readonly baseline?: string
  /** How many recorded steps (sniffs or spans) one operation makes; 0 when none. */
  readonly stepsPerOp: number
  /** Runs `n` operations. */
  readonly program: (n: number) => Effect.Effect<void, never, R>
  /** Runs after every run, untimed (clears stores, flushes exporters, checks for drops). */
  readonly afterRun?: () => Promise<void>
}

/**
 * How long and how often to measure.
 *
 * @since 0.1.0
 * @category models
 */
export interface BenchConfig {
  /** Measured rounds (every case once per round). */
  readonly rounds: number
  /** Target CPU time of one case in one round, in milliseconds. */
  readonly targetMs: number
  /** Warm-up time per case, in milliseconds, before calibration. */
  readonly warmupMs: number
}

/**
 * The median, minimum and maximum of a series.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
}

/**
 * What was measured for one case.
 *
 * @since 0.1.0
 * @category models
 */
export interface CaseResult {
  readonly id: string
  readonly title: string
  readonly stepsPerOp: number
  readonly baseline: string | undefined
  /** Operations per round. */
  readonly ops: number
  /** CPU µs per operation, one value per round. */
  readonly perRound: ReadonlyArray<number>
  /** Wall-clock µs per operation, one value per round. */
  readonly wallPerRound: ReadonlyArray<number>
  /** CPU µs per operation over the rounds. */
  readonly usPerOp: Summary
  /** Wall-clock µs per operation over the rounds. */
  readonly wallUsPerOp: Summary
  /** CPU µs per operation minus the baseline's, paired round by round. */
  readonly netUsPerOp: Summary | undefined
}

/**
 * Everything one run of the harness measured.
 *
 * @since 0.1.0
 * @category models
 */
export interface BenchResult {
  readonly cases: ReadonlyArray<CaseResult>
  /** `ratios[a][b]`: a's CPU µs/op divided by b's, paired round by round. */
  readonly ratios: Readonly<Record<string, Readonly<Record<string, Summary>>>>
}

/**
 * The median (mean of the middle two for an even count), minimum and maximum of a series.
 *
 * @since 0.1.0
 * @category statistics
 */
export const summarize = (values: ReadonlyArray<number>): Summary => {
  const sorted = values.slice().sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! }
}

/**
 * Yields to the Node event loop (a macrotask), so timers and promise callbacks of other libraries
 * run. The loops call it every 1,000 operations in every case, so all cases pay it equally.
 *
 * @since 0.1.0
 * @category combinators
 */
export const yieldToEventLoop: Effect.Effect<void> = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/**
 * Runs `op()` `n` times in sequence inside one Effect program, yielding to the event loop every
 * 1,000 operations. The operation is built anew each time, as user code builds it.
 *
 * @since 0.1.0
 * @category combinators
 */
export const loop = <R>(n: number, op: () => Effect.Effect<void, never, R>): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    for (let i = 1; i <= n; i++) {
      yield* op()
      if (i % 1000 === 0) yield* yieldToEventLoop
    }
  })

/** CPU and wall-clock µs per operation of one run. */
interface Timing {
  readonly cpu: number
  readonly wall: number
}

const timeRun = async <R>(
  runtime: ManagedRuntime.ManagedRuntime<R, never>,
  c: BenchCase<R>,
  n: number
): Promise<Timing> => {
  const program = c.program(n)
  const wallStart = performance.now()
  const cpuStart = process.cpuUsage()
  await runtime.runPromise(program)
  const cpu = process.cpuUsage(cpuStart)
  const wall = performance.now() - wallStart
  if (c.afterRun !== undefined) await c.afterRun()
  return { cpu: (cpu.user + cpu.system) / n, wall: (wall * 1000) / n }
}

/** Round `r`'s order: rotated by r, reversed on odd rounds. */
const orderOf = <A>(items: ReadonlyArray<A>, r: number): Array<A> => {
  const k = r % items.length
  const rotated = items.slice(k).concat(items.slice(0, k))
  return r % 2 === 1 ? rotated.reverse() : rotated
}

/**
 * Warms up and calibrates every case, then runs the measured rounds and pairs the cases round
 * by round. `log` gets one line per phase.
 *
 * @since 0.1.0
 * @category running
 */
export const runBench = async <R>(
  runtime: ManagedRuntime.ManagedRuntime<R, never>,
  cases: ReadonlyArray<BenchCase<R>>,
  config: BenchConfig,
  log: (line: string) => void
): Promise<BenchResult> => {
  const ids = new Set<string>()
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`bench: two cases share the id ${JSON.stringify(c.id)}; ids must be unique`)
    ids.add(c.id)
  }
  for (const c of cases) {
    if (c.baseline !== undefined && !ids.has(c.baseline)) {
      throw new Error(`bench: case ${c.id} names baseline ${JSON.stringify(c.baseline)}, which is not a case`)
    }
  }

  // warm-up and calibration: n so one run takes about targetMs
  const ops = new Map<string, number>()
  for (const c of cases) {
    const deadline = performance.now() + config.warmupMs
    // the fastest warm-up run sets the size: the least disturbed by other work on the machine
    let us = Infinity
    let runs = 0
    while (runs < 5 || performance.now() < deadline) {
      us = Math.min(us, (await timeRun(runtime, c, 1000)).cpu)
      runs++
    }
    const n = Math.min(1_000_000, Math.max(1000, Math.round((config.targetMs * 1000) / us / 1000) * 1000))
    ops.set(c.id, n)
    await timeRun(runtime, c, n) // one discarded run at full size
    log(`  warmed ${c.id}: ~${us.toFixed(2)} µs/op, ${n} ops per round`)
  }

  const perRound = new Map<string, Array<number>>(cases.map((c) => [c.id, []]))
  const wallPerRound = new Map<string, Array<number>>(cases.map((c) => [c.id, []]))
  for (let r = 0; r < config.rounds; r++) {
    for (const c of orderOf(cases, r)) {
      const t = await timeRun(runtime, c, ops.get(c.id)!)
      perRound.get(c.id)!.push(t.cpu)
      wallPerRound.get(c.id)!.push(t.wall)
    }
    log(`  round ${r + 1}/${config.rounds}`)
  }

  const ratios: Record<string, Record<string, Summary>> = {}
  for (const a of cases) {
    const row: Record<string, Summary> = {}
    const as = perRound.get(a.id)!
    for (const b of cases) {
      const bs = perRound.get(b.id)!
      row[b.id] = summarize(as.map((x, i) => x / bs[i]!))
    }
    ratios[a.id] = row
  }
  const results: Array<CaseResult> = cases.map((c) => {
    const xs = perRound.get(c.id)!
    const base = c.baseline === undefined ? undefined : perRound.get(c.baseline)!
    return {
      id: c.id,
      title: c.title,
      stepsPerOp: c.stepsPerOp,
      baseline: c.baseline,
      ops: ops.get(c.id)!,
      perRound: xs,
      wallPerRound: wallPerRound.get(c.id)!,
      usPerOp: summarize(xs),
      wallUsPerOp: summarize(wallPerRound.get(c.id)!),
      netUsPerOp: base === undefined ? undefined : summarize(xs.map((x, i) => x - base[i]!))
    }
  })
  return { cases: results, ratios }
}
