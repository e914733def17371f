/**
 * Smaller defects of the hardening review (issue 12, point 6) and the dashboard's protections
 * against DNS rebinding and oversized sign-in posts (point 5): every non-2xx answer of the API
 * carries the error body; one canonical form of the list paths; a sign-in `next=` past U+00FF;
 * on loopback, the dashboard answers only to this machine's names.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { csrfOf, signIn, tab } from "./dashboard/helpers.js"
import { leashRequest, startServer, stepRecord, trailRecord } from "./helpers.js"
import { connect, parse } from "./RawHttp.js"

describe("Expect headers", () => {
  it.scopedLive("an Expect other than 100-continue is 417 with the error body, not an empty one", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const c = yield* connect(
        s.url,
        `POST /v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${s.agentKey}\r\n` +
          `Content-Type: application/json\r\nContent-Length: 24\r\nExpect: 200-ok\r\n\r\n`
      )
      const answer = parse(yield* c.untilClosed(5_000))
      expect(answer.status).toBe(417)
      expect(answer.body.error.code).toBe("expectation_failed")
      expect(answer.body.error.message).toContain("200-ok")
    }))

  it.scopedLive("Expect: 100-continue still works", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const body = `{"trails":[],"steps":[]}`
      const c = yield* connect(
        s.url,
        `POST /v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${s.agentKey}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`
      )
      yield* c.untilAnswered(5_000)
      expect(c.received()).toContain("100 Continue")
      c.write(body)
      const answer = yield* c.untilClosed(5_000)
      expect(answer).toContain("HTTP/1.1 202")
    }))
})

describe("trailing slashes", () => {
  it.scopedLive("GET /v1/leashes/ and /v1/trails/ are a 404 with the error body naming the canonical path", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      for (const path of ["/v1/leashes", "/v1/trails"]) {
        expect((yield* s.reviewer.get(path)).status).toBe(200)
        const slash = yield* s.reviewer.get(`${path}/`)
        expect(slash.status).toBe(404)
        expect(slash.body.error.code).toBe("not_found")
        expect(slash.body.error.message).toContain(`use ${path}`)
        const query = yield* s.reviewer.get(`${path}/?limit=5`)
        expect(query.status).toBe(404)
      }
    }))
})

describe("sign-in next= past U+00FF", () => {
  it.scopedLive("next=/中 never answers 500: the redirect carries it percent-encoded", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const t = tab(s.url)
      const login = yield* t.get(`/login?next=${encodeURIComponent("/中")}`)
      expect(login.status).toBe(200)
      const signedIn = yield* t.post("/login", { csrf: csrfOf(login), key: s.reviewerKey, next: "/中?q=é" })
      expect(signedIn.status).toBe(303)
      expect(signedIn.location).toBe(`/${encodeURIComponent("中")}?q=${encodeURIComponent("é")}`)
      const again = yield* t.get(`/login?next=${encodeURIComponent("/中")}`)
      expect(again.status).toBe(303)
      expect(again.location).toBe(`/${encodeURIComponent("中")}`)
    }))
})

describe("DNS rebinding", () => {
  it.scopedLive("on loopback the dashboard answers only for loopback names and the public URL's host; the API for any", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ publicUrl: "http://gate.internal:7411" })
      const port = new URL(s.url).port
      const asHost = (host: string, path = "/login") =>
        Effect.gen(function*() {
          const c = yield* connect(s.url, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
          return parse(yield* c.untilClosed(5_000))
        })
      const rebound = yield* asHost(`attacker.example:${port}`)
      expect(rebound.status).toBe(403)
      expect(rebound.body.error.code).toBe("forbidden")
      expect(rebound.body.error.message).toContain("loopback")
      expect((yield* asHost(`attacker.example:${port}`, "/")).status).toBe(403)
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, "gate.internal:7411", `[::1]:${port}`]) {
        expect((yield* asHost(host)).status, host).toBe(200)
      }
      // the API is authenticated by its keys, whatever the name
      expect((yield* asHost(`attacker.example:${port}`, "/healthz")).status).toBe(200)
    }))

  it.scopedLive("a server bound to all interfaces answers any host name", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ host: "0.0.0.0" })
      const c = yield* connect(s.url, `GET /login HTTP/1.1\r\nHost: gate.example.com\r\nConnection: close\r\n\r\n`)
      expect(parse(yield* c.untilClosed(5_000)).status).toBe(200)
    }))
})

describe("sign-in posts are refused before their body is read", () => {
  it.scopedLive("without the sign-in page's cookie: 403 at once, though the declared 5 MB body never comes", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const c = yield* connect(
        s.url,
        `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Content-Length: 5000000\r\n\r\nkey=rv-hnd-`
      )
      const answer = yield* c.untilClosed(5_000)
      expect(answer).toMatch(/^HTTP\/1\.1 403/)
      expect(c.closed()).toBe(true)
    }))

  it.scopedLive("declaring more than 8 KiB: 413 at once; a form within 8 KiB still signs in", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const t = tab(s.url)
      const login = yield* t.get("/login")
      const cookie = `houndsight_login=${t.cookies.get("houndsight_login")}`
      const c = yield* connect(
        s.url,
        `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Content-Length: 8193\r\n\r\ncsrf=`
      )
      const answer = yield* c.untilClosed(5_000)
      expect(answer).toMatch(/^HTTP\/1\.1 413/)
      // a chunked body (no Content-Length) past 8 KiB is cut as it arrives
      const chunked = yield* connect(
        s.url,
        `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Transfer-Encoding: chunked\r\n\r\n3000\r\n${"k".repeat(0x3000)}\r\n`
      )
      // (Node closes the connection with the request stream it cut, so there may be no answer)
      const cut = yield* chunked.untilClosed(5_000)
      expect(chunked.closed()).toBe(true)
      expect(cut === "" || /^HTTP\/1\.1 4\d\d/.test(cut)).toBe(true)
      const ok = yield* t.post("/login", { csrf: csrfOf(login), key: s.reviewerKey, next: "/" })
      expect(ok.status).toBe(303)
      const signed = yield* signIn(s)
      expect(signed.csrf.length).toBeGreaterThan(10)
    }))
})

describe("dashboard pages of upper-case ids", () => {
  it.scopedLive("/leashes/{ID} and /trails/{ID} show the records of the lowercase ids", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const leash = leashRequest({ action_name: "stripe.refund" })
      yield* s.agent.post("/v1/leashes", { body: leash })
      const trail = trailRecord({ trigger: "upper_case_check" })
      yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [stepRecord(trail.id, 1, "fetch")] } })
      const { tab: t } = yield* signIn(s)
      const leashPage = yield* t.get(`/leashes/${leash.leash_id.toUpperCase()}`)
      expect(leashPage.status).toBe(200)
      expect(leashPage.text).toContain("stripe.refund")
      const trailPage = yield* t.get(`/trails/${trail.id.toUpperCase()}`)
      expect(trailPage.status).toBe(200)
      expect(trailPage.text).toContain("upper_case_check")
    }))
})
