/**
 * A fake OpenAI Responses API on 127.0.0.1 for the real `@effect/ai-openai` 0.41 client: it
 * answers `POST /responses` with the next scripted turn, as a JSON `Response` or (with
 * `stream: true`) as the SSE events from `response.created` through `response.output_text.delta`
 * and `response.function_call_arguments.delta` to `response.completed`, with usage. It keeps the
 * request bodies it received. Nothing leaves the machine.
 */
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** One answer of the fake model. */
export interface Turn {
  readonly text?: string
  readonly toolCalls?: ReadonlyArray<{ readonly id: string; readonly name: string; readonly args: unknown }>
  readonly usage?: { readonly input: number; readonly output: number; readonly cached?: number; readonly reasoning?: number }
  readonly model?: string
  /** Answer with this status and an OpenAI error body instead. */
  readonly status?: number
  /** Real milliseconds to wait before answering (and between streamed events). */
  readonly delayMs?: number
  /** Never answer (the request hangs until the client goes away). */
  readonly hang?: boolean
}

export interface FakeOpenAi {
  readonly url: string
  /** The JSON bodies of the requests, in order. */
  readonly requests: Array<any>
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const usageJson = (turn: Turn) => {
  const u = turn.usage ?? { input: 10, output: 5 }
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached ?? 0 },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning ?? 0 },
    total_tokens: u.input + u.output
  }
}

const messageItem = (id: string, text: string, status: "in_progress" | "completed") => ({
  id,
  type: "message",
  role: "assistant",
  status,
  content: status === "completed" ? [{ type: "output_text", text, annotations: [] }] : []
})

const callItem = (call: { id: string; name: string; args: unknown }, status: "in_progress" | "completed") => ({
  id: `fc_${call.id}`,
  type: "function_call",
  call_id: call.id,
  name: call.name,
  arguments: status === "completed" ? JSON.stringify(call.args) : "",
  status
})

const responseJson = (turn: Turn, id: string, done: boolean) => ({
  id,
  object: "response",
  status: done ? "completed" : "in_progress",
  created_at: 1_760_000_000,
  error: null,
  incomplete_details: null,
  output: done
    ? [
      ...(turn.text !== undefined ? [messageItem(`msg_${id}`, turn.text, "completed")] : []),
      ...(turn.toolCalls ?? []).map((c) => callItem(c, "completed"))
    ]
    : [],
  instructions: null,
  model: turn.model ?? "gpt-4o-mini-2024-07-18",
  tools: [],
  tool_choice: "auto",
  metadata: null,
  temperature: null,
  top_p: null,
  parallel_tool_calls: true,
  usage: done ? usageJson(turn) : null
})

const readBody = (req: Http.IncomingMessage) =>
  new Promise<string>((resolve, reject) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (c) => (body += c))
    req.on("end", () => resolve(body))
    req.on("error", reject)
  })

const streamTurn = async (res: Http.ServerResponse, turn: Turn, id: string) => {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
  let seq = 0
  const send = async (event: Record<string, unknown>) => {
    const data = { ...event, sequence_number: seq++ }
    res.write(`event: ${event.type as string}\ndata: ${JSON.stringify(data)}\n\n`)
    if (turn.delayMs !== undefined) await sleep(turn.delayMs)
  }
  await send({ type: "response.created", response: responseJson(turn, id, false) })
  let index = 0
  if (turn.text !== undefined) {
    const itemId = `msg_${id}`
    await send({ type: "response.output_item.added", output_index: index, item: messageItem(itemId, "", "in_progress") })
    // the text in pieces of up to 8 characters
    for (let i = 0; i < turn.text.length; i += 8) {
      await send({
        type: "response.output_text.delta",
        output_index: index,
        content_index: 0,
        item_id: itemId,
        delta: turn.text.slice(i, i + 8)
      })
    }
    await send({ type: "response.output_item.done", output_index: index, item: messageItem(itemId, turn.text, "completed") })
    index++
  }
  for (const call of turn.toolCalls ?? []) {
    await send({ type: "response.output_item.added", output_index: index, item: callItem(call, "in_progress") })
    await send({
      type: "response.function_call_arguments.delta",
      output_index: index,
      item_id: `fc_${call.id}`,
      delta: JSON.stringify(call.args)
    })
    await send({ type: "response.output_item.done", output_index: index, item: callItem(call, "completed") })
    index++
  }
  await send({ type: "response.completed", response: responseJson(turn, id, true) })
  res.end()
}

/** Starts the fake on a free port of 127.0.0.1, closed when the scope closes. */
export const fakeOpenAi = (turns: ReadonlyArray<Turn>) =>
  Effect.acquireRelease(
    Effect.async<{ server: Http.Server; fake: FakeOpenAi }>((resume) => {
      const requests: Array<any> = []
      let next = 0
      const server = Http.createServer(async (req, res) => {
        const body = await readBody(req)
        if (req.method !== "POST" || req.url !== "/responses") {
          res.writeHead(404, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: "invalid_request_error" } }))
          return
        }
        const json = JSON.parse(body)
        requests.push(json)
        const turn = turns[next++]
        if (turn === undefined) {
          res.writeHead(500, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: { message: "the fake model has no more turns", type: "server_error" } }))
          return
        }
        if (turn.hang === true) return
        const id = `resp_${next}`
        if (turn.status !== undefined) {
          if (turn.delayMs !== undefined) await sleep(turn.delayMs)
          res.writeHead(turn.status, { "content-type": "application/json" })
          res.end(JSON.stringify({ error: { message: "The model is overloaded", type: "invalid_request_error" } }))
          return
        }
        if (json.stream === true) return streamTurn(res, turn, id)
        if (turn.delayMs !== undefined) await sleep(turn.delayMs)
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify(responseJson(turn, id, true)))
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ server, fake: { url: `http://127.0.0.1:${port}`, requests } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ fake }) => fake))

/** The real OpenAI client and model pointed at the fake. */
export const openAiModel = (url: string, model = "gpt-4o-mini") =>
  OpenAiLanguageModel.model(model).pipe(
    Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make("sk-test-not-a-key"), apiUrl: url })),
    Layer.provide(FetchHttpClient.layer)
  )
