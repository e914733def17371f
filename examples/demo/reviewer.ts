/**
 * The demo's reviewer: finds a pending leash, decides it through the reviewer API (the same
 * `POST /v1/leashes/{id}/decision` the dashboard's decisions go through, compare-and-set), and
 * asks at the terminal when there is one.
 */
import { Effect, Option, Redacted } from "effect"
import * as Readline from "node:readline"

/** Where the reviewer decides, and with which key. */
export interface Reviewer {
  readonly endpoint: string
  readonly key: Redacted.Redacted<string>
}

/** A pending leash as `GET /v1/leashes` lists it (wire form). */
export interface PendingLeash {
  readonly leash_id: string
  readonly trace_link: string
  readonly request: {
    readonly action_name: string
    readonly action_summary: string
    readonly agent: string
    readonly trail_id: string
  }
}

/** The decision a reviewer sends. */
export interface Verdict {
  readonly decision: "approved" | "rejected"
  readonly reason: string
}

const call = (reviewer: Reviewer, method: "GET" | "POST", path: string, body?: unknown) =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(`${reviewer.endpoint}${path}`, {
        method,
        signal,
        headers: {
          authorization: `Bearer ${Redacted.value(reviewer.key)}`,
          ...(body === undefined ? {} : { "content-type": "application/json" })
        },
        body: body === undefined ? null : JSON.stringify(body)
      })
      const text = await response.text()
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, json, text }
    },
    catch: (cause) => new Error(`${method} ${path} failed: ${cause instanceof Error ? cause.message : String(cause)}`)
  })

/** Waits until a leash for `actionName` that is not in `seen` is pending, and answers it. */
export const waitForPending = (
  reviewer: Reviewer,
  actionName: string,
  options: { readonly seen?: ReadonlySet<string>; readonly withinSeconds?: number } = {}
): Effect.Effect<PendingLeash, Error> =>
  Effect.gen(function*() {
    const seen = options.seen ?? new Set<string>()
    const look = Effect.map(call(reviewer, "GET", "/v1/leashes?status=pending"), (answer) => {
      const list = (answer.json as { leashes?: ReadonlyArray<PendingLeash> } | undefined)?.leashes ?? []
      return Option.fromNullable(list.find((l) => l.request.action_name === actionName && !seen.has(l.leash_id)))
    })
    const poll: Effect.Effect<PendingLeash, Error> = Effect.flatMap(look, (found) =>
      Option.isSome(found) ? Effect.succeed(found.value) : Effect.zipRight(Effect.sleep("50 millis"), poll))
    return yield* poll
  }).pipe(
    Effect.timeoutFail({
      duration: `${options.withinSeconds ?? 30} seconds`,
      onTimeout: () => new Error(`no ${actionName} leash became pending within ${options.withinSeconds ?? 30} s`)
    })
  )

/**
 * Decides a leash. Answers `"decided"`, or `"too late"` when someone decided it first (409:
 * the reviewer in the browser was quicker).
 */
export const decide = (
  reviewer: Reviewer,
  leashId: string,
  verdict: Verdict
): Effect.Effect<"decided" | "too late", Error> =>
  Effect.flatMap(call(reviewer, "POST", `/v1/leashes/${leashId}/decision`, verdict), (answer) => {
    if (answer.status === 200) return Effect.succeed("decided" as const)
    if (answer.status === 409) return Effect.succeed("too late" as const)
    return Effect.fail(new Error(`the gate refused the decision (${answer.status}): ${answer.text}`))
  })

/** Reads what the reviewer types (a for approve, r [reason] for reject); closes the prompt if interrupted. */
export const askAtTerminal = (prompt: string): Effect.Effect<Verdict> =>
  Effect.async<Verdict>((resume) => {
    const rl = Readline.createInterface({ input: process.stdin, output: process.stdout })
    const ask = () =>
      rl.question(prompt, (line) => {
        const answer = line.trim()
        if (/^a(pprove)?$/i.test(answer)) {
          rl.close()
          resume(Effect.succeed({ decision: "approved", reason: "approved at the demo's terminal" }))
        } else if (/^r(eject)?\b/i.test(answer)) {
          rl.close()
          const reason = answer.replace(/^r(eject)?\s*/i, "").trim()
          resume(Effect.succeed({ decision: "rejected", reason: reason === "" ? "rejected at the demo's terminal" : reason }))
        } else {
          process.stdout.write("     Type a to approve, or r and a reason to reject.\n")
          ask()
        }
      })
    ask()
    return Effect.sync(() => {
      rl.close()
      process.stdout.write("\n")
    })
  })

/** Waits for Enter (or the end of input). */
export const pressEnter = (prompt: string): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const rl = Readline.createInterface({ input: process.stdin, output: process.stdout })
    rl.question(prompt, () => {
      rl.close()
      resume(Effect.void)
    })
    rl.on("close", () => resume(Effect.void))
    return Effect.sync(() => rl.close())
  })

/** The decision of a leash as the gate holds it (`"pending"` while none is). */
export const leashDecision = (reviewer: Reviewer, leashId: string) =>
  Effect.map(call(reviewer, "GET", `/v1/leashes/${leashId}`), (answer) =>
    (answer.json as { decision?: { decision?: string } } | undefined)?.decision?.decision ?? "pending")

/** Every trail, and every flag, as the reviewer API lists them (wire form). */
export const overview = (reviewer: Reviewer) =>
  Effect.gen(function*() {
    const trails = yield* call(reviewer, "GET", "/v1/trails?limit=500")
    const flags = yield* call(reviewer, "GET", "/v1/flags?limit=500")
    return {
      trails: ((trails.json as { trails?: ReadonlyArray<{ id: string; agent: string }> } | undefined)?.trails) ?? [],
      flags:
        ((flags.json as { flags?: ReadonlyArray<{ kind: string; trail_id: string; action_name: string; seq: number }> } | undefined)
          ?.flags) ?? []
    }
  })

/** The model steps of a trail (`GET /v1/trails/{id}`, wire form): what each model call cost. */
export const modelSteps = (reviewer: Reviewer, trailId: string) =>
  Effect.map(call(reviewer, "GET", `/v1/trails/${trailId}`), (answer) =>
    (((answer.json as { steps?: ReadonlyArray<any> } | undefined)?.steps) ?? []).filter((step) =>
      step.layer === "reason" && step.model !== undefined
    ) as ReadonlyArray<{
      readonly model: { readonly provider: string; readonly name: string }
      readonly tokens?: { readonly input: number; readonly output: number }
      readonly cost_usd?: number
    }>)
