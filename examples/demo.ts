/**
 * `npm run demo`: the whole product on one machine, in about ten seconds.
 *
 * It starts the local gate server on a free port with a temporary database and a floor rule
 * (charges over $10,000 are blocked), then runs five example agents against it with the SDK:
 *
 * 1. the forecast agent: a trail of nested steps with tokens, cost and events;
 * 2. a $120 charge that waits for a reviewer: decide it in the dashboard, or at this terminal;
 *    with no terminal (CI) the demo's reviewer approves it after 2 s, and says so;
 * 3. a $25,000 charge, blocked at once by the floor rule;
 * 4. an agent that asks before a mass email, is rejected, and sends it anyway: the dashboard
 *    flags it;
 * 5. the `@effect/ai` support agent (examples/support-agent.ts) on a scripted local model: its
 *    model calls are recorded with tokens and cost, and its refund tool waits for a reviewer (as
 *    in 2).
 *
 * At the end it prints the dashboard's address and a summary. In a terminal the server stays up
 * until you press Enter, so you can look around; otherwise the demo exits at once. It exits 0
 * when everything went as described, and removes its database either way.
 *
 *   npx tsx examples/demo.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Context, Effect, Fiber, Layer, Option, Redacted } from "effect"
import type { Decision, Wire } from "houndsight"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Server } from "../server/src/index.js"
import * as HoundsightAi from "houndsight/ai"
import * as Agents from "./demo/agents.js"
import * as Reviewer from "./demo/reviewer.js"
import * as SupportAgent from "./support-agent.js"
import { scriptedSupportModel } from "./support-agent-model.js"

/** The demo's rules: what counts as sensitive, and the floor rule that blocks large charges. */
export const rules: Wire.Rules.RulesFile = {
  sensitive: ["stripe.*", "email.send"],
  rules: [{
    action: "stripe.*",
    reason: "charges over $10,000 need finance",
    when: [{ signal: "amount_usd", op: ">", value: 10_000 }]
  }]
}

/** How long the demo's reviewer waits before approving when there is no terminal to ask. */
const autoApproveSeconds = 2

const interactive = process.stdin.isTTY === true

const say = (...lines: ReadonlyArray<string>) => Console.log(lines.join("\n"))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "houndsight-demo-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

const outcome = (d: Decision.Decision<unknown>) => `${d.decision}: "${d.reason}"`

/** Where to decide a waiting leash: the dashboard, or the terminal when there is one. */
const howToDecide = (waiting: { readonly trace_link: string }) => [
  `     Decide in the dashboard: ${waiting.trace_link}`,
  interactive
    ? "     or here: type a to approve, or r and a reason to reject, then Enter."
    : `     No terminal to ask here, so the demo's reviewer approves it in ${autoApproveSeconds} s (unless you decide in the dashboard first).`
]

/**
 * Reviews a waiting leash (at the terminal, or the demo's reviewer approving after a while) while
 * its agent waits: the agent's answer ends the wait, whoever decided; a reviewer that fails ends
 * the demo.
 */
const reviewWhileWaiting = <A, E>(
  reviewer: Reviewer.Reviewer,
  leashId: string,
  agent: Fiber.Fiber<A, E>
) =>
  Effect.gen(function*() {
    const review = interactive
      ? Effect.flatMap(Reviewer.askAtTerminal("     > "), (verdict) => Reviewer.decide(reviewer, leashId, verdict))
      : Effect.zipRight(
        Effect.sleep(`${autoApproveSeconds} seconds`),
        Reviewer.decide(reviewer, leashId, {
          decision: "approved",
          reason: `approved by the demo's reviewer after ${autoApproveSeconds} s (no terminal to ask)`
        })
      )
    const reviewing = yield* Effect.fork(review)
    const answer = yield* Effect.raceFirst(Fiber.join(agent), Effect.zipRight(Fiber.join(reviewing), Effect.never))
    yield* Fiber.interrupt(reviewing)
    return answer
  })

