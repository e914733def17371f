/**
 * The server embedded in a program (issue 15, B): `import { Server } from "houndsight-server"`
 * gives the layer the demo and the tests use. The README's example is server/test/embed-example.ts
 * word for word, and this test runs it: a real gate inside a test, asked by the real SDK.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import { largeCharge } from "./embed-example.js"

describe("embedding the server", () => {
  it("the README's example is embed-example.ts", () => {
    const readme = Fs.readFileSync(new URL("../../README.md", import.meta.url), "utf8")
    const example = Fs.readFileSync(new URL("./embed-example.ts", import.meta.url), "utf8")
    const block = /<!-- server\/test\/embed-example\.ts -->\n```ts\n([\s\S]*?)```/.exec(readme)
    expect(block, "README has the example after <!-- server/test/embed-example.ts -->").not.toBeNull()
    expect(block![1]).toBe(example)
  })

  it.live("the example starts a gate, the SDK asks it, the floor rule blocks the charge, the gate stops", () =>
    Effect.gen(function*() {
      const decision = yield* largeCharge
      expect(decision.decision).toBe("blocked")
      expect(decision.reason).toBe("charges over $10,000 need finance")
      expect(decision.traceLink).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/leashes\//)
      // the scope closed: nothing listens there any more
      const port = new URL(decision.traceLink).port
      const after = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/healthz`).then(() => "up", () => "down"))
      expect(after).toBe("down")
    }))
})
