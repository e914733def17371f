/**
 * The PostgreSQL backend itself: chosen by a `postgres://` database setting, migrated once by
 * instances that start together (under the advisory lock), and refused with a clear message
 * (its host, never its password) when the URL is bad or the server cannot be reached.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Database from "../src/Database.js"
import * as Dialect from "../src/Dialect.js"
import { migrations } from "../src/Migrations.js"
import * as Outbox from "../src/Outbox.js"
import * as Postgres from "../../test/support/postgres.js"
import { at, leashRequest, reviewStep, type Running, startServer, stepRecord, tempDir, trailRecord, uuid } from "./helpers.js"
import { available, backend, cluster, createDatabase, run } from "./postgres.js"
import * as Path from "node:path"

const startupMessage = (setting: string, options?: Database.Options) =>
  Effect.gen(function*() {
    const failure = yield* Effect.flip(Layer.build(Database.layer(setting, options)))
    return failure.message
  })

describe.skipIf(!available)("PostgreSQL backend", () => {
  it.scopedLive("a postgres:// setting runs on PostgreSQL, migrated", () =>
    Effect.gen(function*() {
      const url = yield* createDatabase(yield* cluster)
      const context = yield* Layer.build(Database.layer(url))
      const sql = yield* Effect.provide(SqlClient.SqlClient, context)
      expect(Dialect.backend(sql)).toBe("postgres")
      // the PgClient is there for the code that needs PostgreSQL's own features (LISTEN/NOTIFY)
      yield* Effect.provide(PgClient.PgClient, context)
      const applied = yield* sql<{ name: string }>`SELECT name FROM houndsight_migrations ORDER BY migration_id`
      expect(applied.map((r) => r.name)).toEqual(Object.keys(migrations).map((k) => k.slice(5)))
      // epoch milliseconds need 64 bits: the columns are BIGINT and read back as numbers
      yield* sql`INSERT INTO leashes (leash_id, request, status, created_at, expires_at)
        VALUES ('l1', '{}', 'pending', ${Date.UTC(2026, 11, 2)}, ${Date.UTC(2026, 11, 3)})`
      const rows = yield* sql<{ expires_at: number; n: number }>`SELECT expires_at, count(*) AS n FROM leashes GROUP BY expires_at`
      expect(rows).toEqual([{ expires_at: Date.UTC(2026, 11, 3), n: 1 }])
    }))

  it.scopedLive("three instances starting together on one fresh database all start and migrate once", () =>
    Effect.gen(function*() {
      const url = yield* createDatabase(yield* cluster)
      const started = yield* Effect.all(
        [0, 1, 2].map(() => Effect.as(Layer.build(Database.layer(url)), "started")),
        { concurrency: "unbounded" }
      )
      expect(started).toEqual(["started", "started", "started"])
      const applied = yield* run(url, "SELECT migration_id FROM houndsight_migrations")
      expect(applied).toHaveLength(Object.keys(migrations).length)
      const triggers = yield* run(url, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")
      expect(triggers.map((r) => r["tgname"])).toEqual(["flags_counted", "leash_events_on_insert", "trails_columns", "trails_listed"])
    }))

  it.scopedLive("the test servers of the pg project run on PostgreSQL", () =>
    Effect.gen(function*() {
      if (backend !== "postgres") return
      const s = yield* startServer()
      expect(s.db).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_[0-9a-f]{16}$/)
      expect(s.info.db).toBe(s.db)
    }))

  it.scopedLive("an unreachable server stops startup naming its host, never the password", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => Postgres.freePort())
      const message = yield* startupMessage(`postgres://gate:s3cret-pw@127.0.0.1:${port}/houndsight`)
      expect(message).toContain(`127.0.0.1:${port}/houndsight`)
      expect(message).toContain("check that PostgreSQL runs there")
      expect(message).not.toContain("s3cret-pw")
    }))

  it.scopedLive("a bad URL or pool size is refused before connecting", () =>
    Effect.gen(function*() {
      const bad = yield* startupMessage("postgres://gate:s3cret-pw@[::1/houndsight")
      expect(bad).toContain("not a valid PostgreSQL URL")
      expect(bad).not.toContain("s3cret-pw")
      const pool = yield* startupMessage("postgres://127.0.0.1/x", { pool: 0 })
      expect(pool).toContain("must be a whole number from 1 to 1000, got 0")
    }))
})

/** An answer with what differs by instance (times the server takes, its address, its keys' ids) blanked. */
const comparable = (body: unknown, url: string): unknown =>
  JSON.parse(
    JSON.stringify(body).replaceAll(url, "URL").replace(/key_[0-9a-f]{12}/g, "KEY")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, (t) => t.startsWith("2026-11-24") ? t : "TIME"),
    (key, value) => ["created_at", "expires_at", "decided_at"].includes(key) && typeof value === "string" ? "TIME" : value
  )

