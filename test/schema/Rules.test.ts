import { describe, expect, it } from "@effect/vitest"
import { Wire } from "houndsight"
import { fromWire, rejectWire, toWire } from "./helpers.js"

const { Rules } = Wire

const designExample = {
  sensitive: ["stripe.*", "email.send"],
  rules: [{
    action: "stripe.*",
    reason: "charges over $10,000 need finance",
    when: [{ signal: "amount_usd", op: ">", value: 10000 }]
  }]
}

const one = (condition: Wire.Rules.Condition, action = "act"): Wire.Rules.RulesFile => ({
  sensitive: [],
  rules: [{ action, reason: "fired", when: [condition] }]
})

const fires = (condition: Wire.Rules.Condition, signals: Record<string, unknown>): boolean =>
  Rules.firstFiring(one(condition), "act", signals) !== undefined

describe("RulesFile", () => {
  it("decodes the design's example and encodes it back unchanged", () => {
    const rules = fromWire(Rules.RulesFile, designExample)
    expect(rules.rules[0].when[0]).toEqual({ signal: "amount_usd", op: ">", value: 10000 })
    expect(toWire(Rules.RulesFile, rules)).toEqual(designExample)
  })

  it("treats missing lists as empty", () => {
    expect(fromWire(Rules.RulesFile, {})).toEqual({ sensitive: [], rules: [] })
  })

  it("refuses an unknown operator, naming where it is", () => {
    const failure = rejectWire(Rules.RulesFile, {
      rules: [{ action: "a", reason: "r", when: [{ signal: "amount_usd", op: "=~", value: 1 }] }]
    })
    expect(failure.paths).toEqual(["rules.0.when.0.op"])
    expect(failure.tree).toContain("expected one of >, >=, <, <=, ==, !=, contains, in, got \"=~\"")
  })

  it("refuses `in` without a list, a list for a single-value operator, and a non-number for a comparison", () => {
    const rule = (condition: object) => ({ rules: [{ action: "a", reason: "r", when: [condition] }] })
    const inScalar = rejectWire(Rules.RulesFile, rule({ signal: "country", op: "in", value: "DE" }))
    expect(inScalar.paths).toEqual(["rules.0.when.0.value"])
    expect(inScalar.tree).toContain("`in` needs a list value")
    expect(rejectWire(Rules.RulesFile, rule({ signal: "country", op: "==", value: ["DE"] })).tree).toContain(
      "`==` needs a single value, not a list"
    )
    expect(rejectWire(Rules.RulesFile, rule({ signal: "amount_usd", op: ">", value: "10000" })).tree).toContain(
      "`>` needs a number"
    )
  })

  it("refuses a bad action pattern", () => {
    const failure = rejectWire(Rules.RulesFile, { sensitive: ["stripe*"] })
    expect(failure.paths).toEqual(["sensitive.0"])
    expect(failure.tree).toContain("expected an action name or \"prefix.*\", got \"stripe*\"")
    expect(rejectWire(Rules.RulesFile, { sensitive: ["*"] }).paths).toEqual(["sensitive.0"])
  })

  it("refuses a misspelt key instead of silently dropping a rule", () => {
    const top = rejectWire(Rules.RulesFile, { rule: designExample.rules })
    expect(top.paths).toEqual(["rule"])
    expect(top.tree).toContain("is unexpected")
    const nested = rejectWire(Rules.RulesFile, {
      rules: [{ action: "a", reason: "r", condition: [], when: [] }]
    })
    expect(nested.paths).toEqual(["rules.0.condition"])
  })
})

describe("Rules.matches", () => {
  it("matches an exact name only exactly", () => {
    expect(Rules.matches("email.send", "email.send")).toBe(true)
    expect(Rules.matches("email.send", "email.sender")).toBe(false)
    expect(Rules.matches("email.send", "email")).toBe(false)
  })

  it("matches prefix.* on every name starting with prefix.", () => {
    expect(Rules.matches("stripe.*", "stripe.charge")).toBe(true)
    expect(Rules.matches("stripe.*", "stripe.refund.full")).toBe(true)
    expect(Rules.matches("stripe.*", "stripe")).toBe(false)
    expect(Rules.matches("stripe.*", "stripeX.charge")).toBe(false)
    expect(Rules.matches("stripe.*", "other.stripe.charge")).toBe(false)
  })
})

