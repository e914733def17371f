/**
 * Several gate server instances on one database behind the round-robin proxy, for the
 * multi-instance tests: in-process `Server.layer`s on port 0, on one PostgreSQL database (a
 * cluster of test/support/postgres.ts: the real multi-instance setup, the instances hearing one
 * another through `LISTEN`/`NOTIFY`) or on one SQLite file (sharing a notifier hub, since they
 * share a process).
 *
 * `backends` lists the backends to run on: SQLite always; PostgreSQL when the server has its
 * PostgreSQL backend (`Database.isPostgres`) and PostgreSQL is installed (or required).
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import * as Path from "node:path"
import { Database, Notifier, Server } from "../../src/index.js"
import type { StartupError } from "../../src/ServerError.js"
import * as Postgres from "../../../test/support/postgres.js"
import * as RoundRobin from "../../../test/support/roundRobin.js"
import { client, type Client, tempDir } from "../helpers.js"

/** A backend the instances share. */
export type Backend = "sqlite" | "postgres"

/** Whether the server can run on PostgreSQL (its backend is there, and PostgreSQL is). */
export const onPostgres: boolean = "isPostgres" in Database && (Postgres.available || Postgres.required)

/** The backends the multi-instance tests run on. */
export const backends: ReadonlyArray<Backend> = onPostgres ? ["postgres", "sqlite"] : ["sqlite"]

if (!onPostgres) {
  console.log(
    "isPostgres" in Database
      ? Postgres.skipMessage
      : "multi-instance tests on PostgreSQL skipped: this server has no PostgreSQL backend (Database.isPostgres)"
  )
}

/** One running instance. */
export interface Instance {
  readonly url: string
  readonly info: Server.Info
  readonly agent: Client
  readonly reviewer: Client
}

/** The instances, the proxy in front of them, and clients through it. */
export interface Cluster {
  readonly backend: Backend
  /** The SQLite file or the PostgreSQL URL. */
  readonly db: string
  /** The PostgreSQL cluster (`postgres` only). */
  readonly pg: Postgres.Postgres | undefined
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

let databases = 0

/** A new, empty database: a fresh PostgreSQL cluster's database, or a SQLite file in a temporary folder. */
export const database = (backend: Backend): Effect.Effect<{ readonly db: string; readonly pg: Postgres.Postgres | undefined }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pg = backend === "postgres" ? yield* Postgres.start : undefined
    const db = pg !== undefined ? yield* pg.database(`multi_${++databases}`) : Path.join(yield* tempDir, "houndsight.db")
    return { db, pg }
  })

/** Starts `n` instances (one after the other) on one new database, and the proxy. */
export const start = (
  n: number,
  options: Server.Options & { readonly backend?: Backend | undefined } = {}
): Effect.Effect<Cluster, StartupError, Scope.Scope> =>
  Effect.gen(function*() {
    const backend = options.backend ?? "sqlite"
    const { db, pg } = yield* database(backend)
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
      backend,
      db,
      pg,
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
 * Counts what the instances announce, by leash id: an extra notifier that only listens (on the
 * hub, or on PostgreSQL over a client of its own). Wait a moment after it is made on PostgreSQL
 * (its LISTEN starts with its first ping).
 */
export const tap = (cluster: Cluster): Effect.Effect<Map<string, number>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const notifier = cluster.backend === "postgres"
      ? yield* Effect.flatMap(
        Layer.build(PgClient.layer({ url: Redacted.make(cluster.db) }).pipe(Layer.orDie)),
        (context) => Notifier.makePg(Context.get(context, PgClient.PgClient))
      )
      : yield* Notifier.makeMemory(cluster.hub)
    const counts = new Map<string, number>()
    const unsubscribe = notifier.unsafeSubscribe((event) => {
      if (event._tag !== "Changed" || event.kind !== "leashes") return
      for (const id of event.ids) counts.set(id, (counts.get(id) ?? 0) + 1)
    })
    yield* Effect.addFinalizer(() => Effect.sync(unsubscribe))
    if (cluster.backend === "postgres") yield* Effect.sleep("1500 millis")
    return counts
  })
