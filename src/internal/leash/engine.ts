/**
 * The leash engine: one call is create → poll → (settle), each phase an instance of the one
 * attempt loop (`attempts`), and the review step recorded at the end, on interruption too.
 * `Leash.request` and `Leash.await` are typed fronts over `request` and `awaitDecision`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Schema from "effect/Schema"
import { uuidPattern } from "../../schema/Common.js"
import type { LeashState } from "../../schema/LeashState.js"
import type * as Decision from "../decision.js"
import { describeError } from "../describe.js"
import { newId, type StepState, type TrailState } from "../state.js"
import { checkStep, openLeafStep, trailOf } from "../step.js"
import { again, attempts, backOff, done } from "./attempt.js"
import { build, checkTimeout, type LooseOptions } from "./build.js"
import {
  asyncOutcome,
  type Call,
  checkId,
  defaultTimeoutSeconds,
  errorOutcome,
  fromGate,
  type LeashOutcome,
  now,
  record,
  timeoutOutcome,
  total
} from "./call.js"
import type { Gate, NewLeash } from "./gate.js"

/** One attempt to create or cancel: at most this long, never past the deadline. */
const attemptMillis = 10_000
/** A long-poll asks the gate to hold at most this long (whole seconds). */
const longPollMaxSeconds = 25
/** A long-poll's own limit is the hold asked for plus this. */
const longPollGraceMillis = 5_000
/** The best-effort cancel after an interruption. */
const cancelMillis = 2_000
/**
 * A leash whose creation was confirmed later than this after the call started stays pending on
 * the server past the agent's deadline (the server counts `timeout_seconds` from its own
 * creation), so the agent settles it before giving up (see `settle`).
 */
const lateCreateMillis = 1_000
/** The time kept before the deadline to settle a leash: one cancel. */
const settleMillis = 1_000

/** When waiting stops once the leash must be settled: `settleMillis` before the deadline. */
const settleStop = (call: Call): number => Math.max(now(call), call.deadline - settleMillis)

/** A created leash, and when its polls stop waiting. */
interface Created {
  readonly state: LeashState
  readonly stopAt: number
}

/**
 * `POST /v1/leashes` with retries until it answers, fails for good, or the deadline. A creation
 * confirmed more than `lateCreateMillis` after the start makes the polls stop `settleMillis`
 * before the deadline, to settle the leash (the server's own expiry comes later than ours).
 */
const createPhase = (call: Call, leash: NewLeash): Effect.Effect<Created | LeashOutcome<never>> =>
  attempts<Created>(call, {
    stopAt: call.deadline,
    attempt: () => ({ run: call.gate.create(leash), ownMillis: attemptMillis }),
    read: (state) => {
      // the gate holds the leash now: its page exists
      call.traceLink = call.leashLink
      const late = call.settles && now(call) - call.start > lateCreateMillis
      return done({ state, stopAt: late ? settleStop(call) : call.deadline })
    },
    afterLoss: (stopAt) => stopAt,
    retries: true
  })

const pollWait = (left: number): number => Math.min(longPollMaxSeconds, Math.floor(left / 1000))

/** Long-polls `GET /v1/leashes/{id}` until decided or `stopAt`. */
const pollPhase = <P>(call: Call, stopAt: number): Effect.Effect<LeashOutcome<P>> =>
  attempts<LeashOutcome<P>>(call, {
    stopAt,
    attempt: (left) => {
      const wait = pollWait(left)
      return { run: call.gate.poll(call.leashId, wait), ownMillis: wait * 1000 + longPollGraceMillis }
    },
    read: (state, started, left) => {
      const wrong = checkId(call, state)
      if (wrong !== undefined) return done(errorOutcome(call, wrong))
      // the gate knows the leash (`await` of an id it had not answered for before)
      call.traceLink = call.leashLink
      if (state.status === "decided") return done(fromGate<P>(call, state.decision))
      const wait = pollWait(left)
      // the gate held the poll as asked: ask again at once; pending sooner than asked (less than
      // a second left, or a gate that does not hold): back off so a fast answer cannot become a
      // busy loop
      return wait > 0 && now(call) - started >= wait * 1000 ? again : backOff
    },
    // an answer was lost: a decision may have been missed, so the leash is settled at the end
    afterLoss: (stop) => (call.settles ? Math.min(stop, settleStop(call)) : stop),
    retries: true
  })

/**
 * The agent gives up on a leash it cannot be sure of: one the server would keep pending past the
 * agent's deadline (it was created late), or one whose answers were lost on the way (a decision
 * may have been missed). It cancels it, a compare-and-set on the server, within the time left:
 * one attempt of the same loop. Then the server agrees with the agent: either the cancel wins
 * (the leash ends `timeout` on both sides), or a decision came first, and the agent gets that
 * decision. A cancel that fails leaves the `timeout` as it was.
 */
