/**
 * The figures of one gate bench run, as written to bench/gate-results.json, and their Markdown table.
 *
 * @since 0.1.0
 */
import { versionIn } from "../children.js"
import { root } from "./config.js"
import type { Memory } from "./server.js"
import { count, type Latency, mib, ms } from "./stats.js"

/**
 * Every figure of one run, as written to bench/gate-results.json.
 *
 * @since 0.1.0
 * @category models
 */
export interface GateResults {
  readonly date: string
  readonly quick: boolean
  readonly machine: Record<string, unknown>
  readonly seconds: number
  readonly waiting: {
    readonly agents: number
    readonly serverIdleRssMiB: number
    readonly serverRssMiB: number
    readonly serverPeakMiB: number
    readonly agentIdleRssMiB: number
    readonly agentRssMiB: number
    /** This process's V8 heap in use after a full GC (NaN without --expose-gc). */
    readonly agentIdleLiveHeapMiB: number
    readonly agentLiveHeapMiB: number
    readonly repolls: number
  }
  readonly decisionResumeWaiting: Latency & { readonly reviewerPost: Latency }
  readonly decisionResumeOne: Latency & { readonly reviewerPost: Latency; readonly repolls: number }
  readonly floorRule: { readonly leash: Latency; readonly bare: Latency; readonly ratioP50: number; readonly ratioP99: number; readonly pairedRatioMedian: number
    /** The server's CPU per floor-rule leash, net of the bare round trips interleaved with them. */
    readonly serverCpuMsPerLeash: number
    /** The server's CPU per bare round trip, back to back. */
    readonly serverCpuMsPerBare: number
    /** The server's CPU per bare round trip with the server idle between them as long as a leash took. */
    readonly serverCpuMsPerPacedBare: number
  }
  readonly creations: {
    readonly perSecond: number
    readonly perServerCpuSecond: number
    readonly created: number
    readonly seconds: number
    readonly serverCpuSeconds: number
    readonly concurrency: number
    readonly latency: Latency
  }
  readonly ingest: ReadonlyArray<{
    readonly inFlight: number
    readonly batches: number
    readonly steps: number
    readonly seconds: number
    readonly serverCpuSeconds: number
    readonly stepsPerSecond: number
    readonly stepsPerServerCpuSecond: number
    readonly latency: Latency
  }>
  readonly serverAtEnd: Memory
  /** The waiting case again, on the same bundle under plain node (without the bin's node flags). */
  readonly plainNode: Pick<GateResults, "waiting" | "decisionResumeWaiting">
  /** The same, on the TypeScript sources through tsx (server/bin/dev.mjs). */
  readonly sources: Pick<GateResults, "waiting" | "decisionResumeWaiting">
  readonly loadAverageAtEnd: number
}

/** The installed version of `pkg` ("unknown" when it cannot be read). */
export const versionOf = (pkg: string): string => versionIn(root, pkg)

/** The Markdown table of one run, with each target and whether it was met. */
export const table = (r: GateResults): string => {
  const met = (ok: boolean) => (ok ? "met" : "**not met**")
  const lat = (title: string, l: Latency, figure = "", target = "", verdict = ""): ReadonlyArray<string> => [
    title,
    count(l.n),
    `${ms(l.p50)} ms`,
    `${ms(l.p99)} ms`,
    `${ms(l.max)} ms`,
    figure,
    target,
    verdict
  ]
  const memory = (title: string, figure: string, target = "", verdict = ""): ReadonlyArray<string> => [
    title,
    "",
    "",
    "",
    "",
    figure,
    target,
    verdict
  ]
  const waiting = (label: string, v: Pick<GateResults, "waiting" | "decisionResumeWaiting">) => [
    lat(
      `decision → resume, ${count(v.waiting.agents)} waiting (${label})`,
      v.decisionResumeWaiting,
      `${count(v.waiting.repolls)} re-polls`
    ),
    memory(
      `server RSS, ${count(v.waiting.agents)} agents waiting (${label})`,
      `${mib(v.waiting.serverRssMiB)} MiB (idle ${mib(v.waiting.serverIdleRssMiB)})`,
      "< 100 MB",
      met(v.waiting.serverRssMiB * 2 ** 20 < 100e6)
    )
  ]
  const one = r.decisionResumeOne
  const w = r.waiting
  const rows: Array<ReadonlyArray<string>> = [
    ["case", "n", "p50", "p99", "max", "figure", "target", ""],
    ["---", "---:", "---:", "---:", "---:", "---:", "---", "---"],
    lat("decision → resume, one waiting", one, `${count(one.repolls)} re-polls`, "p99 ≤ 20 ms", met(one.p99 <= 20)),
    lat("reviewer's POST alone (one waiting)", one.reviewerPost),
    lat(
      "floor-rule leash (`Leash.request` → blocked)",
      r.floorRule.leash,
      `${r.floorRule.ratioP50.toFixed(2)}× bare (p50), ${r.floorRule.ratioP99.toFixed(2)}× (p99); server CPU ${
        r.floorRule.serverCpuMsPerLeash.toFixed(2)
      } ms a leash (a bare round trip ${r.floorRule.serverCpuMsPerBare.toFixed(2)} ms back to back, ${
        r.floorRule.serverCpuMsPerPacedBare.toFixed(2)
      } ms paced)`,
      "≤ 2× bare, ≤ 0.6 ms server CPU",
      met(r.floorRule.ratioP50 <= 2 && r.floorRule.serverCpuMsPerLeash <= 0.6)
    ),
    lat("bare round trip (`GET /healthz`, same HttpClient)", r.floorRule.bare),
    lat(
      `leash creations (raw HTTP, ${r.creations.concurrency} in flight)`,
      r.creations.latency,
      `${count(r.creations.perSecond)}/s (${count(r.creations.perServerCpuSecond)} per server CPU s)`
    ),
    ...r.ingest.map((row) =>
      lat(
        `ingest, 512 steps a batch (raw HTTP, ${row.inFlight} in flight)`,
        row.latency,
        `${count(row.stepsPerSecond)} steps/s (${count(row.stepsPerServerCpuSecond)} per server CPU s)`,
        "≥ 50,000 steps/s",
        met(row.stepsPerSecond >= 50_000)
      )
    ),
    ...waiting("as installed", r),
    ...waiting("the bundle, plain node", r.plainNode),
    ...waiting("sources through tsx", r.sources),
    memory(
      `agents' process, ${count(w.agents)} waiting (server as installed)`,
      `RSS ${mib(w.agentRssMiB)} MiB (before ${mib(w.agentIdleRssMiB)}); live heap ${mib(w.agentLiveHeapMiB)} MiB (before ${
        mib(w.agentIdleLiveHeapMiB)
      })`
    )
  ]
  return rows.map((cells) => `| ${cells.join(" | ")} |`).join("\n")
}
