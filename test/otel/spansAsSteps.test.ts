/**
 * Effect spans recorded as steps by `HoundsightTracer.layer({ spans })`, with
 * `@effect/opentelemetry`'s tracer (and an in-memory exporter) as the user's own tracer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Data, Effect, Exit, Fiber, Tracer } from "effect"
import { HoundsightTracer, Sniff } from "houndsight"
import { inTrail, shape, spanNamed, stepNamed, traced } from "./helpers.js"

class CrmDown extends Data.TaggedError("CrmDown")<{ readonly message: string }> {}

/** Chosen spans (`crm.*`) and sniffs, nested both ways, across `Effect.all` and a forked fiber. */
const agent = inTrail(Effect.gen(function*() {
  yield* Sniff.run(
    "plan",
    { layer: "plan" },
    Effect.all([
      Sniff.run("draft", { layer: "reason" }, Effect.sleep("5 millis")).pipe(
        Effect.withSpan("crm.query", { attributes: { query: "deals", limit: 10 } })
      ),
      Effect.log("writing").pipe(
        Effect.withSpan("crm.write", { attributes: { "houndsight.layer": "retrieve" } })
      )
    ], { concurrency: "unbounded" })
  )
  yield* Effect.withSpan(Effect.void, "unchosen")
  const fiber = yield* Effect.fork(
    Effect.withSpan("crm.forked")(Sniff.run("in_fork", { layer: "respond" }, Effect.void))
  )
  yield* Fiber.join(fiber)
}))

/** The same, and spans outside any trail. */
const program = Effect.gen(function*() {
  yield* Effect.withSpan(Effect.void, "crm.outside")
  yield* agent
})

describe("HoundsightTracer: spans become steps", () => {
  it("chosen spans are steps with their parents among sniffs, across fibers; unchosen and outside-trail spans are not", async () => {
    const { exit, steps } = await traced({ spans: { names: [/^crm\./] } }, program)
    expect(exit).toEqual(Exit.void)
    expect(steps.map((s) => s.name).sort()).toEqual(["crm.forked", "crm.query", "crm.write", "draft", "in_fork", "plan"])
    const plan = stepNamed(steps, "plan")
    const query = stepNamed(steps, "crm.query")
    const write = stepNamed(steps, "crm.write")
    const forked = stepNamed(steps, "crm.forked")
    expect(plan.parentId).toBeNull()
    // a span inside a sniff is the sniff's child, a sniff inside a span the span's child
    expect(query).toMatchObject({ parentId: plan.id, layer: "execute", status: "ok", input: { query: "deals", limit: 10 } })
    expect(stepNamed(steps, "draft").parentId).toBe(query.id)
    expect(write).toMatchObject({ parentId: plan.id, layer: "retrieve", status: "ok" })
    // the log inside the span is one of its events
    expect(write.events.map((e) => e.name)).toEqual(["writing"])
    expect(forked.parentId).toBeNull()
    expect(stepNamed(steps, "in_fork").parentId).toBe(forked.id)
    // steps keep the trail's seq order
    expect(query.seq).toBeGreaterThan(plan.seq)
    expect(stepNamed(steps, "draft").seq).toBeGreaterThan(query.seq)
  })

  it("chooses by attributes, and sets the default layer", async () => {
    const { steps } = await traced(
      { spans: { attributes: { "app.record": true } }, defaultLayer: "retrieve" },
      inTrail(Effect.all([
        Effect.withSpan(Effect.void, "picked", { attributes: { "app.record": true } }),
        Effect.withSpan(Effect.void, "annotated").pipe(Effect.annotateSpans("app.record", true)),
        Effect.withSpan(Effect.void, "other", { attributes: { "app.record": false } })
      ]))
    )
    expect(steps.map((s) => [s.name, s.layer]).sort()).toEqual([["annotated", "retrieve"], ["picked", "retrieve"]])
  })

  it("a failing span is an error step with the failure's type and message, and the failure passes unchanged", async () => {
    const { exit, steps } = await traced(
      { spans: "all" },
      inTrail(Effect.withSpan(Effect.fail(new CrmDown({ message: "crm is down" })), "crm.call"))
    )
    expect(exit).toEqual(Exit.fail(new CrmDown({ message: "crm is down" })))
    expect(stepNamed(steps, "crm.call")).toMatchObject({
      status: "error",
      error: { type: "CrmDown", message: "crm is down" }
    })
  })

  it("the user's exporter receives every span unchanged with the bridge on", async () => {
    const off = await traced(undefined, program)
    const on = await traced({ spans: "all" }, program)
    expect(off.steps.map((s) => s.name).sort()).toEqual(["draft", "in_fork", "plan"])
    expect(on.spans.length).toBe(off.spans.length)
    expect(shape(on.spans)).toEqual(shape(off.spans))
    expect(on.spans.map((s) => s.name).sort()).toEqual(
      ["crm.forked", "crm.outside", "crm.query", "crm.write", "unchosen"]
    )
    // the spans keep their own parents in the backend
    expect(shape(on.spans).find((s) => s.name === "crm.query")?.parent).toBeNull()
    expect(spanNamed(on.spans, "crm.query").attributes).toEqual({ query: "deals", limit: 10 })
  })
})

