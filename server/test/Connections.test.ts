/**
 * What a connection may hold before it is authenticated (issue 12, point 5): headers and the
 * whole request must arrive in time, unauthenticated connections are capped (the oldest closed
 * to make room), all connections are capped, and none of it ever cuts a held long-poll or keeps
 * an agent out.
 */
import { describe, expect, it } from "@effect/vitest"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Effect, Either, Fiber, Option } from "effect"
import * as Http from "node:http"
import * as Connections from "../src/Connections.js"
import * as HttpFront from "../src/Http.js"
import { leashRequest, startServer } from "./helpers.js"
import { connect, parse } from "./RawHttp.js"

/** A GET on a fresh connection of its own (no pool), answered status and body. */
const freshGet = (url: string, path: string, key: string) =>
  Effect.async<{ status: number; body: any }>((resume) => {
    const request = Http.get(`${url}${path}`, { agent: false, headers: { authorization: `Bearer ${key}` } }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (text += chunk))
      response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, body: JSON.parse(text) })))
    })
    request.on("error", (e) => resume(Effect.die(e)))
  })

describe("connection bounds", () => {
  it("default to at least 2,000 connections in all", () => {
    expect(Connections.defaults.maxConnections).toBeGreaterThanOrEqual(2_000)
    expect(Connections.defaults.maxUnauthenticated).toBeGreaterThanOrEqual(2_000)
    // a held long-poll is 30 s plus the agent's margin: a request must be allowed longer
    expect(Connections.defaults.requestTimeoutMillis).toBeGreaterThan(35_000)
  })

  it.scopedLive("headers that never finish are answered 408 with the error body and closed at the deadline", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ connections: { headersTimeoutMillis: 1_000, requestTimeoutMillis: 2_000 } })
      const c = yield* connect(s.url, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
      const answer = parse(yield* c.untilClosed(8_000))
      expect(c.closed()).toBe(true)
      expect(answer.status).toBe(408)
      expect(answer.body.error.code).toBe("request_timeout")
    }))

  it.scopedLive("a body that never finishes is cut at the request deadline", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ connections: { headersTimeoutMillis: 1_000, requestTimeoutMillis: 2_000 } })
      const c = yield* connect(
        s.url,
        `POST /v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${s.agentKey}\r\n` +
          `Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"trails":`
      )
      yield* c.untilClosed(8_000)
      expect(c.closed()).toBe(true)
    }))

  it.scopedLive("a body cut by the client fails its read with a 400 naming the cut; a whole body in many chunks is read whole", () =>
    Effect.gen(function*() {
      // Node's own server, each request's body read by the server's readBody
      const reads: Array<Promise<Either.Either<Buffer, unknown>>> = []
      const server = Http.createServer((req, res) => {
        const request = { headers: req.headers, source: req } as unknown as HttpServerRequest.HttpServerRequest
        reads.push(Effect.runPromise(Effect.either(HttpFront.readBody(request))))
        res.on("error", () => {})
        req.on("end", () => res.end())
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () => Effect.sync(() => server.close())
      )
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
      const head = (length: number) => `POST /v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${length}\r\n\r\n`

      const cut = yield* connect(url, head(100) + "{\"trails\":")
      while (reads.length < 1) yield* Effect.sleep("10 millis")
      cut.destroy()
      const failed = yield* Effect.promise(() => reads[0]!)
      expect(Either.isLeft(failed)).toBe(true)
      const error = Either.getLeft(failed).pipe(Option.getOrThrow) as { _tag: string; message: string }
      expect(error._tag).toBe("BadRequest")
      expect(error.message).toMatch(/^the body could not be read \(/)

      const body = JSON.stringify({ trails: [], steps: [], padding: "x".repeat(200_000) })
      const whole = yield* connect(url, head(Buffer.byteLength(body)))
      for (let at = 0; at < body.length; at += 50_000) {
        whole.write(body.slice(at, at + 50_000))
        yield* Effect.sleep("5 millis")
      }
      const read = yield* Effect.promise(() => reads[1]!)
      expect(Either.getRight(read).pipe(Option.map((b) => b.toString("utf8")), Option.getOrThrow)).toBe(body)
    }))

  it.scopedLive("a held long-poll outlasts both deadlines and is answered normally", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ connections: { headersTimeoutMillis: 500, requestTimeoutMillis: 1_000 } })
      const leash = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: leash })
      const started = Date.now()
      const poll = yield* freshGet(s.url, `/v1/leashes/${leash.leash_id}?wait_seconds=3`, s.agentKey)
      expect(poll.status).toBe(200)
      expect(poll.body.status).toBe("pending")
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_900)
    }))

  it.scopedLive("past the unauthenticated cap the oldest unauthenticated connection makes room; agents' held polls are never cut", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ connections: { maxUnauthenticated: 5, maxConnections: 40 } })
      const leash = leashRequest()
      yield* s.agent.post("/v1/leashes", { body: leash })
      // ten agents hold long-polls: authenticated, never closed to make room
      const polls = yield* Effect.forkAll(
        Array.from({ length: 10 }, () => freshGet(s.url, `/v1/leashes/${leash.leash_id}?wait_seconds=2`, s.agentKey))
      )
      yield* Effect.sleep("300 millis")
      // five connections that never send a request fill the cap; then ten more arrive
      const idle = []
      for (let i = 0; i < 15; i++) {
        idle.push(yield* connect(s.url, "GET /healthz HTTP/1.1\r\n"))
        yield* Effect.sleep("20 millis")
      }
      yield* Effect.sleep("300 millis")
      const closed = idle.filter((c) => c.closed())
      expect(closed.length).toBe(10)
      // the oldest ones went, answered 503 with the error body
      expect(idle.slice(0, 10).every((c) => c.closed())).toBe(true)
      expect(parse(idle[0]!.received()).status).toBe(503)
      expect(parse(idle[0]!.received()).body.error.code).toBe("unavailable")
      // an agent still gets in, and every held poll is answered
      expect((yield* s.agent.get("/healthz")).status).toBe(200)
      const answers = yield* Fiber.join(polls)
      expect(answers.map((a) => a.status)).toStrictEqual(Array.from({ length: 10 }, () => 200))
    }))

  it.scopedLive("past the cap on all connections a new one is answered 503 with the error body", () =>
    Effect.gen(function*() {
      const s = yield* startServer({ connections: { maxUnauthenticated: 100, maxConnections: 3 } })
      const held = []
      for (let i = 0; i < 3; i++) held.push(yield* connect(s.url, "GET /healthz HTTP/1.1\r\n"))
      yield* Effect.sleep("200 millis")
      const extra = yield* connect(s.url)
      const answer = parse(yield* extra.untilClosed(3_000))
      expect(answer.status).toBe(503)
      expect(answer.body.error.message).toContain("connections")
      expect(held.every((c) => !c.closed())).toBe(true)
    }))
})
