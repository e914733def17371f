/**
 * Case `create`: leash creations/s over raw HTTP, pending leashes (bench/gate.ts, case 4).
 *
 * @since 0.1.0
 */
import * as Crypto from "node:crypto"
import { performance } from "node:perf_hooks"
import type { Connected } from "./agents.js"
import { createConcurrency, sizes } from "./config.js"
import { rawClient } from "./load.js"
import type { GateResults } from "./results.js"
import { count, latency } from "./stats.js"

/** The body of a new pending leash (a fresh id each call), as the case creates them. */
export const leashBody = (timeoutSeconds = 600): string =>
  JSON.stringify({
    leash_id: Crypto.randomUUID(),
    trail_id: Crypto.randomUUID(),
    step_id: Crypto.randomUUID(),
    agent: "bench-agent",
    action_name: "stripe.charge",
    action_summary: "Charge cus_42 $120.00",
    risk_signals: { amount_usd: 120, merchant_country: "FR" },
    payload: { customer: "cus_42", amountUsd: 120 },
    timeout_seconds: timeoutSeconds,
    blocking: true
  })

/** Runs the case on the connected server. */
export const createCase = async (c: Connected): Promise<Pick<GateResults, "creations">> => {
  const { server } = c
  const raw = rawClient(server.url, server.agentKey, createConcurrency)
  const lat: Array<number> = []
  let created = 0
  const cpu0 = server.cpuSeconds()
  const t0 = performance.now()
  const deadline = t0 + sizes.createSeconds * 1000
  const worker = async () => {
    while (performance.now() < deadline) {
      const body = leashBody()
      const s = performance.now()
      const answer = await raw.post("/v1/leashes", body)
      if (answer.status !== 200) throw new Error(`bench: POST /v1/leashes answered ${answer.status}: ${answer.text}`)
      lat.push(performance.now() - s)
      created++
    }
  }
  await Promise.all(Array.from({ length: createConcurrency }, worker))
  const seconds = (performance.now() - t0) / 1000
  const serverCpuSeconds = server.cpuSeconds() - cpu0
  raw.close()
  const creations: GateResults["creations"] = {
    perSecond: created / seconds,
    perServerCpuSecond: created / serverCpuSeconds,
    created,
    seconds,
    serverCpuSeconds,
    concurrency: createConcurrency,
    latency: latency(lat)
  }
  console.log(
    `  leash creations: ${count(created / seconds)}/s (${created} in ${seconds.toFixed(1)} s; ` +
      `${count(created / serverCpuSeconds)} per server CPU second)`
  )

  return { creations }
}
