/**
 * Case `ingest`: ingest steps/s over raw HTTP, 512 steps a batch, 1 and 4 in flight (bench/gate.ts, case 5).
 *
 * @since 0.1.0
 */
import { performance } from "node:perf_hooks"
import type { Connected } from "./agents.js"
import { sizes, stepsPerBatch } from "./config.js"
import { ingestBodies, rawClient } from "./load.js"
import type { GateResults } from "./results.js"
import { count, latency } from "./stats.js"

/** Runs the case on the connected server. */
export const ingestCase = async (c: Connected): Promise<Pick<GateResults, "ingest">> => {
  const { server } = c
  const rows: Array<GateResults["ingest"][number]> = []
  for (const inFlight of [1, 4]) {
    const bodies = ingestBodies(sizes.ingestBatches)
    const raw = rawClient(server.url, server.agentKey, inFlight)
    const lat: Array<number> = []
    let next = 0
    let accepted = 0
    const cpu0 = server.cpuSeconds()
    const t0 = performance.now()
    const worker = async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!
        const s = performance.now()
        const answer = await raw.post("/v1/ingest", body)
        if (answer.status !== 202) throw new Error(`bench: POST /v1/ingest answered ${answer.status}: ${answer.text.slice(0, 500)}`)
        lat.push(performance.now() - s)
        accepted += (JSON.parse(answer.text) as { accepted: number }).accepted
      }
    }
    await Promise.all(Array.from({ length: inFlight }, worker))
    const seconds = (performance.now() - t0) / 1000
    const serverCpuSeconds = server.cpuSeconds() - cpu0
    raw.close()
    const steps = bodies.length * stepsPerBatch
    if (accepted !== steps) throw new Error(`bench: the server accepted ${accepted} of ${steps} steps`)
    rows.push({
      inFlight,
      batches: bodies.length,
      steps,
      seconds,
      serverCpuSeconds,
      stepsPerSecond: steps / seconds,
      stepsPerServerCpuSecond: steps / serverCpuSeconds,
      latency: latency(lat)
    })
    console.log(
      `  ingest, ${inFlight} in flight: ${count(steps / seconds)} steps/s (${steps} in ${seconds.toFixed(1)} s; ` +
        `${count(steps / serverCpuSeconds)} per server CPU second)`
    )
  }
  return { ingest: rows }

}
