/**
 * Who may do what, across three server instances on one database (PostgreSQL, and a SQLite
 * file; see `cluster.ts`) behind the round-robin proxy: a reviewer's dashboard session and its CSRF token
 * hold on every instance and across a restart, sign-out ends it everywhere, and a revoked key is
 * refused by every instance.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Redacted } from "effect"
import * as Crypto from "node:crypto"
import { Database, Keys } from "../../src/index.js"
import { csrfOf, signIn, tab } from "../dashboard/helpers.js"
import { client, leashRequest } from "../helpers.js"
import * as Cluster from "./cluster.js"

describe.each(Cluster.backends)("sessions and keys on three instances (%s)", (backend) => {
  it.scopedLive("a reviewer signs in through the proxy and stays signed in on every instance, decides with the session's token, and signs out everywhere", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend })
      // the sign-in page, the sign-in post and the first page land on three different instances
      const { csrf, tab: t } = yield* signIn({ url: cluster.proxy.url, reviewerKey: cluster.reviewerKey })
      const session = t.cookies.get("houndsight_session")!
      // every instance knows the session (straight to each, and round-robin through the proxy)
      for (const instance of cluster.instances) {
        const direct = tab(instance.url)
        direct.cookies.set("houndsight_session", session)
        const page = yield* direct.get("/")
        expect(page.status).toBe(200)
        expect(csrfOf(page)).toBe(csrf)
      }
      for (let i = 0; i < 6; i++) expect((yield* t.get("/flags")).status).toBe(200)
      // a decision form posted through the proxy carries the token another instance rendered
      const body = leashRequest()
      expect((yield* cluster.agent.post("/v1/leashes", { body })).status).toBe(200)
      const decided = yield* t.post(`/leashes/${body.leash_id}/decision`, { csrf, decision: "approved", reason: "ok" })
      expect(decided.status).toBe(303)
      const read = yield* cluster.agent.get(`/v1/leashes/${body.leash_id}`)
      expect(read.body.decision.decision).toBe("approved")
      // a restarted instance (a new one on the same database) knows the session too
      const restarted = yield* cluster.startAnother()
      const later = tab(restarted.url)
      later.cookies.set("houndsight_session", session)
      expect((yield* later.get("/")).status).toBe(200)
      // sign-out on one instance ends the session on all
      expect((yield* t.post("/logout", { csrf })).status).toBe(303)
      for (const instance of [...cluster.instances, restarted]) {
        const direct = tab(instance.url)
        direct.cookies.set("houndsight_session", session)
        const page = yield* direct.get("/")
        expect(page.status).toBe(303)
        expect(page.location).toMatch(/^\/login/)
      }
    }))

  it.scopedLive("the database holds a hash of each session id, never the id or its token", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(1, { backend })
      const { csrf, tab: t } = yield* signIn({ url: cluster.proxy.url, reviewerKey: cluster.reviewerKey })
      const session = t.cookies.get("houndsight_session")!
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<Record<string, string>>`SELECT * FROM dashboard_sessions`).pipe(
        Effect.provide(Database.layer(cluster.db)),
        Effect.orDie
      )
      expect(rows).toHaveLength(1)
      expect(rows[0]!["id_hash"]).toBe(Crypto.createHash("sha256").update(session).digest("hex"))
      const stored = JSON.stringify(rows)
      expect(stored).not.toContain(session)
      expect(stored).not.toContain(csrf)
    }))

  it.scopedLive("a key revoked while three instances run is refused by every one of them, and its dashboard sessions end", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend })
      const inDb = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
        effect.pipe(Effect.provide(Database.layer(cluster.db)), Effect.orDie)
      const reviewer = yield* inDb(Keys.create({ kind: "reviewer", person: "Grace Hopper" }))
      const agent = yield* inDb(Keys.create({ kind: "development" }))
      const { tab: t } = yield* signIn({ url: cluster.proxy.url, reviewerKey: Redacted.value(reviewer.key) })
      // in force on every instance (each remembers it was seen)
      for (const instance of cluster.instances) {
        expect((yield* client(instance.url, Redacted.value(reviewer.key)).get("/v1/leashes?status=pending")).status).toBe(200)
        expect((yield* client(instance.url, Redacted.value(agent.key)).post("/v1/leashes", { body: leashRequest() })).status).toBe(200)
      }
      // revoked once (as `keys revoke` does, on the database all three share)
      yield* inDb(Keys.revoke(reviewer.info.id))
      yield* inDb(Keys.revoke(agent.info.id))
      for (const instance of cluster.instances) {
        const asReviewer = yield* client(instance.url, Redacted.value(reviewer.key)).get("/v1/leashes?status=pending")
        expect(asReviewer.status).toBe(401)
        expect(asReviewer.body.error.code).toBe("key_revoked")
        const asAgent = yield* client(instance.url, Redacted.value(agent.key)).post("/v1/leashes", { body: leashRequest() })
        expect(asAgent.status).toBe(401)
        expect(asAgent.body.error.code).toBe("key_revoked")
      }
      // the reviewer's session ends on every instance
      for (let i = 0; i < 3; i++) expect((yield* t.get("/")).status).toBe(303)
    }))
})
