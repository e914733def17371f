/**
 * The bypass audit (DESIGN.md section 6) on a table of trails that covers every clause, and on
 * what a real agent recorded with the test layer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Audit, Leash, Sniff, Trail, type Wire } from "houndsight"
import { FakeGate, HoundsightTest } from "houndsight/test"

const rules = { sensitive: ["stripe.*", "email.send"] }

const trailA = "00000000-0000-4000-8000-00000000000a"
const trailB = "00000000-0000-4000-8000-00000000000b"
const id = (seq: number, trail = trailA) => `${trail.slice(0, -4)}${String(seq).padStart(4, "0")}`

interface S {
  readonly seq: number
  readonly name: string
  readonly review?: "approved" | "modified" | "rejected" | "blocked" | "timeout" | "error" | "async" | "none"
  readonly status?: "ok" | "error" | "interrupted"
  readonly parent?: number
  readonly trail?: string
  /** The leash the review step cites (by number; default: its own seq, one leash per review). */
  readonly leash?: number
}

const leashId = (n: number) => `00000000-0000-4000-8000-1${String(n).padStart(11, "0")}`

/** A step record; `review` makes it a review step with that decision (`none`: no leash summary). */
const step = (s: S): Audit.AuditStep => {
  const trail = s.trail ?? trailA
  const base = {
    id: id(s.seq, trail),
    trailId: trail,
    parentId: s.parent === undefined ? null : id(s.parent, trail),
    seq: s.seq,
    name: s.name,
    layer: s.review === undefined ? ("execute" as const) : ("review" as const),
    status: s.status ?? "ok"
  }
  if (s.review === undefined || s.review === "none") return base
  return {
    ...base,
    leash: {
      leashId: leashId(s.leash ?? s.seq),
      actionName: s.name,
      decision: s.review,
      approved: s.review === "approved" || s.review === "modified",
      reason: "r"
    }
  }
}

type Expected = ReadonlyArray<{ kind: Wire.FlagKind; seq: number; review?: number; trail?: string }>

