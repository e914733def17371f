/**
 * A lean HTTP POST on `node:http` / `node:https`, for the exporter's own requests on Node.
 *
 * Node's global `fetch` (undici) spends CPU on every request whatever the body's size: a
 * `Request`, a copy of the body, a web stream to write it from, a `Response` read through another
 * web stream. `node:http` with a keep-alive agent does the same request for a fraction of that,
 * and less again without a `Response`, its `Headers` and the `HttpClient` around them. At full
 * speed the time from one answer to the next request is part of every batch's round trip, with
 * one request in flight (BENCHMARKS.md, "Exporter", has the figures).
 *
 * The exporter posts through it instead of its `HttpClient` (the choice is made once, in
 * `exporter/transport.ts`) only when that client is the default `FetchHttpClient`, and only:
 *
 * - on Node (it needs `process.getBuiltinModule`, Node 20.16+; not Bun, not Deno);
 * - when the context has neither a `FetchHttpClient.Fetch` nor a `FetchHttpClient.RequestInit`
 *   of the user's own (a custom dispatcher or proxy keeps going through `fetch`);
 * - while `globalThis.fetch` is the one this module found when it loaded (`applies`: a test that
 *   stubs `fetch` after importing houndsight sees every request);
 * - for `http:` and `https:` endpoints.
 *
 * The answer is read whole before it is handed over (the collector answers a few bytes); a
 * connection that breaks before the end of the answer is a transport failure. A redirect is
 * returned as it is, not followed (as `fetch` with `redirect: "manual"`): the exporter then drops
 * the batch as for any other status it cannot use, and says where the endpoint points, so the API
 * key is never sent to another address. (Node 20's own `fetch` cannot follow a 307 or 308 with a
 * body of bytes anyway: it fails, and the batch would be retried for ever.) A status `fetch`
 * cannot represent (below 200 or above 599) is a transport failure, as it is through `fetch`.
 *
 * @internal
 */
/// <reference types="node" />
import type * as Http from "node:http"
import type * as Https from "node:https"

/** What the server answered: the status, the headers the exporter reads, the body. */
export interface Answer {
  readonly status: number
  readonly retryAfter: string | undefined
  readonly location: string | undefined
  readonly body: Uint8Array
}

/** Called once with the answer, or with the transport failure (an `Error`, often with a `code`). */
export type Done = (error: unknown, answer: Answer | undefined) => void

/** A lean POST, whether it applies now, and how to let its idle connections go. */
export interface LeanPost {
  /** `false` once `globalThis.fetch` was replaced: the requests then go through it. */
  readonly applies: () => boolean
  /**
   * POSTs `body` to `url` (`http:` or `https:`) with `headers` and a `content-length`; calls
   * `done` once. Returns a function that aborts the request (`done` is then not called).
   */
  readonly post: (url: URL, headers: Readonly<Record<string, string>>, body: Uint8Array, done: Done) => () => void
  readonly close: () => void
}

interface NodeProcess {
  readonly versions?: { readonly node?: string; readonly bun?: string }
  readonly getBuiltinModule?: (id: string) => unknown
}

/** `fetch` as it was when houndsight loaded: what "Node's own" means below. */
const loadedFetch: typeof globalThis.fetch | undefined = typeof globalThis.fetch === "function"
  ? globalThis.fetch
  : undefined

const headerText = (value: string | Array<string> | undefined): string | undefined =>
  Array.isArray(value) ? value.join(", ") : value

/** A lean POST, or undefined where it does not apply (not Node, or too old a Node). */
export const make = (): LeanPost | undefined => {
  const proc = (globalThis as { readonly process?: NodeProcess }).process
  if (
    proc?.versions?.node === undefined || proc.versions.bun !== undefined ||
    typeof proc.getBuiltinModule !== "function" || "Deno" in globalThis || loadedFetch === undefined
  ) return undefined
  const http = proc.getBuiltinModule("node:http") as typeof Http
  const https = proc.getBuiltinModule("node:https") as typeof Https
  const nativeFetch = loadedFetch
  const httpAgent = new http.Agent({ keepAlive: true })
  const httpsAgent = new https.Agent({ keepAlive: true })

  const post = (url: URL, headers: Readonly<Record<string, string>>, body: Uint8Array, done: Done): () => void => {
    const secure = url.protocol === "https:"
    let settled = false
    const settle = (error: unknown, answer: Answer | undefined): void => {
      if (settled) return
      settled = true
      done(error, answer)
    }
    const options = {
      method: "POST",
      headers: { ...headers, "content-length": String(body.byteLength) },
      agent: secure ? httpsAgent : httpAgent
    }
    const req = secure ? https.request(url, options) : http.request(url, options)
    req.on("error", (error) => settle(error, undefined))
    req.on("response", (res) => {
      const status = res.statusCode ?? 0
      const chunks: Array<Uint8Array> = []
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk))
      res.on("error", (error) => settle(error, undefined))
      res.on("close", () => {
        if (!res.complete) settle(new Error("the connection closed before the end of the answer"), undefined)
      })
      res.on("end", () => {
        if (status < 200 || status > 599) {
          settle(new RangeError(`the server answered with status ${status}, which is not an answer to a POST`), undefined)
          return
        }
        settle(undefined, {
          status,
          retryAfter: headerText(res.headers["retry-after"]),
          location: headerText(res.headers["location"]),
          body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
        })
      })
    })
    req.end(body)
    return () => {
      settled = true
      req.destroy()
    }
  }

  return {
    applies: () => globalThis.fetch === nativeFetch,
    post,
    close: () => {
      httpAgent.destroy()
      httpsAgent.destroy()
    }
  }
}
