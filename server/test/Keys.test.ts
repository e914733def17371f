/**
 * Keys that say who is who (issue 15): keys created, listed and revoked by the command, stored
 * hashed and shown once; a revoked key refused on its next request without a restart (API and
 * dashboard); agent keys bound to an agent name (`agent_mismatch`) and trails owned by the key
 * that first wrote them; reviewer keys that read and decide but never ingest or create leashes;
 * decisions that name the person who made them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { Cli, Keys } from "../src/index.js"
import { csrfOf, signIn } from "./dashboard/helpers.js"
import { client, leashRequest, startServer, stepRecord, tempDir, trailRecord, uuid } from "./helpers.js"
import { runServer } from "./process.js"

const Sqlite = createRequire(import.meta.url)("better-sqlite3") as new(
  path: string,
  options: { readonly readonly: boolean }
) => { prepare: (sql: string) => { all: () => Array<unknown> }; close: () => void }

/** Runs a keys command in this process, on the server's database file (as another process would). */
const keys = (db: string, ...args: ReadonlyArray<string>) =>
  Effect.flatMap(Cli.parse(["keys", ...args, "--db", db], {}), (command) => {
    if (command._tag !== "Keys") throw new Error(`not a keys command: ${args.join(" ")}`)
    return Cli.runKeys(command.command)
  })

/** The key and id a `keys create` printed. */
const created = (text: string) => {
  const match = /created (agent|reviewer) key (key_[0-9a-f]{12}) for [\s\S]*?\n\n {2}((?:sk|rv)-hnd-\S+)\n/.exec(text)
  if (match === null) throw new Error(`no key in:\n${text}`)
  return { id: match[2]!, key: match[3]! }
}

describe("keys create, list, revoke", () => {
  it.scopedLive("the command creates keys (shown once, stored hashed), lists them and revokes one; the running server refuses it at once", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const env = {}
      const cwd = yield* tempDir
      const made = yield* runServer(["keys", "create", "--agent", "billing-bot", "--db", s.db], { cwd, env })
      expect(made.code, made.stderr).toBe(0)
      expect(made.stdout).toContain("It is shown only this once")
      const agent = created(made.stdout)
      expect(agent.key).toMatch(/^sk-hnd-[A-Za-z0-9_-]{32}$/)
      const person = created(yield* keys(s.db, "create", "--reviewer", "Ada Lovelace", "--email", "ada@example.com"))
      expect(person.key).toMatch(/^rv-hnd-/)

      // stored as hashes only: neither key's text is anywhere in the file's key table
      const file = new Sqlite(s.db, { readonly: true })
      const rows = file.prepare("SELECT * FROM api_keys").all() as Array<Record<string, unknown>>
      file.close()
      const dump = JSON.stringify(rows)
      for (const k of [agent.key, person.key, s.agentKey, s.reviewerKey]) {
        expect(dump).not.toContain(k)
        expect(dump).toContain(Keys.hash(k))
      }

      // the new keys work on the running server, without a restart
      const bot = client(s.url, agent.key)
      const trail = trailRecord({ agent: "billing-bot" })
      expect((yield* bot.post("/v1/ingest", { body: { trails: [trail], steps: [] } })).status).toBe(202)
      expect((yield* client(s.url, person.key).get("/v1/trails")).status).toBe(200)

      const list = yield* runServer(["keys", "list", "--db", s.db], { cwd, env })
      expect(list.code, list.stderr).toBe(0)
      const lines = list.stdout.trim().split("\n")
      expect(lines[0]).toMatch(/^ID\s+KIND\s+AGENT OR PERSON\s+CREATED\s+LAST USED\s+REVOKED$/)
      const line = (id: string) => lines.find((l) => l.startsWith(id)) ?? ""
      expect(line(agent.id)).toMatch(/agent\s+agent billing-bot\s+\S+Z\s+\S+Z\s+no$/) // used just now
      expect(line(person.id)).toMatch(/reviewer\s+Ada Lovelace <ada@example.com>\s+\S+Z\s+\S+Z\s+no$/)
      expect(list.stdout).toContain("any agent (development key)")
      expect(list.stdout).not.toContain(agent.key)

      const revoked = yield* runServer(["keys", "revoke", agent.id, "--db", s.db], { cwd, env })
      expect(revoked.code, revoked.stderr).toBe(0)
      const refused = yield* bot.post("/v1/ingest", { body: { trails: [trail], steps: [] } })
      expect(refused.status).toBe(401)
      expect(refused.body.error.code).toBe("key_revoked")
      expect(refused.body.error.message).toContain(agent.id)
      expect((yield* client(s.url, s.agentKey).get("/healthz")).status).toBe(200)
      expect((yield* keys(s.db, "list"))).toMatch(new RegExp(`${agent.id}.*\\d{4}-\\d\\d-\\d\\dT\\S+Z$`, "m"))

      const unknown = yield* runServer(["keys", "revoke", "key_000000000000", "--db", s.db], { cwd, env })
      expect(unknown.code).toBe(1)
      expect(unknown.stderr).toContain("no key has the id \"key_000000000000\"")
    }), 120_000)

  it.scopedLive("a revoked reviewer's dashboard session ends on its next page; their key cannot sign in again", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const person = created(yield* keys(s.db, "create", "--reviewer", "Grace Hopper"))
      const { tab } = yield* signIn(s, person.key)
      const queue = yield* tab.get("/")
      expect(queue.status).toBe(200)
      expect(queue.text).toContain("Grace Hopper") // who is signed in
      // the first start's development key is still in force: the dashboard says so, with its id
      const devId = s.info.keys.find((k) => k.development)!.id
      expect(queue.text).toContain(`A development agent key (<code>${devId}</code>) is in force`)
      yield* keys(s.db, "revoke", devId)
      expect((yield* tab.get("/")).text).not.toContain("data-development-key")
      yield* keys(s.db, "revoke", person.id)
      const after = yield* tab.get("/")
      expect(after.status).toBe(303)
      expect(after.headers.get("location")).toMatch(/^\/login/)
      const fresh = tab
      const login = yield* fresh.get("/login")
      const again = yield* fresh.post("/login", { csrf: csrfOf(login), key: person.key, next: "/" })
      expect(again.status).toBe(401)
      expect(again.text).toContain(`This key (${person.id}) was revoked`)
    }))

  it.effect("keys commands refuse a bad command line, naming what is wrong", () =>
    Effect.gen(function*() {
      for (
        const [argv, text] of [
          [["keys"], "keys needs a command"],
          [["keys", "make"], "keys \"make\" is not a command"],
          [["keys", "create"], "needs one of --agent NAME"],
          [["keys", "create", "--agent", "a", "--reviewer", "b"], "needs one of --agent NAME"],
          [["keys", "create", "--agent", " "], "--agent needs a name"],
          [["keys", "create", "--agent", "bot", "--email", "a@b.c"], "--email goes with --reviewer"],
          [["keys", "create", "--reviewer", "Ada", "--email", "nope"], "--email must be an address"],
          [["keys", "revoke"], "keys revoke needs one key id"],
          [["keys", "list", "--port", "1"], "takes no --port"],
          [["--agent", "bot"], "--agent goes with keys create"]
        ] as const
      ) {
        const error = yield* Effect.flip(Cli.parse(argv, {}))
        expect(error.reason, argv.join(" ")).toBe("Usage")
        expect(error.message, argv.join(" ")).toContain(text)
      }
    }))
})

