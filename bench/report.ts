/**
 * What the bench prints and writes: the machine it ran on, a Markdown table of every case, the
 * head-to-head ratios that matter, and `bench/sniff-results.json` with every round's figure.
 *
 * @since 0.1.0
 */
import * as os from "node:os"
import { speedMillis } from "./conditions.js"
import type { BenchConfig, BenchResult, Summary } from "./harness.js"

/**
 * The machine and runtime the figures come from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Machine {
  readonly node: string
  readonly platform: string
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  /** 1-minute load average when the bench started (other work on the machine adds noise). */
  readonly loadAverage: number
  /** Milliseconds of `bench/conditions.ts`'s fixed work on this machine (smaller is faster). */
  readonly speedMillis: number
  readonly versions: Readonly<Record<string, string>>
}

/**
 * Reads the machine's description.
 *
 * @since 0.1.0
 * @category constructors
 */
export const machine = (versions: Readonly<Record<string, string>>): Machine => {
  const cpus = os.cpus()
  return {
    node: process.version,
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
    speedMillis: speedMillis(),
    versions
  }
}

/** The pairs printed head to head: [a, b] reads "a costs x times b". */
export const headToHead: ReadonlyArray<readonly [string, string]> = [
  ["sniff", "withSpan"],
  ["sniff", "withSpan.noStack"],
  ["sniff", "otel"],
  ["sniff", "otel.onExit"],
  ["sniff", "alt.context"],
  ["sniff", "alt.locally"],
  ["sniff", "sniff.discard"],
  ["alt.context", "alt.locally"],
  ["forEach8.sniff", "forEach8"]
]

/** Table columns "× peer": this case's CPU µs/op divided by the peer's, round by round. */
const tablePeers: ReadonlyArray<readonly [string, string]> = [
  ["sniff", "× sniff"],
  ["withSpan", "× withSpan"],
  ["otel", "× OTel"]
]

const us = (x: number): string => (Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2))
const range = (s: Summary): string => `${us(s.min)}–${us(s.max)}`
const times = (s: Summary | undefined): string => (s === undefined ? "" : `${s.median.toFixed(2)}×`)

/**
 * The Markdown table of every case.
 *
 * @since 0.1.0
 * @category formatting
 */
export const table = (result: BenchResult): string => {
  const present = tablePeers.filter(([id]) => result.ratios[id] !== undefined)
  const head = [
    "case",
    "what one op is",
    "CPU µs/op (median)",
    "min–max",
    "net µs/op",
    ...present.map(([, h]) => h),
    "wall µs/op"
  ]
  const rows = result.cases.map((c) => [
    `\`${c.id}\``,
    c.title,
    us(c.usPerOp.median),
    range(c.usPerOp),
    c.netUsPerOp === undefined ? "" : us(c.netUsPerOp.median),
    ...present.map(([peer]) => (peer === c.id ? "1×" : times(result.ratios[c.id]?.[peer]))),
    us(c.wallUsPerOp.median)
  ])
  const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`
  return [line(head), line(head.map((_, i) => (i < 2 ? "---" : "---:"))), ...rows.map(line)].join("\n")
}

/**
 * The head-to-head lines: median ratio and its range over the rounds.
 *
 * @since 0.1.0
 * @category formatting
 */
export const comparisons = (result: BenchResult): string =>
  headToHead
    .filter(([a, b]) => result.ratios[a]?.[b] !== undefined)
    .map(([a, b]) => {
      const r = result.ratios[a]![b]!
      return `- \`${a}\` costs ${r.median.toFixed(2)}× \`${b}\` (per-round ratio ${r.min.toFixed(2)}–${
        r.max.toFixed(2)
      })`
    })
    .join("\n")

/**
 * The JSON written to bench/sniff-results.json.
 *
 * @since 0.1.0
 * @category formatting
 */
export const resultsJson = (
  m: Machine,
  config: BenchConfig & { readonly quick: boolean },
  result: BenchResult,
  extra: Readonly<Record<string, unknown>>
): string =>
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: m,
      config,
      unit: "µs per operation: perRound/usPerOp/netUsPerOp/ratios are process CPU time, wall* are wall-clock time",
      cases: result.cases,
      ratios: result.ratios,
      ...extra
    },
    null,
    2
  ) + "\n"
