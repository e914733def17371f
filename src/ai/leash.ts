/**
 * `Leash.toolkit`: puts chosen tools of an `@effect/ai` toolkit behind the gate.
 *
 * A leashed tool call is one `execute` step named after the action. Inside it the gate is asked
 * (`Leash.request`, the tool's decoded parameters as the payload, its parameter schema as the
 * payload schema, so the review step is the step's child: the bypass audit sees the action wrap
 * its own review and pairs each call with its own leash, concurrent calls included), then the
 * handler runs if the decision allows it. Any other decision answers the model with a
 * `LeashRefusal` tool result instead of running the handler.
 *
 * @internal
 */
import type * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { RiskSignals } from "../schema/RiskSignals.js"
import type { Leash as LeashTag } from "../services/Leash.js"
import * as CoreLeash from "../services/Leash.js"
import type { Trail } from "../internal/trail.js"
import type { StepState } from "../internal/state.js"
import { runStep } from "../internal/step.js"
import { LeashedAction } from "./leashed.js"
import { type HandlerResult, recordToolResult } from "./steps.js"

/**
 * The tool result a model gets when the gate did not allow a leashed call: what was decided and
 * why, and that the action was not performed.
 */
export const LeashRefusal = Schema.TaggedStruct("LeashRefusal", {
  action_name: Schema.String,
  decision: Schema.Literal("rejected", "blocked", "timeout", "error", "async"),
  reason: Schema.String,
  trace_link: Schema.String,
  message: Schema.String
}).annotations({ identifier: "LeashRefusal" })

/** The refusal's type. */
export interface LeashRefusal extends Schema.Schema.Type<typeof LeashRefusal> {}

/** How one tool is leashed. */
export interface LeashedToolOptions<Params> {
  /** The action's name on the gate, the review step and the execute step (`stripe.charge`). */
  readonly actionName: string
  /** What the reviewer reads, from the decoded parameters. */
  readonly summary: (params: Params) => string
  /** The risk signals the floor rules read, from the decoded parameters. */
  readonly riskSignals?: ((params: Params) => RiskSignals) | undefined
  /** How long to wait for a decision (default 300). */
  readonly timeoutSeconds?: number | undefined
}

/** Which tools of a toolkit to leash, by tool name. */
export type LeashConfig<Tools extends Record<string, Tool.Any>> = {
  readonly [Name in keyof Tools]?: LeashedToolOptions<Tool.Parameters<Tools[Name]>>
}

/**
 * A leashed tool's type: its failure gains `LeashRefusal`, its failure mode becomes `"return"`
 * (a failure is the model's tool result, it does not abort `generateText`), and it needs the
 * current trail and the gate.
 */
export type Leashed<T> = T extends Tool.Tool<infer Name, infer Config, infer R> ? Tool.Tool<
    Name,
    {
      readonly parameters: Config["parameters"]
      readonly success: Config["success"]
      readonly failure: Schema.Union<[Config["failure"], typeof LeashRefusal]>
      readonly failureMode: "return"
    },
    R | Trail | LeashTag
  >
  : never

/** The tools of a toolkit after `Leash.toolkit`: the named ones leashed, the others as they were. */
export type LeashedTools<Tools extends Record<string, Tool.Any>, Names> = {
  readonly [K in keyof Tools]: K extends Names ? Leashed<Tools[K]> : Tools[K]
}

const refusalMessage = (action: string, decision: LeashRefusal["decision"], reason: string): string => {
  const why = reason === "" ? "" : `: ${reason}`
  switch (decision) {
    case "rejected":
      return `A reviewer rejected ${action}${why}. It was not performed; do not retry it unless the user asks.`
    case "blocked":
      return `A policy rule blocked ${action}${why}. It was not performed; do not retry it.`
    case "timeout":
      return `No reviewer decided on ${action} in time${why}. It was not performed.`
    case "error":
      return `The approval gate could not review ${action}${why}. It was not performed.`
    case "async":
      return `${action} is waiting for a review. It has not been performed yet.`
  }
}

interface WithHandler {
  readonly tools: Record<string, any>
  readonly handle: (name: string, params: unknown) => Effect.Effect<HandlerResult, any, any>
}

const summaryOf = (options: LeashedToolOptions<any>, params: unknown, name: string): string => {
  try {
    const s = options.summary(params)
    if (typeof s === "string" && s.length > 0) return s
  } catch {
    // fall through: the reviewer still sees the parameters
  }
  return `${name} ${JSON.stringify(params)}`.slice(0, 4096)
}

