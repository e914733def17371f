/**
 * The benchmark cases. Each operation is built anew inside an Effect program (as user code
 * builds it) and run by the same loop, so every case pays the same loop and event-loop yields;
 * the `loop` case measures exactly that and is subtracted to give net costs. Cases that record
 * run against the runtime's Recorder (the batching one of ./recorder.ts) unless they say so.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Schema from "effect/Schema"
import { Bark, collar, HoundsightTracer, Recorder, Sniff, Trail } from "../src/index.js"
import { runStepContext, runStepLocally } from "./altSniff.js"
import { type BenchCase, loop, yieldToEventLoop } from "./harness.js"
import type { OtelPeer } from "./otel.js"
import { discarding } from "./recorder.js"

/**
 * What the cases run against.
 *
 * @since 0.1.0
 * @category models
 */
export interface CaseEnv {
  /** The OpenTelemetry peer. */
  readonly otel: OtelPeer
}

class BenchService extends Context.Tag("houndsight-bench/BenchService")<BenchService, { readonly n: number }>() {}

const benchRef = FiberRef.unsafeMake<number>(0)

const trail = Trail.run({ trigger: "bench", payload: {} })

const CacheHit = Bark.define("cache_hit", Schema.Struct({ key: Schema.String }))

const tool = collar("lookup", { layer: "execute" }, (query: string) => Effect.succeed(query.length))

/** The span bridge recording every span of a trail as a step (its `steps` option off). */
const spansAsSteps = HoundsightTracer.wrap({ spans: "all" })

/** A span as `Effect.withSpan` makes it, without the stack trace capture. */
const span = () => Effect.withSpan(Effect.void, "s", { captureStackTrace: false })

const chunk: ReadonlyArray<number> = Array.from({ length: 1000 }, (_, i) => i)

/**
 * `n` operations in sniffs of 1,000 (so events recorded on the open sniff stay bounded, as they
 * are when a real step emits a few); the one sniff per 1,000 operations is negligible.
 */
const inSniffs = <R>(n: number, op: () => Effect.Effect<void, never, R>) =>
  Effect.gen(function*() {
    for (let done = 0; done < n; done += 1000) {
      yield* Sniff.run("s", { layer: "execute" }, loop(1000, op))
    }
  })

/** `n` operations as chunks of 1,000 run by `Effect.forEach` with concurrency 8. */
const forEach8 = <R>(n: number, op: () => Effect.Effect<void, never, R>): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    for (let done = 0; done < n; done += 1000) {
      yield* Effect.forEach(chunk, op, { concurrency: 8, discard: true })
      yield* yieldToEventLoop
    }
  })

/**
 * Every case, in table order.
 *
 * @since 0.1.0
 * @category cases
 */
