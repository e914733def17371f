/**
 * Case `floor`: a floor-rule leash against a bare round trip, interleaved (bench/gate.ts, case 3),
 * and the server's CPU per floor-rule creation: its CPU over the interleaved loop less its CPU over
 * as many bare round trips alone, over the leashes made. Then the bare round trips once more with
 * the server idle between them as long as a leash took: what a request that wakes a sleeping
 * server costs it, beside the same request back to back.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { performance } from "node:perf_hooks"
import { Leash, Trail } from "../../src/index.js"
import { charge, type Connected } from "./agents.js"
import { sizes } from "./config.js"
import type { GateResults } from "./results.js"
import { latency, ms } from "./stats.js"

/** Runs the case on the connected server. */
export const floorCase = async (c: Connected): Promise<Pick<GateResults, "floorRule">> => {
  const { agents, healthz, server } = c
  const leash: Array<number> = []
  const bare: Array<number> = []
  const blocked = Trail.run(
    { trigger: "bench", payload: {} },
    Effect.gen(function*() {
      for (let i = 0; i < sizes.floor; i++) {
        const timeLeash = Effect.gen(function*() {
          const t0 = performance.now()
          const d = yield* Leash.request(charge(25_000))
          leash.push(performance.now() - t0)
          if (d.decision !== "blocked") return yield* Effect.dieMessage(`bench: a floor-rule leash got ${d.decision}: ${d.reason}`)
        })
        const timeBare = Effect.gen(function*() {
          const t0 = performance.now()
          yield* healthz
          bare.push(performance.now() - t0)
        })
        if (i % 2 === 0) {
          yield* timeLeash
          yield* timeBare
        } else {
          yield* timeBare
          yield* timeLeash
        }
      }
    })
  )
  const cpuBoth0 = server.cpuSeconds()
  await agents.runPromise(blocked)
  const cpuBoth = server.cpuSeconds() - cpuBoth0
  const cpuBare0 = server.cpuSeconds()
  await agents.runPromise(Effect.gen(function*() {
    for (let i = 0; i < sizes.floor; i++) yield* healthz
  }))
  const cpuBare = server.cpuSeconds() - cpuBare0
  const serverCpuMsPerLeash = Math.max(0, cpuBoth - cpuBare) * 1000 / sizes.floor
  const l = latency(leash)
  const b = latency(bare)
  // The same bare round trips with the server idle between them for as long as a leash took in
  // the interleaved loop: a request that wakes a sleeping server costs it more CPU than one that
  // follows another (BENCHMARKS.md, "Full runs of 2026-12-04"), and the interleaved loop's bare
  // round trips are such requests, while the ones subtracted above follow one another.
  const pauseMillis = Math.max(1, Math.round(l.p50))
  const pause = Effect.sleep(pauseMillis)
  const cpuPaced0 = server.cpuSeconds()
  await agents.runPromise(Effect.gen(function*() {
    for (let i = 0; i < sizes.floor; i++) yield* Effect.zipRight(healthz, pause)
  }))
  const cpuPaced = server.cpuSeconds() - cpuPaced0
  const paired = latency(leash.map((x, i) => x / bare[i]!))
  const floorRule: GateResults["floorRule"] = {
    leash: l,
    bare: b,
    ratioP50: l.p50 / b.p50,
    ratioP99: l.p99 / b.p99,
    pairedRatioMedian: paired.p50,
    serverCpuMsPerLeash,
    serverCpuMsPerBare: cpuBare * 1000 / sizes.floor,
    serverCpuMsPerPacedBare: cpuPaced * 1000 / sizes.floor
  }
  console.log(
    `  floor-rule leash p50 ${ms(l.p50)} ms / bare p50 ${ms(b.p50)} ms = ${(l.p50 / b.p50).toFixed(2)}×; ` +
      `p99 ${ms(l.p99)} / ${ms(b.p99)} = ${(l.p99 / b.p99).toFixed(2)}×; ` +
      `server CPU ${serverCpuMsPerLeash.toFixed(2)} ms a floor-rule leash (${ms(cpuBoth * 1000)} ms with the bare round ` +
      `trips, ${ms(cpuBare * 1000)} ms for as many bare round trips alone); a bare round trip ` +
      `${floorRule.serverCpuMsPerBare.toFixed(2)} ms of server CPU back to back, ` +
      `${floorRule.serverCpuMsPerPacedBare.toFixed(2)} ms with the server idle ${pauseMillis} ms between them`
  )

  return { floorRule }
}