const table: ReadonlyArray<{ name: string; steps: ReadonlyArray<S>; flags: Expected }> = [
  {
    name: "an approved action is not flagged",
    steps: [{ seq: 1, name: "stripe.charge", review: "approved" }, { seq: 2, name: "stripe.charge" }],
    flags: []
  },
  {
    name: "a modified approval counts as approved",
    steps: [{ seq: 1, name: "stripe.charge", review: "modified" }, { seq: 2, name: "stripe.charge" }],
    flags: []
  },
  {
    name: "unleashed action: a sensitive action (prefix.*) with no review",
    steps: [{ seq: 1, name: "stripe.charge" }],
    flags: [{ kind: "unleashed_action", seq: 1 }]
  },
  {
    name: "unleashed action: a sensitive action (exact name) with no review",
    steps: [{ seq: 1, name: "plan" }, { seq: 2, name: "email.send" }],
    flags: [{ kind: "unleashed_action", seq: 2 }]
  },
  {
    name: "a prefix pattern does not match the bare prefix",
    steps: [{ seq: 1, name: "stripe" }],
    flags: []
  },
  {
    name: "a non-sensitive action with no review is never flagged",
    steps: [{ seq: 1, name: "search_docs" }, { seq: 2, name: "search_docs" }],
    flags: []
  },
  {
    name: "a review after the action does not cover it",
    steps: [{ seq: 1, name: "stripe.charge" }, { seq: 2, name: "stripe.charge", review: "approved" }],
    flags: [{ kind: "unleashed_action", seq: 1 }]
  },
  {
    name: "a review for another action does not cover it",
    steps: [{ seq: 1, name: "email.send", review: "approved" }, { seq: 2, name: "stripe.charge" }],
    flags: [{ kind: "unleashed_action", seq: 2 }]
  },
  ...(["rejected", "blocked", "timeout", "error", "async"] as const).map((decision) => ({
    name: `ignored decision: acting after ${decision}`,
    steps: [{ seq: 1, name: "stripe.charge", review: decision }, { seq: 2, name: "stripe.charge" }],
    flags: [{ kind: "ignored_decision" as const, seq: 2, review: 1 }]
  })),
  {
    name: "ignored decision applies to a non-sensitive action too",
    steps: [{ seq: 1, name: "search_docs", review: "rejected" }, { seq: 2, name: "search_docs" }],
    flags: [{ kind: "ignored_decision", seq: 2, review: 1 }]
  },
  {
    name: "a review step without a leash summary does not approve",
    steps: [{ seq: 1, name: "stripe.charge", review: "none" }, { seq: 2, name: "stripe.charge" }],
    flags: [{ kind: "ignored_decision", seq: 2, review: 1 }]
  },
  {
    name: "the latest review counts: rejected, then approved",
    steps: [
      { seq: 1, name: "stripe.charge", review: "rejected" },
      { seq: 2, name: "stripe.charge", review: "approved" },
      { seq: 3, name: "stripe.charge" }
    ],
    flags: []
  },
  {
    name: "the latest review counts: approved, then rejected",
    steps: [
      { seq: 1, name: "stripe.charge", review: "approved" },
      { seq: 2, name: "stripe.charge", review: "rejected" },
      { seq: 3, name: "stripe.charge" }
    ],
    flags: [{ kind: "ignored_decision", seq: 3, review: 2 }]
  },
  {
    name: "reused approval: one approval, two successful actions",
    steps: [
      { seq: 1, name: "stripe.charge", review: "approved" },
      { seq: 2, name: "stripe.charge" },
      { seq: 3, name: "stripe.charge" }
    ],
    flags: [{ kind: "reused_approval", seq: 3, review: 1 }]
  },
  {
    name: "a failed attempt does not use the approval: a retry after an error is fine",
    steps: [
      { seq: 1, name: "stripe.charge", review: "approved" },
      { seq: 2, name: "stripe.charge", status: "error" },
      { seq: 3, name: "stripe.charge" },
      { seq: 4, name: "stripe.charge" }
    ],
    flags: [{ kind: "reused_approval", seq: 4, review: 1 }]
  },
  {
    name: "an interrupted attempt does not use the approval",
    steps: [
      { seq: 1, name: "stripe.charge", review: "approved" },
      { seq: 2, name: "stripe.charge", status: "interrupted" },
      { seq: 3, name: "stripe.charge" }
    ],
    flags: []
  },
  {
    name: "a fresh approval covers the next action",
    steps: [
      { seq: 1, name: "stripe.charge", review: "approved" },
      { seq: 2, name: "stripe.charge" },
      { seq: 3, name: "stripe.charge", review: "approved" },
      { seq: 4, name: "stripe.charge" }
    ],
    flags: []
  },
  {
    name: "wrapper: a collar named X that leashes its own action is not flagged",
    steps: [{ seq: 1, name: "stripe.charge" }, { seq: 2, name: "stripe.charge", review: "approved", parent: 1 }],
    flags: []
  },
  {
    name: "wrapper: not flagged even when its leash was rejected",
    steps: [{ seq: 1, name: "stripe.charge" }, { seq: 2, name: "stripe.charge", review: "rejected", parent: 1 }],
    flags: []
  },
  {
    name: "wrapper: the review may be nested deeper inside it",
    steps: [
      { seq: 1, name: "stripe.charge" },
      { seq: 2, name: "policy", parent: 1 },
      { seq: 3, name: "stripe.charge", review: "approved", parent: 2 }
    ],
    flags: []
  },
  {
    name: "wrapper: uses no approval, so the action inside it (or after it) may use it once",
    steps: [
      { seq: 1, name: "stripe.charge" },
      { seq: 2, name: "stripe.charge", review: "approved", parent: 1 },
      { seq: 3, name: "stripe.charge", parent: 1 },
      { seq: 4, name: "stripe.charge" }
    ],
    flags: [{ kind: "reused_approval", seq: 4, review: 2 }]
  },
  {
    name: "a step containing a review for another name is not a wrapper",
    steps: [{ seq: 1, name: "stripe.charge" }, { seq: 2, name: "email.send", review: "approved", parent: 1 }],
    flags: [{ kind: "unleashed_action", seq: 1 }]
  },
  {
    name: "one approval per leash: two review steps of one leash (Leash.await twice) allow one action",
    steps: [
      { seq: 1, name: "stripe.charge", review: "approved", leash: 7 },
      { seq: 2, name: "stripe.charge" },
      { seq: 3, name: "stripe.charge", review: "approved", leash: 7 },
      { seq: 4, name: "stripe.charge" }
    ],
    flags: [{ kind: "reused_approval", seq: 4, review: 3 }]
  },
  {
    name: "one approval per leash: the second review step of an unused approval covers one action",
    steps: [
      { seq: 1, name: "stripe.charge", review: "approved", leash: 7 },
      { seq: 2, name: "stripe.charge", status: "error" },
      { seq: 3, name: "stripe.charge", review: "approved", leash: 7 },
      { seq: 4, name: "stripe.charge" },
      { seq: 5, name: "stripe.charge" }
    ],
    flags: [{ kind: "reused_approval", seq: 5, review: 3 }]
  },
  {
    name: "trails are audited separately: a review in one trail does not cover another",
    steps: [{ seq: 1, name: "stripe.charge", review: "approved" }, { seq: 1, name: "stripe.charge", trail: trailB }],
    flags: [{ kind: "unleashed_action", seq: 1, trail: trailB }]
  }
]

