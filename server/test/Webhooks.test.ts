/**
 * Webhooks end to end (issue 19, notifications and reminders): webhooks made by the CLI's
 * commands on the server's database, a server on 127.0.0.1, and local receivers recording what
 * they get. The signature is checked as README's snippet checks it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Crypto from "node:crypto"
import * as Path from "node:path"
import { Cli } from "../src/index.js"
import * as Slack from "../src/Slack.js"
import * as Webhooks from "../src/Webhooks.js"
import { signIn, tab as newTab } from "../../test/support/dashboardTab.js"
import { type Received, scopedReceiver } from "../../test/support/webhookReceiver.js"
import { at, leashRequest, reviewStep, startServer, stepRecord, tempDir, trailRecord } from "./helpers.js"

/** Runs a `webhooks …` command line on `db`; answers what it printed. */
const cli = (db: string, ...argv: ReadonlyArray<string>) =>
  Effect.flatMap(Cli.parse([...argv, "--db", db], {}), (command) =>
    command._tag === "Webhooks" ? Cli.runWebhooks(command.command) : Effect.die(`not a webhooks command: ${argv.join(" ")}`))

/** Adds a webhook; answers its id and secret. */
const addHook = (db: string, url: string, ...flags: ReadonlyArray<string>) =>
  Effect.map(cli(db, "webhooks", "add", url, ...flags), (text) => ({
    id: /webhook (wh_[0-9a-f]+)/.exec(text)![1]!,
    secret: /(whsec_[A-Za-z0-9+/=]+)/.exec(text)![1]!
  }))

/** README's receiver check: recompute, compare in constant time, refuse stale timestamps. */
const verify = (secret: string, r: Received, nowSeconds = Math.floor(Date.now() / 1000)): boolean => {
  const id = String(r.headers["webhook-id"])
  const timestamp = String(r.headers["webhook-timestamp"])
  if (Math.abs(nowSeconds - Number(timestamp)) > 5 * 60) return false
  const key = Buffer.from(secret.slice("whsec_".length), "base64")
  const expected = Buffer.from(Crypto.createHmac("sha256", key).update(`${id}.${timestamp}.${r.body}`).digest("base64"))
  return String(r.headers["webhook-signature"]).split(" ").some((s) => {
    const given = Buffer.from(s.slice(s.indexOf(",") + 1))
    return s.startsWith("v1,") && given.length === expected.length && Crypto.timingSafeEqual(given, expected)
  })
}

const bodies = (received: ReadonlyArray<Received>) => received.map((r) => JSON.parse(r.body))

const fast = { retryMinMillis: 50, pollMillis: 50 }