describe.skipIf(!available)("PostgreSQL and SQLite", () => {
  it.scopedLive("write a new leash's event in its insert while a webhook exists, with the same id form, key and ISO time", () =>
    Effect.gen(function*() {
      const settings = [Path.join(yield* tempDir, "events.db"), yield* createDatabase(yield* cluster)]
      for (const setting of settings) {
        const sql = yield* Effect.provide(SqlClient.SqlClient, yield* Layer.build(Database.layer(setting)))
        const created = Date.UTC(2026, 11, 2, 3, 4, 5, 6)
        // no webhook yet: nobody to tell, no event
        yield* sql`INSERT INTO leashes (leash_id, request, status, created_at, expires_at, action_name)
          VALUES ('l-unheard', '{}', 'pending', ${created}, ${created + 60_000}, 'stripe.charge')`
        expect(yield* Outbox.leashEvent(sql, "leash.expired", "l-unheard", created + 60_000)).toBe(false)
        yield* sql`INSERT INTO webhooks (id, url, events, actions, format, secret, created_at)
          VALUES ('wh_1', 'https://hooks.example.com/h', 'leash.pending', '', 'standard', 'whsec_x', '2026-12-02T00:00:00.000Z')`
        yield* sql`INSERT INTO leashes (leash_id, request, status, created_at, expires_at, action_name)
          VALUES ('l-pending', '{}', 'pending', ${created}, ${created + 60_000}, 'stripe.charge'),
            ('l-blocked', '{}', 'decided', ${created + 994}, ${created + 60_000}, 'email.send')`
        const events = yield* sql<{ id: string; type: string; subject: string; action_name: string; dedupe_key: string; created_at: string }>`
          SELECT id, type, subject, action_name, dedupe_key, created_at FROM outbox_events ORDER BY subject`
        expect(events.map(({ id: _, ...rest }) => rest), setting).toStrictEqual([
          { type: "leash.decided", subject: "l-blocked", action_name: "email.send", dedupe_key: "decided:l-blocked", created_at: "2026-12-02T03:04:06.000Z" },
          { type: "leash.pending", subject: "l-pending", action_name: "stripe.charge", dedupe_key: "pending:l-pending", created_at: "2026-12-02T03:04:05.006Z" }
        ])
        // and the events of later changes, once each
        expect(yield* Outbox.leashEvent(sql, "leash.expired", "l-unheard", created + 60_000)).toBe(true)
        expect(yield* Outbox.leashEvent(sql, "leash.expired", "l-unheard", created + 60_000)).toBe(false)
        for (const e of events) expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      }
    }))

  it.scopedLive("answer the same to the same requests", () =>
    Effect.gen(function*() {
      const onSqlite = yield* startServer({ db: Path.join(yield* tempDir, "same.db") })
      const onPostgres = yield* startServer({ db: yield* createDatabase(yield* cluster) })
      const trail = trailRecord({ status: "ok", ended_at: at(9000), tags: { env: "prod", team: "billing" } })
      const other = trailRecord({ agent: "support-bot", started_at: at(-5000) })
      const steps = [
        stepRecord(trail.id, 1, "plan", { input: { text: "…".repeat(10) }, output: { plan: ["a", "b"] } }),
        reviewStep(trail.id, 2, "stripe.charge", "approved"),
        stepRecord(trail.id, 3, "stripe.charge", { parent_id: null }),
        stepRecord(other.id, 1, "search"),
        stepRecord(uuid(), 1, "orphan")
      ]
      const leash = leashRequest({ trail_id: trail.id })
      const pendingLeash = leashRequest({ timeout_seconds: 3600 })
      const script = (s: Running) =>
        Effect.gen(function*() {
          const out: Array<unknown> = []
          const send = (answer: { status: number; body: unknown }) => out.push([answer.status, comparable(answer.body, s.url)])
          send(yield* s.agent.post("/v1/ingest", { body: { trails: [trail, other], steps } }))
          send(yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: steps.slice(0, 2) } }))
          send(yield* s.agent.post("/v1/leashes", { body: leash }))
          send(yield* s.agent.post("/v1/leashes", { body: leash }))
          send(yield* s.agent.post("/v1/leashes", { body: { ...leash, action_summary: "changed" } }))
          send(yield* s.agent.post("/v1/leashes", { body: pendingLeash }))
          send(yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "ok" } }))
          send(yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "rejected", reason: "late" } }))
          send(yield* s.agent.get(`/v1/leashes/${leash.leash_id}`))
          send(yield* s.reviewer.get("/v1/leashes/pending"))
          send(yield* s.reviewer.get("/v1/trails"))
          send(yield* s.reviewer.get("/v1/trails?limit=1"))
          send(yield* s.reviewer.get("/v1/trails?tag=env:prod"))
          send(yield* s.reviewer.get("/v1/trails?agent=support-bot"))
          send(yield* s.reviewer.get(`/v1/trails/${trail.id}`))
          send(yield* s.reviewer.get(`/v1/trails/${trail.id}?limit=1`))
          send(yield* s.reviewer.get("/v1/flags"))
          return out
        })
      const a = yield* script(onSqlite)
      const b = yield* script(onPostgres)
      expect(b).toStrictEqual(a)
      // and what was answered is what a user relies on, not two equal failures
      expect(a.slice(0, 3).map((x) => (x as [number])[0])).toEqual([202, 202, 200])
    }))
})

describe.skipIf(available)("PostgreSQL backend", () => {
  it("needs PostgreSQL", () => {
    if (Postgres.required) throw new Error(Postgres.missingMessage)
    console.log(Postgres.skipMessage)
  })
})
