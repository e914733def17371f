/**
 * A TCP fault proxy for the reliability suite: it sits between the SDK and the server on
 * 127.0.0.1 and, per request, injects the faults a real network and a real collector produce.
 *
 * | fault | direction | what the client sees |
 * |---|---|---|
 * | `toServer` / `toClient` latency | each | every byte delayed by `millis` ± `jitter` (order kept) |
 * | `refuse` | connect | a new connection reset at once, before a byte is read (per connection) |
 * | `down()` | connect | nothing listens: `ECONNREFUSED`, and open connections are reset |
 * | `resetRequest` | to server | half of the request reaches the server, then both sides are reset |
 * | `blackhole` | to server | the request never reaches the server, no answer ever comes |
 * | `hang` | to client | the server gets the request and answers; the answer never comes |
 * | `resetResponse` | to client | half of the server's answer, then a reset (the server did the work) |
 * | `closeAfterHeaders` | to client | the answer's status line and headers, then a clean close |
 * | `trickleRequest` / `trickle` | each | the request / answer in small slices (`trickleRate`) |
 * | `answer` | proxy | the proxy answers itself (any status and headers); the server sees nothing |
 *
 * `choose` scripts the fault of a request instead of drawing it (say, only the first attempt).
 * Each of the request faults has a probability; one uniform draw per request (from a seedable
 * source, see `Random.ts`) picks at most one of them, so their probabilities add up to at most 1.
 * `refuse` is drawn per connection. `only` limits every fault but `refuse` to the requests it
 * accepts (for example only `POST /v1/ingest`). `answer` is asked first, for every request.
 *
 * The proxy holds each request until it has all of it (requests are small: at most a few MiB),
 * then forwards it; it follows responses with an HTTP/1.1 framer, so it knows when each exchange
 * ends. Every exchange is logged (`exchanges`): method, path, the fault applied, the status the
 * client got, when it started (the whole request at the proxy) and ended (the last byte of the
 * answer written to the client, or the moment a fault or the client cut it). That log answers
 * questions such as "was there ever more than one `POST /v1/ingest` open at once"
 * (`maxConcurrent`).
 *
 * Usage, in an Effect test (closed with the scope):
 *
 * ```ts
 * const server = yield* GateServer.start()
 * const proxy = yield* FaultProxy.make({ target: server.port, faults: { resetResponse: 0.3 } })
 * // point the SDK at proxy.url
 * yield* proxy.set({}) // heal
 * ```
 */
import { Effect, type Scope } from "effect"
import * as Net from "node:net"
import { type Head, type ParsedRequest, ResponseTracker, takeRequests } from "./HttpFraming.js"
import * as Random from "./Random.js"

/** A delay: `millis` ± a uniform `jitter`, never below 0. */
export interface Latency {
  readonly millis: number
  readonly jitter?: number
}

/** How fast a trickle goes: `bytes` every `everyMillis`. */
export interface Rate {
  readonly bytes: number
  readonly everyMillis: number
}

/** A request as the proxy received it (whole). */
export interface ProxiedRequest {
  readonly method: string
  /** The path with its query, such as `/v1/leashes/…?wait_seconds=25`. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
  /** The body as UTF-8 text. */
  readonly text: () => string
}

/** An answer the proxy gives itself, instead of the server. */
export interface Answer {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** A string is sent as is; anything else as JSON. Default: an error body naming the status. */
  readonly body?: unknown
}

/** The request faults, in the order a draw walks them. */
export const requestFaults = [
  "resetRequest",
  "blackhole",
  "hang",
  "resetResponse",
  "closeAfterHeaders",
  "trickleRequest",
  "trickle"
] as const

/** A fault applied to one request. */
export type RequestFault = typeof requestFaults[number]

/** What happened to one exchange: a request fault, the proxy's own `answer`, or `none`. */
export type ExchangeFault = RequestFault | "answer" | "none"