describe("webhooks", () => {
  it.scopedLive("pending, decided and expired leashes reach the webhook, signed, with the leash's summary and link", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const receiver = yield* scopedReceiver()
      const hook = yield* addHook(db, receiver.url, "--events", "leash.pending,leash.decided,leash.expired")
      const s = yield* startServer({ db, webhooks: fast, publicUrl: "https://gate.example.com" })
      const decided = leashRequest({ risk_signals: { amount_usd: 120 } })
      const expiring = leashRequest({ timeout_seconds: 0.5, action_name: "email.send" })
      expect((yield* s.agent.post("/v1/leashes", { body: decided })).status).toBe(200)
      expect((yield* s.agent.post("/v1/leashes", { body: expiring })).status).toBe(200)
      expect((yield* s.reviewer.post(`/v1/leashes/${decided.leash_id}/decision`, { body: { decision: "rejected", reason: "too much" } })).status)
        .toBe(200)
      yield* Effect.promise(() => receiver.until((r) => r.length >= 4))
      const got = bodies(receiver.received)
      expect(got.map((b) => `${b.type} ${b.data.leash_id}`).sort()).toStrictEqual([
        `leash.decided ${decided.leash_id}`,
        `leash.expired ${expiring.leash_id}`,
        `leash.pending ${decided.leash_id}`,
        `leash.pending ${expiring.leash_id}`
      ].sort())
      for (const r of receiver.received) {
        expect(verify(hook.secret, r)).toBe(true)
        expect(r.headers["webhook-id"]).toBe(JSON.parse(r.body).id)
        // a byte changed: the check fails
        expect(verify(hook.secret, { ...r, body: r.body.replace("leash", "Leash") })).toBe(false)
        // replayed later than the tolerance: refused
        expect(verify(hook.secret, r, Math.floor(Date.now() / 1000) + 6 * 60)).toBe(false)
      }
      const pending = got.find((b) => b.type === "leash.pending" && b.data.leash_id === decided.leash_id)
      expect(pending.data).toMatchObject({
        link: `https://gate.example.com/leashes/${decided.leash_id}`,
        status: "pending",
        action_name: "stripe.charge",
        action_summary: "Charge cus_42 $120.00",
        risk_signals: { amount_usd: 120 },
        payload_preview: { text: JSON.stringify(decided.payload), cut: false },
        agent: "billing-bot",
        trail_id: decided.trail_id,
        timeout_seconds: 300
      })
      expect(pending.data.decision).toBeUndefined()
      // each event's id is its own UUID; a leash's first event is stamped with its creation time
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
      expect(got.every((b) => uuid.test(b.id))).toBe(true)
      expect(new Set(got.map((b) => b.id)).size).toBe(got.length)
      for (const b of got.filter((b) => b.type === "leash.pending")) expect(b.timestamp).toBe(b.data.created_at)
      const verdict = got.find((b) => b.type === "leash.decided")
      expect(verdict.data.decision).toMatchObject({ decision: "rejected",
        reason: "too much",
        decided_by: s.info.keys.find((k) => k.role === "reviewer")!.name
      })
      expect(got.find((b) => b.type === "leash.expired").data.decision).toMatchObject({ decision: "timeout", reason: "expired" })
    }))

  it.scopedLive("a leash a floor rule blocks at creation is announced once, as leash.decided, never as pending", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const receiver = yield* scopedReceiver()
      yield* addHook(db, receiver.url, "--events", "leash.pending,leash.decided")
      const s = yield* startServer({
        db,
        webhooks: fast,
        rulesFile: { sensitive: [], rules: [{ action: "stripe.*", reason: "too big", when: [{ signal: "amount_usd", op: ">", value: 1000 }] }] }
      })
      const blocked = leashRequest({ risk_signals: { amount_usd: 5000 } })
      const created = yield* s.agent.post("/v1/leashes", { body: blocked })
      expect(created.status).toBe(200)
      // the same request again: the stored leash answers, and no second event is written
      expect((yield* s.agent.post("/v1/leashes", { body: blocked })).status).toBe(200)
      const later = leashRequest({ risk_signals: { amount_usd: 10 } })
      yield* s.agent.post("/v1/leashes", { body: later })
      yield* Effect.promise(() => receiver.until((r) => r.length >= 2))
      yield* Effect.sleep("300 millis")
      const got = bodies(receiver.received)
      expect(got.map((b) => `${b.type} ${b.data.leash_id}`).sort()).toStrictEqual([
        `leash.decided ${blocked.leash_id}`,
        `leash.pending ${later.leash_id}`
      ].sort())
      const decided = got.find((b) => b.type === "leash.decided")
      expect(decided.timestamp).toBe(decided.data.created_at)
      expect(decided.data.decision).toMatchObject({ decision: "blocked", reason: "too big" })
    }))

  it.scopedLive("a webhook gets only its events and actions; a removed one gets nothing more", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const stripe = yield* scopedReceiver()
      const all = yield* scopedReceiver()
      yield* addHook(db, stripe.url, "--events", "leash.pending", "--actions", "stripe.*")
      const gone = yield* addHook(db, all.url, "--events", "leash.decided")
      const s = yield* startServer({ db, webhooks: fast })
      const email = leashRequest({ action_name: "email.send" })
      const charge = leashRequest({ action_name: "stripe.charge" })
      yield* s.agent.post("/v1/leashes", { body: email })
      yield* s.agent.post("/v1/leashes", { body: charge })
      yield* s.reviewer.post(`/v1/leashes/${email.leash_id}/decision`, { body: { decision: "approved" } })
      yield* Effect.promise(() => stripe.until((r) => r.length >= 1))
      yield* Effect.promise(() => all.until((r) => r.length >= 1))
      expect(yield* cli(db, "webhooks", "remove", gone.id)).toContain(`removed webhook ${gone.id}`)
      yield* s.reviewer.post(`/v1/leashes/${charge.leash_id}/decision`, { body: { decision: "approved" } })
      const third = leashRequest({ action_name: "stripe.refund" })
      yield* s.agent.post("/v1/leashes", { body: third })
      yield* Effect.promise(() => stripe.until((r) => r.length >= 2))
      expect(bodies(stripe.received).map((b) => `${b.type} ${b.data.action_name}`)).toStrictEqual([
        "leash.pending stripe.charge",
        "leash.pending stripe.refund"
      ])
      expect(bodies(all.received).map((b) => `${b.type} ${b.data.leash_id}`)).toStrictEqual([`leash.decided ${email.leash_id}`])
    }))

  it.scopedLive("a failing receiver is retried after its Retry-After; one that keeps failing ends as failed, listed on /deliveries", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const flaky = yield* scopedReceiver((n) => (n === 0 ? { status: 503, headers: { "retry-after": "1" } } : { status: 200 }))
      const broken = yield* scopedReceiver(() => ({ status: 500 }))
      yield* addHook(db, flaky.url, "--events", "leash.pending")
      yield* addHook(db, broken.url, "--events", "leash.pending")
      const s = yield* startServer({ db, webhooks: { ...fast, maxAgeMillis: 1_500 } })
      const leash = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: leash })
      yield* Effect.promise(() => flaky.until((r) => r.length >= 2))
      const [first, second] = flaky.received
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(900)
      expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"])
      yield* Effect.promise(() => broken.until((r) => r.length >= 3))
      // the broken one is given up once its retries would pass the maximum age
      const { tab } = yield* signIn(s)
      let listed = yield* tab.get("/deliveries")
      for (let i = 0; i < 100 && !listed.text.includes("HTTP 500"); i++) {
        yield* Effect.sleep("50 millis")
        listed = yield* tab.get("/deliveries")
      }
      expect(listed.status).toBe(200)
      expect(listed.text).toContain(new URL(broken.url).host)
      expect(listed.text).toContain("leash.pending")
      expect(listed.text).toContain("HTTP 500")
      expect(listed.text).not.toContain(new URL(flaky.url).host)
      // not for anyone without a session
      const anonymous = yield* newTab(s.url).get("/deliveries")
      expect(anonymous.status).toBe(303)
      expect(anonymous.location).toContain("/login")
    }))

  it.scopedLive("a receiver that never answers holds at most `concurrency` sockets, each given up at the timeout", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const hanging = yield* scopedReceiver(() => "hang")
      yield* addHook(db, hanging.url, "--events", "leash.pending,leash.decided")
      const s = yield* startServer({
        db,
        webhooks: { ...fast, concurrency: 2, requestTimeoutMillis: 300, maxAgeMillis: 1_000 }
      })
      let most = 0
      for (let i = 0; i < 6; i++) {
        const leash = leashRequest()
        expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
        expect((yield* s.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved" } })).status)
          .toBe(200)
      }
      for (let i = 0; i < 30; i++) {
        most = Math.max(most, hanging.open())
        yield* Effect.sleep("50 millis")
      }
      expect(most).toBe(2)
      const { tab } = yield* signIn(s)
      let listed = yield* tab.get("/deliveries")
      for (let i = 0; i < 100 && !listed.text.includes("no answer within 0.3 s"); i++) {
        yield* Effect.sleep("50 millis")
        listed = yield* tab.get("/deliveries")
      }
      expect(listed.text).toContain("no answer within 0.3 s")
    }))

  it.scopedLive("a rotated secret: both secrets sign meanwhile; list shows no secret", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const receiver = yield* scopedReceiver()
      const hook = yield* addHook(db, receiver.url, "--events", "leash.pending")
      const rotated = yield* cli(db, "webhooks", "rotate-secret", hook.id)
      const secret = /(whsec_[A-Za-z0-9+/=]+)/.exec(rotated)![1]!
      expect(secret).not.toBe(hook.secret)
      expect(rotated).toContain("stays valid until")
      const listed = yield* cli(db, "webhooks", "list")
      expect(listed).toContain(hook.id)
      expect(listed).not.toContain("whsec_")
      const s = yield* startServer({ db, webhooks: fast })
      yield* s.agent.post("/v1/leashes", { body: leashRequest() })
      yield* Effect.promise(() => receiver.until((r) => r.length >= 1))
      const r = receiver.received[0]!
      expect(String(r.headers["webhook-signature"]).split(" ")).toHaveLength(2)
      expect(verify(secret, r)).toBe(true)
      expect(verify(hook.secret, r)).toBe(true)
      expect(verify(`whsec_${Crypto.randomBytes(32).toString("base64")}`, r)).toBe(false)
    }))

  it.scopedLive("a flag is announced once, when first raised", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const receiver = yield* scopedReceiver()
      yield* addHook(db, receiver.url, "--events", "flag.raised")
      const trail = trailRecord({ status: "running" })
      const charge = stepRecord(trail.id, 1, "stripe.charge")
      const publicUrl = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* startServer({ db, webhooks: fast, rulesFile: { sensitive: ["stripe.*"], rules: [] } })
        expect((yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [charge] } })).status).toBe(202)
        // more steps of the trail, and the trail's end: its flags are brought up to date again
        const later = reviewStep(trail.id, 2, "email.send", "approved")
        yield* s.agent.post("/v1/ingest", {
          body: { trails: [{ ...trail, status: "ok", ended_at: at(9000) }], steps: [later, stepRecord(trail.id, 3, "search")] }
        })
        yield* Effect.promise(() => receiver.until((r) => r.length >= 1))
        return s.info.publicUrl
      }))
      // a new sensitive list: the next start recomputes every trail's flags, writing them anew
      yield* Effect.scoped(Effect.gen(function*() {
        yield* startServer({ db, webhooks: fast, rulesFile: { sensitive: ["stripe.*", "search"], rules: [] } })
        yield* Effect.promise(() => receiver.until((r) => bodies(r).some((b) => b.data.action_name === "search")))
        yield* Effect.sleep("500 millis")
      }))
      const got = bodies(receiver.received).filter((b) => b.data.step_id === charge.id)
      expect(got).toHaveLength(1)
      expect(got[0].data).toMatchObject({ trail_id: trail.id, kind: "unleashed_action", action_name: "stripe.charge" })
      expect(got[0].data.link).toBe(`${publicUrl}/trails/${trail.id}`)
    }))

  it.scopedLive("a leash pending past the reminder share sends one leash.reminder, not again after a restart", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const receiver = yield* scopedReceiver()
      yield* addHook(db, receiver.url, "--events", "leash.reminder")
      const leash = leashRequest({ timeout_seconds: 3 })
      const decided = leashRequest({ timeout_seconds: 3 })
      yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* startServer({ db, webhooks: fast, reminderAt: 0.3 })
        yield* s.agent.post("/v1/leashes", { body: leash })
        yield* s.agent.post("/v1/leashes", { body: decided })
        yield* s.reviewer.post(`/v1/leashes/${decided.leash_id}/decision`, { body: { decision: "approved" } })
        yield* Effect.promise(() => receiver.until((r) => r.length >= 1))
      }))
      // the second start arms the still-pending leash again: its reminder is not sent twice
      yield* Effect.scoped(Effect.gen(function*() {
        yield* startServer({ db, webhooks: fast, reminderAt: 0.3 })
        yield* Effect.sleep("700 millis")
      }))
      const got = bodies(receiver.received)
      expect(got.map((b) => `${b.type} ${b.data.leash_id} ${b.data.status}`)).toStrictEqual([
        `leash.reminder ${leash.leash_id} pending`
      ])
      expect(got[0].data.expires_at).toBe(new Date(Date.parse(got[0].data.created_at) + 3000).toISOString())
    }))

  it.scopedLive("the slack format: a message with the action, summary, signals and a button; agent text cannot mention or link", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      const receiver = yield* scopedReceiver()
      yield* addHook(db, receiver.url, "--events", "leash.pending", "--format", "slack")
      const s = yield* startServer({ db, webhooks: fast })
      const evil = "<!channel> pay now <@U123> <http://evil.example|click> @here @channel & see https://evil.example www.evil.example"
      const leash = leashRequest({
        action_name: "stripe.charge",
        action_summary: evil,
        agent: "bot <!everyone>",
        risk_signals: { "<!here>": "<http://x.example|y>", amount_usd: 120 }
      })
      yield* s.agent.post("/v1/leashes", { body: leash })
      yield* Effect.promise(() => receiver.until((r) => r.length >= 1))
      const message = JSON.parse(receiver.received[0]!.body)
      expect(typeof message.text).toBe("string")
      expect(message.blocks.map((b: any) => b.type)).toStrictEqual(["section", "section", "actions"])
      expect(message.blocks[0].text.type).toBe("mrkdwn")
      expect(message.blocks[0].text.text).toContain("stripe.charge")
      expect(message.blocks[0].text.text).toContain("pay now")
      expect(message.blocks[1].text.text).toContain("amount_usd: 120")
      const button = message.blocks[2].elements[0]
      expect(button).toMatchObject({ type: "button", url: `${s.info.publicUrl}/leashes/${leash.leash_id}` })
      // nothing the agent wrote forms Slack markup: no <…> at all outside what the server wrote,
      // no bare @channel/@here/@everyone, no URL Slack would link
      const texts = [message.text, message.blocks[0].text.text, message.blocks[1].text.text]
      for (const t of texts) {
        expect(t).not.toMatch(/[<>]/)
        expect(t).not.toMatch(/@(channel|here|everyone)/)
        expect(t).not.toMatch(/https?:\/\//)
        expect(t).not.toMatch(/www\./)
      }
      expect(message.blocks[0].text.text).toContain("&lt;!channel&gt;")
      expect(message.blocks[0].text.text).toContain("&amp;")
    }))
})