const expected = (flags: Expected): ReadonlyArray<Wire.Flag> =>
  flags.map((f) => {
    const trail = f.trail ?? trailA
    const flag = { kind: f.kind, trailId: trail, stepId: id(f.seq, trail), seq: f.seq, actionName: "" }
    return f.review === undefined ? flag : { ...flag, reviewStepId: id(f.review, trail) }
  })

describe("Audit.flags", () => {
  for (const row of table) {
    it(row.name, () => {
      const steps = row.steps.map(step)
      const flags = Audit.flags(steps, rules)
      const byId = new Map(steps.map((s) => [s.id, s.name]))
      expect(flags).toStrictEqual(expected(row.flags).map((f) => ({ ...f, actionName: byId.get(f.stepId)! })))
    })
  }

  it("takes steps in seq order, never arrival order", () => {
    for (const row of table) {
      const steps = row.steps.map(step)
      const reversed = steps.slice().reverse()
      const rotated = [...steps.slice(1), ...steps.slice(0, 1)]
      expect(Audit.flags(reversed, rules)).toStrictEqual(Audit.flags(steps, rules))
      expect(Audit.flags(rotated, rules)).toStrictEqual(Audit.flags(steps, rules))
    }
  })

  it("accepts the rules file as decoded by the shared schema", () => {
    const steps = [step({ seq: 1, name: "email.send" })]
    const file = { sensitive: ["email.*"], rules: [] }
    expect(Audit.flags(steps, file).map((f) => f.kind)).toStrictEqual(["unleashed_action"])
  })
})

describe("Audit over a recorded agent", () => {
  const leash = (amountUsd: number) =>
    Leash.request({
      actionName: "stripe.charge",
      actionSummary: `Charge $${amountUsd}`,
      riskSignals: { amountUsd },
      payload: { amountUsd }
    })
  const charge = Sniff.run("stripe.charge", { layer: "execute" }, Effect.void)

  it.effect("an agent that acts only when approved has no flags", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        const decision = yield* leash(120)
        if (decision.approved) yield* charge
      }).pipe(Trail.run({ trigger: "test", payload: {} }))
      expect(yield* HoundsightTest.flags(rules)).toStrictEqual([])
    }).pipe(Effect.provide(HoundsightTest.layer({ gate: FakeGate.rejectAll }))))

  it.effect("an agent that charges after a rejection is flagged", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        yield* leash(120)
        yield* charge
      }).pipe(Trail.run({ trigger: "test", payload: {} }))
      const flags = yield* HoundsightTest.flags(rules)
      const [review, action] = yield* HoundsightTest.steps
      expect(flags).toStrictEqual([
        {
          kind: "ignored_decision",
          trailId: action!.trailId,
          stepId: action!.id,
          seq: 2,
          actionName: "stripe.charge",
          reviewStepId: review!.id
        }
      ])
    }).pipe(Effect.provide(HoundsightTest.layer({ gate: FakeGate.rejectAll }))))
})