describe("Rules.firstFiring", () => {
  it(">, >=, <, <= compare numbers", () => {
    expect(fires({ signal: "n", op: ">", value: 10 }, { n: 11 })).toBe(true)
    expect(fires({ signal: "n", op: ">", value: 10 }, { n: 10 })).toBe(false)
    expect(fires({ signal: "n", op: ">=", value: 10 }, { n: 10 })).toBe(true)
    expect(fires({ signal: "n", op: ">=", value: 10 }, { n: 9.99 })).toBe(false)
    expect(fires({ signal: "n", op: "<", value: 10 }, { n: 9 })).toBe(true)
    expect(fires({ signal: "n", op: "<", value: 10 }, { n: 10 })).toBe(false)
    expect(fires({ signal: "n", op: "<=", value: 10 }, { n: 10 })).toBe(true)
    expect(fires({ signal: "n", op: "<=", value: 10 }, { n: 11 })).toBe(false)
  })

  it("a comparison never holds for a signal that is not a number", () => {
    expect(fires({ signal: "n", op: ">", value: 10 }, { n: "11" })).toBe(false)
    expect(fires({ signal: "n", op: "<", value: 10 }, { n: [] })).toBe(false)
  })

  it("== and != compare values exactly", () => {
    expect(fires({ signal: "country", op: "==", value: "DE" }, { country: "DE" })).toBe(true)
    expect(fires({ signal: "country", op: "==", value: "DE" }, { country: "de" })).toBe(false)
    expect(fires({ signal: "n", op: "==", value: 1 }, { n: "1" })).toBe(false)
    expect(fires({ signal: "admin", op: "==", value: true }, { admin: true })).toBe(true)
    expect(fires({ signal: "country", op: "!=", value: "DE" }, { country: "FR" })).toBe(true)
    expect(fires({ signal: "country", op: "!=", value: "DE" }, { country: "DE" })).toBe(false)
  })

  it("contains holds when the signal is a list holding the value", () => {
    const condition = { signal: "data_categories", op: "contains", value: "pii" } as const
    expect(fires(condition, { data_categories: ["payment", "pii"] })).toBe(true)
    expect(fires(condition, { data_categories: ["payment"] })).toBe(false)
    expect(fires(condition, { data_categories: "pii" })).toBe(false)
  })

  it("in holds when the signal is one of the listed values", () => {
    const condition = { signal: "merchant_country", op: "in", value: ["KP", "IR"] } as const
    expect(fires(condition, { merchant_country: "IR" })).toBe(true)
    expect(fires(condition, { merchant_country: "DE" })).toBe(false)
  })

  it("a missing signal never satisfies a condition, not even !=", () => {
    for (
      const condition of [
        { signal: "n", op: ">", value: 0 },
        { signal: "n", op: "<", value: 0 },
        { signal: "n", op: "!=", value: 5 },
        { signal: "n", op: "==", value: 5 },
        { signal: "n", op: "contains", value: 5 },
        { signal: "n", op: "in", value: [5] }
      ] as const
    ) {
      expect(fires(condition, {})).toBe(false)
      expect(fires(condition, { n: null })).toBe(false)
      expect(fires(condition, { n: undefined })).toBe(false)
    }
  })

  it("does not read signals from the prototype chain", () => {
    expect(fires({ signal: "constructor", op: "!=", value: "x" }, {})).toBe(false)
  })

  it("needs every condition of a rule to hold", () => {
    const rules: Wire.Rules.RulesFile = {
      sensitive: [],
      rules: [{
        action: "stripe.*",
        reason: "big foreign charge",
        when: [{ signal: "amount_usd", op: ">", value: 1000 }, { signal: "merchant_country", op: "!=", value: "US" }]
      }]
    }
    expect(Rules.firstFiring(rules, "stripe.charge", { amount_usd: 5000, merchant_country: "DE" })).toBeDefined()
    expect(Rules.firstFiring(rules, "stripe.charge", { amount_usd: 5000, merchant_country: "US" })).toBeUndefined()
    expect(Rules.firstFiring(rules, "stripe.charge", { amount_usd: 5000 })).toBeUndefined()
  })

  it("only looks at rules whose action matches", () => {
    const rules = fromWire(Rules.RulesFile, designExample)
    expect(Rules.firstFiring(rules, "stripe.charge", { amount_usd: 12000 })?.reason).toBe(
      "charges over $10,000 need finance"
    )
    expect(Rules.firstFiring(rules, "email.send", { amount_usd: 12000 })).toBeUndefined()
  })

  it("the first rule that fires wins", () => {
    const rules: Wire.Rules.RulesFile = {
      sensitive: [],
      rules: [
        { action: "stripe.refund", reason: "refunds are handled elsewhere", when: [] },
        { action: "stripe.*", reason: "over 10k", when: [{ signal: "amount_usd", op: ">", value: 10000 }] },
        { action: "stripe.charge", reason: "over 1k", when: [{ signal: "amount_usd", op: ">", value: 1000 }] }
      ]
    }
    expect(Rules.firstFiring(rules, "stripe.charge", { amount_usd: 20000 })?.reason).toBe("over 10k")
    expect(Rules.firstFiring(rules, "stripe.charge", { amount_usd: 2000 })?.reason).toBe("over 1k")
    expect(Rules.firstFiring(rules, "stripe.charge", { amount_usd: 10 })).toBeUndefined()
  })

  it("a rule with no conditions fires for every matching action", () => {
    const rules: Wire.Rules.RulesFile = { sensitive: [], rules: [{ action: "db.drop", reason: "never", when: [] }] }
    expect(Rules.firstFiring(rules, "db.drop", {})?.reason).toBe("never")
  })
})

