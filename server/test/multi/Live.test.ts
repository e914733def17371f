/**
 * The dashboard's live view across instances: a page whose `/events` stream is held by one
 * instance hears of a leash created on another and decided on a third, at once (the periodic
 * check every 5 s is not what brings it: each event is awaited for 3 s at most); and the stream
 * passes through the round-robin proxy as it comes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Events from "../dashboard/events.js"
import { signIn, type Tab } from "../dashboard/helpers.js"
import { leashRequest } from "../helpers.js"
import * as Cluster from "./cluster.js"

const openEvents = (base: string, t: Tab) => Events.openEvents(base, t, "/events?list=1&have=")

describe.each(Cluster.backends)("the live view on three instances (%s)", (backend) => {
  it.scopedLive("a page open on instance A sees a leash created on B and decided on C, as it happens", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start(3, { backend })
      const [a, b, c] = cluster.instances
      const { tab } = yield* signIn({ url: cluster.proxy.url, reviewerKey: cluster.reviewerKey })
      const onA = yield* openEvents(a!.url, tab)
      const viaProxy = yield* openEvents(cluster.proxy.url, tab)
      expect(viaProxy.response.headers.get("content-type")).toContain("text/event-stream")
      yield* onA.until((e) => e.name === "leashes", 3)
      yield* viaProxy.until((e) => e.name === "leashes", 3)

      const leash = leashRequest()
      expect((yield* b!.agent.post("/v1/leashes", { body: leash })).status).toBe(200)
      const added = (e: Events.Event) => e.name === "leashes" && e.data.added.some((x: any) => x.id === leash.leash_id)
      expect((yield* onA.until(added, 3)).data.counts.pending).toBe(1)
      yield* viaProxy.until(added, 3)

      const decided = yield* c!.reviewer.post(`/v1/leashes/${leash.leash_id}/decision`, { body: { decision: "approved", reason: "ok" } })
      expect(decided.status).toBe(200)
      const removed = (e: Events.Event) => e.name === "leashes" && e.data.removed.includes(leash.leash_id)
      expect((yield* onA.until(removed, 3)).data.counts.pending).toBe(0)
      yield* viaProxy.until(removed, 3)
    }))
})
