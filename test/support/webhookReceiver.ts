/**
 * A webhook receiver on 127.0.0.1 for the tests and the bench: records every request (headers
 * and body) and answers as `respond` says: a status (with headers), after a delay, or never
 * (`"hang"`: the request is held until the receiver closes).
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type * as Net from "node:net"

/** A request the receiver got. */
export interface Received {
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  /** When it arrived (`Date.now()`). */
  readonly at: number
}

/** How to answer the `n`th request (0-based). */
export type Respond = (n: number, request: Received) =>
  | { readonly status: number; readonly headers?: Record<string, string>; readonly delayMillis?: number }
  | "hang"

/** A running receiver. */
export interface Receiver {
  readonly url: string
  readonly received: Array<Received>
  /** How many requests are open now. */
  readonly open: () => number
  /** Resolves once `predicate` holds of what was received (checked at each request), or rejects after `millis`. */
  readonly until: (predicate: (received: ReadonlyArray<Received>) => boolean, millis?: number) => Promise<void>
  readonly close: () => Promise<void>
}

/** Starts a receiver (every request answered 200 by default). */
export const startReceiver = (respond: Respond = () => ({ status: 200 })): Promise<Receiver> =>
  new Promise((done) => {
    const received: Array<Received> = []
    const sockets = new Set<Net.Socket>()
    const waiters = new Set<() => void>()
    let open = 0
    const server = Http.createServer((request, response) => {
      const chunks: Array<Buffer> = []
      open++
      response.on("close", () => open--)
      request.on("data", (c: Buffer) => chunks.push(c))
      request.on("end", () => {
        const r: Received = { headers: request.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() }
        const answer = respond(received.length, r)
        received.push(r)
        for (const w of waiters) w()
        if (answer === "hang") return
        setTimeout(() => {
          response.writeHead(answer.status, { "content-type": "text/plain", ...answer.headers })
          response.end("ok")
        }, answer.delayMillis ?? 0)
      })
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      done({
        url: `http://127.0.0.1:${port}/hook`,
        received,
        open: () => open,
        until: (predicate, millis = 20_000) =>
          new Promise((resolve, reject) => {
            const check = () => {
              if (!predicate(received)) return
              waiters.delete(check)
              clearTimeout(timer)
              resolve()
            }
            const timer = setTimeout(() => {
              waiters.delete(check)
              reject(new Error(`the receiver did not get what was awaited within ${millis} ms (${received.length} requests)`))
            }, millis)
            waiters.add(check)
            check()
          }),
        close: () =>
          new Promise((closed) => {
            for (const s of sockets) s.destroy()
            server.close(() => closed())
          })
      })
    })
  })

/** {@link startReceiver} in a scope: closed with it. */
export const scopedReceiver = (respond?: Respond): Effect.Effect<Receiver, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.promise(() => startReceiver(respond)), (r) => Effect.promise(() => r.close()))
