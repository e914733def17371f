/**
 * The live layer as users build it: option and environment validation with errors that name the
 * setting, `HOUNDSIGHT_ENABLED=false`, `redact` before queueing, the default fetch client and a
 * replacement, untraced exporter calls, the API key in no record, log line, error or string,
 * and an agent's trail and steps reaching a loopback collector.
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Layer, ManagedRuntime, Redacted, Tracer } from "effect"
import { Exporter, Houndsight, Recorder, Sniff, Trail } from "houndsight"
import { inspect } from "node:util"
import { accept, collector, errorReply } from "../exporter/collector.js"
import { apiKey, captureLogs, start, stepRecord } from "../exporter/harness.js"

const key = Redacted.make(apiKey)

const env = (vars: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

const failure = <A>(self: Effect.Effect<A, Houndsight.HoundsightConfigError>) => Effect.flip(self)

describe("validate", () => {
  it.effect("fills in the numbers of section 4 and the local endpoint", () =>
    Effect.gen(function*() {
      const v = yield* Houndsight.validate({ apiKey: key, agent: "sales-pipeline" })
      expect(v).toMatchObject({
        agent: "sales-pipeline",
        endpoint: "http://127.0.0.1:7411",
        enabled: true,
        maxQueue: 2048,
        maxAuditQueue: 10_000,
        maxBatchRecords: 512,
        maxBatchBytes: 1024 * 1024,
        flushIntervalMillis: 1000,
        requestTimeoutMillis: 10_000,
        retryBaseDelayMillis: 500,
        retryMaxDelayMillis: 30_000,
        shutdownTimeoutMillis: 5000
      })
      expect(v.apiKey).toBe(key)
      expect(v.httpClient).toBe(FetchHttpClient.layer)
    }))

  it.effect("normalises the endpoint: no trailing slash, a path prefix kept, a URL object accepted", () =>
    Effect.gen(function*() {
      const of = (endpoint: string | URL) =>
        Effect.map(Houndsight.validate({ apiKey: key, agent: "a", endpoint }), (v) => v.endpoint)
      expect(yield* of("https://houndsight.example.com/")).toBe("https://houndsight.example.com")
      expect(yield* of("https://example.com/houndsight//")).toBe("https://example.com/houndsight")
      expect(yield* of(new URL("http://127.0.0.1:9000"))).toBe("http://127.0.0.1:9000")
    }))

  it.effect("a missing key fails with Missing, naming the setting and what to do", () =>
    Effect.gen(function*() {
      const error = yield* failure(
        Houndsight.validate({ agent: "a" } as unknown as Houndsight.HoundsightOptions)
      )
      expect(error._tag).toBe("HoundsightConfigError")
      expect(error).toMatchObject({ setting: "apiKey", reason: "Missing" })
      expect(error.message).toContain("sk-hnd-")
    }))

  it.effect("a reviewer key is refused, without quoting it", () =>
    Effect.gen(function*() {
      const secret = "rv-hnd-REVIEWER-SECRET-42"
      const error = yield* failure(Houndsight.validate({ apiKey: Redacted.make(secret), agent: "a" }))
      expect(error).toMatchObject({ setting: "apiKey", reason: "Invalid" })
      expect(error.message).toContain("reviewer key")
      expect(error.message).toContain("agent key (sk-hnd-…)")
      // it says where an agent key comes from (there is no command that "creates" one)
      expect(error.message).toContain("houndsight-server keys create --agent <name>")
      expect(error.message).toContain("development agent key")
      for (const text of [error.message, String(error), JSON.stringify(error), inspect(error, { depth: 10 })]) {
        expect(text).not.toContain("REVIEWER-SECRET-42")
      }
    }))

  it.effect("other keys are refused: another service's, a bare prefix, one with whitespace, an empty one", () =>
    Effect.gen(function*() {
      const check = (text: string) => failure(Houndsight.validate({ apiKey: Redacted.make(text), agent: "a" }))
      expect((yield* check("sk-live-OTHER-SERVICE")).message).toContain("not a Houndsight agent key")
      expect((yield* check("sk-hnd-")).message).toContain("not a Houndsight agent key")
      expect((yield* check("sk-hnd-abc\n")).message).toContain("whitespace")
      expect(yield* check("")).toMatchObject({ reason: "Missing" })
      const plain = yield* failure(
        Houndsight.validate({ apiKey: 42 as unknown as Redacted.Redacted<string>, agent: "a" })
      )
      expect(plain.message).toContain("Redacted")
    }))

  it.effect("a malformed endpoint fails, naming the setting and an example", () =>
    Effect.gen(function*() {
      const check = (endpoint: string) => failure(Houndsight.validate({ apiKey: key, agent: "a", endpoint }))
      for (const endpoint of ["not a url", "ftp://example.com", "http://h:7411/?x=1", "http://h:7411/#top"]) {
        const error = yield* check(endpoint)
        expect(error).toMatchObject({ setting: "endpoint", reason: "Invalid" })
        expect(error.message).toContain("http://127.0.0.1:7411")
      }
      const withPassword = yield* check("http://user:hunter2@example.com")
      expect(withPassword.message).toContain("user name or password")
      expect(withPassword.message).not.toContain("hunter2")
    }))

  it.effect("a missing agent, a bad exporter option or a bad redact fails with the option's name", () =>
    Effect.gen(function*() {
      const check = (options: Partial<Houndsight.HoundsightOptions>) =>
        failure(Houndsight.validate({ apiKey: key, agent: "a", ...options } as Houndsight.HoundsightOptions))
      expect(yield* check({ agent: "" })).toMatchObject({ setting: "agent", reason: "Missing" })
      expect(yield* check({ agent: "x".repeat(257) })).toMatchObject({ setting: "agent", reason: "Invalid" })
      expect(yield* check({ maxBatchBytes: 6 * 1024 * 1024 })).toMatchObject({ setting: "maxBatchBytes" })
      expect(yield* check({ maxQueue: 0 })).toMatchObject({ setting: "maxQueue" })
      expect(yield* check({ maxBatchRecords: 1.5 })).toMatchObject({ setting: "maxBatchRecords" })
      expect(yield* check({ flushInterval: "soon" as never })).toMatchObject({ setting: "flushInterval" })
      expect(yield* check({ shutdownTimeout: "0 millis" })).toMatchObject({ setting: "shutdownTimeout" })
      expect(yield* check({ retryBaseDelay: "2 seconds", retryMaxDelay: "1 second" })).toMatchObject({
        setting: "retryMaxDelay"
      })
      expect(yield* check({ redact: { step: "nope" } as never })).toMatchObject({ setting: "redact" })
      expect(yield* check({ httpClient: {} as never })).toMatchObject({ setting: "httpClient" })
      expect(yield* check({ enabled: "no" as never })).toMatchObject({ setting: "enabled" })
    }))

  it.effect("validated settings show no key in String, JSON or inspect", () =>
    Effect.gen(function*() {
      const v = yield* Houndsight.validate({ apiKey: key, agent: "a" })
      for (const text of [String(v.apiKey), JSON.stringify(v), inspect(v, { depth: 10 })]) {
        expect(text).not.toContain(apiKey)
      }
    }))
})

describe("layer", () => {
  it.effect("fails to build with the typed error", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(
        Houndsight.layer({ apiKey: Redacted.make("rv-hnd-x"), agent: "a" })
      ).pipe(Effect.scoped, Effect.flip)
      expect(error).toBeInstanceOf(Houndsight.HoundsightConfigError)
      expect(error.setting).toBe("apiKey")
    }))

  it.scopedLive("records an agent's trail (running and finished) and its steps at the collector", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const agent = Effect.gen(function*() {
        yield* Sniff.run("plan", { layer: "plan", input: { goal: "forecast" } }, Effect.void)
        yield* Sniff.run("answer", { layer: "respond" }, Sniff.cost(0.25))
        yield* Trail.setOutput("done")
      }).pipe(Trail.run({ trigger: "user_message", payload: { text: "hi" } }))
      yield* agent.pipe(
        Effect.provide(Houndsight.layer({ apiKey: key, agent: "sales-pipeline", endpoint: `${c.url}/` }))
      )
      const { steps, trails } = c.delivered()
      expect(trails.map((t) => [t.status, t.agent])).toEqual([["running", "sales-pipeline"], ["ok", "sales-pipeline"]])
      expect(trails[1]).toMatchObject({ output: "done", cost_usd: 0.25, trigger: "user_message" })
      expect(steps.map((s) => [s.name, s.layer, s.seq, s.trail_id])).toEqual([
        ["plan", "plan", 1, trails[0]!.id],
        ["answer", "respond", 2, trails[0]!.id]
      ])
    }))

  it.scopedLive("uses FetchHttpClient by default", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      let calls = 0
      const counting: typeof globalThis.fetch = (input, init) => {
        calls++
        return globalThis.fetch(input, init)
      }
      const live = yield* start(c).pipe(Effect.provideService(FetchHttpClient.Fetch, counting))
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(calls).toBe(1)
      expect(c.delivered().steps).toHaveLength(1)
    }))

  it.scopedLive("uses the httpClient layer it is given", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const urls: Array<string> = []
      const recording = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (client) =>
          client.pipe(HttpClient.tapRequest((request) => Effect.sync(() => urls.push(request.url)))))
      ).pipe(Layer.provide(FetchHttpClient.layer))
      const live = yield* start(c, { httpClient: recording })
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(urls).toEqual([`${c.url}/v1/ingest`])
    }))

  it.scopedLive("applies redact before queueing; a hook that throws sends a marker, never the raw value", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const live = yield* start(c, {
        redact: {
          step: (record) => {
            if (record.name === "explode") throw new Error("bug in the hook")
            return { ...record, input: { card: "****" } }
          }
        }
      })
      live.recorder.offerStep(stepRecord({ name: "charge", input: { card: "4242 4242 4242 4242" } }))
      live.recorder.offerStep(stepRecord({ name: "explode", input: { card: "4242 4242 4242 4242" } }))
      yield* live.exporter.flush
      const steps = c.delivered().steps
      expect(steps.map((s) => s.input)).toEqual([{ card: "****" }, "[redaction failed]"])
      expect(c.requests.map((r) => r.text).join("")).not.toContain("4242 4242")
    }))

  it.scopedLive("does not trace its own HTTP calls", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const names: Array<string> = []
      const base = yield* Effect.tracer
      const tracer = Tracer.make({
        span: (name, ...rest) => {
          names.push(name)
          return base.span(name, ...rest)
        },
        context: base.context
      })
      const live = yield* start(c).pipe(Effect.withTracer(tracer))
      yield* Effect.void.pipe(Effect.withSpan("user.work"), Effect.withTracer(tracer))
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      expect(c.delivered().steps).toHaveLength(1)
      expect(names).toEqual(["user.work"])
      expect(c.requests[0]!.headers.traceparent).toBeUndefined()
    }))

  it.scopedLive("the key is in no record and no log line, through rejections, failures and a hung shutdown", () =>
    Effect.gen(function*() {
      const c = yield* collector((r) =>
        r.index === 0
          ? errorReply(401, "unauthorized", "unknown key")
          : r.index === 1
          ? { destroy: true }
          : r.index === 2
          ? errorReply(503, "unavailable", "down")
          : r.index === 3
          ? accept(r)
          : { hang: true }
      )
      const logs = captureLogs()
      const live = yield* logs.provide(
        start(c, { flushInterval: "60 seconds", retryBaseDelay: "5 millis", retryMaxDelay: "10 millis", shutdownTimeout: "200 millis" })
      )
      live.recorder.offerStep(stepRecord())
      yield* live.exporter.flush
      live.recorder.offerStep(stepRecord({ input: { note: "hello" } }))
      yield* live.exporter.flush
      live.recorder.offerStep(stepRecord())
      yield* c.waitFor(() => c.requests.length === 4)
      live.recorder.offerStep(stepRecord())
      yield* Effect.fork(live.exporter.flush)
      yield* c.waitFor(() => c.requests.length === 5)
      yield* logs.provide(live.close)
      expect(logs.lines.some((l) => l.message.includes("401"))).toBe(true)
      expect(logs.lines.some((l) => l.message.includes("transport failure"))).toBe(true)
      expect(logs.lines.some((l) => l.message.includes("not delivered"))).toBe(true)
      for (const line of logs.lines) expect(line.message).not.toContain(apiKey)
      for (const request of c.requests) expect(request.text).not.toContain(apiKey)
      expect(JSON.stringify(live.exporter.unsafeStats())).not.toContain(apiKey)
    }))
})

describe("layerConfig", () => {
  it.scopedLive("reads HOUNDSIGHT_API_KEY, HOUNDSIGHT_AGENT and HOUNDSIGHT_ENDPOINT", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      yield* Trail.run({ trigger: "cron", payload: {} }, Effect.void).pipe(
        Effect.provide(Houndsight.layerConfig()),
        env({ HOUNDSIGHT_API_KEY: apiKey, HOUNDSIGHT_AGENT: "from-env", HOUNDSIGHT_ENDPOINT: c.url })
      )
      expect(c.delivered().trails.map((t) => t.agent)).toEqual(["from-env", "from-env"])
      expect(c.requests[0]!.headers.authorization).toBe(`Bearer ${apiKey}`)
    }))

  it.effect("what the code says wins over the environment, setting by setting; the environment fills the rest", () =>
    Effect.gen(function*() {
      const everything = {
        HOUNDSIGHT_API_KEY: "sk-hnd-from-env",
        HOUNDSIGHT_AGENT: "from-env",
        HOUNDSIGHT_ENDPOINT: "http://env:2",
        HOUNDSIGHT_ENABLED: "false"
      }
      const fromCode = yield* Houndsight.validateConfig({
        apiKey: Redacted.make("sk-hnd-from-code"),
        agent: "from-code",
        endpoint: "http://code:1",
        enabled: true,
        maxQueue: 10
      }).pipe(env(everything))
      expect(fromCode).toMatchObject({ agent: "from-code", endpoint: "http://code:1", enabled: true, maxQueue: 10 })
      expect(Redacted.value(fromCode.apiKey)).toBe("sk-hnd-from-code")

      // each setting alone: the code's value, the environment's for the others
      const agentOnly = yield* Houndsight.validateConfig({ agent: "from-code" }).pipe(env(everything))
      expect(agentOnly).toMatchObject({ agent: "from-code", endpoint: "http://env:2", enabled: false })
      expect(Redacted.value(agentOnly.apiKey)).toBe("sk-hnd-from-env")
      const enabledOnly = yield* Houndsight.validateConfig({ enabled: true }).pipe(env(everything))
      expect(enabledOnly).toMatchObject({ agent: "from-env", enabled: true })

      // a variable the code overrides is not read, so a stale wrong one does not stop the agent
      const stale = yield* Houndsight.validateConfig({ agent: "a", endpoint: "http://code:1" }).pipe(
        env({ HOUNDSIGHT_API_KEY: apiKey, HOUNDSIGHT_ENDPOINT: "not a url" })
      )
      expect(stale.endpoint).toBe("http://code:1")

      // an empty variable counts as unset
      const empty = yield* Houndsight.validateConfig({ agent: "from-code", endpoint: "http://code:1" }).pipe(
        env({ HOUNDSIGHT_API_KEY: apiKey, HOUNDSIGHT_AGENT: "", HOUNDSIGHT_ENDPOINT: "" })
      )
      expect(empty).toMatchObject({ agent: "from-code", endpoint: "http://code:1" })
      const filled = yield* Houndsight.validateConfig().pipe(env(everything))
      expect(filled).toMatchObject({ agent: "from-env", endpoint: "http://env:2", enabled: false })
    }))

  it.scopedLive("layerConfig({ agent }) records trails as the code's agent although HOUNDSIGHT_AGENT is set", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      yield* Trail.run({ trigger: "cron", payload: {} }, Effect.void).pipe(
        Effect.provide(Houndsight.layerConfig({ agent: "billing-agent" })),
        env({ HOUNDSIGHT_API_KEY: apiKey, HOUNDSIGHT_AGENT: "sales-pipeline", HOUNDSIGHT_ENDPOINT: c.url })
      )
      expect(c.delivered().trails.map((t) => t.agent)).toEqual(["billing-agent", "billing-agent"])
    }))

  it.effect("errors name the environment variable", () =>
    Effect.gen(function*() {
      const missing = yield* failure(Houndsight.validateConfig().pipe(env({ HOUNDSIGHT_AGENT: "a" })))
      expect(missing).toMatchObject({ setting: "HOUNDSIGHT_API_KEY", reason: "Missing" })
      expect(missing.message).toContain("HOUNDSIGHT_API_KEY is not set")
      const reviewer = yield* failure(
        Houndsight.validateConfig().pipe(env({ HOUNDSIGHT_API_KEY: "rv-hnd-secret", HOUNDSIGHT_AGENT: "a" }))
      )
      expect(reviewer).toMatchObject({ setting: "HOUNDSIGHT_API_KEY", reason: "Invalid" })
      expect(reviewer.message).not.toContain("rv-hnd-secret")
      const agent = yield* failure(Houndsight.validateConfig().pipe(env({ HOUNDSIGHT_API_KEY: apiKey })))
      expect(agent).toMatchObject({ setting: "HOUNDSIGHT_AGENT", reason: "Missing" })
      const endpoint = yield* failure(
        Houndsight.validateConfig().pipe(
          env({ HOUNDSIGHT_API_KEY: apiKey, HOUNDSIGHT_AGENT: "a", HOUNDSIGHT_ENDPOINT: "localhost:7411" })
        )
      )
      expect(endpoint).toMatchObject({ setting: "HOUNDSIGHT_ENDPOINT", reason: "Invalid" })
      const enabled = yield* failure(
        Houndsight.validateConfig().pipe(
          env({ HOUNDSIGHT_API_KEY: apiKey, HOUNDSIGHT_AGENT: "a", HOUNDSIGHT_ENABLED: "maybe" })
        )
      )
      expect(enabled).toMatchObject({ setting: "HOUNDSIGHT_ENABLED", reason: "Invalid" })
      expect(enabled.message).toContain("true or false")
    }))

  it.scopedLive("HOUNDSIGHT_ENABLED=false gives a Recorder with enabled: false and sends nothing", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const context = yield* Layer.build(Houndsight.layerConfig()).pipe(
        env({ HOUNDSIGHT_API_KEY: apiKey, HOUNDSIGHT_AGENT: "a", HOUNDSIGHT_ENDPOINT: c.url, HOUNDSIGHT_ENABLED: "false" })
      )
      expect(Context.get(context, Recorder.Recorder).enabled).toBe(false)
      const result = yield* Sniff.run("step", { layer: "execute" }, Effect.succeed(7)).pipe(
        Trail.run({ trigger: "cron", payload: {} }),
        Effect.provide(context)
      )
      expect(result).toBe(7)
      yield* Exporter.flush.pipe(Effect.provide(context))
      expect((yield* Exporter.stats.pipe(Effect.provide(context))).offered).toBe(0)
      expect(c.requests).toHaveLength(0)
    }))
})

describe("flushing in each way of running Effect (docs/exporter.md)", () => {
  const agent = Sniff.run("step", { layer: "execute" }, Effect.void).pipe(Trail.run({ trigger: "cron", payload: {} }))
  const options = (url: string) => ({ apiKey: key, agent: "a", endpoint: url, flushInterval: "60 seconds" as const })

  it.scopedLive("Effect.runPromise settles after the layer's Scope closed and flushed", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      yield* Effect.promise(() => Effect.runPromise(agent.pipe(Effect.provide(Houndsight.layer(options(c.url))))))
      expect(c.delivered().trails).toHaveLength(2)
      expect(c.delivered().steps).toHaveLength(1)
    }))

  it.scopedLive("ManagedRuntime: runPromise(Exporter.flush) sends now; dispose() flushes the rest", () =>
    Effect.gen(function*() {
      const c = yield* collector()
      const runtime = ManagedRuntime.make(Houndsight.layer(options(c.url)))
      yield* Effect.promise(() => runtime.runPromise(agent))
      expect(c.requests).toHaveLength(0) // the interval is a minute: nothing sent yet
      yield* Effect.promise(() => runtime.runPromise(Exporter.flush.pipe(Effect.timeoutOption("2 seconds"))))
      expect(c.delivered().steps).toHaveLength(1)
      yield* Effect.promise(() => runtime.runPromise(agent))
      yield* Effect.promise(() => runtime.dispose())
      expect(c.delivered().steps).toHaveLength(2)
      expect(c.delivered().trails).toHaveLength(4)
    }))
})
