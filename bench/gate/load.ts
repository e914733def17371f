/**
 * The load generator of the throughput cases: raw HTTP (`node:http`, keep-alive) and the ingest
 * bodies it sends.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import { newId } from "../../src/internal/state.js"
import { stepsPerBatch } from "./config.js"

/** A keep-alive `node:http` client that posts JSON with a bearer key. */
export interface RawClient {
  readonly post: (path: string, body: string) => Promise<{ readonly status: number; readonly text: string }>
  readonly close: () => void
}

/** A raw client of `base` with `key`, at most `sockets` connections. */
export const rawClient = (base: string, key: string, sockets: number): RawClient => {
  const url = new URL(base)
  const agent = new Http.Agent({ keepAlive: true, maxSockets: sockets })
  const post = (path: string, body: string) =>
    new Promise<{ status: number; text: string }>((done, reject) => {
      const request = Http.request({
        host: url.hostname,
        port: url.port,
        path,
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body)
        }
      }, (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (c: Buffer) => chunks.push(c))
        response.on("end", () => done({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }))
        response.on("error", reject)
      })
      request.on("error", reject)
      request.end(body)
    })
  return { post, close: () => agent.destroy() }
}

const stepNames = ["llm.call", "search.docs", "plan.next", "tool.fetch", "crm.lookup", "summarise"] as const
const stepLayers = ["plan", "retrieve", "plan", "execute", "retrieve", "plan"] as const

/** Steps of one trail (one agent run) in the ingest case. */
const stepsPerTrail = 128

/**
 * `batches` ingest bodies of 512 step records each, as an exporter in a busy agent process
 * sends them: 64 agent runs (trails) in flight, each run 128 steps long, and every batch carries
 * the next 8 steps of each run. Runs are staggered, so every batch 4 runs end and 4 new ones
 * begin. Steps carry small JSON inputs and outputs, token counts and a cost. One run in 8 leashes
 * an action: a review step (approved) at seq 60 and the action, `stripe.charge`, at seq 61; the
 * server recomputes such a trail's bypass flags over all its steps whenever steps of it arrive.
 */
export const ingestBodies = (batches: number): Array<string> => {
  const perTrail = stepsPerBatch / 64
  const start = Date.UTC(2026, 10, 24, 9, 0, 0)
  let runs = 0
  const trails = Array.from({ length: 64 }, (_, j) => ({
    id: newId(start),
    seq: (j % (stepsPerTrail / perTrail)) * perTrail,
    leashes: runs++ % 8 === 0
  }))
  const bodies: Array<string> = []
  for (let b = 0; b < batches; b++) {
    // an agent process sending 512 steps every 10 ms; ids are the SDK's (UUID v7 of the start)
    const at = start + b * 10
    const steps: Array<unknown> = []
    for (const trail of trails) {
      if (trail.seq >= stepsPerTrail) {
        trail.id = newId(at)
        trail.seq = 0
        trail.leashes = runs++ % 8 === 0
      }
      for (let k = 0; k < perTrail; k++) {
        const seq = ++trail.seq
        const i = seq % stepNames.length
        const times = {
          started_at: new Date(at).toISOString(),
          ended_at: new Date(at + 4).toISOString()
        }
        if (trail.leashes && seq === 60) {
          const leashId = newId(at)
          steps.push({
            id: newId(at),
            trail_id: trail.id,
            parent_id: null,
            seq,
            name: "stripe.charge",
            layer: "review",
            status: "ok",
            ...times,
            input: { action_summary: "Charge cus_42 $120.00", risk_signals: { amount_usd: 120 }, payload: { amount_usd: 120 } },
            output: { decision: "approved", approved: true, reason: "looks fine", leash_id: leashId },
            events: [],
            leash: { leash_id: leashId, action_name: "stripe.charge", decision: "approved", approved: true, reason: "looks fine" }
          })
          continue
        }
        steps.push({
          id: newId(at),
          trail_id: trail.id,
          parent_id: null,
          seq,
          name: trail.leashes && seq === 61 ? "stripe.charge" : stepNames[i],
          layer: trail.leashes && seq === 61 ? "execute" : stepLayers[i],
          status: "ok",
          ...times,
          input: { query: `account history of cus_${seq % 997}`, k: 5 },
          output: { text: "three invoices, one overdue", items: 3 },
          tokens: { input: 512, output: 128 },
          cost_usd: 0.0012,
          events: []
        })
      }
    }
    bodies.push(JSON.stringify({ trails: [], steps }))
  }
  return bodies
}