const settle = <P>(call: Call, outcome: LeashOutcome<P>): Effect.Effect<LeashOutcome<P>> => {
  if (outcome.settle !== true) return Effect.succeed(outcome)
  return Effect.map(
    attempts<{ readonly settled: LeashOutcome<P> }>(call, {
      stopAt: call.deadline,
      attempt: () => ({ run: call.gate.cancel(call.leashId), ownMillis: settleMillis }),
      read: (state) =>
        done({
          settled: checkId(call, state) !== undefined || state.status !== "decided" ||
              state.decision.decision === "timeout"
            ? outcome
            : fromGate<P>(call, state.decision)
        }),
      afterLoss: (stop) => stop,
      retries: false
    }),
    (ended) => ("settled" in ended ? ended.settled : outcome)
  )
}

const clockOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Clock.Clock =>
  Context.get(fiber.currentDefaultServices, Clock.Clock)

/** What `runCall` needs to know of a call before it starts. */
interface CallOptions {
  readonly leashId: string
  readonly actionName: string
  readonly timeoutSeconds: number
  readonly schema: Schema.Schema<any, any, never> | undefined
  readonly input: unknown
  readonly settles: boolean
  /** The gate has answered for this leash already (`await` of an `async` Decision). */
  readonly known: boolean
}

/** What a call runs, and whether an interruption must cancel the leash. */
interface Body<P> {
  readonly run: Effect.Effect<LeashOutcome<P>>
  readonly cancelOnInterrupt: () => boolean
}

/**
 * Runs one leash call: opens the review step, runs `body` (interruptible), records the step with
 * its outcome, and on interruption records it `interrupted` and sends a bounded, best-effort cancel.
 */
const runCall = <P>(
  fiber: Fiber.RuntimeFiber<unknown, unknown>,
  trail: TrailState,
  gate: Gate,
  options: CallOptions,
  restore: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  body: (call: Call, step: StepState | undefined) => Body<P>
): Effect.Effect<Decision.Decision<P>> => {
  const clock = clockOf(fiber)
  // the name as recorded (a corrected one when it is empty or too long: the record must stay valid)
  const recordedName = checkStep(options.actionName, "review").name
  const opened = openLeafStep(fiber, trail, options.actionName, "review", options.input)
  const step = opened?.step
  const start = clock.unsafeCurrentTimeMillis()
  const leashLink = `${trail.recorder.endpoint}/leashes/${options.leashId}`
  const call: Call = {
    gate,
    clock,
    leashId: options.leashId,
    actionName: recordedName,
    traceLink: options.known ? leashLink : trail.link,
    leashLink,
    timeoutSeconds: options.timeoutSeconds,
    start,
    deadline: start + Math.max(1, Math.round(options.timeoutSeconds * 1000)),
    settles: options.settles,
    schema: options.schema
  }
  let made: Body<P>
  try {
    made = body(call, step)
  } catch (e) {
    // a user schema that throws while encoding the payload: still one Decision, one review step
    const reason = `the leash could not be built, so the gate was not asked: ${describeError(e).message}`
    made = { run: Effect.succeed(errorOutcome(call, reason)), cancelOnInterrupt: () => false }
  }
  const { cancelOnInterrupt, run } = made
  const warn = opened?.problem === undefined ? Effect.void : Effect.logWarning(`houndsight: ${opened.problem}`)
  return warn.pipe(
    Effect.zipRight(Effect.exit(restore(total(call, run)))),
    Effect.flatMap((exit): Effect.Effect<Decision.Decision<P>> => {
      if (exit._tag === "Success") {
        const outcome = exit.value
        record(step, outcome, "ok")
        const decision = outcome.decision
        return decision.decision === "error"
          ? Effect.as(
            Effect.logWarning(
              `houndsight: leash ${JSON.stringify(call.actionName)} ended in error: ${decision.reason} (${decision.traceLink})`
            ),
            decision
          )
          : Effect.succeed(decision)
      }
      // interrupted while waiting: the fiber is gone, the review step is still written
      record(step, timeoutOutcome(call, "interrupted"), "interrupted")
      if (!cancelOnInterrupt()) return Effect.failCause(exit.cause)
      // not an attempt of the loop: the call is over, this is a bounded notice to the gate
      return Effect.interruptible(gate.cancel(call.leashId)).pipe(
        Effect.timeoutOption(cancelMillis),
        Effect.catchAllCause(() => Effect.void),
        Effect.zipRight(Effect.failCause(exit.cause))
      )
    })
  )
}

/** The gate transport in the fiber's context (the `Leash` tag, given by the public module). */
const gateOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>, tag: Context.Tag<any, Gate>): Gate =>
  Context.unsafeGet(fiber.currentContext, tag)

const trailStateOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): TrailState => {
  const trail = trailOf(fiber)
  if (trail === undefined) {
    throw new Error("houndsight: a leash needs a current trail. Run it inside Trail.run({ trigger, payload }, effect).")
  }
  return trail
}

