/**
 * An open `/events` stream of the dashboard, read event by event (the live view's tests, on one
 * server and on several).
 */
import { Effect } from "effect"
import type { Tab } from "./helpers.js"

/** One server-sent event: its name and its data. */
export interface Event {
  readonly name: string
  readonly data: any
}

/** Opens `path` at `base` with the tab's cookies; closed with the scope. */
export const openEvents = (base: string, t: Tab, path = "/events") =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const controller = new AbortController()
      const cookie = [...t.cookies].map(([k, v]) => `${k}=${v}`).join("; ")
      const response = await fetch(`${base}${path}`, { headers: { cookie }, signal: controller.signal })
      return { controller, response, reader: response.body!.getReader(), buffer: "" }
    }),
    (stream) => Effect.sync(() => stream.controller.abort())
  ).pipe(Effect.map((stream) => {
    const decoder = new TextDecoder()
    /** The next event, or `undefined` when the stream ended. */
    const next: Effect.Effect<Event | undefined> = Effect.promise(async () => {
      for (;;) {
        const end = stream.buffer.indexOf("\n\n")
        if (end !== -1) {
          const block = stream.buffer.slice(0, end)
          stream.buffer = stream.buffer.slice(end + 2)
          const name = /^event: (.*)$/m.exec(block)?.[1]
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (name !== undefined && data !== undefined) return { name, data: JSON.parse(data) }
          continue
        }
        const chunk = await stream.reader.read().catch(() => ({ done: true as const, value: undefined }))
        if (chunk.done) return undefined
        stream.buffer += decoder.decode(chunk.value, { stream: true })
      }
    })
    /** Reads events until one satisfies `test`, for `seconds` at most (default 20). */
    const until = (test: (event: Event) => boolean, seconds = 20) =>
      Effect.gen(function*() {
        for (;;) {
          const event = yield* next
          if (event === undefined) throw new Error("the event stream ended before the expected event")
          if (test(event)) return event
        }
      }).pipe(Effect.timeoutFail({ duration: `${seconds} seconds`, onTimeout: () => new Error("no such event arrived in time") }))
    return { response: stream.response, next, until }
  }))
