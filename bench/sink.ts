/**
 * The loopback sink of the exporter benches (`bench/exporter.ts`, `bench/delivered.ts`): a plain
 * Node process of its own (so its CPU is never the exporting process's) that reads every body
 * whole, parses it and counts what it holds:
 *
 * - `POST /v1/ingest` (houndsight): JSON, trails and steps counted; answered as the gate server's
 *   ingest answers (DESIGN.md: 202 `{accepted, duplicates}`);
 * - `POST /v1/traces` (OpenTelemetry): OTLP/JSON (`resourceSpans[].scopeSpans[].spans[]`) or,
 *   with `content-type: application/x-protobuf`, OTLP/protobuf (an `ExportTraceServiceRequest`
 *   walked field by field to count its spans); answered 200 with an empty
 *   `ExportTraceServiceResponse` in the request's encoding.
 *
 * `GET /count` answers the counters, `POST /reset` zeroes them.
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn } from "node:child_process"

/**
 * What the sink counted since its last reset: records per kind, requests, body bytes and the
 * time it spent parsing, per sender (`houndsight`, `otlp` for OTLP/JSON, `otlpProto`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SinkCounts {
  /** Trails and steps (houndsight), spans (OTLP). */
  readonly houndsight: number
  readonly houndsightSteps: number
  readonly houndsightRequests: number
  readonly houndsightBytes: number
  readonly houndsightMs: number
  readonly otlp: number
  readonly otlpRequests: number
  readonly otlpBytes: number
  readonly otlpMs: number
  readonly otlpProto: number
  readonly otlpProtoRequests: number
  readonly otlpProtoBytes: number
  readonly otlpProtoMs: number
}

const sinkSource = `
const http = require("node:http")
const zero = () => ({
  houndsight: 0, houndsightSteps: 0, houndsightRequests: 0, houndsightBytes: 0, houndsightMs: 0,
  otlp: 0, otlpRequests: 0, otlpBytes: 0, otlpMs: 0,
  otlpProto: 0, otlpProtoRequests: 0, otlpProtoBytes: 0, otlpProtoMs: 0
})
let c = zero()
// protobuf: the length-delimited fields numbered "field" of the message in b[from, to)
const fields = (b, from, to, field, each) => {
  let at = from
  const varint = () => {
    let v = 0, shift = 1
    for (;;) {
      const byte = b[at++]
      v += (byte & 127) * shift
      if (byte < 128) return v
      shift *= 128
    }
  }
  while (at < to) {
    const key = varint()
    const wire = key % 8
    if (wire === 0) varint()
    else if (wire === 1) at += 8
    else if (wire === 5) at += 4
    else if (wire === 2) {
      const len = varint()
      if ((key - wire) / 8 === field) each(at, at + len)
      at += len
    } else throw new Error("protobuf wire type " + wire)
  }
  if (at !== to) throw new Error("protobuf message overruns its length")
}
const countProtoSpans = (b) => {
  let n = 0
  // ExportTraceServiceRequest.resource_spans = 1, ResourceSpans.scope_spans = 2, ScopeSpans.spans = 2
  fields(b, 0, b.length, 1, (f, t) => fields(b, f, t, 2, (f2, t2) => fields(b, f2, t2, 2, () => { n++ })))
  return n
}
const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/count") {
    res.writeHead(200, { "content-type": "application/json" })
    return res.end(JSON.stringify(c))
  }
  if (req.method === "POST" && req.url === "/reset") {
    c = zero()
    return res.end("{}")
  }
  const chunks = []
  req.on("data", (chunk) => chunks.push(chunk))
  req.on("end", () => {
    const t0 = performance.now()
    const buffer = Buffer.concat(chunks)
    if (req.url === "/v1/ingest") {
      const body = JSON.parse(buffer.toString("utf8"))
      const accepted = body.trails.length + body.steps.length
      c.houndsight += accepted
      c.houndsightSteps += body.steps.length
      c.houndsightRequests++
      c.houndsightBytes += buffer.length
      c.houndsightMs += performance.now() - t0
      res.writeHead(202, { "content-type": "application/json" })
      return res.end(JSON.stringify({ accepted, duplicates: 0 }))
    }
    if (req.url === "/v1/traces") {
      if (String(req.headers["content-type"]).startsWith("application/x-protobuf")) {
        c.otlpProto += countProtoSpans(buffer)
        c.otlpProtoRequests++
        c.otlpProtoBytes += buffer.length
        c.otlpProtoMs += performance.now() - t0
        res.writeHead(200, { "content-type": "application/x-protobuf" })
        return res.end()
      }
      const body = JSON.parse(buffer.toString("utf8"))
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) c.otlp += (ss.spans ?? []).length
      c.otlpRequests++
      c.otlpBytes += buffer.length
      c.otlpMs += performance.now() - t0
      res.writeHead(200, { "content-type": "application/json" })
      return res.end("{}")
    }
    res.writeHead(404, { "content-type": "application/json" })
    res.end(JSON.stringify({ error: { code: "not_found", message: "the sink knows /v1/ingest and /v1/traces" } }))
  })
})
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"))
`

/**
 * Starts the sink in a child `node` process on a free loopback port; resolves to the process
 * and its base URL. The caller kills it when done.
 *
 * @since 0.1.0
 * @category constructors
 */
export const startSink = (): Promise<{ readonly child: ChildProcess; readonly url: string }> =>
  new Promise((resolve, reject) => {
    const sink = spawn(process.execPath, ["-e", sinkSource], { stdio: ["ignore", "pipe", "inherit"] })
    sink.once("error", reject)
    sink.stdout!.once("data", (chunk: Buffer) => resolve({ child: sink, url: `http://127.0.0.1:${chunk.toString().trim()}` }))
  })

/**
 * What the sink at `url` counted since its last reset.
 *
 * @since 0.1.0
 * @category reading
 */
export const sinkCounts = async (url: string): Promise<SinkCounts> =>
  (await (await fetch(`${url}/count`)).json()) as SinkCounts

/**
 * Zeroes the sink's counters.
 *
 * @since 0.1.0
 * @category reading
 */
export const resetSink = async (url: string): Promise<void> => {
  await fetch(`${url}/reset`, { method: "POST" })
}
