/**
 * The expiry timer on the TestClock: deadlines are met in order, an earlier deadline wakes a
 * timer sleeping towards a later one, a disarmed key never fires, each armed deadline fires
 * exactly once, disarmed entries do not pile up, and the timer stops with its Scope.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope, TestClock } from "effect"
import * as FastCheck from "effect/FastCheck"
import * as Expiry from "../src/Expiry.js"

/** An expiry on the TestClock whose `onDue` records `[key, at, now]`. */
const recording = Effect.gen(function*() {
  const fired: Array<readonly [string, number, number]> = []
  const expiry = yield* Expiry.make({
    onDue: (key, at, now) => Effect.sync(() => fired.push([key, at, now]))
  })
  return { expiry, fired, keys: () => fired.map(([key]) => key) }
})

/** Lets the timer fiber run up to its next sleep. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** Moves the TestClock to `millis` (epoch) and lets the timer run. */
const at = (millis: number) => Effect.zipRight(TestClock.setTime(millis), settle)

describe("Deadlines", () => {
  it("pops every entry earliest first, whatever order they were pushed in", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.array(FastCheck.integer({ min: 0, max: 1000 }), { maxLength: 200 }), (ats) => {
        const heap = new Expiry.Deadlines()
        ats.forEach((at, i) => heap.push({ at, key: `k${i}` }))
        const out: Array<number> = []
        for (let due = heap.pop(); due !== undefined; due = heap.pop()) out.push(due.at)
        expect(out).toStrictEqual([...ats].sort((a, b) => a - b))
        expect(heap.size).toBe(0)
      })
    )
  })
})

describe("Expiry", () => {
  it.scoped("meets deadlines in deadline order, each at its deadline (plus the slack), not before", () =>
    Effect.gen(function*() {
      const { expiry, fired, keys } = yield* recording
      yield* expiry.arm("c", 3000)
      yield* expiry.arm("a", 1000)
      yield* expiry.arm("b", 2000)
      yield* settle
      yield* at(1001)
      expect(keys()).toStrictEqual([])
      yield* at(1002)
      expect(fired).toStrictEqual([["a", 1000, 1002]])
      yield* at(2500)
      expect(keys()).toStrictEqual(["a", "b"])
      yield* at(10_000)
      expect(keys()).toStrictEqual(["a", "b", "c"])
      expect(yield* expiry.size).toStrictEqual({ armed: 0, queued: 0 })
    }))

  it.scoped("a deadline earlier than the one the timer sleeps towards wakes it", () =>
    Effect.gen(function*() {
      const { expiry, keys } = yield* recording
      yield* expiry.arm("late", 60_000)
      yield* settle // the timer now sleeps until 60,002
      yield* at(500)
      yield* expiry.arm("early", 1000)
      yield* settle
      yield* at(1002)
      expect(keys()).toStrictEqual(["early"])
      yield* at(60_002)
      expect(keys()).toStrictEqual(["early", "late"])
    }))

  it.scoped("a disarmed key never fires; the others still do", () =>
    Effect.gen(function*() {
      const { expiry, keys } = yield* recording
      yield* expiry.arm("decided", 1000)
      yield* expiry.arm("pending", 1000)
      yield* settle
      yield* expiry.disarm("decided")
      yield* expiry.disarm("never armed")
      yield* at(5000)
      expect(keys()).toStrictEqual(["pending"])
    }))

  it.scoped("each armed deadline fires exactly once, even armed twice; re-arming moves it", () =>
    Effect.gen(function*() {
      const { expiry, fired, keys } = yield* recording
      yield* expiry.arm("twice", 1000)
      yield* expiry.arm("twice", 1000)
      yield* expiry.arm("moved", 1000)
      yield* expiry.arm("moved", 4000)
      yield* settle
      yield* at(2000)
      yield* at(3000)
      expect(keys()).toStrictEqual(["twice"])
      yield* at(5000)
      yield* at(9000)
      expect(fired).toStrictEqual([["twice", 1000, 1002], ["moved", 4000, 4002]])
    }))

  it.scoped("a deadline already past when armed fires at once, without the clock moving", () =>
    Effect.gen(function*() {
      const { expiry, fired } = yield* recording
      yield* expiry.arm("later", 60_000)
      yield* at(10_000)
      yield* expiry.arm("overdue", 5000)
      yield* settle
      expect(fired).toStrictEqual([["overdue", 5000, 10_000]])
    }))

  it.scoped("disarmed entries are swept out of a large heap, so it holds about what is armed", () =>
    Effect.gen(function*() {
      const { expiry, keys } = yield* recording
      for (let i = 0; i < 3000; i++) yield* expiry.arm(`k${i}`, 1_000_000 + i)
      for (let i = 0; i < 2990; i++) yield* expiry.disarm(`k${i}`)
      const size = yield* expiry.size
      expect(size.armed).toBe(10)
      expect(size.queued).toBeLessThanOrEqual(2 * 1024)
      yield* at(2_000_000)
      expect(keys()).toStrictEqual(Array.from({ length: 10 }, (_, i) => `k${2990 + i}`))
    }))

  it.effect("the timer runs in the Scope it was made in and stops when it closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { expiry, keys } = yield* Scope.extend(recording, scope)
      yield* expiry.arm("before", 1000)
      yield* expiry.arm("after", 3000)
      yield* settle
      yield* at(2000)
      expect(keys()).toStrictEqual(["before"])
      yield* Scope.close(scope, Exit.void)
      yield* at(10_000)
      expect(keys()).toStrictEqual(["before"])
    }))
})
