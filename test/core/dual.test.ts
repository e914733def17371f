/**
 * The combinators that take an effect (`Trail.run`, `Sniff.run`) and `Decision.match` come in a
 * data-first and a pipeable form (`Function.dual`); both forms record and answer the same.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Decision, Sniff, Trail } from "houndsight"
import { recording } from "./helpers.js"

const forecast = { trigger: "user_message", payload: { text: "Q2" } }

/** What a run recorded, without the ids and times that differ from run to run. */
const shape = (recorded: { trails: ReadonlyArray<any>; steps: ReadonlyArray<any> }) => ({
  trails: recorded.trails.map((t) => ({ trigger: t.trigger, status: t.status, payload: t.payload, output: t.output })),
  steps: recorded.steps.map((s) => ({ name: s.name, layer: s.layer, status: s.status, input: s.input, seq: s.seq }))
})

describe("data-first and pipeable forms", () => {
  it.effect("Trail.run and Sniff.run record the same trail and step in either form", () =>
    Effect.gen(function*() {
      const body = Effect.succeed(17).pipe(Effect.tap(() => Trail.setOutput("done")))
      const first = yield* recording(
        Trail.run(forecast, Sniff.run("salesforce_query", { layer: "retrieve", input: { q: 1 } }, body))
      )
      const piped = yield* recording(
        body.pipe(Sniff.run("salesforce_query", { layer: "retrieve", input: { q: 1 } }), Trail.run(forecast))
      )
      expect(first.result).toStrictEqual(Exit.succeed(17))
      expect(piped.result).toStrictEqual(Exit.succeed(17))
      expect(shape(piped)).toStrictEqual(shape(first))
      expect(shape(first).steps).toStrictEqual([
        { name: "salesforce_query", layer: "retrieve", status: "ok", input: { q: 1 }, seq: 1 }
      ])
      expect(first.trailRecords.map((t) => t.status)).toStrictEqual(["running", "ok"])
    }))

  it("Decision.match answers the same data-first and piped", () => {
    const base = { reason: "too much", leashId: "l", traceLink: "t", actionName: "a" }
    const cases: Decision.Cases<number, string> = {
      approved: () => "approved",
      modified: (d) => `modified ${d.modifiedPayload}`,
      rejected: (d) => `rejected: ${d.reason}`,
      blocked: () => "blocked",
      timeout: () => "timeout",
      error: () => "error",
      async: () => "async"
    }
    const all: ReadonlyArray<Decision.Decision<number>> = [
      Decision.approved(base),
      Decision.modified({ ...base, modifiedPayload: 2 }),
      Decision.rejected(base)
    ]
    expect(all.map((d) => Decision.match(d, cases))).toStrictEqual(["approved", "modified 2", "rejected: too much"])
    expect(all.map(Decision.match(cases))).toStrictEqual(all.map((d) => Decision.match(d, cases)))
  })
})