/** The fault plan. Everything is optional; `{}` is a clean pipe. */
export interface Faults {
  /** Added to every request on its way to the server. */
  readonly toServer?: Latency
  /** Added to every piece of an answer on its way to the client. */
  readonly toClient?: Latency
  /** Probability that a new connection is reset before a byte is read. */
  readonly refuse?: number
  readonly resetRequest?: number
  readonly blackhole?: number
  readonly hang?: number
  readonly resetResponse?: number
  readonly closeAfterHeaders?: number
  readonly trickleRequest?: number
  readonly trickle?: number
  /** The speed of `trickle` and `trickleRequest`; default 64 bytes every 20 ms. */
  readonly trickleRate?: Rate
  /** Asked first for every request: an answer here is sent by the proxy, the server sees nothing. */
  readonly answer?: (request: ProxiedRequest) => Answer | undefined
  /**
   * Asked after `answer`: a fault (or `"none"`) here is applied to the request instead of a draw,
   * so a test can script "the first attempt is reset, the rest pass"; `undefined` falls back to
   * the draw.
   */
  readonly choose?: (request: ProxiedRequest) => RequestFault | "none" | undefined
  /** Requests the drawn faults and the latencies apply to (not `refuse`, `answer` or `choose`); default all. */
  readonly only?: (request: ProxiedRequest) => boolean
}

/** One request through the proxy and what became of it. */
export interface Exchange {
  /** 0 for the first request through this proxy. */
  readonly id: number
  /** The connection it came on (0 for the first connection). */
  readonly connection: number
  readonly method: string
  readonly path: string
  readonly fault: ExchangeFault
  /** `Date.now()` when the whole request had reached the proxy. */
  readonly startedAt: number
  /** `Date.now()` when the client got the last byte of the answer, or lost the exchange. */
  readonly endedAt: number | undefined
  /** The status of the answer the client got the head of (`undefined`: none). */
  readonly status: number | undefined
  /** Whether the server got the whole request. */
  readonly reachedServer: boolean
  /** The request body as text, when the proxy was made with `capture: true`. */
  readonly body: string | undefined
}

/** Counts since the proxy started (or since `clear`). */
export interface ProxyStats {
  readonly connections: number
  /** Connections reset by `refuse`. */
  readonly refused: number
  /** Connections the proxy could not open to the server (it was down): reset on the client. */
  readonly upstreamFailures: number
  readonly exchanges: number
  readonly byFault: Readonly<Record<ExchangeFault, number>>
}

/** How to start a proxy. */
export interface Options {
  /** The server: a port on 127.0.0.1, or a URL such as `http://127.0.0.1:7411`. */
  readonly target: number | string
  readonly faults?: Faults
  /** The seed of the fault draws; default `HOUNDSIGHT_FAULT_SEED`, else random. */
  readonly seed?: number
  /** Keep every request body in the exchange log (for tests that compare retries byte for byte). */
  readonly capture?: boolean
  /** The port to listen on; default 0 (a free one). */
  readonly port?: number
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give this to the SDK as its endpoint. */
  readonly url: string
  readonly port: number
  /** The seed of the fault draws. */
  readonly seed: number
  /** `fault proxy seed N (replay: HOUNDSIGHT_FAULT_SEED=N)`: put it in assertion messages. */
  readonly describe: () => string
  /** Replaces the fault plan (for requests that arrive from now on). */
  readonly set: (faults: Faults) => Effect.Effect<void>
  /** A clean pipe from now on: `set({})`. */
  readonly heal: Effect.Effect<void>
  /** Stops listening (new connections are refused) and resets every open connection. */
  readonly down: Effect.Effect<void>
  /** Listens again on the same port. */
  readonly up: Effect.Effect<void>
  /** Resets every open connection (both sides). */
  readonly resetConnections: Effect.Effect<void>
  /** Sends new connections to another server port. */
  readonly retarget: (port: number) => Effect.Effect<void>
  /** The exchange log so far. */
  readonly exchanges: Effect.Effect<ReadonlyArray<Exchange>>
  /** The exchange log, synchronously. */
  readonly unsafeExchanges: () => ReadonlyArray<Exchange>
  readonly stats: Effect.Effect<ProxyStats>
  /** Empties the exchange log and the counts. */
  readonly clear: Effect.Effect<void>
}

