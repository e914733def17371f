/**
 * Signing in to the dashboard: only a reviewer key opens it; the browser keeps a random session
 * id in an HttpOnly, SameSite=Strict cookie, never the key; the sign-in and sign-out forms need
 * their token and refuse other sites; and every answer carries the Content-Security-Policy.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { contentSecurityPolicy } from "../../src/dashboard/Dashboard.js"
import { localPath, sameToken, token } from "../../src/dashboard/Session.js"
import { startServer } from "../helpers.js"
import { csrfOf, signIn, tab } from "./helpers.js"

const sessionCookieOf = (setCookies: ReadonlyArray<string>) => setCookies.find((c) => c.startsWith("houndsight_session="))

describe("sign-in", () => {
  it.scopedLive("a page without a session goes to sign-in, and sign-in returns to it", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const t = tab(s.url)
      const page = yield* t.get("/trails?x=1")
      expect(page.status).toBe(303)
      expect(page.location).toBe("/login?next=%2Ftrails%3Fx%3D1")

      const login = yield* t.get(page.location!)
      expect(login.status).toBe(200)
      expect(login.text).toContain("reviewer key")
      expect(login.text).toContain(`name="next" value="/trails?x=1"`)
      const loginCookie = login.setCookies.find((c) => c.startsWith("houndsight_login="))!
      expect(loginCookie).toMatch(/HttpOnly/i)
      expect(loginCookie).toMatch(/SameSite=Strict/i)

      const signedIn = yield* t.post("/login", { csrf: csrfOf(login), key: s.reviewerKey, next: "/trails?x=1" })
      expect(signedIn.status).toBe(303)
      expect(signedIn.location).toBe("/trails?x=1")
      const cookie = sessionCookieOf(signedIn.setCookies)!
      expect(cookie).toMatch(/HttpOnly/i)
      expect(cookie).toMatch(/SameSite=Strict/i)
      expect(cookie).toMatch(/Path=\//i)
      expect(cookie).not.toMatch(/Secure/i) // served over http here
      expect(cookie).not.toContain(s.reviewerKey)
      expect(cookie).not.toContain(s.reviewerKey.slice("rv-hnd-".length))

      const trails = yield* t.get("/trails")
      expect(trails.status).toBe(200)
      expect(trails.text).toContain("first reviewer") // who is signed in
    }))

  it.scopedLive("the session cookie is Secure when the dashboard is served over https", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ publicUrl: "https://gate.example.com" })
      const t = tab(s.url)
      const login = yield* t.get("/login")
      const answer = yield* t.post("/login", { csrf: csrfOf(login), key: s.reviewerKey })
      expect(sessionCookieOf(answer.setCookies)).toMatch(/Secure/i)
    }))

  it.scopedLive("an agent key cannot sign in: agents may not review", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const t = tab(s.url)
      const login = yield* t.get("/login")
      const answer = yield* t.post("/login", { csrf: csrfOf(login), key: s.agentKey })
      expect(answer.status).toBe(403)
      expect(answer.text).toContain("agent key")
      expect(sessionCookieOf(answer.setCookies)).toBeUndefined()
      expect((yield* t.get("/")).status).toBe(303)
    }))

  it.scopedLive("an unknown key, or none, cannot sign in, and the page says why", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const t = tab(s.url)
      const login = yield* t.get("/login")
      const unknown = yield* t.post("/login", { csrf: csrfOf(login), key: "rv-hnd-not-a-key-of-this-server" })
      expect(unknown.status).toBe(401)
      expect(unknown.text).toContain("does not know that key")
      const empty = yield* t.post("/login", { csrf: csrfOf(login), key: "" })
      expect(empty.status).toBe(400)
      expect(sessionCookieOf([...unknown.setCookies, ...empty.setCookies])).toBeUndefined()
    }))

  it.scopedLive("sign-in without the form's token, or from another site, is refused", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const t = tab(s.url)
      const login = yield* t.get("/login")
      const noToken = yield* t.post("/login", { key: s.reviewerKey })
      expect(noToken.status).toBe(403)
      const forged = yield* tab(s.url).post("/login", { csrf: csrfOf(login), key: s.reviewerKey })
      expect(forged.status).toBe(403) // the token without its cookie
      const crossSite = yield* t.post("/login", { csrf: csrfOf(login), key: s.reviewerKey }, {
        origin: "http://evil.example"
      })
      expect(crossSite.status).toBe(403)
      expect(crossSite.text).toContain("http://evil.example")
      expect(sessionCookieOf([...noToken.setCookies, ...forged.setCookies, ...crossSite.setCookies])).toBeUndefined()
    }))

  it.scopedLive("after sign-in the dashboard only sends the browser to its own pages", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      for (const next of ["//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"]) {
        const t = tab(s.url)
        const login = yield* t.get(`/login?next=${encodeURIComponent(next)}`)
        expect(login.text).toContain(`name="next" value="/"`)
        const answer = yield* t.post("/login", { csrf: csrfOf(login), key: s.reviewerKey, next })
        expect(answer.location).toBe("/")
      }
    }))

  it.scopedLive("signing out ends the session; sign-out needs the session's token", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { csrf, tab: t } = yield* signIn(s)
      const session = t.cookies.get("houndsight_session")!
      const refused = yield* t.post("/logout", { csrf: "x".repeat(43) })
      expect(refused.status).toBe(403)
      expect((yield* t.get("/")).status).toBe(200)

      const out = yield* t.post("/logout", { csrf })
      expect(out.status).toBe(303)
      expect(out.location).toBe("/login")
      expect(t.cookies.has("houndsight_session")).toBe(false)
      // The old session id no longer opens anything, even if a copy of the cookie survived.
      const stale = yield* tab(s.url).get("/", { cookie: `houndsight_session=${session}` })
      expect(stale.status).toBe(303)
    }))

  it.scopedLive("a link from another site (a trace_link in a chat) hops once, so the SameSite=Strict cookie comes along", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const id = "0b7c2a9e-5d1f-4c3e-9a8b-7f6e5d4c3b2a"
      const hop = yield* tab(s.url).get(`/leashes/${id}`, { "sec-fetch-site": "cross-site" })
      expect(hop.status).toBe(200)
      expect(hop.text).toContain(`<meta http-equiv="refresh" content="0;url=/leashes/${id}">`)
      const direct = yield* tab(s.url).get(`/leashes/${id}`, { "sec-fetch-site": "same-origin" })
      expect(direct.status).toBe(303)
      expect(direct.location).toBe(`/login?next=${encodeURIComponent(`/leashes/${id}`)}`)
    }))

  it.scopedLive("every dashboard answer carries a strict Content-Security-Policy; pages have no inline script or style", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab: t } = yield* signIn(s)
      expect(contentSecurityPolicy).toContain("script-src 'self'")
      expect(contentSecurityPolicy).toContain("style-src 'self'")
      expect(contentSecurityPolicy).toContain("frame-ancestors 'none'")
      expect(contentSecurityPolicy).not.toContain("unsafe")
      for (const path of ["/login", "/", "/trails", "/flags", "/leashes/0b7c2a9e-5d1f-4c3e-9a8b-7f6e5d4c3b2a"]) {
        const page = yield* (path === "/login" ? tab(s.url) : t).get(path)
        expect(page.headers.get("content-security-policy"), path).toBe(contentSecurityPolicy)
        expect(page.headers.get("x-frame-options"), path).toBe("DENY")
        expect(page.headers.get("x-content-type-options"), path).toBe("nosniff")
        expect(page.headers.get("content-type"), path).toContain("text/html")
        expect(page.text, path).not.toMatch(/<script(?![^>]*\ssrc=)/i)
        expect(page.text, path).not.toMatch(/<style/i)
        expect(page.text, path).not.toMatch(/\sstyle=/i)
        expect(page.text, path).not.toMatch(/\son[a-z]+=/i)
      }
      const js = yield* t.get("/assets/dashboard.js")
      expect(js.status).toBe(200)
      expect(js.headers.get("content-type")).toContain("text/javascript")
      expect(js.headers.get("content-security-policy")).toBe(contentSecurityPolicy)
      expect((yield* t.get("/assets/dashboard.css")).headers.get("content-type")).toContain("text/css")
      expect((yield* t.get("/assets/nope.js")).status).toBe(404)
    }))

  it.scopedLive("the API is untouched: /v1 and /healthz answer as before, with or without a session", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      expect((yield* s.anonymous.get("/healthz")).body).toStrictEqual({ status: "ok" })
      expect((yield* s.anonymous.get("/v1/trails")).status).toBe(401)
      const { tab: t } = yield* signIn(s)
      // A session cookie is not an API credential.
      expect((yield* t.get("/v1/trails")).status).toBe(401)
      expect((yield* s.reviewer.get("/v1/trails")).status).toBe(200)
    }))
})

describe("Session helpers", () => {
  it("localPath keeps paths on this server and nothing else", () => {
    expect(localPath("/leashes/abc?x=1")).toBe("/leashes/abc?x=1")
    expect(localPath(undefined)).toBe("/")
    expect(localPath("https://evil.example")).toBe("/")
    expect(localPath("//evil.example")).toBe("/")
    expect(localPath("/\\evil.example")).toBe("/")
    expect(localPath("/ok\r\nSet-Cookie: x=1")).toBe("/")
  })

  it("sameToken matches only the same well-formed token", () => {
    const a = token()
    expect(sameToken(a, a)).toBe(true)
    expect(sameToken(a, token())).toBe(false)
    expect(sameToken(a, undefined)).toBe(false)
    expect(sameToken(undefined, undefined)).toBe(false)
    expect(sameToken("", "")).toBe(false)
    expect(sameToken(a, a.slice(1))).toBe(false)
  })
})
