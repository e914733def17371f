/**
 * `npx tsx bench/ai.ts`: what `houndsight/ai` adds to one model call. A `generateText` with a
 * 2 KB prompt and a 1 KB response is measured inside a trail twice: through a model as is, and
 * through the recording layer (one `reason` step with the prompt, response, tokens, model and
 * cost). The net CPU µs per call is the difference, paired round by round. The target (issue 16)
 * is at most 5 µs.
 *
 * The model answers at once with a response made once by @effect/ai's own `LanguageModel.make`
 * from a provider's parts (and decodes its prompt per call, as every @effect/ai model does): a
 * real `generateText` spends 130–230 µs of its own building and decoding schemas, whose noise on
 * a shared machine is far larger than the cost measured here.
 *
 * Run by tsx, it compiles src/ and bench/ to JavaScript first (bench/compile.ts says why) and
 * measures in a child `node` process, as users run houndsight. `BENCH_QUICK=1` for a short run;
 * `BENCH_PROFILE=/tmp/prof` writes a CPU profile of the measuring process.
 *
 * @since 0.2.0
 */
import { LanguageModel, Prompt } from "@effect/ai"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import { Recorder, Sniff, Trail } from "../src/index.js"
import * as HoundsightAi from "../src/ai.js"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { type BenchCase, loop, runBench } from "./harness.js"

const prompt = `Customer message: ${"Where is my order A-42? It was due last week and ".repeat(40)}`.slice(0, 2048)
const answer = `${"Your order A-42 shipped on Monday and is with the carrier. ".repeat(20)}`.slice(0, 1024)

/** A model that answers at once with the same parts a provider returns. */
const scripted = LanguageModel.make({
  generateText: () =>
    Effect.succeed([
      { type: "response-metadata", id: "resp_1", modelId: "gpt-4o-mini-2024-07-18", timestamp: "2025-10-01T00:00:00.000Z" },
      { type: "text", text: answer, metadata: { openai: { itemId: "msg_1" } } },
      {
        type: "finish",
        reason: "stop",
        usage: { inputTokens: 512, outputTokens: 256, totalTokens: 768, cachedInputTokens: 0, reasoningTokens: 0 },
        metadata: { openai: { serviceTier: "default" } }
      }
    ] as any),
  streamText: () => Stream.empty
})

/** A recorder that keeps nothing: the case measures making the record, not storing it. */
let recorded = 0
const discard = Layer.succeed(Recorder.Recorder, {
  agent: "bench",
  endpoint: "http://127.0.0.1:7411",
  enabled: true,
  offerTrail: () => {},
  offerStep: () => {
    recorded++
  }
})

const main = async () => {
  const made = await Effect.runPromise(scripted)
  const response = await Effect.runPromise(made.generateText({ prompt }))
  const plain = {
    ...made,
    generateText: (options: { readonly prompt: Prompt.RawInput }) =>
      Effect.sync(() => {
        Prompt.make(options.prompt)
        return response
      })
  } as unknown as LanguageModel.Service
  const wrapped = HoundsightAi.wrap(plain)
  const runtime = ManagedRuntime.make(discard)
  const call = (model: LanguageModel.Service) => (n: number) =>
    Trail.run(
      { trigger: "bench", payload: {} },
      loop(n, () => Effect.asVoid(Effect.orDie(model.generateText({ prompt }))))
    )
  const cases: Array<BenchCase<Recorder.Recorder>> = [
    { id: "model", title: "generateText, not recorded", stepsPerOp: 0, program: call(plain) },
    { id: "recorded", title: "generateText, recorded as a reason step", baseline: "model", stepsPerOp: 1, program: call(wrapped) },
    {
      // the reference: what a hand-written Sniff.run with the same input and output costs
      id: "sniff",
      title: "generateText in a hand-written Sniff.run with the same input and output",
      baseline: "model",
      stepsPerOp: 1,
      program: (n) =>
        Trail.run(
          { trigger: "bench", payload: {} },
          loop(n, () =>
            Sniff.run(
              "generateText",
              { layer: "reason", input: { messages: [{ role: "user", content: [{ type: "text", text: prompt }] }] } },
              Effect.flatMap(Effect.orDie(plain.generateText({ prompt })), (r) =>
                Sniff.output({ text: r.text, finish_reason: r.finishReason }))
            ))
        )
    },
    // the yardstick: a bare sniff, so the figure can be read against a sniff's cost on a quiet machine
    {
      id: "void",
      title: "Effect.void",
      stepsPerOp: 0,
      program: (n) => Trail.run({ trigger: "bench", payload: {} }, loop(n, () => Effect.void))
    },
    {
      id: "bareSniff",
      title: "a bare Sniff.run around Effect.void",
      baseline: "void",
      stepsPerOp: 1,
      program: (n) =>
        Trail.run({ trigger: "bench", payload: {} }, loop(n, () => Sniff.run("step", { layer: "execute" }, Effect.void)))
    }
  ]
  const quick = process.env["BENCH_QUICK"] === "1"
  const result = await runBench(
    runtime,
    cases,
    quick ? { rounds: 3, targetMs: 150, warmupMs: 150 } : { rounds: 9, targetMs: 600, warmupMs: 600 },
    () => {}
  )
  await runtime.dispose()
  if (recorded === 0) throw new Error("bench/ai: the recorded case recorded no step")
  const byId = new Map(result.cases.map((c) => [c.id, c]))
  const model = byId.get("model")!
  const rec = byId.get("recorded")!
  console.log(`| case | CPU µs per call (median of ${quick ? 3 : 9} rounds) |`)
  console.log("|---|---|")
  console.log(`| ${model.title} | ${model.usPerOp.median.toFixed(2)} |`)
  console.log(`| ${rec.title} | ${rec.usPerOp.median.toFixed(2)} |`)
  const sniff = byId.get("sniff")!
  console.log(`| ${sniff.title} | ${sniff.usPerOp.median.toFixed(2)} |`)
  const net = rec.netUsPerOp?.median ?? rec.usPerOp.median - model.usPerOp.median
  const bare = byId.get("bareSniff")!.netUsPerOp?.median ?? Number.NaN
  console.log(`| a bare Sniff.run (net of Effect.void) | ${bare.toFixed(2)} |`)
  console.log(`\nrecording one model call costs ${(net / bare).toFixed(2)} bare sniffs in this run`)
  console.log(`\na hand-written sniff with the same input and output adds ${(sniff.netUsPerOp?.median ?? 0).toFixed(2)} µs`)
  console.log(`recording one model call (2 KB prompt, 1 KB response) adds ${net.toFixed(2)} µs of CPU (target ≤ 5 µs): ${net <= 5 ? "met" : "NOT met"}`)
}

/** Compiles the bench and runs it in a child `node` process; resolves to its exit code. */
const compileAndRun = async (): Promise<number> => {
  const { compileAndRun: run } = await import("./compile.js")
  const root = fileURLToPath(new URL("..", import.meta.url))
  const profile = process.env["BENCH_PROFILE"]
  const nodeArgs = profile === undefined || profile === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`]
  return run(root, "ai.ts", join(root, "node_modules", ".cache", "houndsight-bench-ai"), nodeArgs)
}

const start = import.meta.url.endsWith(".ts") ? compileAndRun().then((code) => (process.exitCode = code)) : main()
start.catch((e) => {
  console.error(e)
  process.exit(1)
})
