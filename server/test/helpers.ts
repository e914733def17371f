/**
 * Shared helpers of the server tests: a server on 127.0.0.1, port 0, with a temporary database
 * (a SQLite file, or a fresh PostgreSQL database under `HOUNDSIGHT_TEST_BACKEND=postgres`);
 * a plain `fetch` client (test/support/fetchClient.ts, shared with the reliability suite); and wire
 * records to send.
 */
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import type * as Wire from "houndsight/wire"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Database, Keys, type LeashDesk, Server, type Store, type Waiters } from "../src/index.js"
import type { StartupError } from "../src/ServerError.js"
import { type Client, client } from "../../test/support/fetchClient.js"
import { backend, freshDatabase } from "./postgres.js"

/** A temporary folder, removed with the scope. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "houndsight-server-test-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** A running test server. */
export interface Running {
  readonly url: string
  readonly agentKey: string
  readonly reviewerKey: string
  readonly info: Server.Info
  readonly db: string
  readonly context: Context.Context<Server.ServerInfo | LeashDesk.LeashDesk | Store.Store | Waiters.Waiters>
  /** Calls the server with the agent key. */
  readonly agent: Client
  /** Calls the server with the reviewer key. */
  readonly reviewer: Client
  /** Calls the server with no key. */
  readonly anonymous: Client
}

/** Starts a server in the scope (closed with it). */
export const startServer = (
  options: Server.Options = {}
): Effect.Effect<Running, StartupError, Scope.Scope> =>
  Effect.gen(function*() {
    // HOUNDSIGHT_TEST_BACKEND=postgres (the pg project): a fresh database of the run's cluster
    const db = options.db ?? (backend === "postgres" ? yield* freshDatabase : Path.join(yield* tempDir, "houndsight.db"))
    const context = yield* Layer.build(Server.layer({ port: 0, ...options, db }))
    const info = Context.get(context, Server.ServerInfo)
    // A later start on a database holds no key values (only their hashes): then the test gets a
    // new key of that kind, as an operator would make one with `keys create`.
    const keyOf = (role: Wire.KeyRole) => {
      const known = info.keys.find((k) => k.role === role)
      if (known !== undefined) return Effect.succeed(Redacted.value(known.key))
      return Keys.create(role === "agent" ? { kind: "development" } : { kind: "reviewer", person: "test reviewer" }).pipe(
        Effect.map((made) => Redacted.value(made.key)),
        Effect.provide(Database.layer(db)),
        Effect.orDie
      )
    }
    const agentKey = yield* keyOf("agent")
    const reviewerKey = yield* keyOf("reviewer")
    return {
      url: info.url,
      agentKey,
      reviewerKey,
      info,
      db,
      context,
      agent: client(info.url, agentKey),
      reviewer: client(info.url, reviewerKey),
      anonymous: client(info.url, undefined)
    }
  })

export { type Answer, type Client, client, type Send } from "../../test/support/fetchClient.js"

/** A fresh UUID (v4). */
export const uuid = (): string => Crypto.randomUUID()

/** An ISO time `offsetMillis` after a fixed instant. */
export const at = (offsetMillis = 0): string => new Date(Date.UTC(2026, 10, 24, 9, 0, 0) + offsetMillis).toISOString()

/** A trail record on the wire. */
export const trailRecord = (overrides: Record<string, unknown> = {}): Wire.TrailRecordWire =>
  ({
    id: uuid(),
    agent: "billing-bot",
    trigger: "user_message",
    payload: { text: "charge cus_42" },
    status: "running",
    started_at: at(),
    events: [],
    ...overrides
  }) as Wire.TrailRecordWire

/** A step record on the wire. */
export const stepRecord = (
  trailId: string,
  seq: number,
  name: string,
  overrides: Record<string, unknown> = {}
): Wire.StepRecordWire =>
  ({
    id: uuid(),
    trail_id: trailId,
    parent_id: null,
    seq,
    name,
    layer: "execute",
    status: "ok",
    started_at: at(seq * 1000),
    ended_at: at(seq * 1000 + 500),
    events: [],
    ...overrides
  }) as Wire.StepRecordWire

/** A leash's review step on the wire, for `decision`. */
export const reviewStep = (
  trailId: string,
  seq: number,
  actionName: string,
  decision: Wire.DecisionValue,
  overrides: Record<string, unknown> = {}
): Wire.StepRecordWire => {
  const approved = decision === "approved" || decision === "modified"
  const leashId = uuid()
  return stepRecord(trailId, seq, actionName, {
    layer: "review",
    input: { action_summary: `do ${actionName}`, risk_signals: {}, payload: {} },
    output: {
      decision,
      approved,
      reason: decision,
      leash_id: leashId,
      trace_link: `http://127.0.0.1:7411/leashes/${leashId}`,
      ...(decision === "modified" ? { modified_payload: {} } : {})
    },
    leash: { leash_id: leashId, action_name: actionName, decision, approved, reason: decision },
    ...overrides
  })
}

/** A leash request on the wire. */
export const leashRequest = (overrides: Record<string, unknown> = {}): Wire.LeashRequestWire =>
  ({
    leash_id: uuid(),
    trail_id: uuid(),
    step_id: uuid(),
    agent: "billing-bot",
    action_name: "stripe.charge",
    action_summary: "Charge cus_42 $120.00",
    risk_signals: { amount_usd: 120, data_categories: ["payment"] },
    payload: { customer: "cus_42", amount_usd: 120 },
    timeout_seconds: 300,
    blocking: true,
    ...overrides
  }) as Wire.LeashRequestWire

/**
 * A review step for a leash the server really holds: the leash is created for this trail and
 * action with the agent key and, for `approved`, `modified` or `rejected`, decided so by the
 * reviewer key, so the server's cross-check confirms the step.
 */
export const gatedReviewStep = (
  s: Running,
  trailId: string,
  seq: number,
  actionName: string,
  decision: "approved" | "modified" | "rejected",
  overrides: Record<string, unknown> = {}
): Effect.Effect<Wire.StepRecordWire> =>
  Effect.gen(function*() {
    const step = reviewStep(trailId, seq, actionName, decision, overrides)
    const leashId = (step.leash as { leash_id: string }).leash_id
    const created = yield* s.agent.post("/v1/leashes", {
      body: leashRequest({ leash_id: leashId, trail_id: trailId, step_id: step.id, action_name: actionName })
    })
    if (created.status !== 200) return yield* Effect.die(`leash not created: ${created.text}`)
    const decided = yield* s.reviewer.post(`/v1/leashes/${leashId}/decision`, {
      body: { decision, reason: decision, ...(decision === "modified" ? { modified_payload: {} } : {}) }
    })
    if (decided.status !== 200) return yield* Effect.die(`leash not decided: ${decided.text}`)
    return step
  })
