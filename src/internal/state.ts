/**
 * The mutable state behind a trail and its steps, and how the current step travels.
 *
 * The trail travels in the Context (a requirement in `R`). The current step travels in a
 * per-fiber *holder* kept in one FiberRef: a sniff reads the holder once, swaps `current` in
 * place on entry and back on exit (no FiberRef write, no Context copy), and a forked fiber gets
 * a snapshot of its parent's holder at fork time (the FiberRef's `fork`), so children find the
 * right parent across `Effect.all`, `Effect.forEach` and `Effect.fork`. See BENCHMARKS.md for
 * the figures behind this choice.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import type * as Tracer from "effect/Tracer"
import type { Event, StepLayer, Tokens } from "../schema/Common.js"
import type { LeashSummary, ModelRef, StepRecord } from "../schema/StepRecord.js"
import type { TrailRecord } from "../schema/TrailRecord.js"
import type { RecorderShape } from "./recorder.js"
import type { StepSpans } from "./tracer.js"
import { describeCause } from "./describe.js"
import { maxRecordBytes, recordTruncated, toJsonSafe, toJsonSafeAttributes } from "./jsonSafe.js"

/** The largest Unix time in milliseconds a UUID v7 can carry (48 bits). */
const maxUuid7Millis = 2 ** 48 - 1

/** Two hex digits of every byte value. */
const hexByte: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))
/** The hex digit of every nibble value. */
const hexNibble: ReadonlyArray<string> = Array.from({ length: 16 }, (_, i) => i.toString(16))

/** Random bytes for ids, refilled from the platform's crypto 4 KiB at a time (10 bytes an id). */
const randomPool = new Uint8Array(4096)
let randomAt = randomPool.length

/** The id prefix (time and version) of the last millisecond an id was made in. */
let prefixMillis = Number.NaN
let prefix = ""

/**
 * A fresh record id: a UUID v7 (RFC 9562) whose first 48 bits are `unixMillis` and whose other
 * 74 bits are random, from the platform's `crypto.getRandomValues` (Node, Bun, Deno, edge). Ids
 * made in the same millisecond share their first characters, so the server's indexes take a
 * batch's ids into a few neighbouring pages instead of one random page each (random UUID v4 ids
 * slow the server's ingest; `npm run bench:gate` measures it, BENCHMARKS.md has the figures), and
 * ids sort by creation time to the millisecond. A time outside 0 … 2^48 − 1 (a test clock, a
 * broken one) is written as 0; the id stays unique by its random bits.
 *
 * Made without `crypto.randomUUID()` (a v4 id to rewrite): its 36 characters arrive as a tree of
 * string pieces that slicing would copy twice; this costs less than `randomUUID()` alone.
 */
export const newId = (unixMillis: number): string => {
  if (unixMillis !== prefixMillis) {
    const millis = unixMillis >= 0 && unixMillis <= maxUuid7Millis ? Math.floor(unixMillis) : 0
    const time = millis.toString(16).padStart(12, "0")
    prefix = `${time.slice(0, 8)}-${time.slice(8)}-7`
    prefixMillis = unixMillis
  }
  if (randomAt + 10 > randomPool.length) {
    globalThis.crypto.getRandomValues(randomPool)
    randomAt = 0
  }
  const b = randomPool
  const o = randomAt
  randomAt += 10
  // tttttttt-tttt-7aaa-Vbbb-bbbbbbbbbbbb: 12 bits of a, the variant 0b10 and 62 bits of b
  const id = prefix + hexNibble[b[o]! & 0x0f] + hexByte[b[o + 1]!] + "-" +
    hexByte[(b[o + 2]! & 0x3f) | 0x80] + hexByte[b[o + 3]!] + "-" +
    hexByte[b[o + 4]!] + hexByte[b[o + 5]!] + hexByte[b[o + 6]!] + hexByte[b[o + 7]!] + hexByte[b[o + 8]!] +
    hexByte[b[o + 9]!]
  // one flat string, so a queued record does not keep the pieces
  id.charCodeAt(0)
  return id
}