describe("who may write what", () => {
  it.scopedLive("a bound agent key writes only its agent's trails and leashes: another agent's name is 403 agent_mismatch, nothing stored", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const bot = client(s.url, created(yield* keys(s.db, "create", "--agent", "billing-bot")).key)
      const other = trailRecord({ agent: "sales-pipeline" })
      const step = stepRecord(other.id, 1, "lookup")
      const refused = yield* bot.post("/v1/ingest", { body: { trails: [other], steps: [step] } })
      expect(refused.status).toBe(403)
      expect(refused.body.error.code).toBe("agent_mismatch")
      expect(refused.body.error.message).toContain("\"sales-pipeline\"")
      expect(refused.body.error.message).toContain("\"billing-bot\"")
      expect((yield* s.reviewer.get(`/v1/trails/${other.id}`)).status).toBe(404)

      const leash = leashRequest({ agent: "sales-pipeline" })
      const refusedLeash = yield* bot.post("/v1/leashes", { body: leash })
      expect(refusedLeash.status).toBe(403)
      expect(refusedLeash.body.error.code).toBe("agent_mismatch")
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).status).toBe(404)

      const own = leashRequest({ agent: "billing-bot" })
      expect((yield* bot.post("/v1/leashes", { body: own })).status).toBe(200)
      // the development key may name any agent
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [other], steps: [step] } })).status).toBe(202)
    }))

  it.scopedLive("a trail belongs to the key that first wrote it: steps, records and leashes into it from another key are 403 agent_mismatch", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const first = client(s.url, created(yield* keys(s.db, "create", "--agent", "billing-bot")).key)
      const second = client(s.url, created(yield* keys(s.db, "create", "--agent", "billing-bot")).key)
      const trail = trailRecord({ agent: "billing-bot" })
      expect((yield* first.post("/v1/ingest", { body: { trails: [trail], steps: [] } })).status).toBe(202)
      // a step whose trail has not arrived yet also claims it
      const early = uuid()
      expect((yield* first.post("/v1/ingest", { body: { trails: [], steps: [stepRecord(early, 1, "plan")] } })).status).toBe(202)

      for (
        const body of [
          { trails: [], steps: [stepRecord(trail.id, 3, "sneak")] },
          { trails: [{ ...trail, status: "ok", ended_at: trail.started_at }], steps: [] },
          { trails: [], steps: [stepRecord(early, 2, "sneak")] },
          // one foreign trail refuses the whole batch
          { trails: [trailRecord({ agent: "billing-bot" })], steps: [stepRecord(trail.id, 3, "sneak")] }
        ]
      ) {
        const answer = yield* second.post("/v1/ingest", { body })
        expect(answer.status).toBe(403)
        expect(answer.body.error.code).toBe("agent_mismatch")
        expect(answer.body.error.message).toContain("belongs to another key")
      }
      const leash = yield* second.post("/v1/leashes", { body: leashRequest({ trail_id: trail.id }) })
      expect(leash.status).toBe(403)
      expect(leash.body.error.code).toBe("agent_mismatch")
      // the development key is another key too
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [stepRecord(trail.id, 4, "x")] } })).status)
        .toBe(403)
      const detail = (yield* s.reviewer.get(`/v1/trails/${trail.id}`)).body
      expect(detail.trail.status).toBe("running")
      expect(JSON.stringify(detail)).not.toContain("sneak")
      // the owner goes on writing into it
      expect((yield* first.post("/v1/ingest", { body: { trails: [], steps: [stepRecord(trail.id, 2, "own")] } })).status)
        .toBe(202)
    }))

  it.scopedLive("a reviewer key reads and decides but may not ingest, create or cancel leashes (403); the decision names the person", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const ada = created(yield* keys(s.db, "create", "--reviewer", "Ada Lovelace"))
      const reviewer = client(s.url, ada.key)
      const ingest = yield* reviewer.post("/v1/ingest", { body: { trails: [trailRecord()], steps: [] } })
      expect(ingest.status).toBe(403)
      expect(ingest.body.error.code).toBe("forbidden")
      expect(ingest.body.error.message).toContain("may read and decide, not ingest records")
      const own = leashRequest()
      const create = yield* reviewer.post("/v1/leashes", { body: own })
      expect(create.status).toBe(403)
      expect(create.body.error.message).toContain("not create leashes")

      const leash = leashRequest()
      expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
      expect((yield* reviewer.get(`/v1/leashes/${leash.leash_id}`)).status).toBe(200)
      // nor cancel one: a cancel is the waiting agent's, and would end the leash undecided
      const cancel = yield* reviewer.post(`/v1/leashes/${leash.leash_id}/cancel`, { body: {} })
      expect(cancel.status).toBe(403)
      expect(cancel.body.error.message).toContain("not cancel leashes")
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body.status).toBe("pending")
      const decided = yield* reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "ok" } })
      expect(decided.status).toBe(200)
      expect(decided.body.decision.decided_by).toBe("Ada Lovelace")
      expect(decided.body.decision.reviewer).toStrictEqual({ id: ada.id, name: "Ada Lovelace" })
      // the agent reads the same, and so does the first start's reviewer
      expect((yield* s.agent.get(`/v1/leashes/${leash.leash_id}`)).body.decision.reviewer).toStrictEqual({
        id: ada.id,
        name: "Ada Lovelace"
      })
      const byFirst = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: byFirst })
      const second = yield* s.reviewer.post(`/v1/leashes/${byFirst.leash_id}/decision`, { body: { decision: "rejected", reason: "no" } })
      expect(second.body.decision.decided_by).toBe(Keys.firstReviewerName)
      expect(second.body.decision.reviewer.id).toBe(s.info.keys.find((k) => k.role === "reviewer")!.id)
    }))
})

