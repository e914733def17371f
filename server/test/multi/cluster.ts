/**
 * Several gate server instances on one database behind the round-robin proxy, for the
 * multi-instance tests: in-process `Server.layer`s on port 0, sharing a SQLite file (and, since
 * they share a process, a notifier hub: what several processes on PostgreSQL get from
 * `LISTEN`/`NOTIFY`).
 */
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import * as Path from "node:path"
import { Notifier, Server } from "../../src/index.js"
import type { StartupError } from "../../src/ServerError.js"
import * as RoundRobin from "../../../test/support/roundRobin.js"
import { client, type Client, tempDir } from "../helpers.js"

/** One running instance. */
export interface Instance {
  readonly url: string
  readonly info: Server.Info
  readonly agent: Client
  readonly reviewer: Client
}

/** The instances, the proxy in front of them, and clients through it. */
export interface Cluster {
  readonly db: string
  readonly hub: Notifier.Hub
  readonly instances: ReadonlyArray<Instance>
  readonly proxy: RoundRobin.Proxy
  readonly agentKey: string
  readonly reviewerKey: string
  /** Through the proxy. */
  readonly agent: Client
  readonly reviewer: Client
  readonly anonymous: Client
  /** Starts one more instance on the same database (not behind the proxy). */
  readonly startAnother: (options?: Server.Options) => Effect.Effect<Instance, StartupError, Scope.Scope>
}

/** Starts `n` instances (one after the other) on one new SQLite file, and the proxy. */
export const start = (n: number, options: Server.Options = {}): Effect.Effect<Cluster, StartupError, Scope.Scope> =>
  Effect.gen(function*() {
    const db = Path.join(yield* tempDir, "houndsight.db")
    const hub = Notifier.makeHub()
    // the proxy first: its URL is every instance's public URL (trace links name it, as in production)
    const proxy = yield* RoundRobin.start([])
    let agentKey = ""
    let reviewerKey = ""
    const startAnother = (more: Server.Options = {}) =>
      Effect.gen(function*() {
        const context = yield* Layer.build(Server.layer({ port: 0, publicUrl: proxy.url, ...options, ...more, db, notifierHub: hub }))
        const info = Context.get(context, Server.ServerInfo)
        return { url: info.url, info, agent: client(info.url, agentKey), reviewer: client(info.url, reviewerKey) }
      })
    const first = yield* Effect.flatMap(Layer.build(Server.layer({ port: 0, publicUrl: proxy.url, ...options, db, notifierHub: hub })), (context) => {
      const info = Context.get(context, Server.ServerInfo)
      agentKey = Redacted.value(info.keys.find((k) => k.role === "agent")!.key)
      reviewerKey = Redacted.value(info.keys.find((k) => k.role === "reviewer")!.key)
      return Effect.succeed<Instance>({ url: info.url, info, agent: client(info.url, agentKey), reviewer: client(info.url, reviewerKey) })
    })
    const instances = [first]
    for (let i = 1; i < n; i++) instances.push(yield* startAnother())
    proxy.setTargets(instances.map((i) => i.url))
    return {
      db,
      hub,
      instances,
      proxy,
      agentKey,
      reviewerKey,
      agent: client(proxy.url, agentKey),
      reviewer: client(proxy.url, reviewerKey),
      anonymous: client(proxy.url, undefined),
      startAnother
    }
  })

/**
 * Counts what the instances announce on the hub, by kind and id (an extra member that only
 * listens): how many times each leash was told changed.
 */
export const tap = (hub: Notifier.Hub): Effect.Effect<Map<string, number>, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const counts = new Map<string, number>()
      const member = (event: Notifier.Event) => {
        if (event._tag !== "Changed" || event.kind !== "leashes") return
        for (const id of event.ids) counts.set(id, (counts.get(id) ?? 0) + 1)
      }
      hub.members.add(member)
      return { counts, member }
    }),
    ({ member }) => Effect.sync(() => hub.members.delete(member))
  ).pipe(Effect.map(({ counts }) => counts))
