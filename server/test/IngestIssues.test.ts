/**
 * A refused ingest body is described in work bounded by the message, not by the body: the first
 * 10 wrong fields as the schema names them, then how many more. A body of a million wrong
 * records collects a handful of issues (it used to collect a million, and de-duplicate them
 * quadratically: 61 s for 50,000).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as IngestIssues from "../src/IngestIssues.js"
import { at, startServer, stepRecord, trailRecord, uuid } from "./helpers.js"

describe("IngestIssues.describeBatch", () => {
  it("a million wrong steps: 10 lines, the rest counted, a bounded number of issues collected", () => {
    const body = { trails: [], steps: new Array<number>(1_000_000).fill(1) }
    const described = IngestIssues.describeBatch(body)
    expect(described.wrongRecords).toBe(1_000_000)
    expect(described.schemaDecodes).toBeLessThanOrEqual(IngestIssues.maxLines + 1)
    expect(described.issuesCollected).toBeLessThanOrEqual(3 * IngestIssues.maxLines)
    expect(described.message.startsWith("steps[0]: ")).toBe(true)
    expect(described.message).toContain("steps[9]: ")
    expect(described.message).not.toContain("steps[10]")
    expect(described.message).toContain("999,990 more wrong records")
  })

  it("one step with a million wrong events: bounded too", () => {
    const t = uuid()
    const step = { ...stepRecord(t, 1, "s"), events: new Array<number>(1_000_000).fill(7) }
    const described = IngestIssues.describeBatch({ trails: [], steps: [step] })
    expect(described.wrongRecords).toBe(1)
    expect(described.issuesCollected).toBeLessThanOrEqual(3 * IngestIssues.maxLines)
    expect(described.message).toContain("steps[0].events[0]")
    expect(described.message).toContain("more issues in the records named")
  })

  it("a trail with a million wrong tags: bounded, and names them", () => {
    const tags: Record<string, unknown> = {}
    for (let i = 0; i < 1_000_000; i++) tags[`k${i}`] = i
    const described = IngestIssues.describeBatch({ trails: [trailRecord({ tags })], steps: [] })
    expect(described.issuesCollected).toBeLessThanOrEqual(3 * IngestIssues.maxLines)
    expect(described.message).toContain("trails[0].tags.k0")
  })

  it("names every wrong field of a record, as the schema does", () => {
    const t = uuid()
    const good = stepRecord(t, 1, "ok")
    const bad = { ...stepRecord(t, 2, "bad"), layer: "nope", started_at: "yesterday" } as Record<string, unknown>
    delete bad["trail_id"]
    const described = IngestIssues.describeBatch({ trails: [trailRecord({ started_at: at(), agent: "" })], steps: [good, bad] })
    expect(described.wrongRecords).toBe(2)
    expect(described.message).toContain("trails[0].agent")
    expect(described.message).toContain("steps[1].trail_id: is missing")
    expect(described.message).toContain("steps[1].layer: expected one of")
    expect(described.message).toContain("steps[1].started_at")
    expect(described.message).not.toContain("steps[0]")
  })

  it("a body that is not a batch names its top level", () => {
    expect(IngestIssues.describeBatch([1]).message).toContain("Expected")
    expect(IngestIssues.describeBatch({ trails: [] }).message).toContain("steps: is missing")
  })
})

describe("POST /v1/ingest with a large invalid body", () => {
  it.scopedLive("50,000 wrong steps (the review's 100 KB body) answer 400 naming the first 10 and the count of the rest", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const body = `{"trails":[],"steps":[${new Array(50_000).fill("1").join(",")}]}`
      const answer = yield* s.agent.post("/v1/ingest", { body })
      expect(answer.status).toBe(400)
      expect(answer.body.error.code).toBe("bad_request")
      expect(answer.body.error.message).toContain("steps[0]")
      expect(answer.body.error.message).toContain("49,990 more wrong records")
    }), 30_000)
})
