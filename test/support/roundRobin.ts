/**
 * A small round-robin HTTP proxy on 127.0.0.1 in front of several server URLs, as a user would
 * put one in front of several gate server instances (no stickiness): each request goes to the
 * next target in turn, its body streamed up and the answer streamed back as it comes (a
 * long-poll, server-sent events). A target that refuses the connection is skipped for that
 * request (the next one is tried, as a proxy's health check would); when none answers, `502`
 * with the contract's error body. Closed with the scope: open connections are cut.
 *
 * ```ts
 * const proxy = yield* RoundRobin.start([a.url, b.url, c.url])   // in a scope
 * fetch(`${proxy.url}/healthz`)
 * ```
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"

/** A running proxy. */
export interface Proxy {
  /** Where it listens, `http://127.0.0.1:PORT`. */
  readonly url: string
  /** How many requests went to each target, by index (for tests that want each to be reached). */
  readonly served: ReadonlyArray<number>
  /** Replaces the targets (a killed instance taken out, a new one put in). */
  readonly setTargets: (urls: ReadonlyArray<string>) => void
}

/** Hop-by-hop headers (RFC 9110 7.6.1): never forwarded. */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization"
])

const forwardable = (headers: Http.IncomingHttpHeaders | Http.OutgoingHttpHeaders): Http.OutgoingHttpHeaders => {
  const out: Http.OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) if (!hopByHop.has(name) && value !== undefined) out[name] = value
  return out
}

const refused = (error: NodeJS.ErrnoException) => error.code === "ECONNREFUSED" || error.code === "ECONNRESET"

/** Starts a proxy in front of `urls`, closed with the scope. */
export const start = (urls: ReadonlyArray<string>): Effect.Effect<Proxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ proxy: Proxy; server: Http.Server; sockets: Set<Net.Socket> }>((resolve, reject) => {
        let targets = urls.map((u) => new URL(u))
        const served = targets.map(() => 0)
        let next = 0
        const sockets = new Set<Net.Socket>()
        const server = Http.createServer((request, response) => {
          // the body is buffered only when a refused target makes us try the next one
          const chunks: Array<Buffer> = []
          let ended = false
          request.on("data", (chunk: Buffer) => chunks.push(chunk))
          request.on("end", () => {
            ended = true
          })
          request.pause()
          const attempt = (tries: number) => {
            if (tries >= targets.length) {
              response.writeHead(502, { "content-type": "application/json" })
              response.end(JSON.stringify({ error: { code: "bad_gateway", message: "no server instance answered" } }))
              return
            }
            const index = next % targets.length
            next++
            const target = targets[index]!
            const upstream = Http.request({
              host: target.hostname,
              port: target.port,
              method: request.method,
              path: request.url,
              headers: forwardable(request.headers),
              agent: false
            }, (answer) => {
              served[index] = (served[index] ?? 0) + 1
              response.writeHead(answer.statusCode ?? 502, forwardable(answer.headers))
              response.flushHeaders()
              answer.pipe(response)
              answer.on("error", () => response.destroy())
            })
            const onData = (chunk: Buffer) => upstream.write(chunk)
            const onEnd = () => upstream.end()
            const detach = () => {
              request.off("data", onData)
              request.off("end", onEnd)
            }
            upstream.on("error", (error: NodeJS.ErrnoException) => {
              detach()
              if (!response.headersSent && refused(error) && !response.destroyed) return attempt(tries + 1)
              response.destroy()
            })
            // stream what already arrived, then the rest as it comes
            for (const chunk of chunks) upstream.write(chunk)
            if (ended) upstream.end()
            else {
              request.on("data", onData)
              request.on("end", onEnd)
              request.resume()
            }
            // the client went away: so does the upstream request
            response.once("close", () => upstream.destroy())
          }
          attempt(0)
        })
        server.on("connection", (socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
        })
        server.once("error", reject)
        server.listen(0, "127.0.0.1", () => {
          const address = server.address() as Net.AddressInfo
          resolve({
            server,
            sockets,
            proxy: {
              url: `http://127.0.0.1:${address.port}`,
              served,
              setTargets: (next) => {
                targets = next.map((u) => new URL(u))
                served.length = 0
                for (const _ of targets) served.push(0)
              }
            }
          })
        })
      })
    ),
    ({ server, sockets }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resolve())
        })
      )
  ).pipe(Effect.map(({ proxy }) => proxy))
