/**
 * What the machine was like while a bench ran, so that a figure that moves between runs says why:
 *
 * - **speed**: the time of one fixed piece of JavaScript work (building, encoding and parsing the
 *   same small records), the fastest of seven tries. Two machines of the same name can differ by
 *   two times and more (a shared host, another CPU generation); a figure measured on a slower
 *   machine is compared by this, not by its name.
 * - **busy** and **steal** (Linux, from `/proc/stat`): how much of every core was used while a
 *   part ran (the bench's own processes included: a part that runs a server, a sink and agents
 *   uses both cores), and how much time the host's other guests took from this one.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync } from "node:fs"
import * as Os from "node:os"
import { performance } from "node:perf_hooks"

/**
 * Milliseconds of one fixed piece of work (20,000 records built, written as JSON and read back),
 * the fastest of `tries`: smaller is a faster machine.
 *
 * @since 0.1.0
 */
export const speedMillis = (tries = 7): number => {
  let best = Number.POSITIVE_INFINITY
  let sink = 0
  for (let t = 0; t < tries; t++) {
    const start = performance.now()
    for (let i = 0; i < 20_000; i++) {
      const record = { id: `step-${i}`, seq: i, input: { quarter: "Q2", i }, output: { deal_count: i % 17 }, tags: ["a", "b"] }
      const json = JSON.stringify(record)
      sink += (JSON.parse(json) as { seq: number }).seq + json.length
    }
    best = Math.min(best, performance.now() - start)
  }
  // the sum is used, so the work cannot be left out
  if (sink < 0) console.log(sink)
  return Math.round(best * 100) / 100
}

/** The machine's CPU time counters (jiffies of all cores), or undefined off Linux. */
export interface CpuTimes {
  readonly busy: number
  readonly steal: number
  readonly total: number
}

/**
 * Reads the machine's CPU counters from `/proc/stat`.
 *
 * @since 0.1.0
 */
export const cpuTimes = (): CpuTimes | undefined => {
  if (!existsSync("/proc/stat")) return undefined
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? ""
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number)
  if (steal === undefined || [user, nice, system, idle, iowait, irq, softirq].some((n) => n === undefined)) return undefined
  const busy = user! + nice! + system! + irq! + softirq!
  return { busy, steal, total: busy + idle! + iowait! + steal }
}

/** How busy the machine was between two readings: shares of all its cores, in per cent. */
export interface Busy {
  readonly busyPercent: number
  readonly stealPercent: number
}

/**
 * The machine's busy and steal shares between `from` and `to` (`undefined` off Linux).
 *
 * @since 0.1.0
 */
export const busyBetween = (from: CpuTimes | undefined, to: CpuTimes | undefined): Busy | undefined => {
  if (from === undefined || to === undefined || to.total <= from.total) return undefined
  const total = to.total - from.total
  const share = (n: number) => Math.round((n / total) * 1000) / 10
  return { busyPercent: share(to.busy - from.busy), stealPercent: share(to.steal - from.steal) }
}

/**
 * One line on the machine: its speed and, between two readings, how busy it was.
 *
 * @since 0.1.0
 */
export const describeBusy = (busy: Busy | undefined): string =>
  busy === undefined
    ? "busy and steal not known off Linux"
    : `the machine was ${busy.busyPercent} % busy (all ${Os.cpus().length} cores), ${busy.stealPercent} % stolen by the host`