/**
 * The most exchanges matching `predicate` that were open at the same instant (an exchange still
 * open counts as open until now).
 */
export const maxConcurrent = (
  exchanges: ReadonlyArray<Exchange>,
  predicate: (exchange: Exchange) => boolean = () => true
): number => {
  const events: Array<readonly [number, number]> = []
  for (const e of exchanges) {
    if (!predicate(e)) continue
    events.push([e.startedAt, 1])
    events.push([e.endedAt ?? Number.POSITIVE_INFINITY, -1])
  }
  // an exchange that ends at the instant another starts does not overlap it
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let open = 0
  let max = 0
  for (const [, delta] of events) {
    open += delta
    max = Math.max(max, open)
  }
  return max
}

const reasons: Record<number, string> = {
  200: "OK",
  202: "Accepted",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  413: "Payload Too Large",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

const answerBytes = (answer: Answer): Buffer => {
  const body = answer.body === undefined
    ? JSON.stringify({ error: { code: "injected", message: `status ${answer.status} injected by the fault proxy` } })
    : typeof answer.body === "string"
    ? answer.body
    : JSON.stringify(answer.body)
  const bytes = Buffer.from(body, "utf8")
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...answer.headers,
    "content-length": String(bytes.length),
    connection: "close"
  }
  const head = `HTTP/1.1 ${answer.status} ${reasons[answer.status] ?? "Status"}\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n"
  return Buffer.concat([Buffer.from(head, "latin1"), bytes])
}

const checkFaults = (faults: Faults): void => {
  let sum = 0
  for (const kind of [...requestFaults, "refuse"] as const) {
    const p = faults[kind] ?? 0
    if (!(p >= 0 && p <= 1)) throw new Error(`fault proxy: ${kind} must be a probability from 0 to 1, got ${p}`)
    if (kind !== "refuse") sum += p
  }
  if (sum > 1 + 1e-9) {
    throw new Error(`fault proxy: the request faults' probabilities add up to ${sum}; one request gets at most one fault, so keep them at most 1 together`)
  }
}

/** Writes buffers to a socket in order, each at its own time. */
class Lane {
  private readonly queue: Array<{ at: number; bytes: Buffer | undefined; then: (() => void) | undefined }> = []
  private timer: NodeJS.Timeout | undefined = undefined
  private last = 0

  constructor(private readonly socket: Net.Socket) {}

  /** Sends `bytes` after `delay` ms, and at least `gap` ms after the previous piece; then runs `then`. */
  send(bytes: Buffer | undefined, delay: number, then?: () => void, gap = 0): void {
    const now = Date.now()
    const at = Math.max(this.queue.length === 0 ? 0 : this.last + gap, now + delay, this.last)
    this.last = at
    this.queue.push({ at, bytes, then })
    this.pump()
  }

  private pump(): void {
    if (this.timer !== undefined) return
    while (this.queue.length > 0) {
      const head = this.queue[0]!
      const wait = head.at - Date.now()
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined
          this.pump()
        }, wait)
        return
      }
      this.queue.shift()
      if (head.bytes !== undefined && head.bytes.length > 0 && !this.socket.destroyed && this.socket.writable) {
        this.socket.write(head.bytes)
      }
      head.then?.()
    }
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.queue.length = 0
  }
}

interface MutableExchange {
  id: number
  connection: number
  method: string
  path: string
  fault: ExchangeFault
  startedAt: number
  endedAt: number | undefined
  status: number | undefined
  reachedServer: boolean
  body: string | undefined
}

