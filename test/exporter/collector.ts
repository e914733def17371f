/**
 * A loopback collector for the exporter tests: a real HTTP server on 127.0.0.1, port 0, that
 * records every request and answers as the test scripts it (a status, headers, a delay, a
 * request that never gets an answer, or a dropped connection). Closed with the test's Scope.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** How the collector answers one request. */
export type Reply =
  | {
    readonly status: number
    readonly headers?: Readonly<Record<string, string>>
    readonly body?: string
    /** Waits this long before answering. */
    readonly delayMillis?: number
  }
  | { readonly hang: true }
  | { readonly destroy: true }

/** Wire records as the collector received them. */
export interface WireBatch {
  readonly trails: ReadonlyArray<Record<string, any>>
  readonly steps: ReadonlyArray<Record<string, any>>
}

/** One request the collector received. */
export interface Received {
  /** 0 for the first request. */
  readonly index: number
  /** `Date.now()` when the body had arrived. */
  readonly at: number
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly bytes: number
  readonly text: string
  readonly batch: WireBatch
  /** The status answered, once answered. */
  status: number | undefined
}

/** A running collector. */
export interface Collector {
  readonly url: string
  readonly port: number
  readonly requests: ReadonlyArray<Received>
  /** Requests answered with a 2xx. */
  readonly accepted: () => ReadonlyArray<Received>
  /** Records of the requests answered 2xx. */
  readonly delivered: () => WireBatch
  /** The most requests that were open at once. */
  readonly maxConcurrent: () => number
  /** Requests open now. */
  readonly open: () => number
  /** Changes how the collector answers from now on. */
  readonly setReply: (reply: (request: Received) => Reply) => void
  /** Waits (polling every 5 ms) until `predicate` holds; the test's timeout bounds it. */
  readonly waitFor: (predicate: () => boolean) => Effect.Effect<void>
}

/** The default answer: 202 with the counts of the batch. */
export const accept = (request: Received): Reply => ({
  status: 202,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ accepted: request.batch.trails.length + request.batch.steps.length, duplicates: 0 })
})

/** An error answer in the wire's error body. */
export const errorReply = (status: number, code: string, message: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify({ error: { code, message } })
})

const parse = (text: string): WireBatch => {
  try {
    const value = JSON.parse(text)
    return { trails: value.trails ?? [], steps: value.steps ?? [] }
  } catch {
    return { trails: [], steps: [] }
  }
}

/** Starts a collector for the current Scope. */
export const collector = (initial: (request: Received) => Reply = accept): Effect.Effect<Collector, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ collector: Collector; server: http.Server }>((resume) => {
      let reply = initial
      const requests: Array<Received> = []
      let open = 0
      let maxConcurrent = 0
      const server = http.createServer((req, res) => {
        open++
        maxConcurrent = Math.max(maxConcurrent, open)
        let closed = false
        const done = () => {
          if (closed) return
          closed = true
          open--
        }
        res.on("close", done)
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const buffer = Buffer.concat(chunks)
          const text = buffer.toString("utf8")
          const received: Received = {
            index: requests.length,
            at: Date.now(),
            method: req.method ?? "",
            path: req.url ?? "",
            headers: req.headers,
            bytes: buffer.length,
            text,
            batch: parse(text),
            status: undefined
          }
          requests.push(received)
          const answer = reply(received)
          if ("hang" in answer) return
          if ("destroy" in answer) {
            req.socket.destroy()
            return
          }
          const send = () => {
            received.status = answer.status
            res.writeHead(answer.status, answer.headers ?? {})
            res.end(answer.body ?? "")
          }
          if (answer.delayMillis === undefined) send()
          else setTimeout(send, answer.delayMillis)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        const accepted = () => requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300)
        resume(Effect.succeed({
          server,
          collector: {
            url: `http://127.0.0.1:${port}`,
            port,
            requests,
            accepted,
            delivered: () => {
              const trails: Array<Record<string, any>> = []
              const steps: Array<Record<string, any>> = []
              for (const r of accepted()) {
                trails.push(...r.batch.trails)
                steps.push(...r.batch.steps)
              }
              return { trails, steps }
            },
            maxConcurrent: () => maxConcurrent,
            open: () => open,
            setReply: (next) => {
              reply = next
            },
            waitFor: (predicate) =>
              Effect.gen(function*() {
                while (!predicate()) yield* Effect.sleep(5)
              })
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ collector }) => collector))
