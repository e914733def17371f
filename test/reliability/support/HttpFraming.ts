/**
 * Just enough HTTP/1.1 framing for the fault proxy to find where a request ends (so it can hold a
 * whole request, answer it itself, or cut it in the middle) and where a response's head and body
 * end (so it can cut a response mid-body, close it right after its headers, or trickle it). It
 * reads `Content-Length` and `Transfer-Encoding: chunked`; a response with neither ends when the
 * connection does. It never changes a byte.
 */

/** The start line and headers of a message. */
export interface Head {
  /** Request: the method; response: `undefined`. */
  readonly method: string | undefined
  /** Request: the path with its query; response: `undefined`. */
  readonly path: string | undefined
  /** Response: the status; request: `undefined`. */
  readonly status: number | undefined
  /** Header names in lower case; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>
  /** Bytes of the start line and headers, the blank line included. */
  readonly headBytes: number
}

/** A complete request, as the client sent it. */
export interface ParsedRequest {
  readonly head: Head
  readonly body: Buffer
  /** The request's exact bytes (head and body). */
  readonly raw: Buffer
}

const headEnd = (buffer: Buffer): number => {
  const i = buffer.indexOf("\r\n\r\n")
  return i < 0 ? -1 : i + 4
}

const parseHead = (text: string, headBytes: number): Head => {
  const lines = text.split("\r\n")
  const start = lines[0] ?? ""
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":")
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  if (start.startsWith("HTTP/")) {
    return { method: undefined, path: undefined, status: Number(start.split(" ")[1]), headers, headBytes }
  }
  const [method, path] = start.split(" ")
  return { method, path, status: undefined, headers, headBytes }
}

const isChunked = (head: Head): boolean => (head.headers["transfer-encoding"] ?? "").toLowerCase().includes("chunked")

/**
 * Where a chunked body that starts at `from` ends (the offset just past its last CRLF), or -1
 * when `buffer` does not hold all of it yet.
 */
const chunkedEnd = (buffer: Buffer, from: number): number => {
  let at = from
  while (true) {
    const lineEnd = buffer.indexOf("\r\n", at)
    if (lineEnd < 0) return -1
    const size = parseInt(buffer.subarray(at, lineEnd).toString("latin1").split(";")[0]!.trim(), 16)
    if (Number.isNaN(size)) return -1
    at = lineEnd + 2
    if (size === 0) {
      // trailers, then a blank line
      while (true) {
        const end = buffer.indexOf("\r\n", at)
        if (end < 0) return -1
        if (end === at) return end + 2
        at = end + 2
      }
    }
    if (buffer.length < at + size + 2) return -1
    at += size + 2
  }
}

/**
 * Takes every complete request off the front of `buffer`. Answers them and the bytes left over
 * (the start of the next request).
 */
export const takeRequests = (buffer: Buffer): { readonly requests: ReadonlyArray<ParsedRequest>; readonly rest: Buffer } => {
  const requests: Array<ParsedRequest> = []
  let rest = buffer
  while (rest.length > 0) {
    const end = headEnd(rest)
    if (end < 0) break
    const head = parseHead(rest.subarray(0, end - 4).toString("latin1"), end)
    let total: number
    if (isChunked(head)) {
      total = chunkedEnd(rest, end)
      if (total < 0) break
    } else {
      total = end + Number(head.headers["content-length"] ?? 0)
      if (rest.length < total) break
    }
    const raw = Buffer.from(rest.subarray(0, total))
    requests.push({ head, body: isChunked(head) ? raw.subarray(end) : raw.subarray(end), raw })
    rest = rest.subarray(total)
  }
  return { requests, rest: Buffer.from(rest) }
}

/** What one piece of a response stream holds: where a head ends and where a message ends. */
export interface ResponseMarks {
  /** Offsets (in the piece) just past the end of a head, with that head. */
  readonly heads: ReadonlyArray<{ readonly at: number; readonly head: Head }>
  /** Offsets (in the piece) just past the end of a message. */
  readonly ends: ReadonlyArray<number>
}

type State =
  | { readonly _tag: "Head" }
  | { readonly _tag: "Length"; remaining: number }
  | { readonly _tag: "Chunked" }
  | { readonly _tag: "UntilClose" }

/**
 * Follows a stream of responses on one connection (keep-alive: one after another) and marks
 * where each head and each message ends. Feed it every byte the server sends, in order.
 */
export class ResponseTracker {
  private state: State = { _tag: "Head" }
  /** Bytes of the current head or chunked body not yet complete, kept to parse them. */
  private pending: Buffer = Buffer.alloc(0)
  /** Offset in `pending` where the chunked body began. */
  private bodyStart = 0
  /** The head of the message being read, if any. */
  head: Head | undefined = undefined

  /** Marks the heads and message ends inside `chunk`. */
  feed(chunk: Buffer): ResponseMarks {
    const heads: Array<{ at: number; head: Head }> = []
    const ends: Array<number> = []
    let offset = 0
    while (offset < chunk.length) {
      const state = this.state
      switch (state._tag) {
        case "Head": {
          const before = this.pending.length
          this.pending = Buffer.concat([this.pending, chunk.subarray(offset)])
          const end = headEnd(this.pending)
          if (end < 0) return { heads, ends }
          const head = parseHead(this.pending.subarray(0, end - 4).toString("latin1"), end)
          const at = offset + (end - before)
          heads.push({ at, head })
          this.head = head
          offset = at
          this.pending = Buffer.alloc(0)
          const status = head.status ?? 200
          const noBody = (status >= 100 && status < 200) || status === 204 || status === 304
          if (noBody) {
            ends.push(offset)
            this.state = { _tag: "Head" }
          } else if (isChunked(head)) {
            this.state = { _tag: "Chunked" }
            this.bodyStart = 0
          } else if (head.headers["content-length"] !== undefined) {
            const length = Number(head.headers["content-length"])
            if (length === 0) {
              ends.push(offset)
              this.state = { _tag: "Head" }
            } else this.state = { _tag: "Length", remaining: length }
          } else this.state = { _tag: "UntilClose" }
          break
        }
        case "Length": {
          const take = Math.min(state.remaining, chunk.length - offset)
          state.remaining -= take
          offset += take
          if (state.remaining === 0) {
            ends.push(offset)
            this.state = { _tag: "Head" }
          }
          break
        }
        case "Chunked": {
          const before = this.pending.length
          this.pending = Buffer.concat([this.pending, chunk.subarray(offset)])
          const end = chunkedEnd(this.pending, this.bodyStart)
          if (end < 0) return { heads, ends }
          offset += end - before
          ends.push(offset)
          this.pending = Buffer.alloc(0)
          this.state = { _tag: "Head" }
          break
        }
        case "UntilClose":
          return { heads, ends }
      }
    }
    return { heads, ends }
  }

  /** The length of the body of the message being read, when its head declared one. */
  get contentLength(): number | undefined {
    const value = this.head?.headers["content-length"]
    return value === undefined ? undefined : Number(value)
  }
}
