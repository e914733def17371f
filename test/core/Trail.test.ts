import { describe, expect, it } from "@effect/vitest"
import { Cause, Data, Duration, Effect, Exit, Fiber, TestClock } from "effect"
import { Sniff, Trail } from "houndsight"
import { recording } from "./helpers.js"

class PaymentFailed extends Data.TaggedError("PaymentFailed")<{ readonly message: string }> {}

const forecast = { trigger: "user_message", payload: { text: "Q2 forecast" } } as const

describe("Trail.run", () => {
  it.effect("records the trail when it opens and again when it ends, with its output", () =>
    Effect.gen(function*() {
      const { result, trailRecords } = yield* recording(
        Trail.run(forecast, Trail.setOutput("Posted forecast").pipe(Effect.as(42)))
      )
      expect(result).toStrictEqual(Exit.succeed(42))
      expect(trailRecords.map((r) => r.status)).toStrictEqual(["running", "ok"])
      const [running, ended] = trailRecords
      expect(running!.id).toBe(ended!.id)
      expect(running!.endedAt).toBeUndefined()
      expect(ended).toMatchObject({
        agent: "test-agent",
        trigger: "user_message",
        payload: { text: "Q2 forecast" },
        output: "Posted forecast"
      })
      expect(ended!.endedAt).toBeInstanceOf(Date)
    }))

  it.effect("is pipeable", () =>
    Effect.gen(function*() {
      const { result, trails } = yield* recording(Effect.succeed("x").pipe(Trail.run(forecast)))
      expect(result).toStrictEqual(Exit.succeed("x"))
      expect(trails).toHaveLength(1)
      expect(trails[0]!.status).toBe("ok")
    }))

  it.effect("lets a failure reach the caller unchanged and records the trail as error", () =>
    Effect.gen(function*() {
      const error = new PaymentFailed({ message: "card declined" })
      const { result, trails } = yield* recording(Trail.run(forecast, Effect.fail(error)))
      expect(result).toStrictEqual(Exit.fail(error))
      expect(Exit.isFailure(result) && Cause.failureOption(result.cause)._tag === "Some").toBe(true)
      if (Exit.isFailure(result)) expect(Cause.failureOption(result.cause).pipe((o) => o._tag === "Some" && o.value)).toBe(error)
      expect(trails[0]!.status).toBe("error")
    }))

  it.effect("records an interrupted trail as interrupted", () =>
    Effect.gen(function*() {
      const { trails } = yield* recording(
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Trail.run(forecast, Effect.never))
          yield* Effect.yieldNow()
          yield* Fiber.interrupt(fiber)
        })
      )
      expect(trails.map((t) => t.status)).toStrictEqual(["interrupted"])
    }))

  it.effect("gives the trail's id and dashboard link to code inside it", () =>
    Effect.gen(function*() {
      const { result, trails } = yield* recording(
        Trail.run(forecast, Effect.all([Trail.id, Trail.link])),
        { endpoint: "https://houndsight.example/" }
      )
      const [id, link] = Exit.isSuccess(result) ? result.value : ["", ""]
      expect(id).toBe(trails[0]!.id)
      expect(link).toBe(`https://houndsight.example/trails/${id}`)
    }))

  it.effect("sums its steps' cost and tokens into the trail's totals, nested steps included", () =>
    Effect.gen(function*() {
      const { trails } = yield* recording(
        Trail.run(
          forecast,
          Effect.gen(function*() {
            yield* Sniff.run(
              "outer",
              { layer: "reason" },
              Effect.gen(function*() {
                yield* Sniff.cost(0.25)
                yield* Sniff.tokens({ input: 100, output: 10 })
                yield* Sniff.run(
                  "inner",
                  { layer: "reason" },
                  Effect.all([Sniff.cost(0.5), Sniff.tokens({ input: 1, output: 2 })])
                )
              })
            )
            yield* Sniff.run("free", { layer: "plan" }, Effect.void)
          })
        )
      )
      expect(trails[0]!.costUsd).toBe(0.75)
      expect(trails[0]!.tokens).toStrictEqual({ input: 101, output: 12 })
    }))

  it.effect("leaves totals out when no step reported any", () =>
    Effect.gen(function*() {
      const { trails } = yield* recording(Trail.run(forecast, Sniff.run("s", { layer: "plan" }, Effect.void)))
      expect(trails[0]!.costUsd).toBeUndefined()
      expect(trails[0]!.tokens).toBeUndefined()
    }))

  it.effect("stamps times with Effect's Clock", () =>
    Effect.gen(function*() {
      const { trails, steps } = yield* recording(
        Trail.run(
          forecast,
          Sniff.run(
            "wait",
            { layer: "plan" },
            Effect.gen(function*() {
              const fiber = yield* Effect.fork(Effect.sleep(Duration.seconds(90)))
              yield* TestClock.adjust(Duration.seconds(90))
              yield* Fiber.join(fiber)
            })
          )
        )
      )
      expect(trails[0]!.startedAt.toISOString()).toBe("1970-01-01T00:00:00.000Z")
      expect(trails[0]!.endedAt!.toISOString()).toBe("1970-01-01T00:01:30.000Z")
      expect(steps[0]!.endedAt.getTime() - steps[0]!.startedAt.getTime()).toBe(90_000)
    }))

  it.effect("keeps tags and makes the payload JSON-safe", () =>
    Effect.gen(function*() {
      const { trails } = yield* recording(
        Trail.run({ trigger: "cron", payload: { n: 10n, at: new Date(0) }, tags: { env: "prod" } }, Effect.void)
      )
      expect(trails[0]!.tags).toStrictEqual({ env: "prod" })
      expect(trails[0]!.payload).toStrictEqual({ n: "10", at: "1970-01-01T00:00:00.000Z" })
    }))

  it.effect("sends a null payload when the trail was started without one, as the wire requires", () =>
    Effect.gen(function*() {
      const { trails } = yield* recording(Trail.run({ trigger: "cron", payload: undefined }, Effect.void))
      expect(trails[0]!.payload).toBeNull()
      expect(Object.hasOwn(trails[0]!, "payload")).toBe(true)
    }))

  it.effect("refuses an empty trigger with a message that says what to do", () =>
    Effect.gen(function*() {
      const { result, trailRecords } = yield* recording(Trail.run({ trigger: "", payload: {} }, Effect.void))
      expect(Exit.isFailure(result)).toBe(true)
      if (Exit.isFailure(result)) expect(Cause.pretty(result.cause)).toContain("trigger must be a non-empty string")
      expect(trailRecords).toHaveLength(0)
    }))

  it.effect("records nothing when tracing is disabled, and still runs the agent", () =>
    Effect.gen(function*() {
      const { result, trailRecords, steps } = yield* recording(
        Trail.run(forecast, Sniff.run("s", { layer: "plan" }, Effect.succeed(1))),
        { enabled: false }
      )
      expect(result).toStrictEqual(Exit.succeed(1))
      expect(trailRecords).toHaveLength(0)
      expect(steps).toHaveLength(0)
    }))

  it.effect("applies redact to every record before it is stored", () =>
    Effect.gen(function*() {
      const { trails, steps } = yield* recording(
        Trail.run(
          { trigger: "t", payload: { card: "4242" } },
          Sniff.run("s", { layer: "execute", input: { card: "4242" } }, Effect.void)
        ),
        {
          redact: {
            trail: (r) => ({ ...r, payload: "<card>" }),
            step: (r) => ({ ...r, input: "<card>" })
          }
        }
      )
      expect(trails[0]!.payload).toBe("<card>")
      expect(steps[0]!.input).toBe("<card>")
    }))
})