describe("the first start and later starts", () => {
  it.scopedLive("the first start creates a development agent key and a reviewer key, printed once; later starts print their ids", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "keys.db")
      const first = yield* Effect.scoped(Effect.map(startServer({ db }), (s) => s.info))
      expect(first.keys.map((k) => [k.role, k.source, k.development])).toStrictEqual([
        ["agent", "generated", true],
        ["reviewer", "generated", false]
      ])
      const text = Cli.banner(first)
      expect(text).toContain(`${Redacted.value(first.keys[0]!.key)}  (new, ${first.keys[0]!.id}; shown only now)`)
      expect(text).toContain("a development key: accepted for any agent name")

      const later = yield* startServer({ db })
      expect(later.info.keys).toStrictEqual([])
      const again = Cli.banner(later.info)
      for (const k of first.keys) {
        expect(again).not.toContain(Redacted.value(k.key))
        expect(again).toContain(k.id)
      }
      expect(again).toContain("any agent (development key)")
      // the first start's keys still work
      expect((yield* client(later.url, Redacted.value(first.keys[1]!.key)).get("/v1/trails")).status).toBe(200)
      // all reviewer keys revoked: a restart does not make a new one (nothing is opened behind the owner's back)
      yield* keys(db, "revoke", first.keys[1]!.id)
      const third = yield* startServer({ db, port: 0 })
      expect(third.info.keys).toStrictEqual([])
    }))
})