const leashedHandle = (wh: WithHandler, config: Record<string, LeashedToolOptions<any> | undefined>) =>
(name: string, params: unknown): Effect.Effect<HandlerResult, any, any> => {
  const options = Object.hasOwn(config, name) ? config[name] : undefined
  if (options === undefined) return wh.handle(name, params)
  const schema = wh.tools[name].parametersSchema as Schema.Schema<any, any, never>
  return Effect.flatMap(Effect.either(Schema.decodeUnknown(schema)(params)), (decoded) => {
    // parameters that do not decode: the toolkit fails the call as it always does
    if (Either.isLeft(decoded)) return wh.handle(name, params)
    let step: StepState | undefined
    return runStep(
      options.actionName,
      {
        layer: "execute",
        input: params,
        onOpen: (s) => {
          step = s
          // the toolkit's own span of the call it makes once approved is this step (the span bridge skips it)
          s.absorbs = "Toolkit.handle"
        }
      },
      Effect.gen(function*() {
        let riskSignals: RiskSignals = {}
        if (options.riskSignals !== undefined) {
          try {
            riskSignals = options.riskSignals(decoded.right)
          } catch (e) {
            yield* Effect.logWarning(`houndsight/ai: the riskSignals of ${name} threw (${String(e)}); sent none`)
          }
        }
        const decision = yield* CoreLeash.request({
          actionName: options.actionName,
          actionSummary: summaryOf(options, decoded.right, name),
          riskSignals,
          payload: decoded.right,
          payloadSchema: schema,
          timeoutSeconds: options.timeoutSeconds
        })
        if (decision.decision === "approved") {
          const r = yield* wh.handle(name, params)
          recordToolResult(step, name, r)
          return r
        }
        if (decision.decision === "modified") {
          // decoded by the tool's schema already (else the decision is `error`): the toolkit decodes it again
          const edited = yield* Effect.orDie(Schema.encode(schema)(decision.modifiedPayload))
          const r = yield* wh.handle(name, edited)
          recordToolResult(step, name, r)
          if (step !== undefined && !step.ended) step.setOutput({ result: r.encodedResult, modified_params: edited })
          return r
        }
        const refusal = LeashRefusal.make({
          action_name: options.actionName,
          decision: decision.decision,
          reason: decision.reason,
          trace_link: decision.traceLink,
          message: refusalMessage(options.actionName, decision.decision, decision.reason)
        })
        // the action did not run: the step is the tool call, named after the tool, so no audit
        // (the server's, which may hold no leash for it, or the SDK's) reads it as the action
        step?.rename(name)
        step?.setOutput({ refused: refusal })
        return { isFailure: true, result: refusal, encodedResult: refusal } satisfies HandlerResult
      })
    )
  })
}

const checkOptions = (name: string, options: unknown): string | undefined => {
  if (options === null || typeof options !== "object") return `the options of ${name} must be an object`
  const o = options as Record<string, unknown>
  if (typeof o.actionName !== "string" || o.actionName.length === 0 || o.actionName.length > 256) {
    return `the actionName of ${name} must be a non-empty string of at most 256 characters, got ${
      JSON.stringify(o.actionName)
    }`
  }
  if (typeof o.summary !== "function") return `the summary of ${name} must be a function of the tool's parameters`
  if (o.riskSignals !== undefined && typeof o.riskSignals !== "function") {
    return `the riskSignals of ${name} must be a function of the tool's parameters`
  }
  return undefined
}

/** Leashes the named tools of a toolkit; throws on a name the toolkit lacks or bad options. */
export const toolkit = (
  base: Toolkit.Any,
  config: Record<string, LeashedToolOptions<any> | undefined>
): Toolkit.Toolkit<any> => {
  const names = Object.keys(base.tools)
  for (const name of Object.keys(config)) {
    if (!Object.hasOwn(base.tools, name)) {
      throw new Error(
        `houndsight/ai: Leash.toolkit: the toolkit has no tool named ${JSON.stringify(name)}; its tools are ${
          names.map((n) => JSON.stringify(n)).join(", ")
        }`
      )
    }
  }
  const tools: Array<Tool.Any> = []
  for (const name of names) {
    const tool = base.tools[name]!
    const options = Object.hasOwn(config, name) ? config[name] : undefined
    if (options === undefined) {
      tools.push(tool)
      continue
    }
    const problem = checkOptions(name, options)
    if (problem !== undefined) throw new Error(`houndsight/ai: Leash.toolkit: ${problem}`)
    if ("providerName" in tool) {
      throw new Error(
        `houndsight/ai: Leash.toolkit: ${name} is a provider-defined tool (run by the provider, not by a handler); only tools with handlers can be leashed`
      )
    }
    tools.push(Object.assign(Object.create(Object.getPrototypeOf(tool)), tool, {
      failureMode: "return",
      failureSchema: Schema.Union(tool.failureSchema, LeashRefusal),
      annotations: Context.add(tool.annotations, LeashedAction, { actionName: options.actionName })
    }))
  }
  const leashed = Toolkit.make(...tools) as any
  const commit = leashed.commit as (this: unknown) => Effect.Effect<WithHandler>
  leashed.commit = function(this: unknown) {
    return Effect.map(commit.call(this), (wh) => ({ tools: wh.tools, handle: leashedHandle(wh, config) }))
  }
  return leashed
}