/** Owner value of a holder that a forked fiber may claim. */
export const UNOWNED = -1
/** Owner value of the FiberRef's initial holder, which is never claimed. */
const SHARED = -2

/** The per-fiber holder of the current step. */
export interface Holder {
  owner: number
  current: StepState | undefined
}

/** Where the current step lives. */
export const currentStep: FiberRef.FiberRef<Holder> = FiberRef.unsafeMake<Holder>(
  { owner: SHARED, current: undefined },
  {
    fork: (parent) => ({ owner: UNOWNED, current: parent.current }),
    join: (parent) => parent
  }
)

const mutable = <A>(a: A): { -readonly [K in keyof A]: A[K] } => a as { -readonly [K in keyof A]: A[K] }

/** The state of an open trail. */
export class TrailState {
  readonly id: string
  readonly link: string
  readonly agent: string
  readonly startedAt: number
  seq = 0
  costUsd = 0
  hasCost = false
  tokensIn = 0
  tokensOut = 0
  hasTokens = false
  events: Array<Event> = []
  output: unknown = undefined
  hasOutput = false
  ended = false
  readonly payload: unknown
  /** Where the trail's steps go as spans (`HoundsightTracer` with `steps: true`), else undefined. */
  stepSpans: StepSpans | undefined = undefined
  /** The trail's own span when its steps go as spans. */
  span: Tracer.Span | undefined = undefined

  constructor(
    readonly recorder: RecorderShape,
    readonly clock: Clock.Clock,
    readonly trigger: string,
    payload: unknown,
    readonly tags: Readonly<Record<string, string>> | undefined
  ) {
    this.agent = recorder.agent
    this.startedAt = clock.unsafeCurrentTimeMillis()
    this.id = newId(this.startedAt)
    this.link = `${recorder.endpoint}/trails/${this.id}`
    // the wire requires a payload: a trail started with none sends null
    this.payload = payload === undefined ? null : toJsonSafe(payload).value
  }

  get recording(): boolean {
    return this.recorder.enabled
  }

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  record(status: TrailRecord["status"], endedAt?: number): TrailRecord {
    const r = mutable<TrailRecord>({
      id: this.id,
      agent: this.agent,
      trigger: this.trigger,
      payload: this.payload,
      status,
      startedAt: new Date(this.startedAt),
      events: this.events.slice()
    })
    if (this.hasOutput) r.output = this.output
    if (endedAt !== undefined) r.endedAt = new Date(endedAt)
    if (this.hasCost) r.costUsd = this.costUsd
    if (this.hasTokens) r.tokens = { input: this.tokensIn, output: this.tokensOut }
    if (this.tags !== undefined) r.tags = this.tags
    return r
  }

  end(exit: Exit.Exit<unknown, unknown>): void {
    if (this.ended) return
    this.ended = true
    const status = Exit.isSuccess(exit) ? "ok" : describeCause(exit.cause).status
    const r = this.record(status, this.now())
    if (this.span !== undefined) this.stepSpans!.endTrail(this, r, exit)
    this.recorder.offerTrail(r)
  }

  addEvent(event: Event): void {
    this.events.push(event)
  }

  setOutput(value: unknown): void {
    this.output = toJsonSafe(value).value
    this.hasOutput = true
  }
}

/** The state of an open step. */
export class StepState {
  readonly id: string
  readonly seq: number
  readonly startedAt: number
  input: unknown = undefined
  inputBytes = -1
  output: unknown = undefined
  outputBytes = -1
  costUsd: number | undefined = undefined
  tokens: { input: number; output: number; cachedInput?: number; reasoning?: number } | undefined = undefined
  /** The model a `reason` step called (set by `houndsight/ai`). */
  model: ModelRef | undefined = undefined
  events: Array<Event> | undefined = undefined
  leash: LeashSummary | undefined = undefined
  /** The span name this step stands for, which the span bridge does not record again (`houndsight/ai`). */
  absorbs: string | undefined = undefined
  /** The step's span when the trail's steps go as spans. */
  span: Tracer.Span | undefined = undefined
  ended = false

