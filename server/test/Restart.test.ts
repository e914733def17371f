/**
 * Durability: the real command, killed with SIGKILL and started again on the same database and
 * port. A pending leash and its decision survive; the keys stay the same; an agent that keeps
 * waiting across the restart (the SDK's `Leash.request` through `HttpGate`) gets the decision.
 * SIGTERM stops the server with exit code 0, answering held long-polls first.
 */
import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Redacted, Scope } from "effect"
import { HttpGate, Leash, Memory, Trail } from "houndsight"
import * as Path from "node:path"
import { Waiters } from "../src/index.js"
import { client, leashRequest, startServer, tempDir } from "./helpers.js"
import { spawnServer } from "./process.js"

describe("restarts", () => {
  it.scopedLive(
    "a pending leash and its decision survive SIGKILL; an agent waiting across the restart gets the decision, keys unchanged",
    () =>
      Effect.gen(function*() {
        const cwd = yield* tempDir
        const db = Path.join(cwd, "gate.db")
        const first = yield* spawnServer(["--port", "0", "--db", db], { cwd })
        const agentOf = (url: string, key: string) => client(url, key)

        // an agent asks the gate, through the SDK, and waits
        const gate = HttpGate.layer({ endpoint: first.url, apiKey: Redacted.make(first.agentKey) }).pipe(
          Layer.provide(FetchHttpClient.layer)
        )
        const waiting = yield* Effect.fork(
          Leash.request({
            actionName: "stripe.charge",
            actionSummary: "Charge cus_42 $120.00",
            riskSignals: { amountUsd: 120 },
            payload: { customer: "cus_42" },
            timeoutSeconds: 120
          }).pipe(
            Trail.run({ trigger: "test", payload: {} }),
            Effect.provide(Layer.merge(gate, Memory.layer({ endpoint: first.url })))
          )
        )
        // and a second leash, created by hand
        const byHand = leashRequest({ timeout_seconds: 120 })
        expect((yield* agentOf(first.url, first.agentKey).post("/v1/leashes", { body: byHand })).status).toBe(200)
        const reviewer1 = client(first.url, first.reviewerKey)
        while ((yield* reviewer1.get("/v1/leashes")).body.leashes.length < 2) yield* Effect.sleep("10 millis")

        expect(yield* first.stop("SIGKILL")).toBeNull()

        const second = yield* spawnServer(["--port", String(first.port), "--db", db], { cwd })
        expect(second.url).toBe(first.url)
        // a later start prints the key ids, not the keys: the first start's keys go on working
        expect([second.agentKey, second.reviewerKey]).toStrictEqual(["", ""])
        expect(second.output()).not.toContain(first.agentKey)
        const reviewer2 = client(second.url, first.reviewerKey)
        const pending = (yield* reviewer2.get("/v1/leashes")).body.leashes
        expect(pending).toHaveLength(2)
        const sdkLeash = pending.find((l: any) => l.leash_id !== byHand.leash_id)
        for (const leash of pending) {
          const answer = yield* reviewer2.post(`/v1/leashes/${leash.leash_id}/decision`, {
            body: { decision: "approved", reason: "approved after the restart" }
          })
          expect(answer.status).toBe(200)
        }

        const decision = yield* Fiber.join(waiting).pipe(
          Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the waiting agent never got the decision") })
        )
        expect(decision).toMatchObject({
          decision: "approved",
          approved: true,
          reason: "approved after the restart",
          leashId: sdkLeash.leash_id
        })

        const decided = (yield* client(second.url, first.agentKey).get(`/v1/leashes/${byHand.leash_id}`)).body
        expect(yield* second.stop("SIGKILL")).toBeNull()
        const third = yield* spawnServer(["--port", "0", "--db", db], { cwd })
        const after = yield* client(third.url, first.agentKey).get(`/v1/leashes/${byHand.leash_id}`)
        expect(after.body.decision).toStrictEqual({ ...decided.decision, trace_link: `${third.url}/leashes/${byHand.leash_id}` })
        expect(after.body.decision.decision).toBe("approved")
      }),
    120_000
  )

  it.scopedLive("SIGTERM stops the command with exit code 0", () =>
    Effect.gen(function*() {
      const cwd = yield* tempDir
      const server = yield* spawnServer(["--port", "0", "--db", Path.join(cwd, "gate.db")], { cwd })
      expect((yield* client(server.url, server.agentKey).get("/healthz")).status).toBe(200)
      expect(yield* server.stop("SIGTERM")).toBe(0)
    }), 60_000)

  it.live("closing the server answers held long-polls first, so it stops at once", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const s = yield* Scope.extend(startServer(), scope)
      const leash = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: leash })
      const poll = yield* Effect.fork(s.agent.get(`/v1/leashes/${leash.leash_id}?wait_seconds=30`))
      const waiters = Context.get(s.context, Waiters.Waiters)
      while ((yield* waiters.size) < 1) yield* Effect.sleep("5 millis")
      yield* Scope.close(scope, Exit.void).pipe(
        Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the server did not close: a long-poll held it") })
      )
      const answer = yield* Fiber.join(poll)
      expect(answer.status).toBe(200)
      expect(answer.body.status).toBe("pending")
    }))
})