const demo = Effect.gen(function*() {
  const dir = yield* tempDir
  const db = Path.join(dir, "houndsight.db")
  const server = yield* Layer.build(Server.layer({ port: 0, db, rulesFile: rules }))
  const info = Context.get(server, Server.ServerInfo)
  const agentKey = info.keys.find((k) => k.role === "agent")!.key
  const reviewerKey = info.keys.find((k) => k.role === "reviewer")!.key
  const connection: Agents.Connection = { endpoint: info.url, apiKey: agentKey }
  const reviewer: Reviewer.Reviewer = { endpoint: info.url, key: reviewerKey }
  const dashboard = info.publicUrl

  yield* say(
    "Houndsight demo: a local gate server, five agents, and you as the reviewer.",
    "",
    `  dashboard     ${dashboard}`,
    `  reviewer key  ${Redacted.value(reviewerKey)}`,
    "                (paste it on the dashboard's sign-in page)",
    `  database      ${db} (temporary)`,
    `  floor rule    stripe.* over $10,000 is blocked: "${rules.rules[0]!.reason}"`,
    ""
  )

  // 1. The forecast trail.
  const forecast = yield* Agents.forecast.pipe(Effect.provide(Agents.live(connection, "sales-pipeline")))
  yield* say(
    `1/5  sales-pipeline planned, queried Salesforce, drafted with a model and posted the Q2 forecast (${forecast.deals} deals).`,
    `     Its trail (five steps, one nested, with tokens and cost): ${forecast.link}`,
    ""
  )

  // 2. A charge that waits for a reviewer.
  const seen = new Set<string>()
  const charging = yield* Effect.fork(
    Agents.charge({ customer: "cus_42", amountUsd: 120, invoice: "INV-2041" }).pipe(
      Effect.provide(Agents.live(connection, "billing-bot"))
    )
  )
  const waiting = yield* Reviewer.waitForPending(reviewer, "stripe.charge", { seen })
  seen.add(waiting.leash_id)
  yield* say(
    `2/5  billing-bot asks to run stripe.charge and waits for a reviewer:`,
    `       "${waiting.request.action_summary}"`,
    ...howToDecide(waiting)
  )
  const charged = yield* reviewWhileWaiting(reviewer, waiting.leash_id, charging)
  yield* say(
    `     The agent got ${outcome(charged)}`,
    `     ${charged.approved ? "It charged cus_42." : "It did not charge cus_42."} Leash: ${charged.traceLink}`,
    ""
  )

  // 3. A charge over the floor limit.
  const blocked = yield* Agents.charge({ customer: "cus_77", amountUsd: 25_000, invoice: "INV-2042" }).pipe(
    Effect.provide(Agents.live(connection, "billing-bot"))
  )
  yield* say(
    `3/5  billing-bot asks to charge cus_77 $25,000.00: ${outcome(blocked)}`,
    `     No reviewer was needed: the floor rule answered at once, and the agent did not charge.`,
    ""
  )

  // 4. An agent that ignores a rejection.
  const mailing = yield* Effect.fork(Agents.outreach.pipe(Effect.provide(Agents.live(connection, "outreach-bot"))))
  const mail = yield* Reviewer.waitForPending(reviewer, "email.send")
  yield* Reviewer.decide(reviewer, mail.leash_id, {
    decision: "rejected",
    reason: "no mass email without marketing sign-off"
  })
  const ignored = yield* Fiber.join(mailing)
  yield* say(
    `4/5  outreach-bot asks to email 4,200 customers; the demo's reviewer rejects it (${outcome(ignored)}),`,
    `     and the agent sends it anyway. The audit flags it: ${dashboard}/flags`,
    ""
  )

  // 5. The @effect/ai support agent: a scripted local model, a leashed refund tool.
  const supporting = yield* Effect.fork(
    SupportAgent.supportAgent("Hi, my order A-42 arrived broken. Can I get my money back?").pipe(
      Effect.provide(Layer.mergeAll(
        Agents.live(connection, "support-agent"),
        HoundsightAi.layer({ prices: SupportAgent.scriptedPrices }).pipe(Layer.provide(scriptedSupportModel)),
        SupportAgent.SupportToolsLive.pipe(Layer.provide(SupportAgent.ordersInMemory([
          { orderId: "A-42", customer: "cus_42", totalUsd: 120, status: "delivered" }
        ])))
      ))
    )
  )
  const refund = yield* Reviewer.waitForPending(reviewer, "stripe.refund", { seen })
  seen.add(refund.leash_id)
  yield* say(
    `5/5  support-agent, an @effect/ai agent on a scripted local model, looked order A-42 up and its refund_order tool`,
    `     (leashed as stripe.refund) waits for a reviewer: "${refund.request.action_summary}"`,
    ...howToDecide(refund)
  )
  const answer = yield* reviewWhileWaiting(reviewer, refund.leash_id, supporting)
  const calls = yield* Reviewer.modelSteps(reviewer, refund.request.trail_id)
  const tokensIn = calls.reduce((n, c) => n + (c.tokens?.input ?? 0), 0)
  const tokensOut = calls.reduce((n, c) => n + (c.tokens?.output ?? 0), 0)
  const costUsd = calls.reduce((n, c) => n + (c.cost_usd ?? 0), 0)
  yield* say(
    `     The agent answered: "${answer}"`,
    `     ${calls.length} model calls (${calls[0]?.model.provider ?? "?"} · ${calls[0]?.model.name ?? "?"}): ${tokensIn} tokens in, ${tokensOut} out, $${
      costUsd.toFixed(6)
    }. Its trail: ${dashboard}/trails/${refund.request.trail_id}`,
    ""
  )

  // Summary.
  const { flags, trails } = yield* Reviewer.overview(reviewer)
  const refunded = yield* Reviewer.leashDecision(reviewer, refund.leash_id)
  const decisions = [...[charged, blocked, ignored].map((d) => d.decision), refunded]
  yield* say(
    "Summary",
    `  trails      ${trails.length} (${[...new Set(trails.map((t) => t.agent))].join(", ")})`,
    `  leashes     ${decisions.length}: ${decisions.join(", ")}`,
    `  flags       ${flags.length}${flags.length === 0 ? "" : `: ${flags.map((f) => `${f.kind} (${f.action_name}, step #${f.seq})`).join(", ")}`}`,
    `  dashboard   ${dashboard}`,
    ""
  )
  // Step 2 is the reviewer's call; every other outcome is fixed.
  const reviewed = charged.decision === "approved" || charged.decision === "modified" || charged.decision === "rejected"
  const expected = trails.length === 5 && reviewed && blocked.decision === "blocked" && calls.length === 3 &&
    ignored.decision === "rejected" && flags.some((f) => f.kind === "ignored_decision" && f.action_name === "email.send")
  if (!expected) {
    return yield* Effect.fail(new Error("the demo did not go as described above: see the lines before this one"))
  }
  if (interactive) {
    yield* Reviewer.pressEnter(`The dashboard stays up at ${dashboard} until you press Enter (or Ctrl-C). `)
  } else {
    yield* say("Done. (In a terminal the dashboard stays up until you press Enter.)")
  }
})

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(
    Effect.scoped(demo).pipe(
      Effect.tapErrorCause((cause) => {
        if (Cause.isInterruptedOnly(cause)) return Effect.void
        const failure = Cause.failureOption(cause)
        return Console.error(
          Option.isSome(failure) && typeof failure.value === "object" && failure.value !== null && "message" in failure.value
            ? `The demo failed: ${String(failure.value.message)}`
            : `The demo failed:\n${Cause.pretty(cause)}`
        )
      })
    ),
    { disableErrorReporting: true }
  )
}
