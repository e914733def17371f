/**
 * A lean `fetch` on `node:http` / `node:https`, for the exporter's own requests on Node.
 *
 * Node's global `fetch` (undici) costs about 2 ms of CPU per request on a small server core,
 * whatever the body's size: a `Request`, a copy of the body, a web stream to write it from, a
 * `Response` read through another web stream. `node:http` with a keep-alive agent costs about
 * 0.7 ms for the same request. The exporter sends one request per 512 records, so this is 3–4 µs
 * a record, as much as encoding them (BENCHMARKS.md, "Exporter").
 *
 * The exporter hands it to `FetchHttpClient` as `FetchHttpClient.Fetch` for its own fibers only,
 * so it applies only when the exporter's `HttpClient` is the default `FetchHttpClient`, and only:
 *
 * - on Node (it needs `process.getBuiltinModule`, Node 20.16+; not Bun, not Deno);
 * - when the context has neither a `FetchHttpClient.Fetch` nor a `FetchHttpClient.RequestInit`
 *   of the user's own (a custom dispatcher or proxy keeps going through `fetch`);
 * - while `globalThis.fetch` is the one this module found when it loaded (a test that stubs
 *   `fetch` after importing houndsight sees every request);
 * - for bodies of bytes or text; anything else goes to `fetch`.
 *
 * The answer is read whole before the `Response` is returned (the collector answers a few
 * bytes); a connection that breaks before the end of the answer rejects, like any transport
 * failure. A redirect is returned as it is, not followed (as `redirect: "manual"`): the exporter
 * then drops the batch as for any other status it cannot use, and says where the endpoint points,
 * so the API key is never sent to another address. (Node 20's own `fetch` cannot follow a 307 or
 * 308 with a body of bytes anyway: it fails, and the batch would be retried for ever.)
 *
 * @internal
 */
/// <reference types="node" />
import type * as Http from "node:http"
import type * as Https from "node:https"

/** A `fetch` and how to let its idle connections go. */
export interface LeanFetch {
  readonly fetch: typeof globalThis.fetch
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

const toRecord = (headers: HeadersInit | undefined): Record<string, string> => {
  if (headers === undefined) return {}
  if (headers instanceof Headers || Array.isArray(headers)) {
    const record: Record<string, string> = {}
    new Headers(headers).forEach((value, name) => {
      record[name] = value
    })
    return record
  }
  return { ...(headers as Record<string, string>) }
}

/** A lean fetch, or undefined where it does not apply (not Node, or too old a Node). */
export const make = (): LeanFetch | undefined => {
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

  const lean = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    // someone replaced fetch (a test, an instrumentation): let them see the request
    if (globalThis.fetch !== nativeFetch) return globalThis.fetch(input, init)
    const body = init?.body
    if (typeof input !== "string" && !(input instanceof URL)) return nativeFetch(input, init)
    if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) {
      return nativeFetch(input, init)
    }
    const url = typeof input === "string" ? new URL(input) : input
    if (url.protocol !== "http:" && url.protocol !== "https:") return nativeFetch(input, init)
    const signal = init?.signal ?? undefined
    if (signal?.aborted) return Promise.reject(signal.reason)
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body ?? undefined
    const headers = toRecord(init?.headers)
    if (bytes !== undefined) headers["content-length"] = String(bytes.byteLength)
    const secure = url.protocol === "https:"

    return new Promise<Response>((resolve, reject) => {
      let settled = false
      const settle = (outcome: () => void): void => {
        if (settled) return
        settled = true
        signal?.removeEventListener("abort", onAbort)
        outcome()
      }
      const options = { method: init?.method ?? "GET", headers, agent: secure ? httpsAgent : httpAgent }
      const req = secure ? https.request(url, options) : http.request(url, options)
      const onAbort = (): void => {
        const reason: unknown = signal?.reason
        req.destroy(reason instanceof Error ? reason : undefined)
        settle(() => reject(reason))
      }
      signal?.addEventListener("abort", onAbort, { once: true })
      req.on("error", (error) => settle(() => reject(error)))
      req.on("response", (res) => {
        const status = res.statusCode ?? 0
        const chunks: Array<Uint8Array> = []
        res.on("data", (chunk: Uint8Array) => chunks.push(chunk))
        res.on("error", (error) => settle(() => reject(error)))
        res.on("close", () => {
          if (!res.complete) settle(() => reject(new Error("the connection closed before the end of the answer")))
        })
        res.on("end", () => {
          settle(() => {
            try {
              const answer = new Headers()
              for (const [name, value] of Object.entries(res.headers)) {
                if (value !== undefined) answer.set(name, Array.isArray(value) ? value.join(", ") : value)
              }
              const empty = status === 204 || status === 205 || status === 304
              resolve(
                new Response(empty ? null : Buffer.concat(chunks), {
                  status,
                  statusText: res.statusMessage ?? "",
                  headers: answer
                })
              )
            } catch (error) {
              // a status fetch cannot represent (below 200 or above 599), or a malformed header
              reject(error)
            }
          })
        })
      })
      req.end(bytes)
    })
  }

  return {
    fetch: lean as typeof globalThis.fetch,
    close: () => {
      httpAgent.destroy()
      httpsAgent.destroy()
    }
  }
}
