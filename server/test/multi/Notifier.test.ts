/**
 * The notifier between instances: on a real PostgreSQL (`LISTEN`/`NOTIFY` carrying ids, each
 * instance on a PgClient of its own), and after its listening connection is cut (`Missed`,
 * then notifications again); and the in-memory hub of one process.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Redacted } from "effect"
import { Notifier } from "../../src/index.js"
import * as Postgres from "../../../test/support/postgres.js"

/** Waits (real time) until `check` holds, up to `millis`. */
const eventually = (check: () => boolean, millis = 10_000) =>
  Effect.gen(function*() {
    const end = Date.now() + millis
    while (!check() && Date.now() < end) yield* Effect.sleep("20 millis")
    return check()
  })

/** A notifier on its own PgClient of `url`, and what it heard. */
const instance = (url: string) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(PgClient.layer({ url: Redacted.make(url) }))
    const pg = Context.get(context, PgClient.PgClient)
    const notifier = yield* Notifier.makePg(pg, { heartbeatMillis: 200 })
    const heard: Array<Notifier.Event> = []
    notifier.unsafeSubscribe((event) => heard.push(event))
    return { notifier, heard, pg }
  })

if (!Postgres.available && !Postgres.required) console.log(Postgres.skipMessage)

describe.skipIf(!Postgres.available && !Postgres.required)("the notifier on PostgreSQL", () => {
  it.scopedLive("carries the ids of a change to the other instances, not back to the one that made it", () =>
    Effect.gen(function*() {
      const pg = yield* Postgres.start
      const url = yield* pg.database("notify1")
      const a = yield* instance(url)
      const b = yield* instance(url)
      const c = yield* instance(url)
      // the listeners are up once their own pings come back; until then a NOTIFY reaches no one
      yield* Effect.sleep("500 millis")
      const ids = Array.from({ length: 600 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`)
      yield* a.notifier.announce("leashes", ids)
      yield* a.notifier.announce("trails", ["t-1"])
      const idsHeard = (heard: ReadonlyArray<Notifier.Event>, kind: Notifier.Kind) =>
        heard.flatMap((e) => (e._tag === "Changed" && e.kind === kind ? e.ids : []))
      const all = (heard: ReadonlyArray<Notifier.Event>) =>
        idsHeard(heard, "trails").length === 1 && idsHeard(heard, "leashes").length === ids.length
      expect(yield* eventually(() => all(b.heard) && all(c.heard))).toBe(true)
      // 600 ids take several payloads (PostgreSQL refuses one of 8000 bytes): all arrive
      expect(idsHeard(b.heard, "leashes")).toEqual(ids)
      expect(idsHeard(c.heard, "leashes")).toEqual(ids)
      expect(idsHeard(b.heard, "trails")).toEqual(["t-1"])
      expect(a.heard).toEqual([])
    }))

  it.scopedLive("after its listening connection is cut, an instance listens again and tells its subscribers Missed", () =>
    Effect.gen(function*() {
      const pg = yield* Postgres.start
      const url = yield* pg.database("notify2")
      const a = yield* instance(url)
      const b = yield* instance(url)
      yield* Effect.sleep("500 millis")
      // cut b's listening connection from the server side (what a network drop or a failover does)
      yield* pg.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'notify2' AND query LIKE 'LISTEN%'",
        "notify2"
      )
      expect(yield* eventually(() => b.heard.some((e) => e._tag === "Missed"))).toBe(true)
      // and b hears the changes made after it is back
      yield* a.notifier.announce("leashes", ["after-the-drop"])
      expect(yield* eventually(() => b.heard.some((e) => e._tag === "Changed" && e.ids.includes("after-the-drop")))).toBe(true)
    }))
})

describe("the notifier in one process", () => {
  it.scoped("a hub's notifiers hear one another, never themselves; a notifier alone hears nothing", () =>
    Effect.gen(function*() {
      const hub = Notifier.makeHub()
      const a = yield* Notifier.makeMemory(hub)
      const b = yield* Notifier.makeMemory(hub)
      const alone = yield* Notifier.makeMemory(Notifier.makeHub())
      const heardA: Array<Notifier.Event> = []
      const heardB: Array<Notifier.Event> = []
      const heardAlone: Array<Notifier.Event> = []
      a.unsafeSubscribe((e) => heardA.push(e))
      b.unsafeSubscribe((e) => heardB.push(e))
      alone.unsafeSubscribe((e) => heardAlone.push(e))
      yield* a.announce("leashes", ["l-1", "l-2"])
      yield* b.announce("trails", ["t-1"])
      yield* alone.announce("leashes", ["l-3"])
      expect(heardA).toEqual([{ _tag: "Changed", kind: "trails", ids: ["t-1"] }])
      expect(heardB).toEqual([{ _tag: "Changed", kind: "leashes", ids: ["l-1", "l-2"] }])
      expect(heardAlone).toEqual([])
    }))
})
