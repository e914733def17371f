/**
 * The agents of the gate bench, on the real SDK (`Houndsight.layer` over a watched
 * `FetchHttpClient`), and the reviewer that decides their leashes.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { performance } from "node:perf_hooks"
import { type Exporter, Houndsight, Leash, type Recorder, Trail } from "../../src/index.js"
import type { Warmup } from "./config.js"
import { ingestBodies, rawClient } from "./load.js"
import type { ServerProcess } from "./server.js"

/** What the agents' HttpClient saw: the first long-poll of each leash, and how many polls. */
export class Polls {
  private readonly counts = new Map<string, number>()
  private readonly waiting: Array<(leashId: string) => void> = []
  private readonly queued: Array<string> = []

  seen(leashId: string): void {
    const n = (this.counts.get(leashId) ?? 0) + 1
    this.counts.set(leashId, n)
    if (n > 1) return
    const next = this.waiting.shift()
    if (next !== undefined) next(leashId)
    else this.queued.push(leashId)
  }

  /** The next leash whose agent sent its first long-poll. */
  next(): Promise<string> {
    const id = this.queued.shift()
    if (id !== undefined) return Promise.resolve(id)
    return new Promise((done) => this.waiting.push(done))
  }

  /** Polls beyond the first, over the given leashes (a long-poll that ran out and was sent again). */
  repolls(ids: Iterable<string>): number {
    let n = 0
    for (const id of ids) n += Math.max(0, (this.counts.get(id) ?? 0) - 1)
    return n
  }
}

const leashPath = /\/v1\/leashes\/([^/?]+)$/

/** `FetchHttpClient`, telling `polls` about every long-poll before it is sent. */
export const watchedClient = (polls: Polls): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.tapRequest(client, (request) =>
        Effect.sync(() => {
          if (request.method !== "GET") return
          const match = leashPath.exec(request.url)
          const wait = UrlParams.getFirst(request.urlParams, "wait_seconds")
          if (match !== null && Option.isSome(wait) && Number(wait.value) > 0) polls.seen(decodeURIComponent(match[1]!))
        })))
  ).pipe(Layer.provide(FetchHttpClient.layer))

/** The leash request of a charge of `amountUsd` (over $10,000 the floor rule blocks it). */
export const charge = (amountUsd: number) => ({
  actionName: "stripe.charge",
  actionSummary: `Charge cus_42 $${amountUsd.toFixed(2)}`,
  riskSignals: { amountUsd, merchantCountry: "FR" },
  payload: { customer: "cus_42", amountUsd },
  timeoutSeconds: 600
})

/** One server and the clients the cases use against it. */
export interface Connected {
  readonly server: ServerProcess
  readonly polls: Polls
  /** The agents: `Houndsight.layer` with the agent key, over the watched `FetchHttpClient`. */
  readonly agents: ManagedRuntime.ManagedRuntime<Leash.Leash | Recorder.Recorder | Exporter.Exporter, Houndsight.HoundsightConfigError>
  readonly plain: ManagedRuntime.ManagedRuntime<HttpClient.HttpClient, never>
  /** `POST /v1/leashes/{id}/decision` as the reviewer; resolves when the server answered 200. */
  readonly decide: (leashId: string) => Promise<void>
  /** `GET /healthz` through the same `FetchHttpClient`, body read. */
  readonly healthz: Effect.Effect<string>
  /** One agent: a trail with one leash; tells `onDecision` the moment its fiber has the Decision. */
  readonly agent: (
    amountUsd: number,
    onDecision: (leashId: string, at: number, decision: string) => void
  ) => Effect.Effect<unknown, never, Leash.Leash | Recorder.Recorder>
  readonly close: () => Promise<void>
}

/** Connects the agents and the reviewer to `server`. */
export const connect = async (server: ServerProcess): Promise<Connected> => {
  const polls = new Polls()
  const agents = ManagedRuntime.make(
    Houndsight.layer({
      apiKey: Redacted.make(server.agentKey),
      agent: "bench-agent",
      endpoint: server.url,
      httpClient: watchedClient(polls)
    })
  )
  const plain = ManagedRuntime.make(FetchHttpClient.layer)
  const http = await plain.runPromise(HttpClient.HttpClient)
  const reviewer = http.pipe(HttpClient.mapRequest(HttpClientRequest.bearerToken(server.reviewerKey)))
  const decide = (leashId: string) =>
    plain.runPromise(Effect.scoped(Effect.gen(function*() {
      const response = yield* reviewer.execute(
        HttpClientRequest.post(`${server.url}/v1/leashes/${leashId}/decision`).pipe(
          HttpClientRequest.bodyUnsafeJson({ decision: "approved", reason: "looks fine" })
        )
      )
      const text = yield* response.text
      if (response.status !== 200) throw new Error(`bench: the decision on ${leashId} answered ${response.status}: ${text}`)
    })))
  const healthz = Effect.orDie(Effect.scoped(Effect.flatMap(http.get(`${server.url}/healthz`), (response) => response.text)))
  const agent = (amountUsd: number, onDecision: (leashId: string, at: number, decision: string) => void) =>
    Trail.run(
      { trigger: "bench", payload: {} },
      Effect.tap(Leash.request(charge(amountUsd)), (d) => Effect.sync(() => onDecision(d.leashId, performance.now(), d.decision)))
    )
  const close = async () => {
    await agents.dispose()
    await plain.dispose()
  }
  return { server, polls, agents, plain, decide, healthz, agent, close }
}

/** Warms up both sides (JIT, connections, prepared statements) by `warmup`. */
export const warmUp = async (c: Connected, warmup: Warmup): Promise<void> => {
  const warm = rawClient(c.server.url, c.server.agentKey, 4)
  for (const body of ingestBodies(warmup.ingestBatches)) await warm.post("/v1/ingest", body)
  warm.close()
  for (let i = 0; i < warmup.rounds; i++) {
    await c.plain.runPromise(c.healthz)
    await c.agents.runPromise(c.agent(25_000, () => {}))
    const fiber = c.agents.runFork(c.agent(120, () => {}))
    await c.decide(await c.polls.next())
    await c.agents.runPromise(fiber.await)
  }
}

/** This process's V8 heap in use after a full GC, MiB (NaN when `gc` is not exposed). */
export const liveHeapMiB = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return NaN
  gc()
  return process.memoryUsage().heapUsed / 2 ** 20
}
