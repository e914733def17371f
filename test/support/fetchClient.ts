/**
 * A plain `fetch` client of the gate server bound to one bearer key, for the server tests and the
 * reliability suite: every answer read whole, its body parsed as JSON when it is JSON.
 */
import { Effect } from "effect"

/** An answer of the server. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON (`undefined` when it is not JSON). */
  readonly body: any
}

/** What to send. */
export interface Send {
  /** A value sent as JSON, or a string sent as is. */
  readonly body?: unknown
  readonly headers?: Record<string, string>
}

/** A client bound to a key. */
export interface Client {
  readonly get: (path: string, send?: Send) => Effect.Effect<Answer>
  readonly post: (path: string, send?: Send) => Effect.Effect<Answer>
  readonly request: (method: string, path: string, send?: Send) => Effect.Effect<Answer>
}

/** A `fetch` client for `base`, with `key` as the bearer key (none when `undefined`). */
export const client = (base: string, key: string | undefined): Client => {
  const request = (method: string, path: string, send: Send = {}) =>
    Effect.promise(async (signal) => {
      const headers: Record<string, string> = { ...send.headers }
      if (key !== undefined) headers["authorization"] = `Bearer ${key}`
      let body: string | undefined
      if (send.body !== undefined) {
        body = typeof send.body === "string" ? send.body : JSON.stringify(send.body)
        headers["content-type"] ??= "application/json"
      }
      const response = await fetch(`${base}${path}`, { method, headers, body: body ?? null, signal })
      const text = await response.text()
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
      return { status: response.status, headers: response.headers, text, body: parsed } satisfies Answer
    })
  return {
    request,
    get: (path, send) => request("GET", path, send),
    post: (path, send) => request("POST", path, send)
  }
}
