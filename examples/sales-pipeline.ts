/**
 * The forecast example: a trail triggered by a user message, one `salesforce_query` step in the
 * `execute` layer, and the trail's output.
 *
 * With `HOUNDSIGHT_API_KEY` set, the records go to a Houndsight server through the live layer
 * (`Houndsight.layerConfig` reads HOUNDSIGHT_API_KEY, HOUNDSIGHT_AGENT, HOUNDSIGHT_ENDPOINT and
 * HOUNDSIGHT_ENABLED). The program runs under `NodeRuntime.runMain`, so the layer's Scope closes
 * when it ends, or on Ctrl-C / SIGTERM, and closing it flushes the exporter:
 *
 *   HOUNDSIGHT_ENDPOINT=http://127.0.0.1:7411 HOUNDSIGHT_API_KEY=sk-hnd-... \
 *     HOUNDSIGHT_AGENT=sales-pipeline npx tsx examples/sales-pipeline.ts
 *
 * Without a key it records in memory and prints what was recorded (`npm run demo`):
 *
 *   npx tsx examples/sales-pipeline.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { Exporter, Houndsight, Memory, Sniff, Trail } from "houndsight"

/** The agent: one trail with one step. */
export const salesPipeline = Effect.gen(function*() {
  const deals = yield* Effect.gen(function*() {
    yield* Sniff.cost(0.0001)
    const result = { deal_count: 17 }
    yield* Sniff.output(result)
    return result.deal_count
  }).pipe(Sniff.run("salesforce_query", { layer: "execute", input: { quarter: "Q2" } }))
  yield* Trail.setOutput("Posted forecast")
  return deals
}).pipe(Trail.run({ trigger: "user_message", payload: { text: "Q2 forecast" } }))

/** In memory: run the agent, then print the trail and its steps. */
const printRecorded = Effect.gen(function*() {
  const deals = yield* salesPipeline
  const store = yield* Memory.MemoryStore
  const [trail] = yield* store.trails
  yield* Effect.log(`forecast posted: ${deals} deals`)
  console.log(JSON.stringify({ trail, steps: yield* store.stepsOf(trail!.id) }, null, 2))
}).pipe(Effect.provide(Memory.layer({ agent: "sales-pipeline" })))

/** Live: run the agent with the records going to the server; the Scope's close flushes them. */
const sendToServer = Effect.gen(function*() {
  const deals = yield* salesPipeline
  const { offered } = yield* Exporter.stats
  yield* Effect.log(`forecast posted: ${deals} deals; ${offered} records handed to the exporter`)
}).pipe(Effect.provide(Houndsight.layerConfig({ agent: "sales-pipeline" })))

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(process.env["HOUNDSIGHT_API_KEY"] ? sendToServer : printRecorded)
}