/** An exchange waiting for the server's answer, with what the proxy holds of that answer. */
interface Awaiting {
  readonly exchange: MutableExchange
  readonly fault: ExchangeFault
  /** Whether `toClient` latency applies to the answer. */
  readonly delayed: boolean
  held: Array<Buffer>
  head: Head | undefined
}

const delayOf = (latency: Latency | undefined, random: Random.Source): number => {
  if (latency === undefined) return 0
  const jitter = latency.jitter ?? 0
  return Math.max(0, latency.millis + (jitter === 0 ? 0 : (random.next() * 2 - 1) * jitter))
}

/**
 * Starts a proxy on 127.0.0.1 in front of `options.target`; it is closed (every connection
 * reset) with the scope.
 */
export const make = (options: Options): Effect.Effect<FaultProxy, Error, Scope.Scope> =>
  Effect.gen(function*() {
    let faults: Faults = options.faults ?? {}
    checkFaults(faults)
    const random = Random.make(Random.chooseSeed(options.seed))
    let targetPort = typeof options.target === "number" ? options.target : Number(new URL(options.target).port)
    const targetHost = typeof options.target === "number" ? "127.0.0.1" : new URL(options.target).hostname
    const capture = options.capture ?? false

    let log: Array<MutableExchange> = []
    let nextExchange = 0
    let nextConnection = 0
    const zero = (): Record<ExchangeFault, number> => ({
      resetRequest: 0,
      blackhole: 0,
      hang: 0,
      resetResponse: 0,
      closeAfterHeaders: 0,
      trickleRequest: 0,
      trickle: 0,
      answer: 0,
      none: 0
    })
    let counts = { connections: 0, refused: 0, upstreamFailures: 0, byFault: zero() }
    const open = new Set<{ client: Net.Socket; upstream: Net.Socket }>()

    const pick = (): ExchangeFault => {
      const u = random.next()
      let acc = 0
      for (const kind of requestFaults) {
        acc += faults[kind] ?? 0
        if (u < acc) return kind
      }
      return "none"
    }

    const onConnection = (client: Net.Socket): void => {
      const connection = nextConnection++
      counts.connections++
      client.setNoDelay(true)
      if ((faults.refuse ?? 0) > 0 && random.next() < faults.refuse!) {
        counts.refused++
        client.on("error", () => {})
        client.resetAndDestroy()
        return
      }
      const upstream = Net.connect({ host: targetHost, port: targetPort })
      upstream.setNoDelay(true)
      const pair = { client, upstream }
      open.add(pair)
      const toServer = new Lane(upstream)
      const toClient = new Lane(client)
      const tracker = new ResponseTracker()
      const awaiting: Array<Awaiting> = []
      /** Exchanges of this connection the client has not finished yet. */
      const live = new Set<MutableExchange>()
      let pending: Buffer = Buffer.alloc(0)
      let hanging = false
      let finished = false

      const end = (exchange: MutableExchange): void => {
        if (exchange.endedAt === undefined) exchange.endedAt = Date.now()
        live.delete(exchange)
      }
      const finish = (): void => {
        if (finished) return
        finished = true
        for (const exchange of live) end(exchange)
        toServer.clear()
        toClient.clear()
        open.delete(pair)
      }
      const reset = (): void => {
        finish()
        if (!client.destroyed) client.resetAndDestroy()
        if (!upstream.destroyed) upstream.resetAndDestroy()
      }

      client.on("error", () => finish())
      client.on("end", () => {
        finish()
        upstream.destroy()
        client.destroy()
      })
      client.on("close", () => {
        finish()
        upstream.destroy()
      })
      upstream.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "ECONNREFUSED") counts.upstreamFailures++
        reset()
      })
      upstream.on("end", () => {
        // the server closed its side: pass the close on once what is queued for the client is out
        if (hanging) return
        toClient.send(undefined, 0, () => {
          finish()
          client.end()
        })
      })

      client.on("data", (chunk: Buffer) => {
        if (finished) return
        const taken = takeRequests(Buffer.concat([pending, chunk]))
        pending = taken.rest
        for (const parsed of taken.requests) handleRequest(parsed)
      })

      const handleRequest = (parsed: ParsedRequest): void => {
        const request: ProxiedRequest = {
          method: parsed.head.method ?? "",
          path: parsed.head.path ?? "",
          headers: parsed.head.headers,
          body: parsed.body,
          text: () => parsed.body.toString("utf8")
        }
        const exchange: MutableExchange = {
          id: nextExchange++,
          connection,
          method: request.method,
          path: request.path,
          fault: "none",
          startedAt: Date.now(),
          endedAt: undefined,
          status: undefined,
          reachedServer: false,
          body: capture ? request.text() : undefined
        }
        log.push(exchange)
        live.add(exchange)
        const answer = faults.answer?.(request)
        if (answer !== undefined) {
          exchange.fault = "answer"
          exchange.status = answer.status
          counts.byFault.answer++
          toClient.send(answerBytes(answer), delayOf(faults.toClient, random), () => {
            end(exchange)
            finish()
            client.end()
            upstream.destroy()
          })
          return
        }
        const chosen = faults.choose?.(request)
        const applies = chosen !== undefined || faults.only === undefined || faults.only(request)
        const fault = chosen ?? (applies ? pick() : "none")
        exchange.fault = fault
        counts.byFault[fault]++
        const toServerDelay = applies ? delayOf(faults.toServer, random) : 0
        const rate = faults.trickleRate ?? { bytes: 64, everyMillis: 20 }
        switch (fault) {
          case "blackhole":
            hanging = true
            return
          case "resetRequest": {
            const cut = Math.max(1, Math.floor(parsed.raw.length / 2))
            toServer.send(parsed.raw.subarray(0, cut), toServerDelay, () => setTimeout(reset, 5))
            return
          }
          case "trickleRequest": {
            for (let at = 0; at < parsed.raw.length; at += rate.bytes) {
              const last = at + rate.bytes >= parsed.raw.length
              toServer.send(
                parsed.raw.subarray(at, at + rate.bytes),
                at === 0 ? toServerDelay : rate.everyMillis,
                last ? () => (exchange.reachedServer = true) : undefined,
                rate.everyMillis
              )
            }
            break
          }
          default:
            toServer.send(parsed.raw, toServerDelay, () => (exchange.reachedServer = true))
        }
        if (fault === "hang") hanging = true
        awaiting.push({ exchange, fault, delayed: applies, held: [], head: undefined })
      }

      upstream.on("data", (chunk: Buffer) => {
        if (finished) return
        const marks = tracker.feed(chunk)
        let pos = 0
        let headIndex = 0
        const ends = [...marks.ends]
        while (pos < chunk.length) {
          const current = awaiting[0]
          const boundary = ends.length > 0 ? ends[0]! : chunk.length
          const isEnd = ends.length > 0
          const piece = chunk.subarray(pos, boundary)
          while (headIndex < marks.heads.length && marks.heads[headIndex]!.at <= boundary) {
            if (current !== undefined) {
              current.head = marks.heads[headIndex]!.head
              current.exchange.status = current.head.status
            }
            headIndex++
          }
          if (current === undefined) {
            // bytes no request asked for: pass them on
            toClient.send(piece, 0)
          } else handleResponse(current, piece, isEnd)
          if (isEnd) {
            ends.shift()
            awaiting.shift()
          }
          pos = boundary
          if (finished) return
        }
      })

      const handleResponse = (current: Awaiting, piece: Buffer, isEnd: boolean): void => {
        const exchange = current.exchange
        const delay = current.delayed ? delayOf(faults.toClient, random) : 0
        switch (current.fault) {
          case "hang":
            // swallowed: the client waits until it gives up and closes
            return
          case "resetResponse":
          case "closeAfterHeaders": {
            current.held.push(piece)
            if (!isEnd) return
            const whole = Buffer.concat(current.held)
            const headBytes = current.head?.headBytes ?? whole.length
            if (current.fault === "closeAfterHeaders") {
              toClient.send(whole.subarray(0, headBytes), delay, () => {
                end(exchange)
                finish()
                client.end()
                upstream.destroy()
              })
            } else {
              const bodyBytes = whole.length - headBytes
              const cut = bodyBytes > 0 ? headBytes + Math.max(1, Math.floor(bodyBytes / 2)) : Math.floor(headBytes / 2)
              toClient.send(whole.subarray(0, cut), delay, () => setTimeout(reset, 5))
            }
            return
          }
          case "trickle": {
            const rate = faults.trickleRate ?? { bytes: 64, everyMillis: 20 }
            for (let at = 0; at < piece.length; at += rate.bytes) {
              const last = isEnd && at + rate.bytes >= piece.length
              toClient.send(piece.subarray(at, at + rate.bytes), rate.everyMillis, last ? () => end(exchange) : undefined, rate.everyMillis)
            }
            if (piece.length === 0 && isEnd) toClient.send(undefined, 0, () => end(exchange))
            return
          }
          default:
            toClient.send(piece, delay, isEnd ? () => end(exchange) : undefined)
        }
      }
    }

    // listening, and listening again after `down`
    let server: Net.Server | undefined = undefined
    const listen = (port: number) =>
      Effect.async<number, Error>((resume) => {
        const s = Net.createServer({ noDelay: true }, onConnection)
        s.once("error", (error) => resume(Effect.fail(new Error(`fault proxy: cannot listen on 127.0.0.1:${port}: ${error.message}`))))
        s.listen(port, "127.0.0.1", () => {
          server = s
          resume(Effect.succeed((s.address() as Net.AddressInfo).port))
        })
      })
    const resetAll = Effect.sync(() => {
      for (const { client, upstream } of [...open]) {
        if (!client.destroyed) client.resetAndDestroy()
        if (!upstream.destroyed) upstream.resetAndDestroy()
      }
      open.clear()
    })
    const stop = Effect.zipRight(
      resetAll,
      Effect.async<void>((resume) => {
        const s = server
        server = undefined
        if (s === undefined) return resume(Effect.void)
        s.close(() => resume(Effect.void))
      })
    )

    const port = yield* Effect.acquireRelease(listen(options.port ?? 0), () => stop)
    const url = `http://127.0.0.1:${port}`
    const describe = () => `fault proxy seed ${random.seed} (replay: ${Random.seedVariable}=${random.seed})`
    const snapshot = (): ReadonlyArray<Exchange> => log.map((e) => ({ ...e }))

    return {
      url,
      port,
      seed: random.seed,
      describe,
      set: (next) =>
        Effect.sync(() => {
          checkFaults(next)
          faults = next
        }),
      heal: Effect.sync(() => {
        faults = {}
      }),
      down: stop,
      up: Effect.suspend(() => (server === undefined ? Effect.asVoid(listen(port)) : Effect.void)).pipe(Effect.orDie),
      resetConnections: resetAll,
      retarget: (next) =>
        Effect.sync(() => {
          targetPort = next
        }),
      exchanges: Effect.sync(snapshot),
      unsafeExchanges: snapshot,
      stats: Effect.sync(() => ({
        connections: counts.connections,
        refused: counts.refused,
        upstreamFailures: counts.upstreamFailures,
        exchanges: log.length,
        byFault: { ...counts.byFault }
      })),
      clear: Effect.sync(() => {
        log = []
        counts = { connections: 0, refused: 0, upstreamFailures: 0, byFault: zero() }
      })
    } satisfies FaultProxy
  })
