/**
 * The forecast example: a trail triggered by a user message, one `salesforce_query` step in the
 * `execute` layer, and the trail's output.
 *
 * Run on the in-memory recorder (prints what was recorded):
 *   npx tsx examples/sales-pipeline.ts
 */
import { Effect } from "effect"
import { Memory, Sniff, Trail } from "houndsight"

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

const printRecorded = Effect.gen(function*() {
  const deals = yield* salesPipeline
  const store = yield* Memory.MemoryStore
  const [trail] = yield* store.trails
  yield* Effect.log(`forecast posted: ${deals} deals`)
  console.log(JSON.stringify({ trail, steps: yield* store.stepsOf(trail!.id) }, null, 2))
})

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(printRecorded.pipe(Effect.provide(Memory.layer({ agent: "sales-pipeline" }))))
}
