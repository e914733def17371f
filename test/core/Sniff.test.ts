import { describe, expect, it } from "@effect/vitest"
import { Data, Deferred, Effect, Exit, Fiber, Logger, Ref, TestClock } from "effect"
import { Sniff, Trail } from "houndsight"
import { recording, stepNamed } from "./helpers.js"

class QueryFailed extends Data.TaggedError("QueryFailed")<{ readonly message: string }> {}

const inTrail = <A, E, R>(self: Effect.Effect<A, E, R>) => Trail.run({ trigger: "test", payload: {} }, self)

/** Collects warning messages logged while `self` runs. */
const withWarnings = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const warnings = yield* Ref.make<ReadonlyArray<string>>([])
    const logger = Logger.make(({ message }) => {
      Effect.runSync(Ref.update(warnings, (w) => [...w, String(Array.isArray(message) ? message[0] : message)]))
    })
    const result = yield* self.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return { result, warnings: yield* Ref.get(warnings) }
  })

describe("Sniff.run", () => {
  it.effect("records name, layer, input, output, cost, tokens and events", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(
        inTrail(
          Sniff.run(
            "salesforce_query",
            { layer: "execute", input: { quarter: "Q2" } },
            Effect.gen(function*() {
              yield* Sniff.cost(0.0001)
              yield* Sniff.tokens({ input: 12, output: 3 })
              yield* Sniff.event("page_fetched", { page: 1 })
              yield* Sniff.output({ deal_count: 17 })
            })
          )
        )
      )
      expect(steps).toHaveLength(1)
      expect(steps[0]).toMatchObject({
        name: "salesforce_query",
        layer: "execute",
        status: "ok",
        parentId: null,
        seq: 1,
        input: { quarter: "Q2" },
        output: { deal_count: 17 },
        costUsd: 0.0001,
        tokens: { input: 12, output: 3 }
      })
      expect(steps[0]!.events.map((e) => [e.name, e.attributes])).toStrictEqual([["page_fetched", { page: 1 }]])
    }))

  it.effect("is pipeable and returns the effect's value", () =>
    Effect.gen(function*() {
      const { result } = yield* recording(inTrail(Effect.succeed(7).pipe(Sniff.run("s", { layer: "plan" }))))
      expect(result).toStrictEqual(Exit.succeed(7))
    }))

  it.effect("records a failure with its type and message and passes the same error on", () =>
    Effect.gen(function*() {
      const error = new QueryFailed({ message: "salesforce is down" })
      const { result, steps } = yield* recording(
        inTrail(Sniff.run("q", { layer: "execute" }, Effect.fail(error)).pipe(Effect.flip))
      )
      expect(Exit.isSuccess(result) && result.value).toBe(error)
      expect(steps[0]).toMatchObject({ status: "error", error: { type: "QueryFailed", message: "salesforce is down" } })
    }))

  it.effect("records a defect as an error step", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(inTrail(Sniff.run("q", { layer: "execute" }, Effect.die(new RangeError("bad")))))
      expect(steps[0]).toMatchObject({ status: "error", error: { type: "RangeError", message: "bad" } })
    }))

  it.effect("records an interrupted step as interrupted", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(
        inTrail(
          Effect.gen(function*() {
            const started = yield* Deferred.make<void>()
            const fiber = yield* Effect.fork(
              Sniff.run("slow", { layer: "execute" }, Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never)))
            )
            yield* Deferred.await(started)
            yield* Fiber.interrupt(fiber)
          })
        )
      )
      expect(steps[0]).toMatchObject({ name: "slow", status: "interrupted" })
      expect(steps[0]!.error).toBeUndefined()
    }))

  it.effect("nests: the parent is the sniff that was open when the child started", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(
        inTrail(
          Sniff.run(
            "a",
            { layer: "plan" },
            Effect.all([
              Sniff.run("b", { layer: "reason" }, Sniff.run("c", { layer: "execute" }, Effect.void)),
              Sniff.run("d", { layer: "reason" }, Effect.void)
            ])
          ).pipe(Effect.zipRight(Sniff.run("e", { layer: "respond" }, Effect.void)))
        )
      )
      const [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map((n) => stepNamed(steps, n))
      expect(a!.parentId).toBeNull()
      expect(b!.parentId).toBe(a!.id)
      expect(c!.parentId).toBe(b!.id)
      expect(d!.parentId).toBe(a!.id)
      expect(e!.parentId).toBeNull()
      expect([a, b, c, d, e].map((s) => s!.seq)).toStrictEqual([1, 2, 3, 4, 5])
    }))

  it.live("finds the parent across Effect.all and Effect.forEach with concurrency", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(
        inTrail(
          Sniff.run(
            "fan_out",
            { layer: "plan" },
            Effect.all([
              Effect.forEach(
                [1, 2, 3, 4],
                (i) =>
                  Sniff.run(
                    `item_${i}`,
                    { layer: "execute" },
                    Effect.sleep(`${5 - i} millis`).pipe(Effect.zipRight(Sniff.run(`leaf_${i}`, { layer: "execute" }, Effect.yieldNow())))
                  ),
                { concurrency: 4 }
              ),
              Sniff.run("side", { layer: "reason" }, Effect.yieldNow())
            ], { concurrency: "unbounded" })
          )
        )
      )
      const root = stepNamed(steps, "fan_out")
      for (const i of [1, 2, 3, 4]) {
        const item = stepNamed(steps, `item_${i}`)
        expect(item.parentId).toBe(root.id)
        expect(stepNamed(steps, `leaf_${i}`).parentId).toBe(item.id)
      }
      expect(stepNamed(steps, "side").parentId).toBe(root.id)
    }), { timeout: 10_000 })

  it.effect("finds the parent in a forked fiber, even after the parent moved on", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(
        inTrail(
          Effect.gen(function*() {
            const gate = yield* Deferred.make<void>()
            const child = yield* Sniff.run(
              "parent",
              { layer: "plan" },
              Effect.fork(Deferred.await(gate).pipe(Effect.zipRight(Sniff.run("child", { layer: "execute" }, Effect.void))))
            )
            yield* Sniff.run("sibling", { layer: "plan" }, Deferred.succeed(gate, undefined).pipe(Effect.zipRight(Fiber.join(child))))
          })
        )
      )
      expect(stepNamed(steps, "child").parentId).toBe(stepNamed(steps, "parent").id)
      expect(stepNamed(steps, "sibling").parentId).toBeNull()
    }))

  it.live("numbers steps by start order within a trail, not by end order", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(
        inTrail(
          Effect.all([
            Sniff.run("slow", { layer: "execute" }, Effect.sleep("20 millis")),
            Sniff.run("fast", { layer: "execute" }, Effect.void)
          ], { concurrency: 2 })
        )
      )
      expect(stepNamed(steps, "slow").seq).toBe(1)
      expect(stepNamed(steps, "fast").seq).toBe(2)
    }))

  it.effect("numbers each trail's steps on its own", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(
        Effect.all([
          inTrail(Sniff.run("a", { layer: "plan" }, Effect.void)),
          inTrail(Sniff.run("b", { layer: "plan" }, Effect.void))
        ], { concurrency: 2 })
      )
      expect(steps.map((s) => s.seq)).toStrictEqual([1, 1])
      expect(new Set(steps.map((s) => s.trailId)).size).toBe(2)
    }))

  it.effect("ids are UUID v7 carrying the start time in milliseconds, so a trail's ids sort by when they started", () =>
    Effect.gen(function*() {
      const start = Date.UTC(2026, 10, 24, 9, 0, 0)
      yield* TestClock.setTime(start)
      const { steps, trails } = yield* recording(
        inTrail(Effect.gen(function*() {
          yield* TestClock.adjust("3 millis")
          yield* Sniff.run("first", { layer: "plan" }, Effect.void)
          yield* TestClock.adjust("5 millis")
          yield* Sniff.run("second", { layer: "plan" }, Sniff.run("third", { layer: "execute" }, Effect.void))
        }))
      )
      const uuid7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
      const millisOf = (id: string) => Number.parseInt(id.replace("-", "").slice(0, 12), 16)
      const trail = trails[0]!
      expect(trail.id).toMatch(uuid7)
      expect(millisOf(trail.id)).toBe(start)
      expect(steps.map((s) => s.name)).toStrictEqual(["first", "second", "third"])
      for (const step of steps) {
        expect(step.id).toMatch(uuid7)
        expect(millisOf(step.id)).toBe(step.startedAt.getTime())
      }
      expect(steps.map((s) => millisOf(s.id))).toStrictEqual([start + 3, start + 8, start + 8])
      // same millisecond, still distinct: 74 random bits each
      expect(steps[1]!.id).not.toBe(steps[2]!.id)
    }))

  it.effect("truncates a step record over 256 KiB with a visible marker, and keeps the smaller field", () =>
    Effect.gen(function*() {
      const big = Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(30_000, "x"))
      const { steps } = yield* recording(
        inTrail(Sniff.run("huge", { layer: "retrieve", input: { query: "q" } }, Sniff.output(big)))
      )
      expect(steps[0]!.input).toStrictEqual({ query: "q" })
      expect(steps[0]!.output).toMatch(/^\[truncated: output was about \d+ bytes; a record is limited to 262144 bytes\]$/)
    }))

  it.effect("accumulates repeated cost and token calls", () =>
    Effect.gen(function*() {
      const { steps } = yield* recording(
        inTrail(
          Sniff.run("llm", { layer: "reason" }, Effect.all([Sniff.cost(0.5), Sniff.cost(0.25), Sniff.tokens({ input: 1, output: 1 }), Sniff.tokens({ input: 2, output: 3 })]))
        )
      )
      expect(steps[0]!.costUsd).toBe(0.75)
      expect(steps[0]!.tokens).toStrictEqual({ input: 3, output: 4 })
    }))

  it.effect("ignores a negative cost or bad tokens with a warning that says what was wrong", () =>
    Effect.gen(function*() {
      const { result } = yield* withWarnings(recording(
        inTrail(Sniff.run("llm", { layer: "reason" }, Effect.all([Sniff.cost(-1), Sniff.tokens({ input: 1.5, output: 0 })])))
      ))
      expect(result.steps[0]!.costUsd).toBeUndefined()
      expect(result.steps[0]!.tokens).toBeUndefined()
    }))

  it.effect("warns when a step helper is used outside a sniff, and records nothing", () =>
    Effect.gen(function*() {
      const { result, warnings } = yield* withWarnings(recording(inTrail(Sniff.cost(1))))
      expect(warnings.some((w) => w.includes("Sniff.cost was called outside Sniff.run"))).toBe(true)
      expect(result.trails[0]!.costUsd).toBeUndefined()
    }))

  it.effect("corrects a bad layer, records the step, and warns", () =>
    Effect.gen(function*() {
      const { result, warnings } = yield* withWarnings(
        recording(inTrail(Sniff.run("s", { layer: "thinking" as never }, Effect.void)))
      )
      expect(result.steps[0]!.layer).toBe("execute")
      expect(warnings.some((w) => w.includes("layer must be one of plan, retrieve, reason, execute, review, respond"))).toBe(true)
    }))

  it.effect("dies with a message that says what to do when run outside a trail (only reachable by escaping the types)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Sniff.run("s", { layer: "plan" }, Effect.void) as Effect.Effect<void>)
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("Wrap the agent in Trail.run")
    }))
})
