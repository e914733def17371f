/**
 * Webhook delivery survives SIGKILL (issue 19): server processes on one database are killed
 * while agents create leashes and reviewers decide them, and a receiver on 127.0.0.1 (slow to
 * answer, so kills land mid-delivery) records the event ids. After a last start, every event the
 * server acknowledged (a 200 to the creation or the decision) has reached the receiver at least
 * once, and every event in the outbox has been delivered.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Path from "node:path"
import { Cli, Database } from "../src/index.js"
import { scopedServer } from "../../test/support/serverProcess.js"
import { scopedReceiver } from "../../test/support/webhookReceiver.js"
import { client, leashRequest, tempDir } from "./helpers.js"

const agentKey = "sk-hnd-webhooks-restart-test-agent-key-0001"
const reviewerKey = "rv-hnd-webhooks-restart-test-reviewer-key-01"

describe("webhook delivery across SIGKILL", () => {
  it.scopedLive("every acknowledged event is delivered at least once; none is lost", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const db = Path.join(dir, "gate.db")
      const receiver = yield* scopedReceiver(() => ({ status: 200, delayMillis: 40 }))
      const add = yield* Cli.parse(["webhooks", "add", receiver.url, "--events", "leash.pending,leash.decided", "--db", db], {})
      if (add._tag !== "Webhooks") return yield* Effect.die("not a webhooks command")
      yield* Cli.runWebhooks(add.command)

      const start = () =>
        scopedServer({
          args: ["--port", "0", "--db", db, "--webhook-timeout", "1"],
          cwd: dir,
          env: { HOUNDSIGHT_AGENT_KEY: agentKey, HOUNDSIGHT_REVIEWER_KEY: reviewerKey }
        })
      /** What the server acknowledged: `leash.pending {id}` / `leash.decided {id}`. */
      const acknowledged = new Set<string>()

      for (let round = 0; round < 3; round++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const server = yield* start()
          const agent = client(server.url, agentKey)
          const reviewer = client(server.url, reviewerKey)
          const work = Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) =>
            Effect.gen(function*() {
              const leash = leashRequest({ action_name: `stripe.charge` })
              const created = yield* agent.post("/v1/leashes", { body: leash })
              if (created.status !== 200) return
              acknowledged.add(`leash.pending ${leash.leash_id}`)
              if (i % 2 === 0) return
              const decided = yield* reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved" } })
              if (decided.status === 200) acknowledged.add(`leash.decided ${leash.leash_id}`)
            }).pipe(Effect.catchAllDefect(() => Effect.void)), { concurrency: 4, discard: true })
          // killed mid-work: some requests are in flight, deliveries are claimed and unanswered
          yield* Effect.race(work, Effect.sleep(`${400 + round * 150} millis`))
          yield* Effect.promise(() => server.stop("SIGKILL"))
        }))
      }
      expect(acknowledged.size).toBeGreaterThan(10)

      yield* Effect.scoped(Effect.gen(function*() {
        yield* start()
        const delivered = () =>
          new Set(receiver.received.map((r) => {
            const body = JSON.parse(r.body)
            return `${body.type} ${body.data.leash_id}`
          }))
        yield* Effect.promise(() => receiver.until(() => [...acknowledged].every((e) => delivered().has(e)), 60_000))
          .pipe(Effect.catchAllDefect((e) =>
            Effect.die(`${String(e)}; missing: ${[...acknowledged].filter((x) => !delivered().has(x)).slice(0, 5).join(", ")}`)
          ))
        // every event written (acknowledged or not) is delivered: nothing stays behind
        const pending = () =>
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql<{ n: number }>`SELECT count(*) AS n FROM outbox_events e WHERE e.fanned_out = 0 OR EXISTS
              (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status <> 'delivered')`).pipe(
            Effect.provide(Database.layer(db)),
            Effect.orDie
          )
        let left = (yield* pending())[0]!.n
        for (let i = 0; i < 300 && Number(left) > 0; i++) {
          yield* Effect.sleep("100 millis")
          left = (yield* pending())[0]!.n
        }
        expect(Number(left)).toBe(0)
        const ids = new Set(receiver.received.map((r) => String(r.headers["webhook-id"])))
        const events = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ id: string }>`SELECT id FROM outbox_events`).pipe(
          Effect.provide(Database.layer(db)),
          Effect.orDie
        )
        expect(events.filter((e) => !ids.has(e.id))).toStrictEqual([])
      }))
    }), 180_000)
})
