/**
 * A small programmable gate on loopback (node:http, 127.0.0.1, port 0) for the real-socket
 * tests: a script answers each request (a status and body, a hang, or a reset), and every
 * request is kept so tests can read what the SDK sent.
 */
import { Effect, Layer, Redacted } from "effect"
import { FetchHttpClient } from "@effect/platform"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { HttpGate, Memory } from "houndsight"

/** Which endpoint a request hit. */
export type Route = "create" | "poll" | "cancel" | "other"

/** A request the gate received. */
export interface Seen {
  readonly route: Route
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly authorization: string | undefined
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
  /** `Date.now()` when the request arrived. */
  readonly at: number
  /** The leash id: from the path, or the create body. */
  readonly leashId: string | undefined
}

/** How the gate answers one request. */
export type Reply =
  | { readonly status: number; readonly json?: unknown; readonly text?: string; readonly headers?: Record<string, string> }
  | { readonly hang: true }
  | { readonly reset: true }

/** Answers the `n`-th request (from 0) of its route. */
export type Script = (seen: Seen, n: number) => Reply | Promise<Reply>

/** A running gate. */
export interface Gate {
  readonly url: string
  readonly seen: () => ReadonlyArray<Seen>
  readonly of: (route: Route) => ReadonlyArray<Seen>
}

const routeOf = (method: string, path: string): { route: Route; leashId: string | undefined } => {
  if (method === "POST" && path === "/v1/leashes") return { route: "create", leashId: undefined }
  const cancel = /^\/v1\/leashes\/([^/]+)\/cancel$/.exec(path)
  if (method === "POST" && cancel) return { route: "cancel", leashId: decodeURIComponent(cancel[1]!) }
  const poll = /^\/v1\/leashes\/([^/]+)$/.exec(path)
  if (method === "GET" && poll) return { route: "poll", leashId: decodeURIComponent(poll[1]!) }
  return { route: "other", leashId: undefined }
}

/** Starts a gate answering with `script`; closed (with every connection) when the scope closes. */
export const startGate = (script: Script) =>
  Effect.acquireRelease(
    Effect.async<{ gate: Gate; server: http.Server }>((resume) => {
      const seen: Array<Seen> = []
      const counts = new Map<Route, number>()
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const url = new URL(req.url ?? "/", "http://127.0.0.1")
          const body = Buffer.concat(chunks).toString("utf8")
          const { leashId, route } = routeOf(req.method ?? "", url.pathname)
          let id = leashId
          if (route === "create") {
            try {
              id = (JSON.parse(body) as { leash_id?: string }).leash_id
            } catch {
              id = undefined
            }
          }
          const s: Seen = {
            route,
            method: req.method ?? "",
            path: url.pathname,
            query: url.searchParams,
            authorization: req.headers.authorization,
            headers: req.headers,
            body,
            at: Date.now(),
            leashId: id
          }
          seen.push(s)
          const n = counts.get(route) ?? 0
          counts.set(route, n + 1)
          Promise.resolve(script(s, n)).then((reply) => {
            if ("hang" in reply) return
            if ("reset" in reply) {
              req.socket.destroy()
              return
            }
            const text = reply.text ?? (reply.json === undefined ? "" : JSON.stringify(reply.json))
            res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers })
            res.end(text)
          })
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          server,
          gate: {
            url: `http://127.0.0.1:${port}`,
            seen: () => seen.slice(),
            of: (route) => seen.filter((s) => s.route === route)
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ gate }) => gate))

/** A port on loopback with nothing listening (bound, then closed). */
export const closedPort = Effect.async<number>((resume) => {
  const server = http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** The agent key the tests use. */
export const apiKey = "sk-hnd-test-agent"

/** The in-memory recorder plus the HTTP gate at `url`, over the platform's fetch. */
export const liveLayer = (url: string, memory: Memory.MemoryOptions = {}) =>
  Layer.merge(
    Memory.layer({ endpoint: url, ...memory }),
    HttpGate.layer({ endpoint: url, apiKey: Redacted.make(apiKey) }).pipe(Layer.provide(FetchHttpClient.layer))
  )

/** A decided leash state in wire form. */
export const decided = (
  leashId: string | undefined,
  decision: string,
  reason: string,
  extra: Record<string, unknown> = {}
) => ({
  leash_id: leashId,
  status: "decided",
  decision: {
    decision,
    reason,
    decided_by: "rv-alice",
    decided_at: "2026-11-24T09:00:00.000Z",
    trace_link: `http://gate/leashes/${leashId}`,
    ...extra
  }
})

/** A pending leash state in wire form. */
export const pending = (leashId: string | undefined) => ({
  leash_id: leashId,
  status: "pending",
  trace_link: `http://gate/leashes/${leashId}`
})

/** An error answer in wire form. */
export const errorBody = (code: string, message: string) => ({ error: { code, message } })