  constructor(
    readonly trail: TrailState,
    readonly parentId: string | null,
    public name: string,
    /** Set anew only by the span bridge, from a span's `houndsight.layer` attribute. */
    public layer: StepLayer
  ) {
    this.seq = ++trail.seq
    this.startedAt = trail.now()
    this.id = newId(this.startedAt)
    if (trail.stepSpans !== undefined) trail.stepSpans.openStep(this)
  }

  setInput(value: unknown): void {
    const safe = toJsonSafe(value)
    this.input = safe.value
    this.inputBytes = safe.bytes
  }

  /**
   * Names the step anew before it ends: a leashed tool call whose action did not run (the gate
   * did not approve it) is named after the tool, not the action, so no audit reads it as the
   * action done.
   */
  rename(name: string): void {
    if (!this.ended) this.name = name
  }

  setOutput(value: unknown): void {
    const safe = toJsonSafe(value)
    this.output = safe.value
    this.outputBytes = safe.bytes
  }

  addCost(usd: number): void {
    this.costUsd = (this.costUsd ?? 0) + usd
  }

  addTokens(tokens: Tokens): void {
    if (this.tokens === undefined) this.tokens = { input: tokens.input, output: tokens.output }
    else {
      this.tokens.input += tokens.input
      this.tokens.output += tokens.output
    }
  }

  addEvent(event: Event): void {
    if (this.events === undefined) this.events = [event]
    else this.events.push(event)
  }

  /** Ends the step with a failure cause (`error`, or `interrupted` for an interruption). */
  endCause(cause: Cause.Cause<unknown>): void {
    const d = describeCause(cause)
    this.finish(d.status, d.status === "error" ? d.error : undefined)
  }

  finish(status: StepRecord["status"], error: { type: string; message: string } | undefined): void {
    if (this.ended) return
    this.ended = true
    const trail = this.trail
    const r = mutable<StepRecord>({
      id: this.id,
      trailId: trail.id,
      parentId: this.parentId,
      seq: this.seq,
      name: this.name,
      layer: this.layer,
      status,
      startedAt: new Date(this.startedAt),
      endedAt: new Date(trail.now()),
      events: this.events ?? []
    })
    if (this.inputBytes >= 0) r.input = this.input
    if (this.outputBytes >= 0) r.output = this.output
    if (this.inputBytes + this.outputBytes > maxRecordBytes) {
      // drop the larger field first, then the other if still too big
      if (this.inputBytes >= this.outputBytes) {
        r.input = recordTruncated("input", this.inputBytes)
        if (this.outputBytes > maxRecordBytes) r.output = recordTruncated("output", this.outputBytes)
      } else {
        r.output = recordTruncated("output", this.outputBytes)
        if (this.inputBytes > maxRecordBytes) r.input = recordTruncated("input", this.inputBytes)
      }
    }
    if (this.costUsd !== undefined) {
      r.costUsd = this.costUsd
      trail.costUsd += this.costUsd
      trail.hasCost = true
    }
    if (this.tokens !== undefined) {
      const t = this.tokens
      r.tokens = t.cachedInput === undefined && t.reasoning === undefined
        ? { input: t.input, output: t.output }
        : t.reasoning === undefined
        ? { input: t.input, output: t.output, cachedInput: t.cachedInput! }
        : t.cachedInput === undefined
        ? { input: t.input, output: t.output, reasoning: t.reasoning }
        : { input: t.input, output: t.output, cachedInput: t.cachedInput, reasoning: t.reasoning }
      trail.tokensIn += this.tokens.input
      trail.tokensOut += this.tokens.output
      trail.hasTokens = true
    }
    if (error !== undefined) r.error = error
    if (this.leash !== undefined) r.leash = this.leash
    if (this.model !== undefined) r.model = this.model
    if (this.span !== undefined) trail.stepSpans!.endStep(this, r)
    trail.recorder.offerStep(r)
  }
}

/** An event with JSON-safe attributes, stamped by the trail's clock. */
export const makeEvent = (trail: TrailState, name: string, attributes: unknown): Event => ({
  name,
  at: new Date(trail.now()),
  attributes: toJsonSafeAttributes(attributes).value as Record<string, unknown>
})