describe("Audit.flags with the server's leash records (v1.1 cross-check)", () => {
  const record = (
    n: number,
    decision: Audit.LeashRecord["decision"],
    over: Partial<Audit.LeashRecord> = {}
  ): [string, Audit.LeashRecord] => [leashId(n), { trailId: trailA, actionName: "stripe.charge", decision, ...over }]
  const kinds = (steps: ReadonlyArray<S>, records: Audit.LeashRecords) =>
    Audit.flags(steps.map(step), rules, records).map((f) => [f.kind, f.seq, f.reviewStepId ?? null])

  it("a confirmed approval is not flagged", () => {
    const steps = [{ seq: 1, name: "stripe.charge", review: "approved" as const }, { seq: 2, name: "stripe.charge" }]
    expect(kinds(steps, new Map([record(1, "approved")]))).toStrictEqual([])
  })

  it("a forged approval of a rejected leash: unverified review, and the action after it ignored the decision", () => {
    const steps = [{ seq: 1, name: "stripe.charge", review: "approved" as const }, { seq: 2, name: "stripe.charge" }]
    expect(kinds(steps, new Map([record(1, "rejected")]))).toStrictEqual([
      ["unverified_review", 1, null],
      ["ignored_decision", 2, id(1)]
    ])
  })

  it("an approval of a leash the server never saw, of another trail, of another action or still pending fails", () => {
    const steps = [{ seq: 1, name: "stripe.charge", review: "modified" as const }, { seq: 2, name: "stripe.charge" }]
    const flagged = [["unverified_review", 1, null], ["ignored_decision", 2, id(1)]]
    expect(kinds(steps, new Map())).toStrictEqual(flagged)
    expect(kinds(steps, new Map([record(1, "modified", { trailId: trailB })]))).toStrictEqual(flagged)
    expect(kinds(steps, new Map([record(1, "modified", { actionName: "stripe.refund" })]))).toStrictEqual(flagged)
    expect(kinds(steps, new Map([record(1, undefined)]))).toStrictEqual(flagged)
    expect(kinds(steps, new Map([record(1, "approved")]))).toStrictEqual(flagged)
    expect(kinds(steps, new Map([record(1, "modified")]))).toStrictEqual([])
  })

  it("a claimed non-approving decision needs no check", () => {
    const steps = [{ seq: 1, name: "stripe.charge", review: "error" as const }, { seq: 2, name: "plan" }]
    expect(kinds(steps, new Map())).toStrictEqual([])
  })

  it("a review step nested inside its own action makes a wrapper only for a leash the server holds for it", () => {
    const steps = [
      { seq: 1, name: "stripe.charge" },
      { seq: 2, name: "stripe.charge", review: "rejected" as const, parent: 1 }
    ]
    expect(kinds(steps, new Map([record(2, "rejected")]))).toStrictEqual([])
    expect(kinds(steps, new Map())).toStrictEqual([["unleashed_action", 1, null]])
    expect(kinds(steps, new Map([record(2, "rejected", { trailId: trailB })]))).toStrictEqual([["unleashed_action", 1, null]])
    const forged = [{ seq: 1, name: "stripe.charge" }, { seq: 2, name: "stripe.charge", review: "approved" as const, parent: 1 }]
    expect(kinds(forged, new Map())).toStrictEqual([["unleashed_action", 1, null], ["unverified_review", 2, null]])
  })

  it(`a wrapper's review step is looked for up to ${Audit.wrapperDepth} levels below it`, () => {
    const chain = (depth: number): Array<S> => [
      { seq: 1, name: "stripe.charge" },
      ...Array.from({ length: depth - 1 }, (_, i) => ({ seq: i + 2, name: "policy", parent: i + 1 })),
      { seq: depth + 1, name: "stripe.charge", review: "approved" as const, parent: depth }
    ]
    expect(Audit.flags(chain(Audit.wrapperDepth).map(step), rules)).toStrictEqual([])
    expect(Audit.flags(chain(Audit.wrapperDepth + 1).map(step), rules).map((f) => [f.kind, f.seq])).toStrictEqual([
      ["unleashed_action", 1]
    ])
  })
})
