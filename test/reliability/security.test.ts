/**
 * Security of the gate server and its dashboard, against the real server:
 *
 * - an agent key can never decide a leash, read the reviewer lists or open the dashboard;
 * - a dashboard form without its session's token, without a session, or sent from another site
 *   changes nothing;
 * - whatever an agent sends (action names and summaries, risk signals, payloads, trail and step
 *   records) is shown as text: no page of the dashboard runs code because of it, and every page
 *   carries a Content-Security-Policy that forbids inline script;
 * - the API key appears in no record the server stored, no log line of the SDK or the server,
 *   and no error or Decision the agent saw.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Redacted, Schema } from "effect"
import { Houndsight, Leash, Sniff, Trail } from "houndsight"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import { leashRequest, stepRecord, trailRecord } from "../../server/test/helpers.js"
import { activeParts, cspForbidsInlineScript, csrfOf, type Page, signIn, tab } from "./server-side/browser.js"
import { capturingLogs, isErrorBody, type Running, snapshot, start } from "./server-side/harness.js"

const pendingLeash = (s: Running, overrides: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const leash = leashRequest({ timeout_seconds: 3_600, ...overrides })
    const created = yield* s.agent.post("/v1/leashes", { body: leash })
    expect(created.status).toBe(200)
    return leash
  })

const stateOf = (s: Running, leashId: string) => Effect.map(s.agent.get(`/v1/leashes/${leashId}`), (a) => a.body)

describe("an agent key", () => {
  it.scopedLive("cannot decide a leash, nor read trails, leashes or flags: 403 with an error body, and nothing changes", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const leash = yield* pendingLeash(s)
      const trail = trailRecord()
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [] } })).status).toBe(202)
      const before = yield* snapshot(s.db)

      for (const decision of ["approved", "modified", "rejected"] as const) {
        const answer = yield* s.agent.post(`/v1/leashes/${leash.leash_id}/decision`, {
          body: { decision, reason: "I approve myself", ...(decision === "modified" ? { modified_payload: {} } : {}) }
        })
        expect(answer.status).toBe(403)
        expect(isErrorBody(answer.body)).toBe(true)
        expect(answer.body.error.code).toBe("forbidden")
      }
      for (const path of ["/v1/trails", `/v1/trails/${trail.id}`, "/v1/leashes?status=pending", "/v1/flags"]) {
        const answer = yield* s.agent.get(path)
        expect(answer.status, path).toBe(403)
        expect(isErrorBody(answer.body), path).toBe(true)
        expect(answer.text, path).not.toContain(trail.id) // nothing of the list leaks into the refusal
        expect(answer.text, path).not.toContain(leash.leash_id)
      }
      expect((yield* stateOf(s, leash.leash_id)).status).toBe("pending")
      expect(yield* snapshot(s.db)).toStrictEqual(before)
    }))

  it.scopedLive("cannot open the dashboard: sign-in refuses it, and no key in a header or cookie opens a page", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const leash = yield* pendingLeash(s)
      const t = tab(s.url)
      const login = yield* t.get("/login")
      const refused = yield* t.post("/login", { csrf: csrfOf(login), key: s.agentKey, next: "/" })
      expect(refused.status).toBe(403)
      expect(refused.setCookies.some((c) => c.startsWith("houndsight_session="))).toBe(false)
      expect(refused.text).toContain("agent key")

      // neither the agent's nor even the reviewer's key opens a page without signing in
      for (const key of [s.agentKey, s.reviewerKey]) {
        for (const path of ["/", `/leashes/${leash.leash_id}`, "/trails", "/flags", "/fragments/trails", "/events"]) {
          for (
            const headers of [
              { authorization: `Bearer ${key}` },
              { cookie: `houndsight_session=${key}` },
              { cookie: `houndsight_session=${encodeURIComponent(key)}` }
            ]
          ) {
            const page = yield* tab(s.url).get(path, headers)
            expect([303, 401], `${path} with ${Object.keys(headers)[0]}`).toContain(page.status)
            expect(page.text).not.toContain(leash.action_summary)
          }
        }
      }
      // and a decision form posted with the agent key as its session changes nothing
      const forged = yield* tab(s.url).post(
        `/leashes/${leash.leash_id}/decision`,
        { decision: "approved", reason: "self-approved", csrf: "x".repeat(43) },
        { cookie: `houndsight_session=${s.agentKey}` }
      )
      expect(forged.status).toBe(403)
      expect((yield* stateOf(s, leash.leash_id)).status).toBe("pending")
    }))
})

describe("dashboard forms", () => {
  it.scopedLive("a decision form without its token, with another session's token, without a session, or from another site changes nothing", () =>
    Effect.gen(function*() {
      const s = yield* start()
      const { csrf, tab: reviewer } = yield* signIn(s)
      const other = yield* signIn(s) // a second session: its token is not this session's
      const leash = yield* pendingLeash(s)
      const path = `/leashes/${leash.leash_id}/decision`
      const approve = { decision: "approved", reason: "forged", return: "queue" }
      const before = yield* snapshot(s.db)

      const attempts: ReadonlyArray<readonly [string, Effect.Effect<Page>]> = [
        ["no token", reviewer.post(path, approve)],
        ["an empty token", reviewer.post(path, { ...approve, csrf: "" })],
        ["another session's token", reviewer.post(path, { ...approve, csrf: other.csrf })],
        ["a made-up token", reviewer.post(path, { ...approve, csrf: Crypto.randomBytes(32).toString("base64url") })],
        ["the token twice, one wrong", reviewer.post(path + "?csrf=" + csrf, { ...approve, csrf: other.csrf })],
        ["no session", tab(s.url).post(path, { ...approve, csrf })],
        ["another session's cookie", other.tab.post(path, { ...approve, csrf })],
        ["Sec-Fetch-Site: cross-site", reviewer.post(path, { ...approve, csrf }, { "sec-fetch-site": "cross-site" })],
        ["Sec-Fetch-Site: same-site", reviewer.post(path, { ...approve, csrf }, { "sec-fetch-site": "same-site" })],
        ["an Origin of another site", reviewer.post(path, { ...approve, csrf }, { origin: "https://evil.example" })],
        ["an opaque Origin", reviewer.post(path, { ...approve, csrf }, { origin: "null" })],
        ["a look-alike Origin", reviewer.post(path, { ...approve, csrf }, { origin: `${s.url}.evil.example` })],
        ["a GET", reviewer.get(`${path}?decision=approved&reason=forged&csrf=${csrf}`)]
      ]
      for (const [what, attempt] of attempts) {
        const page = yield* attempt
        expect(page.status, `${what}: ${page.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400)
        expect((yield* stateOf(s, leash.leash_id)).status, what).toBe("pending")
      }
      expect(yield* snapshot(s.db)).toStrictEqual(before)

      // the same form with its own token, from the dashboard itself, does decide
      const real = yield* reviewer.post(path, { ...approve, csrf }, { "sec-fetch-site": "same-origin", origin: s.url })
      expect(real.status).toBe(303)
      expect((yield* stateOf(s, leash.leash_id)).decision).toMatchObject({ decision: "approved", reason: "forged" })
    }))

  it.scopedLive("sign-in and sign-out forms without their token, or from another site, sign nobody in or out", () =>
    Effect.gen(function*() {
      const s = yield* start()
      // login CSRF: another site cannot sign a victim's browser in with the attacker's key
      const victim = tab(s.url)
      for (
        const [what, form, headers] of [
          ["no token", { key: s.reviewerKey }, {}],
          ["a token without its cookie", { key: s.reviewerKey, csrf: Crypto.randomBytes(32).toString("base64url") }, {}],
          ["from another site", { key: s.reviewerKey }, { "sec-fetch-site": "cross-site" }]
        ] as const
      ) {
        const page = yield* victim.post("/login", form, headers)
        expect(page.status, what).toBe(403)
        expect(victim.cookies.has("houndsight_session"), what).toBe(false)
      }
      // logout CSRF: another site cannot sign the reviewer out
      const { csrf, tab: reviewer } = yield* signIn(s)
      for (
        const [what, form, headers] of [
          ["no token", {}, {}],
          ["from another site", { csrf }, { origin: "https://evil.example" }]
        ] as const
      ) {
        const page = yield* reviewer.post("/logout", form, headers)
        expect(page.status, what).toBe(403)
        expect((yield* reviewer.get("/")).status, what).toBe(200)
      }
    }))
})

// -------------------------------------------------------------------------------------------------
// Agent-supplied strings render inert
// -------------------------------------------------------------------------------------------------

const hostile = [
  `<script>alert("xss")</script>`,
  `"><img src=x onerror=alert(1)>`,
  `'><svg/onload=alert(2)>`,
  `javascript:alert(3)`,
  `</textarea></pre><script src="https://evil.example/x.js"></script>`,
  `<iframe srcdoc="<script>alert(4)</script>"></iframe>`,
  `<a href="javascript:alert(5)">click</a>`,
  `<meta http-equiv="refresh" content="0;url=https://evil.example">`,
  `{{constructor.constructor('alert(6)')()}}`
] as const
const all = hostile.join(" ")

/** A leash, a trail and steps, every string of which an agent chose to be hostile. */
const hostileRecords = (sensitive: string) => {
  const trail = trailRecord({
    agent: hostile[0],
    trigger: hostile[1],
    payload: { [hostile[2]]: all },
    status: "error",
    ended_at: "2026-11-24T09:00:09.000Z",
    output: all,
    tags: { [hostile[3]]: hostile[4] },
    events: [{ name: hostile[5], at: "2026-11-24T09:00:01.000Z", attributes: { [hostile[6]]: all } }]
  })
  const steps = [
    stepRecord(trail.id, 1, hostile[7], {
      layer: "reason",
      input: { [hostile[8]]: all },
      output: all,
      events: [{ name: hostile[0], at: "2026-11-24T09:00:01.500Z", attributes: { x: all } }],
      error: { type: hostile[1], message: all },
      status: "error"
    }),
    // a sensitive action run without a leash: the flags page shows its name
    stepRecord(trail.id, 2, sensitive, { input: all })
  ]
  const leash = leashRequest({
    agent: hostile[2],
    action_name: sensitive,
    action_summary: all,
    risk_signals: { amount_usd: 5, [hostile[3]]: all, data_categories: [...hostile] },
    payload: { [hostile[4]]: all, list: [...hostile] },
    timeout_seconds: 3_600
  })
  return { trail, steps, leash }
}

