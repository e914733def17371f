import { describe, expect, it } from "@effect/vitest"
import { Data, Redacted } from "effect"
import { maxRecordBytes, maxStringBytes, toJsonSafe, toJsonSafeWhole } from "../../src/internal/jsonSafe.js"
import { utf8Length } from "../../src/schema/Common.js"
import { jsonBytes } from "../../src/schema/LeashRequest.js"

const safe = (value: unknown) => toJsonSafe(value).value

describe("toJsonSafe", () => {
  it("turns bigint, Date, Error and Redacted into JSON values", () => {
    class Declined extends Data.TaggedError("Declined")<{ readonly message: string }> {}
    expect(
      safe({
        n: 12345678901234567890n,
        at: new Date(Date.UTC(2026, 10, 24, 9, 0, 0, 5)),
        err: new RangeError("out of range"),
        tagged: new Declined({ message: "card declined" }),
        key: Redacted.make("sk-live-secret")
      })
    ).toStrictEqual({
      n: "12345678901234567890",
      at: "2026-11-24T09:00:00.005Z",
      err: { type: "RangeError", message: "out of range" },
      tagged: { type: "Declined", message: "card declined" },
      key: "<redacted>"
    })
  })

  it("marks cycles but keeps a value shared by two fields", () => {
    const shared = { v: 1 }
    const node: Record<string, unknown> = { name: "root", a: shared, b: shared }
    node.self = node
    expect(safe(node)).toStrictEqual({ name: "root", a: { v: 1 }, b: { v: 1 }, self: "[Circular]" })
  })

  it("drops functions and symbols, as JSON does", () => {
    expect(safe({ f: () => 1, s: Symbol("x"), u: undefined, keep: 1 })).toStrictEqual({ keep: 1 })
    expect(safe([() => 1, Symbol("x"), undefined, 2])).toStrictEqual([null, null, null, 2])
  })

  it("keeps an object's own enumerable fields only", () => {
    class Point {
      hidden = 0
      constructor(readonly x: number, readonly y: number) {}
      get norm() {
        return Math.hypot(this.x, this.y)
      }
    }
    const p = new Point(3, 4)
    Object.defineProperty(p, "hidden", { enumerable: false })
    expect(safe(p)).toStrictEqual({ x: 3, y: 4 })
  })

  it("keeps the entries of Maps and Sets instead of losing them", () => {
    expect(safe({ m: new Map([["a", 1]]), s: new Set([1, 2]) })).toStrictEqual({ m: { a: 1 }, s: [1, 2] })
  })

  it("truncates a string over 32 KiB with a visible marker", () => {
    const long = "é".repeat(maxStringBytes)
    const out = safe(long) as string
    expect(out).toMatch(/…\[truncated: 65536 bytes, limit 32768\]$/)
    expect(new TextEncoder().encode(out.slice(0, out.indexOf("…[truncated"))).length).toBeLessThanOrEqual(maxStringBytes)
    expect(safe("x".repeat(maxStringBytes))).toHaveLength(maxStringBytes)
  })

  it("never throws: a throwing getter, toJSON or proxy becomes a marker", () => {
    const getter = Object.defineProperty({}, "boom", {
      enumerable: true,
      get() {
        throw new Error("no access")
      }
    })
    expect(safe(getter)).toStrictEqual({ boom: "[Unreadable: no access]" })
    expect(safe({ toJSON: () => { throw new Error("bad toJSON") } })).toBe("[Unserializable: bad toJSON]")
    const hostile = new Proxy({}, {
      ownKeys() {
        throw new Error("trap")
      }
    })
    expect(safe(hostile)).toBe("[Unserializable: trap]")
  })

  it("cuts nesting deeper than the limit instead of overflowing the stack", () => {
    let deep: unknown = 0
    for (let i = 0; i < 10_000; i++) deep = [deep]
    const json = JSON.stringify(safe(deep))
    expect(json).toContain("[Truncated: nested deeper than 64]")
  })

  it("estimates the size of what it returns", () => {
    const value = { text: "x".repeat(1000), list: [1, 2, 3] }
    const { bytes } = toJsonSafe(value)
    const actual = JSON.stringify(value).length
    expect(bytes).toBeGreaterThanOrEqual(actual * 0.8)
    expect(bytes).toBeLessThanOrEqual(actual * 1.5 + 64)
    expect(maxRecordBytes).toBe(256 * 1024)
  })
})

describe("toJsonSafeWhole (a leash's payload: never cut)", () => {
  it("keeps strings of any length and converts like toJsonSafe otherwise", () => {
    const long = "ü".repeat(maxStringBytes)
    expect(toJsonSafeWhole({ long, n: 1n, at: new Date(0), key: Redacted.make("x") }, "payload")).toStrictEqual({
      value: { long, n: "1", at: "1970-01-01T00:00:00.000Z", key: "<redacted>" }
    })
  })

  it("reports what it cannot keep whole, with its path, instead of cutting silently", () => {
    let deep: unknown = 1
    for (let i = 0; i < 65; i++) deep = [deep]
    expect(toJsonSafeWhole({ a: deep }, "payload").loss).toMatchObject({
      path: `payload.a${"[0]".repeat(63)}`,
      what: "it is nested deeper than 64 levels"
    })
    expect(toJsonSafeWhole({ file: new ArrayBuffer(3) }, "payload").loss?.path).toBe("payload.file")
    const unreadable = Object.defineProperty({}, "secret", {
      enumerable: true,
      get: () => {
        throw new Error("locked")
      }
    })
    expect(toJsonSafeWhole({ x: unreadable }, "payload").loss).toStrictEqual({
      path: "payload.x.secret",
      what: "reading it threw: locked"
    })
  })
})

describe("utf8Length", () => {
  it("counts UTF-8 bytes exactly, as TextEncoder does", () => {
    for (const s of ["", "abc", "é", "€", "😀", "a\u0000b", JSON.stringify("\ud800 lone")]) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length)
    }
  })

  it("counts a lone surrogate as TextEncoder writes it: U+FFFD, 3 bytes", () => {
    for (const s of ["\ud800", "a\ud800b", "\udc00", "x\udc00\ud800y", "\ud800\ud800", "😀\ud83d"]) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length)
    }
  })

  it("jsonBytes measures a value's compact JSON with the same count", () => {
    for (const v of [{ a: "é€😀" }, ["\ud800"], "plain", 12, null]) {
      expect(jsonBytes(v)).toBe(new TextEncoder().encode(JSON.stringify(v)).length)
    }
    expect(jsonBytes(undefined)).toBe(0)
  })
})
