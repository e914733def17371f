/**
 * How a model step looks (issue 16): a `reason` step with a `model`, as `houndsight/ai` records
 * it, is shown as the conversation it was. The messages the call added (system, user, assistant
 * and tool messages, each with its role), then the model's answer: its reasoning, its text, the
 * tool calls it made with their name and arguments (pretty JSON), the results of the tools run
 * for it. Above them, the model, tokens (input, output, cached input, reasoning), cost, finish
 * reason and latency.
 *
 * Everything in it was written by an agent: it is escaped (the `html` tag), and bounded: a long
 * text or JSON value is cut with `…` and a note saying how much is shown, and past a number of
 * messages or parts the rest is counted, not shown. The raw record stays on the page, folded
 * (`raw record`), whole. A step whose input or output does not have the shape the recorder
 * writes is shown as raw JSON blocks only, as any other step.
 *
 * The shape read here (the recorder's, `src/ai/record.ts`):
 * - input: `{ messages?: [{ role, content: string | [part] }], history_messages?, prompt_problem?,
 *   tools?: [name], tool_choice?, object_name? }`, a part being `{ type: "text" | "reasoning", text }`,
 *   `{ type: "tool_call", id, name, params }`, `{ type: "tool_result", id, name, is_failure, result }`,
 *   `{ type: "file", media_type, file_name }` or `{ type }`;
 * - output: `{ text, reasoning?, tool_calls?: [{ id, name, params }], tool_results?: [{ id, name,
 *   is_failure, result }], object?, finish_reason, latency_ms, first_part_ms? }`.
 *
 * @since 0.1.0
 */
import type * as Wire from "houndsight/wire"
import * as Cut from "./Cut.js"
import * as Format from "./Format.js"
import { type Html, html } from "./Html.js"

/**
 * How much of a model step is shown: characters of one text or JSON value, messages, parts of a
 * message (tool calls or results of an answer).
 *
 * @since 0.1.0
 * @category constants
 */
export const limits = { chars: 4000, messages: 100, parts: 50 } as const

// ---------------------------------------------------------------------------------------------
// the shape, read
// ---------------------------------------------------------------------------------------------

type Role = "system" | "user" | "assistant" | "tool"

const roles: ReadonlySet<string> = new Set<Role>(["system", "user", "assistant", "tool"])

interface ToolCall {
  readonly id: string | undefined
  readonly name: string
  readonly params: unknown
}

interface ToolResult {
  readonly id: string | undefined
  readonly name: string
  readonly failure: boolean
  readonly result: unknown
}

type Part =
  | { readonly kind: "text" | "reasoning"; readonly text: string }
  | { readonly kind: "tool_call"; readonly call: ToolCall }
  | { readonly kind: "tool_result"; readonly result: ToolResult }
  | { readonly kind: "file"; readonly mediaType: string | undefined; readonly fileName: string | undefined }
  | { readonly kind: "other"; readonly type: string }

interface Message {
  readonly role: Role
  readonly parts: ReadonlyArray<Part>
}

interface Call {
  readonly messages: ReadonlyArray<Message> | undefined
  readonly history: number | undefined
  readonly problem: string | undefined
  readonly tools: ReadonlyArray<string> | undefined
  readonly toolChoice: unknown
  readonly objectName: string | undefined
}

interface Answer {
  readonly text: string
  readonly reasoning: string | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly toolResults: ReadonlyArray<ToolResult>
  readonly hasObject: boolean
  readonly object: unknown
  readonly finishReason: string | undefined
  readonly latencyMs: number | undefined
  readonly firstPartMs: number | undefined
}

/** Thrown (and caught in `modelStep`) when a value does not have the recorder's shape. */
class Unexpected {
  constructor(readonly what: string) {}
}

