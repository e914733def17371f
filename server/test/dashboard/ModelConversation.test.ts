/**
 * A model step on the trail page (issue 16): a `reason` step with a `model`, as `houndsight/ai`
 * records it, shows the conversation it was (each message with its role, the answer's text, tool
 * calls with their name and arguments, tool results), the model, tokens and cost, and keeps the
 * raw record. Everything in it is text; long texts are cut with a note; a step whose values do
 * not have the recorder's shape shows its JSON blocks as any other step.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Html from "../../src/dashboard/Html.js"
import { type Running, startServer, stepRecord, trailRecord } from "../helpers.js"
import { signIn } from "./helpers.js"

const model = { provider: "openai", name: "gpt-4o-mini-2024-07-18" }

/** A model step, as the recorder writes one, with `input` and `output` laid over. */
const modelStep = (trailId: string, seq: number, input: unknown, output: unknown, overrides: Record<string, unknown> = {}) =>
  stepRecord(trailId, seq, "generateText", {
    layer: "reason",
    model,
    tokens: { input: 1200, output: 300, cached_input: 200, reasoning: 40 },
    cost_usd: 0.000345,
    input,
    ...(output === undefined ? {} : { output }),
    ...overrides
  })

/** The page's markup for one step: from its row to the next step's row. */
const stepHtml = (page: string, id: string): string => {
  const from = page.indexOf(`id="step-${id}"`)
  expect(from).toBeGreaterThan(-1)
  const to = page.indexOf(`id="step-`, from + 1)
  return page.slice(from, to === -1 ? undefined : to)
}

/** The part of a step's markup before its raw record. */
const conversationOf = (step: string): string => {
  const end = step.indexOf(`<details class="raw-record">`)
  expect(end).toBeGreaterThan(-1)
  return step.slice(0, end)
}

const roleOrder = (markup: string): Array<string> => [...markup.matchAll(/data-role="([^"]+)"/g)].map((m) => m[1]!)

const ingestAndOpen = (s: Running, steps: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const { tab } = yield* signIn(s)
    const trail = trailRecord()
    const withTrail = steps.map((st: any) => ({ ...st, trail_id: trail.id }))
    const sent = yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: withTrail } })
    expect(sent.status).toBe(202)
    const page = yield* tab.get(`/trails/${trail.id}`)
    expect(page.status).toBe(200)
    return page.text
  })

/** The trail page and the step's own page (which shows a step whole, however long its values). */
const ingestAndOpenStep = (s: Running, steps: ReadonlyArray<unknown>, stepId: string) =>
  Effect.gen(function*() {
    const { tab } = yield* signIn(s)
    const trail = trailRecord()
    const withTrail = steps.map((st: any) => ({ ...st, trail_id: trail.id }))
    expect((yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: withTrail } })).status).toBe(202)
    const trailPage = yield* tab.get(`/trails/${trail.id}`)
    const stepPage = yield* tab.get(`/trails/${trail.id}/steps/${stepId}`)
    expect(trailPage.status).toBe(200)
    expect(stepPage.status).toBe(200)
    return { trailPage: trailPage.text, stepPage: stepPage.text }
  })

const input = {
  messages: [
    { role: "system", content: "You are a support agent. Be brief." },
    { role: "user", content: [{ type: "text", text: "Where is order A-1?" }] },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Let me look." },
        { type: "tool_call", id: "call_1", name: "lookup_order", params: { order_id: "A-1" } }
      ]
    },
    {
      role: "tool",
      content: [{ type: "tool_result", id: "call_1", name: "lookup_order", is_failure: false, result: { status: "shipped" } }]
    }
  ],
  history_messages: 2,
  tools: ["lookup_order", "refund_order"]
}

const output = {
  text: "Order A-1 has shipped; refunding it now.",
  tool_calls: [{ id: "call_2", name: "refund_order", params: { order_id: "A-1", amount_cents: 1999 } }],
  tool_results: [{ id: "call_2", name: "refund_order", is_failure: true, result: { decision: "rejected" } }],
  finish_reason: "tool-calls",
  latency_ms: 340,
  first_part_ms: 120
}