const expectInert = (what: string, page: { readonly status: number; readonly headers: Headers; readonly text: string }) => {
  expect(activeParts(page.text), what).toStrictEqual([])
  for (const h of hostile) if (h.includes("<")) expect(page.text.includes(h), `${what} shows ${h} as markup`).toBe(false)
  expect(cspForbidsInlineScript(page.headers.get("content-security-policy")), `${what}: its CSP`).toBe(true)
  expect(page.headers.get("x-content-type-options"), what).toBe("nosniff")
}

describe("agent-supplied strings", () => {
  it.scopedLive("render as text on every dashboard page, and every page's CSP forbids inline script", () =>
    Effect.gen(function*() {
      const sensitive = `stripe.<img src=x onerror=alert(7)>`
      const s = yield* start({ rulesFile: { sensitive: ["stripe.*"], rules: [] } })
      const { leash, steps, trail } = hostileRecords(sensitive)
      expect((yield* s.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
      const decided = yield* pendingLeash(s, { action_summary: all, agent: hostile[0] })
      expect((yield* s.reviewer.post(`/v1/leashes/${decided.leash_id}/decision`, {
        body: { decision: "modified", reason: all, modified_payload: { [hostile[1]]: all } }
      })).status).toBe(200)
      expect((yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps } })).status).toBe(202)
      expect((yield* s.reviewer.get("/v1/flags")).body.flags).toHaveLength(1)

      const { tab: t } = yield* signIn(s)
      const pages = [
        "/",
        `/leashes/${leash.leash_id}`,
        `/leashes/${decided.leash_id}`,
        "/trails",
        `/trails/${trail.id}`,
        "/flags",
        "/fragments/trails",
        `/leashes/${encodeURIComponent(hostile[0])}`,
        `/trails/${encodeURIComponent(hostile[1])}`,
        `/?decided=${decided.leash_id}`
      ]
      for (const path of pages) {
        const page = yield* t.get(path)
        expect(page.status, path).toBeLessThan(500)
        expectInert(path, page)
      }
      // what the agent sent is on the pages, as text
      const leashPage = yield* t.get(`/leashes/${leash.leash_id}`)
      expect(leashPage.text).toContain("&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;")
      const trailPage = yield* t.get(`/trails/${trail.id}`)
      expect(trailPage.text).toContain("&lt;iframe srcdoc=")
      expect((yield* t.get("/flags")).text).toContain("stripe.&lt;img src=x onerror=alert(7)&gt;")

      // signed out: the sign-in page reflects `next` as text
      const login = yield* tab(s.url).get(`/login?next=${encodeURIComponent(`/"><script>alert(8)</script>`)}`)
      expectInert("/login?next=…", login)
      // a link from another site to a hostile path: the hop page
      const hop = yield* tab(s.url).get(`/trails?q=${encodeURIComponent(all)}`, { "sec-fetch-site": "cross-site" })
      expectInert("the hop page", hop)

      // the live view's first snapshot carries rendered cards: inert too
      const events = yield* firstEvent(s, t.cookies)
      expect(events.pending.length).toBeGreaterThan(0)
      expect(typeof events.decisions).toBe("string")
      for (const card of events.pending) expectInert("a live card", { ...events.page, text: card.html })
      expectInert("the live decisions table", { ...events.page, text: events.decisions })
    }))
})