describe("Rules.isSensitive", () => {
  it("is true for names on the sensitive list, exact or by prefix", () => {
    const rules = fromWire(Rules.RulesFile, designExample)
    expect(Rules.isSensitive(rules, "stripe.charge")).toBe(true)
    expect(Rules.isSensitive(rules, "email.send")).toBe(true)
    expect(Rules.isSensitive(rules, "email.read")).toBe(false)
    expect(Rules.isSensitive(rules, "stripe")).toBe(false)
    expect(Rules.isSensitive(fromWire(Rules.RulesFile, {}), "stripe.charge")).toBe(false)
  })
})

describe("approval rules (two-person approval)", () => {
  const file = {
    approvals: [
      { action: "stripe.*", approvals: 2, when: [{ signal: "amount_usd", op: ">", value: 1000 }] },
      { action: "stripe.payout", approvals: 3 },
      { action: "db.drop", approvals: 2 }
    ]
  }

  it("decode beside the floor rules; a file without them stays valid and encodes back unchanged", () => {
    const rules = fromWire(Rules.RulesFile, { ...designExample, ...file })
    expect(rules.approvals?.[1]).toEqual({ action: "stripe.payout", approvals: 3, when: [] })
    expect(rules.rules).toHaveLength(1)
    expect(toWire(Rules.RulesFile, fromWire(Rules.RulesFile, designExample))).toEqual(designExample)
  })

  it("need as many reviewers as the strictest rule that fires; none fires: undefined (one approval)", () => {
    const rules = fromWire(Rules.RulesFile, file)
    expect(Rules.approvalsRequired(rules, "stripe.charge", { amount_usd: 5000 })).toBe(2)
    expect(Rules.approvalsRequired(rules, "stripe.charge", { amount_usd: 50 })).toBeUndefined()
    expect(Rules.approvalsRequired(rules, "stripe.charge", {})).toBeUndefined()
    expect(Rules.approvalsRequired(rules, "stripe.payout", { amount_usd: 5000 })).toBe(3)
    expect(Rules.approvalsRequired(rules, "stripe.payout", {})).toBe(3)
    expect(Rules.approvalsRequired(rules, "db.drop", {})).toBe(2)
    expect(Rules.approvalsRequired(rules, "email.send", { amount_usd: 5000 })).toBeUndefined()
    expect(Rules.approvalsRequired(fromWire(Rules.RulesFile, designExample), "stripe.charge", { amount_usd: 1e6 }))
      .toBeUndefined()
  })

  it("refuse a count that is not a whole number from 2 to 5, naming the rule's position", () => {
    for (const approvals of [1, 0, 6, 2.5, -2]) {
      const failure = rejectWire(Rules.RulesFile, { approvals: [{ action: "a", approvals: 2 }, { action: "b", approvals }] })
      expect(failure.paths).toEqual(["approvals.1.approvals"])
      expect(failure.tree).toContain(`expected a whole number of distinct reviewers from 2 to 5, got ${approvals}`)
    }
    expect(rejectWire(Rules.RulesFile, { approvals: [{ action: "a", approvals: "2" }] }).paths).toEqual([
      "approvals.0.approvals"
    ])
    expect(rejectWire(Rules.RulesFile, { approvals: [{ action: "a" }] }).paths).toEqual(["approvals.0.approvals"])
  })

  it("refuse a bad pattern, a bad condition and a misspelt key, naming where", () => {
    expect(rejectWire(Rules.RulesFile, { approvals: [{ action: "stripe*", approvals: 2 }] }).paths).toEqual([
      "approvals.0.action"
    ])
    expect(
      rejectWire(Rules.RulesFile, {
        approvals: [{ action: "a", approvals: 2, when: [{ signal: "n", op: "in", value: 1 }] }]
      }).paths
    ).toEqual(["approvals.0.when.0.value"])
    expect(rejectWire(Rules.RulesFile, { approvals: [{ action: "a", approvals: 2, reason: "x" }] }).paths).toEqual([
      "approvals.0.reason"
    ])
    expect(rejectWire(Rules.RulesFile, { approval: [{ action: "a", approvals: 2 }] }).paths).toEqual(["approval"])
  })
})