const fail = (what: string): never => {
  throw new Unexpected(what)
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const has = (o: Record<string, unknown>, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

const optString = (o: Record<string, unknown>, key: string): string | undefined => {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  return typeof v === "string" ? v : fail(key)
}

const optCount = (o: Record<string, unknown>, key: string): number | undefined => {
  const v = o[key]
  if (v === undefined || v === null) return undefined
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : fail(key)
}

const arrayOf = <A>(u: unknown, what: string, read: (item: unknown) => A): Array<A> => {
  if (!Array.isArray(u)) return fail(what)
  const out = new Array<A>(u.length)
  for (let i = 0; i < u.length; i++) out[i] = read(u[i])
  return out
}

const readToolCall = (u: unknown): ToolCall => {
  if (!isRecord(u)) return fail("tool call")
  const name = u.name
  if (typeof name !== "string") return fail("tool call name")
  return { id: optString(u, "id"), name, params: u.params }
}

const readToolResult = (u: unknown): ToolResult => {
  if (!isRecord(u)) return fail("tool result")
  const name = u.name
  if (typeof name !== "string") return fail("tool result name")
  const failure = u.is_failure
  if (failure !== undefined && typeof failure !== "boolean") return fail("is_failure")
  return { id: optString(u, "id"), name, failure: failure === true, result: u.result }
}

const readPart = (u: unknown): Part => {
  if (!isRecord(u) || typeof u.type !== "string") return fail("part")
  switch (u.type) {
    case "text":
    case "reasoning": {
      const text = u.text
      return typeof text === "string" ? { kind: u.type, text } : fail("part text")
    }
    case "tool_call":
      return { kind: "tool_call", call: readToolCall(u) }
    case "tool_result":
      return { kind: "tool_result", result: readToolResult(u) }
    case "file":
      return { kind: "file", mediaType: optString(u, "media_type"), fileName: optString(u, "file_name") }
    default:
      return { kind: "other", type: u.type }
  }
}

const readMessage = (u: unknown): Message => {
  if (!isRecord(u) || typeof u.role !== "string" || !roles.has(u.role)) return fail("message")
  const content = u.content
  const parts = typeof content === "string" ? [{ kind: "text", text: content } as const] : arrayOf(content, "content", readPart)
  return { role: u.role as Role, parts }
}

const readCall = (u: unknown): Call => {
  if (!isRecord(u)) return fail("input")
  const problem = optString(u, "prompt_problem")
  if (!has(u, "messages") && problem === undefined) return fail("input messages")
  const tools = u.tools === undefined ? undefined : arrayOf(u.tools, "tools", (t) => typeof t === "string" ? t : fail("tool"))
  return {
    messages: u.messages === undefined ? undefined : arrayOf(u.messages, "messages", readMessage),
    history: optCount(u, "history_messages"),
    problem,
    tools,
    toolChoice: u.tool_choice,
    objectName: optString(u, "object_name")
  }
}

const readAnswer = (u: unknown): Answer => {
  if (!isRecord(u) || typeof u.text !== "string") return fail("output")
  return {
    text: u.text,
    reasoning: optString(u, "reasoning"),
    toolCalls: u.tool_calls === undefined ? [] : arrayOf(u.tool_calls, "tool_calls", readToolCall),
    toolResults: u.tool_results === undefined ? [] : arrayOf(u.tool_results, "tool_results", readToolResult),
    hasObject: has(u, "object"),
    object: u.object,
    finishReason: optString(u, "finish_reason"),
    latencyMs: optCount(u, "latency_ms"),
    firstPartMs: optCount(u, "first_part_ms")
  }
}

// ---------------------------------------------------------------------------------------------
// the view
// ---------------------------------------------------------------------------------------------

/** A text cut at `limits.chars` (never inside a surrogate pair), with `…` and a note when cut. */
const bounded = (text: string): Html => {
  if (text.length <= limits.chars) return html`${text}`
  let end = limits.chars
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return html`${text.slice(0, end)}…<span class="cut" data-cut>cut: ${Format.count(end)} of ${
    Format.count(text.length)
  } characters shown; the raw record below holds it whole</span>`
}

const jsonBlock = (value: unknown): Html => html`<pre class="json small">${bounded(Format.json(value))}</pre>`

const textBlock = (text: string, kind: "text" | "reasoning"): Html =>
  text === "" ? html`` : html`<div class="msg-${kind}">${kind === "reasoning" ? html`<span class="small muted">reasoning</span> ` : ""}${bounded(text)}</div>`

/** `items`, at most `max` of them, and how many more there are. */
const some = <A>(items: ReadonlyArray<A>, max: number, show: (item: A) => Html, what: string): Html => {
  const shown = items.length > max ? items.slice(0, max) : items
  const more = items.length - shown.length
  return html`${shown.map(show)}${
    more > 0 ? html`<p class="notice small" data-cut>${Format.plural(more, `more ${what}`)} not shown: the raw record below holds them.</p>` : ""
  }`
}

const toolCall = (c: ToolCall): Html =>
  html`<div class="tool-call" data-tool-call="${c.name}"><span class="small muted">calls</span> <code class="tool-name">${
    c.name
  }</code>${c.id === undefined ? "" : html` <span class="small muted">${Format.brief(c.id, 80)}</span>`}${jsonBlock(c.params)}</div>`

const toolResult = (r: ToolResult): Html =>
  html`<div class="tool-result${r.failure ? " failure" : ""}" data-tool-result="${r.name}"><span class="small muted">${
    r.failure ? "failure of" : "result of"
  }</span> <code class="tool-name">${r.name}</code>${
    r.id === undefined ? "" : html` <span class="small muted">${Format.brief(r.id, 80)}</span>`
  }${jsonBlock(r.result)}</div>`

const part = (p: Part): Html => {
  switch (p.kind) {
    case "text":
    case "reasoning":
      return textBlock(p.text, p.kind)
    case "tool_call":
      return toolCall(p.call)
    case "tool_result":
      return toolResult(p.result)
    case "file":
      return html`<div class="small muted">file${p.fileName === undefined ? "" : html` <code>${Format.brief(p.fileName, 200)}</code>`}${
        p.mediaType === undefined ? "" : html` (${Format.brief(p.mediaType, 100)})`
      }</div>`
    case "other":
      return html`<div class="small muted">a <code>${Format.brief(p.type, 100)}</code> part</div>`
  }
}

/** A message; `response`: what this call answered (the assistant) or ran for it (the tools). */
const message = (role: Role, body: Html, response?: string): Html =>
  html`<li class="msg role-${role}${response === undefined ? "" : " response"}" data-role="${role}"${
    response === undefined ? "" : html` data-response`
  }><span class="role">${role}${response === undefined ? "" : html` <span class="small muted">(${response})</span>`}</span>${body}</li>`

const facts = (s: Wire.StepRecord, answer: Answer | undefined): Html => {
  const t = s.tokens
  const item = (k: string, v: Html | string): Html => html`<li><span class="k">${k}</span> ${v}</li>`
  return html`<ul class="stats model-facts small" aria-label="model call">${[
    s.model === undefined ? "" : item("model", `${s.model.provider} · ${s.model.name}`),
    item("tokens", Format.tokens(t)),
    t?.cachedInput === undefined ? "" : item("cached input", Format.count(t.cachedInput)),
    t?.reasoning === undefined ? "" : item("reasoning", Format.count(t.reasoning)),
    item("cost", s.costUsd === undefined ? (t === undefined ? "—" : "no price") : Format.usd(s.costUsd)),
    answer?.finishReason === undefined ? "" : item("finish", Format.brief(answer.finishReason, 60)),
    answer?.latencyMs === undefined ? "" : item("latency", Format.duration(answer.latencyMs)),
    answer?.firstPartMs === undefined ? "" : item("first part", Format.duration(answer.firstPartMs))
  ]}</ul>`
}

const sdkCut = (s: Wire.StepRecord): Html => {
  const found = [Cut.find(s.input), Cut.find(s.output)]
  const count = found[0]!.count + found[1]!.count
  return count === 0 ? html`` : html`<p class="notice small" data-sdk-cut>Cut by the agent's SDK before sending: ${
    Format.plural(count, "value")
  } end with a marker; the rest of each was not recorded (the raw record below says where).</p>`
}

const conversation = (s: Wire.StepRecord, call: Call, answer: Answer | undefined): Html => {
  const messages = call.messages ?? []
  const offered = call.tools === undefined || call.tools.length === 0 ? "" : html`<p class="small muted">tools offered: ${
    call.tools.slice(0, limits.parts).map((t, i) => html`${i === 0 ? "" : ", "}<code>${Format.brief(t, 100)}</code>`)
  }${call.tools.length > limits.parts ? html`, and ${Format.count(call.tools.length - limits.parts)} more` : ""}${
    call.toolChoice === undefined ? "" : html` · tool choice <code>${Format.brief(call.toolChoice, 100)}</code>`
  }</p>`
  return html`${facts(s, answer)}${sdkCut(s)}
      ${
    call.problem === undefined
      ? ""
      : html`<p class="notice small">The prompt did not decode, so the model was called with it as given: ${bounded(call.problem)}</p>`
  }${
    call.history === undefined || call.history === 0
      ? ""
      : html`<p class="small muted" data-history>${
        Format.plural(call.history, "earlier message")
      } of this conversation, recorded with the calls before it, not repeated here.</p>`
  }${offered}${
    call.objectName === undefined ? "" : html`<p class="small muted">object <code>${Format.brief(call.objectName, 100)}</code></p>`
  }
      <ol class="conversation">${
    some(messages, limits.messages, (m) => message(m.role, some(m.parts, limits.parts, part, "parts")), "messages")
  }${
    answer === undefined
      ? ""
      : html`${
        message(
          "assistant",
          html`${answer.reasoning === undefined ? "" : textBlock(answer.reasoning, "reasoning")}${textBlock(answer.text, "text")}${
            answer.hasObject ? jsonBlock(answer.object) : ""
          }${some(answer.toolCalls, limits.parts, toolCall, "tool calls")}${
            answer.text === "" && !answer.hasObject && answer.toolCalls.length === 0 && answer.reasoning === undefined
              ? html`<span class="small muted">no text</span>`
              : ""
          }`,
          "this call's answer"
        )
      }${answer.toolResults.length === 0 ? "" : message("tool", some(answer.toolResults, limits.parts, toolResult, "tool results"), "tools run for this call")}`
  }</ol>`
}

/**
 * A step's input and output: for a model step (a `reason` step with a `model`) whose input and
 * output have the shape `houndsight/ai` records, the conversation, with `raw` (the step's JSON
 * blocks) folded under it as the raw record; for any other step, or one whose values do not have
 * that shape, or `undefined` (the page holds only cut previews of it), `raw` alone. Never throws.
 *
 * @since 0.1.0
 * @category components
 */
export const modelStep = (step: Wire.StepRecord | undefined, raw: Html): Html => {
  if (step === undefined || step.layer !== "reason" || step.model === undefined) return raw
  try {
    const call = readCall(step.input)
    const answer = step.output === undefined ? undefined : readAnswer(step.output)
    return html`<div class="model-call" data-model-call>
      ${conversation(step, call, answer)}
      <details class="raw-record"><summary class="small">raw record</summary>${raw}</details>
    </div>`
  } catch {
    // not the recorder's shape (`Unexpected`), or anything else: the JSON blocks, as for any step
    return raw
  }
}
