/**
 * Model steps (issue 16): the server stores a step's model and its cached-input and reasoning
 * tokens as the SDK sends them, answers them on the trail, and the trail page shows them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { startServer, stepRecord, trailRecord } from "../helpers.js"
import { signIn } from "./helpers.js"

describe("model steps", () => {
  it.scopedLive("keep their model and tokens (cached input, reasoning) and show them on the trail page", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const { tab } = yield* signIn(s)
      const trail = trailRecord()
      const call = stepRecord(trail.id, 1, "generateText", {
        layer: "reason",
        model: { provider: "openai", name: "gpt-4o-mini-2024-07-18" },
        tokens: { input: 1200, output: 300, cached_input: 200, reasoning: 40 },
        cost_usd: 0.000345
      })
      const plain = stepRecord(trail.id, 2, "lookup_order", { tokens: { input: 1, output: 2 } })
      const sent = yield* s.agent.post("/v1/ingest", { body: { trails: [trail], steps: [call, plain] } })
      expect(sent.status).toBe(202)
      const detail = yield* s.reviewer.get(`/v1/trails/${trail.id}`)
      const stored = detail.body.steps.find((st: any) => st.id === call.id)
      expect(stored.model).toEqual({ provider: "openai", name: "gpt-4o-mini-2024-07-18" })
      expect(stored.tokens).toEqual({ input: 1200, output: 300, cached_input: 200, reasoning: 40 })
      const page = yield* tab.get(`/trails/${trail.id}`)
      expect(page.status).toBe(200)
      expect(page.text).toContain("openai · gpt-4o-mini-2024-07-18")
      expect(page.text).toContain("200 cached input")
      expect(page.text).toContain("40 reasoning")
      // the trail's cost and tokens per model
      const second = stepRecord(trail.id, 3, "generateText", {
        layer: "reason",
        model: { provider: "openai", name: "gpt-4o-mini-2024-07-18" },
        tokens: { input: 800, output: 100 },
        cost_usd: 0.0002
      })
      const unpriced = stepRecord(trail.id, 4, "generateText", {
        layer: "reason",
        model: { provider: "acme", name: "house-model" },
        tokens: { input: 5, output: 6 }
      })
      yield* s.agent.post("/v1/ingest", { body: { trails: [], steps: [second, unpriced] } })
      const totals = yield* tab.get(`/trails/${trail.id}`)
      const models = totals.text.slice(totals.text.indexOf(`aria-label="cost and tokens per model"`))
      expect(models.slice(0, models.indexOf("</ul>"))).toContain("openai · gpt-4o-mini-2024-07-18</span> 2 calls · 2,000 in · 400 out · $0.00055")
      expect(models.slice(0, models.indexOf("</ul>"))).toContain("acme · house-model</span> 1 call · 5 in · 6 out · no price")
      // a step without them shows neither
      const lookup = page.text.slice(page.text.indexOf(`id="step-${plain.id}"`))
      expect(lookup.slice(0, lookup.indexOf("</li>"))).not.toContain("cached input")
    }))
})
