/**
 * Trails and steps sent to the user's tracer as spans by `HoundsightTracer.layer({ steps: true })`,
 * seen in an in-memory exporter behind `@effect/opentelemetry`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { Leash, Sniff, Trail } from "houndsight"
import { inTrail, spanNamed, stepNamed, traced } from "./helpers.js"

const agent = inTrail(Effect.gen(function*() {
  yield* Sniff.run(
    "draft",
    { layer: "reason", input: { goal: "forecast" } },
    Effect.gen(function*() {
      yield* Sniff.cost(0.25)
      yield* Sniff.tokens({ input: 1200, output: 300 })
      yield* Sniff.event("retry", { attempt: 2 })
      yield* Effect.withSpan(Effect.void, "user.lookup")
    })
  )
  const decision = yield* Leash.request({
    actionName: "stripe.charge",
    actionSummary: "Charge $42",
    riskSignals: {},
    payload: { amount: 42 }
  })
  yield* Sniff.run("stripe.charge", { layer: "execute" }, Effect.void)
  yield* Trail.setOutput("charged")
  return decision.decision
}))

describe("HoundsightTracer: steps become spans", () => {
  it("every trail and step reaches the user's tracer with ids, cost, tokens and the review decision", async () => {
    const { exit, steps, trails, spans } = await traced({ steps: true }, agent)
    expect(exit).toEqual(Exit.succeed("approved"))
    const trailId = trails[0]!.id
    const trailSpan = spanNamed(spans, "test")
    expect(trailSpan.parentSpanContext).toBeUndefined()
    expect(trailSpan.attributes).toMatchObject({
      "houndsight.trail_id": trailId,
      "houndsight.trigger": "test",
      "houndsight.payload": JSON.stringify({ q: 1 }),
      "houndsight.output": JSON.stringify("charged"),
      "houndsight.trail.cost_usd": 0.25
    })
    const draft = stepNamed(steps, "draft")
    const draftSpan = spanNamed(spans, "draft")
    expect(draftSpan.attributes).toEqual({
      "houndsight.trail_id": trailId,
      "houndsight.step_id": draft.id,
      "houndsight.layer": "reason",
      "houndsight.input": JSON.stringify({ goal: "forecast" }),
      "houndsight.cost_usd": 0.25,
      "gen_ai.usage.input_tokens": 1200,
      "gen_ai.usage.output_tokens": 300
    })
    expect(draftSpan.events.map((e) => [e.name, e.attributes])).toEqual([["retry", { attempt: 2 }]])
    // a step's span is the child of the trail's, and the user's own span inside it its child
    expect(draftSpan.parentSpanContext?.spanId).toBe(trailSpan.spanContext().spanId)
    expect(draftSpan.spanContext().traceId).toBe(trailSpan.spanContext().traceId)
    expect(spanNamed(spans, "user.lookup").parentSpanContext?.spanId).toBe(draftSpan.spanContext().spanId)
    const review = steps.find((s) => s.layer === "review")!
    const reviewSpan = spans.find((s) => s.attributes["houndsight.step_id"] === review.id)!
    expect(reviewSpan.attributes).toMatchObject({
      "houndsight.layer": "review",
      "houndsight.leash.id": review.leash!.leashId,
      "houndsight.leash.decision": "approved",
      "houndsight.leash.action_name": "stripe.charge"
    })
    // one span per record, the trail's and each step's, beside the user's own
    expect(spans.filter((s) => s.attributes["houndsight.trail_id"] === trailId).length).toBe(steps.length + 1)
    expect(spans.length).toBe(steps.length + 2)
  })

  it("a failed step is a span with status ERROR and the error's message", async () => {
    const { spans } = await traced(
      { steps: true },
      inTrail(Sniff.run("boom", { layer: "execute" }, Effect.fail(new Error("no stock"))))
    )
    expect(spanNamed(spans, "boom").status).toMatchObject({ code: 2, message: "no stock" })
    expect(spanNamed(spans, "test").status.code).toBe(2)
  })

  it("both ways at once, across a forked fiber: one span per step, nested as the steps are", async () => {
    const { spans, steps } = await traced(
      { spans: { names: ["crm.query"] }, steps: true },
      inTrail(Sniff.run(
        "outer",
        { layer: "plan" },
        Effect.fork(Sniff.run("inner", { layer: "execute" }, Effect.void)).pipe(
          Effect.flatMap(Fiber.join),
          Effect.withSpan("crm.query")
        )
      ))
    )
    const outer = stepNamed(steps, "outer")
    const query = stepNamed(steps, "crm.query")
    expect(query.parentId).toBe(outer.id)
    expect(stepNamed(steps, "inner").parentId).toBe(query.id)
    expect(spans.map((s) => s.name).sort()).toEqual(["crm.query", "inner", "outer", "test"])
    const id = (name: string) => spanNamed(spans, name).spanContext().spanId
    expect(spanNamed(spans, "crm.query").parentSpanContext?.spanId).toBe(id("outer"))
    expect(spanNamed(spans, "inner").parentSpanContext?.spanId).toBe(id("crm.query"))
  })

  it("with steps off, no step reaches the tracer", async () => {
    const { spans, steps } = await traced({ spans: { names: ["nothing"] } }, agent)
    expect(steps.length).toBeGreaterThan(2)
    expect(spans.map((s) => s.name)).toEqual(["user.lookup"])
  })
})