describe("a model step on the trail page", () => {
  it.scopedLive("shows the conversation: roles, text, tool calls with their arguments, tool results, model, tokens and cost", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const step = modelStep("", 1, input, output)
      const page = yield* ingestAndOpen(s, [step])
      const markup = stepHtml(page, step.id)
      expect(markup).toContain("data-model-call")
      const talk = conversationOf(markup)
      // each message with its role, in order, then the call's answer and the results of its tools
      expect(roleOrder(talk)).toEqual(["system", "user", "assistant", "tool", "assistant", "tool"])
      expect(talk).toContain("You are a support agent. Be brief.")
      expect(talk).toContain("Where is order A-1?")
      expect(talk).toContain("Order A-1 has shipped; refunding it now.")
      expect(talk.match(/data-response/g)?.length).toBe(2)
      // tool calls: name and arguments as pretty JSON; tool results, a failure marked
      expect(talk).toContain(`data-tool-call="lookup_order"`)
      expect(talk).toContain(`data-tool-call="refund_order"`)
      expect(talk).toContain(Html.escape(JSON.stringify({ order_id: "A-1", amount_cents: 1999 }, null, 2)))
      expect(talk).toContain(Html.escape(JSON.stringify({ order_id: "A-1" }, null, 2)))
      expect(talk).toContain(`<div class="tool-result failure" data-tool-result="refund_order">`)
      expect(talk).toContain(Html.escape(JSON.stringify({ status: "shipped" }, null, 2)))
      // what the call re-sent and offered
      expect(talk).toContain("2 earlier messages of this conversation")
      expect(talk).toContain("tools offered: <code>lookup_order</code>, <code>refund_order</code>")
      // the model, tokens, cost and timing
      const facts = talk.slice(talk.indexOf(`aria-label="model call"`), talk.indexOf("</ul>", talk.indexOf(`aria-label="model call"`)))
      expect(facts).toContain("openai · gpt-4o-mini-2024-07-18")
      expect(facts).toContain("1,200 in · 300 out")
      expect(facts).toContain(`<span class="k">cached input</span> 200`)
      expect(facts).toContain(`<span class="k">reasoning</span> 40`)
      expect(facts).toContain(`<span class="k">cost</span> $0.00034`)
      expect(facts).toContain(`<span class="k">finish</span> tool-calls`)
      expect(facts).toContain(`<span class="k">latency</span> 340 ms`)
      expect(facts).toContain(`<span class="k">first part</span> 120 ms`)
      // the raw record stays, folded
      const raw = markup.slice(markup.indexOf(`<details class="raw-record">`))
      expect(raw).toContain("<h4>Input</h4>")
      expect(raw).toContain("<h4>Output</h4>")
      expect(raw).toContain(Html.escape(JSON.stringify(input, null, 2)))
    }))

  it.scopedLive("writes everything the agent sent as text, and cuts a long text with a note (on the step's own page; the trail page links it)", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const script = "<script>window.__pwned = 1</script>"
      const tool = `x"><img src=x onerror="window.__pwned = 2">`
      const long = "A".repeat(9000) + "THE-END"
      const step = modelStep("", 1, {
        messages: [
          { role: "system", content: script },
          { role: "user", content: [{ type: "text", text: long }] }
        ]
      }, {
        text: `</li></ol>${script}`,
        tool_calls: [{ id: script, name: tool, params: { note: `</pre>${script}` } }],
        finish_reason: script,
        latency_ms: 5
      })
      const { stepPage: page, trailPage } = yield* ingestAndOpenStep(s, [step], step.id)
      // the trail page holds a cut preview of the long input: its blocks, with a link to the
      // step's own page, which shows the conversation from the whole record
      const onTrail = stepHtml(trailPage, step.id)
      expect(onTrail).not.toContain("data-model-call")
      expect(onTrail).toContain("data-preview-cut")
      expect(trailPage).not.toContain(script)
      const markup = page
      const talk = conversationOf(markup)
      expect(roleOrder(talk)).toEqual(["system", "user", "assistant"])
      expect(page).not.toContain(script)
      expect(page).not.toContain(`<img src=x`)
      expect(talk).toContain(Html.escape(script))
      expect(talk).toContain(`data-tool-call="${Html.escape(tool)}"`)
      expect(talk).toContain(Html.escape(`</li></ol>${script}`))
      // the long text: its first 4,000 characters, a marker and a note; whole in the raw record
      expect(talk).toContain(`${"A".repeat(4000)}…<span class="cut" data-cut>cut: 4,000 of 9,007 characters shown`)
      expect(talk).not.toContain("A".repeat(4001))
      expect(talk).not.toContain("THE-END")
      expect(markup.slice(markup.indexOf(`<details class="raw-record">`))).toContain(`${"A".repeat(9000)}THE-END`)
    }))

  it.scopedLive("shows the JSON blocks, as for any step, when the values do not have the recorder's shape", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const notAList = modelStep("", 1, { messages: "<script>not a list</script>" }, output)
      const badRole = modelStep("", 2, { messages: [{ role: "wizard", content: "hi" }] }, output)
      const badPart = modelStep("", 3, { messages: [{ role: "user", content: [{ type: "text", text: 42 }] }] }, output)
      const badOutput = modelStep("", 4, input, { text: 42, finish_reason: "stop" })
      const badCall = modelStep("", 5, input, { ...output, tool_calls: [{ id: "c", params: {} }] })
      const cutWhole = modelStep("", 6, "[truncated: input was about 300000 bytes; a record is limited to 262144 bytes]", output)
      const noModel = stepRecord("", 7, "plan", { layer: "reason", input, output })
      const steps = [notAList, badRole, badPart, badOutput, badCall, cutWhole, noModel]
      const page = yield* ingestAndOpen(s, steps)
      expect(page).not.toContain("<script>not a list</script>")
      for (const step of steps) {
        const markup = stepHtml(page, step.id)
        expect(markup).not.toContain("data-model-call")
        expect(markup).not.toContain("raw-record")
        expect(markup).toContain(`<div class="blocks">`)
        expect(markup).toContain("<h4>Input</h4>")
        expect(markup).toContain(Html.escape(JSON.stringify(step.input, null, 2)))
      }
      // a failed call has no output: its conversation is what it sent
      const failed = modelStep("", 8, input, undefined, { status: "error", error: { type: "AiError", message: "rate limited" } })
      const failedPage = yield* ingestAndOpen(s, [failed])
      const talk = conversationOf(stepHtml(failedPage, failed.id))
      expect(roleOrder(talk)).toEqual(["system", "user", "assistant", "tool"])
      expect(talk).not.toContain("data-response")
    }))
})
