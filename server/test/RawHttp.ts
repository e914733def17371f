/**
 * Raw HTTP/1.1 over node:net for the tests that need what `fetch` cannot send or see: a request
 * cut in the middle, headers never finished, an `Expect:` header, a connection held open.
 */
import { Effect, type Scope } from "effect"
import * as Net from "node:net"

/** A raw connection to the server. */
export interface RawConnection {
  /** Everything the server sent so far. */
  readonly received: () => string
  /** Whether the server closed (or reset) the connection. */
  readonly closed: () => boolean
  readonly write: (text: string) => void
  /** Closes the connection from this side at once. */
  readonly destroy: () => void
  /** Waits until the server closed the connection, or `millis` passed; answers what it sent. */
  readonly untilClosed: (millis: number) => Effect.Effect<string>
  /** Waits until the server sent a whole response head, or `millis` passed. */
  readonly untilAnswered: (millis: number) => Effect.Effect<string>
}

/** Opens a connection to `url`'s port on 127.0.0.1 (destroyed with the scope), sending `text`. */
export const connect = (url: string, text = ""): Effect.Effect<RawConnection, never, Scope.Scope> =>
  Effect.gen(function*() {
    const port = Number(new URL(url).port)
    const socket = yield* Effect.acquireRelease(
      Effect.async<Net.Socket>((resume) => {
        const s = Net.connect({ host: "127.0.0.1", port }, () => resume(Effect.succeed(s)))
        s.on("error", () => {})
      }),
      (s) => Effect.sync(() => s.destroy())
    )
    let data = ""
    let isClosed = false
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => (data += chunk))
    socket.on("close", () => (isClosed = true))
    if (text !== "") socket.write(text)
    const until = (done: () => boolean, millis: number) =>
      Effect.promise(() =>
        new Promise<string>((resolve) => {
          const started = Date.now()
          const check = () => {
            if (done() || Date.now() - started >= millis) resolve(data)
            else setTimeout(check, 10)
          }
          check()
        })
      )
    return {
      received: () => data,
      closed: () => isClosed,
      write: (t: string) => {
        if (!socket.destroyed) socket.write(t)
      },
      destroy: () => socket.destroy(),
      untilClosed: (millis: number) => until(() => isClosed, millis),
      untilAnswered: (millis: number) => until(() => isClosed || data.includes("\r\n\r\n"), millis)
    }
  })

/** The status and the JSON body of a raw response (`undefined` body when it is not JSON). */
export const parse = (response: string): { readonly status: number | undefined; readonly body: any } => {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]
  const at = response.indexOf("\r\n\r\n")
  let body: unknown
  try {
    body = at === -1 ? undefined : JSON.parse(response.slice(at + 4))
  } catch {
    body = undefined
  }
  return { status: status === undefined ? undefined : Number(status), body }
}