describe("HoundsightTracer.wrap: any tracer, set by Effect.withTracer", () => {
  it("a hand-made tracer keeps receiving every span, started and ended, while chosen spans become steps", async () => {
    const seen: Array<string> = []
    const base = Effect.runSync(Effect.tracer)
    const own = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        seen.push(`start ${name}`)
        const span = base.span(name, parent, context, links, startTime, kind, options)
        const end = span.end.bind(span)
        span.end = (endTime, exit) => {
          seen.push(`end ${name}`)
          end(endTime, exit)
        }
        return span
      },
      context: (f) => f()
    })
    const { steps } = await traced(
      undefined,
      program.pipe(HoundsightTracer.wrap({ spans: { names: ["crm.query", "crm.forked"] } }), Effect.withTracer(own))
    )
    expect(steps.map((s) => s.name).sort()).toEqual(["crm.forked", "crm.query", "draft", "in_fork", "plan"])
    for (const name of ["crm.outside", "crm.query", "crm.write", "unchosen", "crm.forked"]) {
      expect(seen).toContain(`start ${name}`)
      expect(seen).toContain(`end ${name}`)
    }
    expect(seen.length).toBe(10)
  })
})

describe("HoundsightTracer: options", () => {
  it("a bridge over a bridge records each chosen span once, with the newer options", async () => {
    const twice = program.pipe(
      HoundsightTracer.wrap({ spans: { names: ["crm.query"] } }),
      HoundsightTracer.wrap({ spans: { names: ["crm.query", "crm.write"] } })
    )
    const { spans, steps } = await traced({ spans: "all" }, twice)
    expect(steps.map((s) => s.name).sort()).toEqual(["crm.query", "draft", "in_fork", "plan"])
    expect(spans.length).toBe(5)
  })

  it("bad options are a defect naming what is wrong when the tracer is made", async () => {
    const bad = (options: unknown) =>
      Effect.runPromiseExit(Effect.void.pipe(HoundsightTracer.wrap(options as HoundsightTracer.Options))).then((exit) =>
        Exit.isFailure(exit) ? String(exit.cause) : "ok"
      )
    expect(await bad({ spans: "some" })).toContain(`spans must be "all" or { names, attributes }`)
    expect(await bad({ spans: { names: "crm" } })).toContain("spans.names must be an array of strings and regular expressions")
    expect(await bad({ spans: { attributes: 3 } })).toContain("spans.attributes must be an object")
    expect(await bad({ spans: "all", defaultLayer: "think" })).toContain(
      "defaultLayer must be one of plan, retrieve, reason, execute, review, respond, got \"think\""
    )
    expect(await bad({ spans: "all" })).toBe("ok")
  })
})