/**
 * `Leash.request`: builds the leash, creates it, and (when `blocking`) polls until decided or
 * the deadline, settling it when it cannot be sure of it. Reads the current trail and the gate
 * (`tag`) from the fiber's context; the public module types what it needs.
 */
export const request = <P>(tag: Context.Tag<any, Gate>, options: LooseOptions): Effect.Effect<Decision.Decision<P>> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<Decision.Decision<P>>((fiber) => {
      const trail = trailStateOf(fiber)
      const gate = gateOf(fiber, tag)
      const o: LooseOptions = options !== null && typeof options === "object" ? options : {}
      const actionName = typeof o.actionName === "string" ? o.actionName : String(o.actionName)
      const leashId = newId(trail.now())
      const timeoutProblem = checkTimeout(o.timeoutSeconds, "Leash.request")
      const timeoutSeconds = timeoutProblem === undefined
        ? (o.timeoutSeconds as number | undefined) ?? defaultTimeoutSeconds
        : defaultTimeoutSeconds
      const blocking = o.blocking === undefined ? true : o.blocking
      const schema = o.payloadSchema
      return runCall<P>(
        fiber,
        trail,
        gate,
        { leashId, actionName, timeoutSeconds, schema, input: undefined, settles: true, known: false },
        restore,
        (call, step) => {
          let created = false
          const stepId = step?.id ?? newId(trail.now())
          // build the body once: every retry sends exactly these bytes
          const built = build(call, trail, stepId, actionName, o, blocking, timeoutProblem)
          if (step !== undefined) step.setInput(built.input)
          if ("problem" in built) {
            return { run: Effect.succeed(errorOutcome(call, built.problem)), cancelOnInterrupt: () => false }
          }
          const run = Effect.suspend(() => {
            created = true
            return createPhase(call, built.leash)
          }).pipe(
            Effect.flatMap((result): Effect.Effect<LeashOutcome<P>> => {
              if (!("state" in result)) return Effect.succeed(result)
              const { state, stopAt } = result
              const wrong = checkId(call, state)
              if (wrong !== undefined) return Effect.succeed(errorOutcome(call, wrong))
              if (state.status === "decided") return Effect.succeed(fromGate<P>(call, state.decision))
              if (!blocking) return Effect.succeed(asyncOutcome(call))
              return Effect.flatMap(pollPhase<P>(call, stopAt), (outcome) => settle(call, outcome))
            })
          )
          return { run, cancelOnInterrupt: () => created }
        }
      )
    })
  )

/** The options of `Leash.await` as the engine reads them. */
export interface AwaitOptions<P> {
  readonly timeoutSeconds?: number | undefined
  readonly actionName?: string | undefined
  readonly payloadSchema?: Schema.Schema<P, any, never> | undefined
}

/**
 * `Leash.await`: polls an existing leash until decided or `timeoutSeconds` from now, with its
 * own review step; it never settles (the same leash may be awaited again).
 */
export const awaitDecision = <P>(
  tag: Context.Tag<any, Gate>,
  leash: string | Decision.Decision<unknown>,
  options: AwaitOptions<P> | undefined
): Effect.Effect<Decision.Decision<P>> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<Decision.Decision<P>>((fiber) => {
      const trail = trailStateOf(fiber)
      const gate = gateOf(fiber, tag)
      const o = options ?? {}
      const fromDecision = leash !== null && typeof leash === "object"
      const given = fromDecision ? String(leash.leashId) : String(leash)
      const validId = uuidPattern.test(given)
      // a record's leash id must be a UUID: a bad one is named in the reason, not recorded
      const leashId = validId ? given : newId(trail.now())
      const actionName = fromDecision ? String(leash.actionName) : o.actionName
      const timeoutProblem = checkTimeout(o.timeoutSeconds, "Leash.await")
      const timeoutSeconds = timeoutProblem === undefined ? o.timeoutSeconds ?? defaultTimeoutSeconds : defaultTimeoutSeconds
      const problem = timeoutProblem ??
        (typeof actionName === "string" && actionName.length > 0
          ? validId
            ? undefined
            : `Leash.await: ${JSON.stringify(given)} is not a leash id (a UUID); pass the Decision of the request or its leashId`
          : "Leash.await: pass the Decision of the request, or the leash id with { actionName }, so the review step is named after the action")
      return runCall<P>(
        fiber,
        trail,
        gate,
        {
          leashId,
          actionName: actionName ?? "(unnamed)",
          timeoutSeconds,
          schema: o.payloadSchema,
          input: { leash_id: given },
          settles: false,
          // an `async` Decision comes from a creation the gate answered: its leash page exists
          known: fromDecision && validId && leash.decision === "async"
        },
        restore,
        (call) =>
          problem === undefined
            ? { run: pollPhase<P>(call, call.deadline), cancelOnInterrupt: () => true }
            : { run: Effect.succeed(errorOutcome(call, problem)), cancelOnInterrupt: () => false }
      )
    })
  )