describe("webhooks on the command line", () => {
  const refused = (...argv: ReadonlyArray<string>) =>
    Effect.map(Effect.flip(Cli.parse(argv, {})), (e) => e.message)

  it.effect("a bad URL, event, action pattern or format is refused, saying what to give", () =>
    Effect.gen(function*() {
      expect(yield* refused("webhooks", "add", "ftp://x.example/h", "--events", "leash.pending")).toContain("http:// or https://")
      expect(yield* refused("webhooks", "add", "not a url", "--events", "leash.pending")).toContain("is not a URL")
      expect(yield* refused("webhooks", "add", "https://u:p@x.example/h", "--events", "leash.pending")).toContain("user name or password")
      expect(yield* refused("webhooks", "add", "https://x.example/h")).toContain("--events needs")
      expect(yield* refused("webhooks", "add", "https://x.example/h", "--events", "leash.approved")).toContain(
        "\"leash.approved\" is not an event"
      )
      expect(yield* refused("webhooks", "add", "https://x.example/h", "--events", "leash.pending", "--actions", "stripe*")).toContain(
        "is not an action pattern"
      )
      expect(yield* refused("webhooks", "add", "https://x.example/h", "--events", "leash.pending", "--format", "teams")).toContain(
        "--format must be standard or slack"
      )
      expect(yield* refused("webhooks", "remove")).toContain("needs one webhook id")
      expect(yield* refused("webhooks", "list", "--events", "leash.pending")).toContain("--events goes with webhooks add")
      expect(yield* refused("--reminder-at", "1.5")).toContain("--reminder-at must be a share")
      expect(yield* refused("--reminder-at", "0")).toContain("above 0 and below 1")
      expect(yield* refused("--webhook-timeout=-1")).toContain("--webhook-timeout must be a number of seconds")
      const serve = yield* Cli.parse(["--reminder-at", "0.5", "--webhook-timeout", "2"], {})
      expect(serve).toMatchObject({ _tag: "Serve", options: { reminderAt: 0.5, webhooks: { requestTimeoutMillis: 2000 } } })
      const fromEnv = yield* Cli.parse([], { HOUNDSIGHT_SERVER_REMINDER_AT: "0.9" })
      expect(fromEnv).toMatchObject({ options: { reminderAt: 0.9 } })
    }))

  it.scopedLive("remove and rotate-secret of an unknown id say so", () =>
    Effect.gen(function*() {
      const db = Path.join(yield* tempDir, "h.db")
      expect((yield* Effect.flip(cli(db, "webhooks", "remove", "wh_nope"))).message).toContain("no webhook has the id")
      expect((yield* Effect.flip(cli(db, "webhooks", "rotate-secret", "wh_nope"))).message).toContain("no webhook has the id")
      expect(yield* cli(db, "webhooks", "list")).toContain("No webhooks yet")
    }))

  it("Slack escaping leaves plain text readable", () => {
    expect(Slack.escape("a < b & c > d")).toBe("a &lt; b &amp; c &gt; d")
    expect(Webhooks.checkActions("stripe.*, email.send")).toStrictEqual(["stripe.*", "email.send"])
  })
})