export const makeCases = (env: CaseEnv): ReadonlyArray<BenchCase<Recorder.Recorder>> => {
  const discard = discarding()
  const otel = env.otel
  const sniff = () => Sniff.run("s", { layer: "execute" }, Effect.void)
  return [
    {
      id: "loop",
      title: "Effect.void (the loop itself: baseline)",
      stepsPerOp: 0,
      program: (n) => loop(n, () => Effect.void)
    },
    {
      id: "sniff",
      title: "houndsight Sniff.run around Effect.void (batching recorder, 512)",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) => trail(loop(n, sniff))
    },
    {
      id: "sniff.discard",
      title: "houndsight Sniff.run around Effect.void (discarding recorder)",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) => trail(loop(n, sniff)).pipe(Effect.provideService(Recorder.Recorder, discard))
    },
    {
      id: "withSpan",
      title: "Effect.withSpan around Effect.void (default tracer)",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) => loop(n, () => Effect.withSpan(Effect.void, "s"))
    },
    {
      id: "withSpan.noStack",
      title: "Effect.withSpan, captureStackTrace: false",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) => loop(n, () => Effect.withSpan(Effect.void, "s", { captureStackTrace: false }))
    },
    {
      id: "span.trail",
      title: "Effect.withSpan (no stack trace) inside a trail, no span bridge",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) => trail(loop(n, span))
    },
    {
      id: "span.step",
      title: "the same span recorded as a step (HoundsightTracer spans: \"all\"); net of span.trail",
      baseline: "span.trail",
      stepsPerOp: 1,
      program: (n) => spansAsSteps(trail(loop(n, span)))
    },
    {
      id: "otel",
      title: "OpenTelemetry span (start, Effect.void, end; BatchSpanProcessor)",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) =>
        loop(n, () =>
          Effect.suspend(() => {
            const span = otel.tracer.startSpan("s")
            return Effect.map(Effect.void, () => {
              span.end()
              otel.ended()
            })
          })),
      afterRun: otel.check
    },
    {
      id: "otel.onExit",
      title: "OpenTelemetry span ended in Effect.onExit (failure-safe)",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) =>
        loop(n, () =>
          Effect.suspend(() => {
            const span = otel.tracer.startSpan("s")
            return Effect.onExit(Effect.void, () =>
              Effect.sync(() => {
                span.end()
                otel.ended()
              }))
          })),
      afterRun: otel.check
    },
    {
      id: "onExit",
      title: "Effect.onExit alone",
      baseline: "loop",
      stepsPerOp: 0,
      program: (n) => loop(n, () => Effect.onExit(Effect.void, () => Effect.void))
    },
    {
      id: "provideService",
      title: "Effect.provideService alone",
      baseline: "loop",
      stepsPerOp: 0,
      program: (n) => loop(n, () => Effect.provideService(Effect.void, BenchService, { n: 1 }))
    },
    {
      id: "locally",
      title: "FiberRef Effect.locally alone",
      baseline: "loop",
      stepsPerOp: 0,
      program: (n) => loop(n, () => Effect.locally(Effect.void, benchRef, 1))
    },
    {
      id: "alt.context",
      title: "alternative sniff: step in the Context (provideService + onExit)",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) => trail(loop(n, () => runStepContext("s", "execute", Effect.void)))
    },
    {
      id: "alt.locally",
      title: "alternative sniff: step in a FiberRef (Effect.locally + onExit)",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) => trail(loop(n, () => runStepLocally("s", "execute", Effect.void)))
    },
    {
      id: "collar",
      title: "collar-wrapped call (input = args, output = result)",
      baseline: "loop",
      stepsPerOp: 1,
      program: (n) => trail(loop(n, () => Effect.asVoid(tool("forecast"))))
    },
    {
      id: "bark",
      title: "Bark.emit inside an open sniff",
      baseline: "loop",
      stepsPerOp: 0,
      program: (n) => trail(inSniffs(n, () => Bark.emit("cache_hit", { key: "k" })))
    },
    {
      id: "bark.typed",
      title: "typed bark (Bark.define + Schema) inside an open sniff",
      baseline: "loop",
      stepsPerOp: 0,
      program: (n) => trail(inSniffs(n, () => CacheHit({ key: "k" })))
    },
    {
      id: "cost",
      title: "Sniff.cost inside an open sniff",
      baseline: "loop",
      stepsPerOp: 0,
      program: (n) => trail(inSniffs(n, () => Sniff.cost(0.0001)))
    },
    {
      id: "tokens",
      title: "Sniff.tokens inside an open sniff",
      baseline: "loop",
      stepsPerOp: 0,
      program: (n) => trail(inSniffs(n, () => Sniff.tokens({ input: 120, output: 45 })))
    },
    {
      id: "output",
      title: "Sniff.output (a small object, made JSON-safe) inside an open sniff",
      baseline: "loop",
      stepsPerOp: 0,
      program: (n) => trail(inSniffs(n, () => Sniff.output({ dealCount: 17, region: "emea" })))
    },
    {
      id: "nested3",
      title: "nested sniffs, depth 3 (one op = 3 sniffs)",
      baseline: "loop",
      stepsPerOp: 3,
      program: (n) =>
        trail(loop(n, () =>
          Sniff.run(
            "a",
            { layer: "plan" },
            Sniff.run("b", { layer: "reason" }, Sniff.run("c", { layer: "execute" }, Effect.void))
          )))
    },
    {
      id: "forEach8",
      title: "Effect.void under Effect.forEach, concurrency 8 (baseline)",
      stepsPerOp: 0,
      program: (n) => forEach8(n, () => Effect.void)
    },
    {
      id: "forEach8.sniff",
      title: "Sniff.run under Effect.forEach, concurrency 8",
      baseline: "forEach8",
      stepsPerOp: 1,
      program: (n) => trail(forEach8(n, sniff))
    }
  ]
}