/** Reads the first `leashes` event of `/events` and closes the stream. */
const firstEvent = (s: Running, cookies: Map<string, string>) =>
  Effect.promise(async () => {
    const controller = new AbortController()
    // the queue page's own stream, showing no card yet: its first event carries every pending
    // card and the decisions table (live updates send what changed, v1.1)
    const response = await fetch(`${s.url}/events?list=1&have=`, {
      headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") },
      signal: controller.signal
    })
    const reader = response.body!.getReader()
    let text = ""
    while (!/event: leashes\ndata: .*\n\n/.test(text)) {
      const { done, value } = await reader.read()
      if (done) break
      text += Buffer.from(value).toString("utf8")
    }
    controller.abort()
    const data = JSON.parse(/event: leashes\ndata: (.*)\n\n/.exec(text)![1]!)
    return {
      page: { status: response.status, headers: response.headers },
      pending: data.added as ReadonlyArray<{ readonly html: string }>,
      decisions: data.decisions as string
    }
  })

// -------------------------------------------------------------------------------------------------
// The API key appears nowhere
// -------------------------------------------------------------------------------------------------

const Charge = Schema.Struct({ customer: Schema.String, amountUsd: Schema.Number })

/** A port nothing listens on. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
)

const secretOf = (key: string) => key.slice(key.indexOf("-hnd-") + "-hnd-".length)

describe("the API key", () => {
  it.scopedLive(
    "appears in no stored record, no log line of the SDK or the server, and no error or Decision the agent saw",
    () =>
      Effect.gen(function*() {
        const agentKey = `sk-hnd-${Crypto.randomBytes(24).toString("base64url")}`
        const reviewerKey = `rv-hnd-${Crypto.randomBytes(24).toString("base64url")}`
        const unknownKey = `sk-hnd-${Crypto.randomBytes(24).toString("base64url")}`
        const serverLogs: Array<string> = []
        const agentLogs: Array<string> = []
        const s = yield* start({
          keys: { agentKey: Redacted.make(agentKey), reviewerKey: Redacted.make(reviewerKey) },
          rulesFile: { sensitive: ["stripe.*"], rules: [{ action: "stripe.refund", reason: "no refunds", when: [] }] },
          logs: serverLogs
        })
        const seen: Array<string> = [] // everything the agent and the suite were handed

        // a reviewer that answers each leash by its summary, and leaves "wait" ones pending
        const reviewer = yield* Effect.fork(Effect.forever(Effect.gen(function*() {
          const list = yield* s.reviewer.get("/v1/leashes")
          seen.push(list.text)
          for (const l of list.body.leashes ?? []) {
            const summary: string = l.request.action_summary
            const body = summary === "approve"
              ? { decision: "approved", reason: "ok" }
              : summary === "reject"
              ? { decision: "rejected", reason: "no" }
              : summary === "modify badly"
              ? { decision: "modified", reason: "edited", modified_payload: { amount: "not a number" } }
              : undefined
            if (body !== undefined) seen.push((yield* s.reviewer.post(`/v1/leashes/${l.leash_id}/decision`, { body })).text)
          }
          yield* Effect.sleep("20 millis")
        })))

        const ask = (summary: string, options: { readonly timeoutSeconds?: number; readonly actionName?: string } = {}) =>
          Leash.request({
            actionName: options.actionName ?? "stripe.charge",
            actionSummary: summary,
            riskSignals: { amountUsd: 12 },
            payload: { customer: "cus_42", amountUsd: 12 },
            payloadSchema: Charge,
            timeoutSeconds: options.timeoutSeconds ?? 30
          })

        // an agent run on the live layer with the known key: every kind of outcome
        const run = Effect.gen(function*() {
          const decisions = [
            yield* ask("approve"),
            yield* ask("reject"),
            yield* ask("modify badly"), // error: the edit does not match the payload schema
            yield* ask("refund", { actionName: "stripe.refund" }), // blocked by a floor rule
            yield* ask("wait", { timeoutSeconds: 0.5 }) // timeout
          ]
          const interrupted = yield* Effect.fork(ask("wait for an interruption"))
          yield* Effect.sleep("200 millis")
          yield* Fiber.interrupt(interrupted) // the SDK cancels the leash
          yield* Sniff.run("stripe.charge", { layer: "execute" }, Effect.fail(new Error("card declined"))).pipe(Effect.ignore)
          yield* Sniff.run("email.send", { layer: "respond", input: { to: "a@example.com" } }, Effect.void)
          return decisions
        }).pipe(Trail.run({ trigger: "user_message", payload: { text: "charge" } }))
        const decisions = yield* run.pipe(
          Effect.provide(Houndsight.layer({ apiKey: Redacted.make(agentKey), agent: "billing-bot", endpoint: s.url })),
          Effect.scoped,
          capturingLogs(agentLogs)
        )
        expect(decisions.map((d) => d.decision)).toStrictEqual(["approved", "rejected", "error", "blocked", "timeout"])
        for (const d of decisions) seen.push(JSON.stringify(d), String(d), d.reason)

        // the same key against a server that is not there: transport failures in the gate and the exporter
        const port = yield* closedPort
        const away = yield* ask("nobody home", { timeoutSeconds: 1 }).pipe(
          Trail.run({ trigger: "t", payload: {} }),
          Effect.provide(Houndsight.layer({
            apiKey: Redacted.make(agentKey),
            agent: "billing-bot",
            endpoint: `http://127.0.0.1:${port}`,
            shutdownTimeout: "300 millis",
            retryBaseDelay: "50 millis"
          })),
          Effect.scoped,
          capturingLogs(agentLogs)
        )
        expect(away.decision).toBe("timeout")
        seen.push(JSON.stringify(away), away.reason)

        // a key the server does not know: 401s in the gate and the exporter
        const refused = yield* ask("unknown key", { timeoutSeconds: 5 }).pipe(
          Trail.run({ trigger: "t", payload: {} }),
          Effect.provide(Houndsight.layer({ apiKey: Redacted.make(unknownKey), agent: "billing-bot", endpoint: s.url })),
          Effect.scoped,
          capturingLogs(agentLogs)
        )
        expect(refused.decision).toBe("error")
        seen.push(JSON.stringify(refused), refused.reason)

        // settings that are wrong: the errors name the setting, not the key
        for (
          const options of [
            { apiKey: Redacted.make(agentKey), agent: "billing-bot", endpoint: `not a url ${agentKey}` },
            { apiKey: Redacted.make(reviewerKey), agent: "billing-bot", endpoint: s.url },
            { apiKey: Redacted.make(`${agentKey} `), agent: "", endpoint: s.url }
          ]
        ) {
          const exit = yield* Effect.exit(Layer.build(Houndsight.layer(options)).pipe(Effect.scoped))
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit)) {
            const error = Cause.squash(exit.cause)
            seen.push(Cause.pretty(exit.cause), String(error), JSON.stringify(error), (error as Error).message ?? "")
          }
        }
        yield* Fiber.interrupt(reviewer)

        // what the server stored and answered
        const db = yield* snapshot(s.db)
        seen.push(JSON.stringify(db))
        for (const path of ["/v1/trails?limit=500", "/v1/flags", "/v1/leashes"]) seen.push((yield* s.reviewer.get(path)).text)
        for (const t of (yield* s.reviewer.get("/v1/trails")).body.trails) seen.push((yield* s.reviewer.get(`/v1/trails/${t.id}`)).text)
        expect(db.trails.length).toBeGreaterThanOrEqual(1)
        expect(db.steps.filter((r) => r["layer"] === "review").length).toBeGreaterThanOrEqual(6)
        const files = [s.db, `${s.db}-wal`, `${s.db}-shm`].filter((f) => Fs.existsSync(f))

        for (const [name, key] of [["agent", agentKey], ["reviewer", reviewerKey], ["unknown", unknownKey]] as const) {
          for (const needle of [key, secretOf(key)]) {
            expect(seen.filter((text) => text.includes(needle)), `the ${name} key in what the agent saw`).toStrictEqual([])
            expect(agentLogs.filter((line) => line.includes(needle)), `the ${name} key in the SDK's logs`).toStrictEqual([])
            expect(serverLogs.filter((line) => line.includes(needle)), `the ${name} key in the server's logs`).toStrictEqual([])
            for (const file of files) {
              expect(Fs.readFileSync(file).includes(Buffer.from(needle)), `the ${name} key in ${file}`).toBe(false)
            }
          }
        }
        // the logs did say what happened (so the absence of the key is not an absence of logs)
        expect(agentLogs.some((l) => l.includes("401"))).toBe(true)
        expect(agentLogs.some((l) => /ECONNREFUSED|refused|unreachable|transport/i.test(l))).toBe(true)
      }),
    60_000
  )
})
