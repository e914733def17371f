/**
 * `0003_bounded_reads` on a database written before it: every stored leash gets its summary (a
 * payload preview, the full size), its trail, action and agent, and every trail its list
 * columns, flag count and tags, so the v1.1 lists answer them like new ones.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Path from "node:path"
import * as Canonical from "../src/Canonical.js"
import { migrations } from "../src/Migrations.js"
import { at, leashRequest, startServer, tempDir, trailRecord, uuid } from "./helpers.js"

const before = Migrator.make({})({
  loader: Migrator.fromRecord({
    "0001_initial": migrations["0001_initial"],
    "0002_review_steps_by_trail": migrations["0002_review_steps_by_trail"]
  }),
  table: "houndsight_migrations"
})

describe("0003_bounded_reads", () => {
  it.scopedLive("fills in the summaries of leashes and trails stored before it", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "old.db")
      const payload = new Array(400_000).fill({})
      const leash = leashRequest({ payload, timeout_seconds: 3600 })
      const trail = trailRecord({ status: "ok", ended_at: at(5000), tags: { env: "prod" } })
      const now = Date.now()
      yield* Effect.gen(function*() {
        yield* before
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO leashes (leash_id, request, status, created_at, expires_at)
          VALUES (${leash.leash_id}, ${Canonical.stringify(leash)}, 'pending', ${now}, ${now + 3_600_000})`
        yield* sql`INSERT INTO trails (id, record, status, sort_key)
          VALUES (${trail.id}, ${JSON.stringify(trail)}, 'ok', ${trail.started_at})`
        yield* sql`INSERT INTO flags (trail_id, step_id, seq, kind, action_name)
          VALUES (${trail.id}, ${uuid()}, 1, 'unleashed_action', 'stripe.charge')`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: db })), Effect.scoped)

      const s = yield* startServer({ db })
      const list = yield* s.reviewer.get("/v1/leashes")
      expect(list.body.leashes).toHaveLength(1)
      const [item] = list.body.leashes
      expect(item.payload_preview).toMatchObject({ bytes: JSON.stringify(payload).length, cut: true })
      expect(item.payload_preview.text.length).toBeLessThanOrEqual(4096)
      expect(item.request.action_name).toBe(leash.action_name)
      const whole = yield* s.reviewer.get(`/v1/leashes/${leash.leash_id}`)
      expect(whole.body.request.payload).toHaveLength(400_000)
      const tagged = yield* s.reviewer.get("/v1/trails?tag=env:prod&flagged=true")
      expect(tagged.body.trails.map((t: any) => [t.id, t.flag_count, t.tags])).toStrictEqual([[trail.id, 1, { env: "prod" }]])
      const byAgent = yield* s.reviewer.get(`/v1/trails?agent=${trail.agent}&trigger=${trail.trigger}`)
      expect(byAgent.body.trails.map((t: any) => t.id)).toStrictEqual([trail.id])
    }))
})
