/**
 * Instances on one database run the same rules: a start with a different rules file while
 * others run is refused with a message saying what differs and what to do; the same rules
 * written in another key order are the same rules; once every instance has stopped, they may
 * all start with new rules.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type * as Wire from "houndsight/wire"
import { Server } from "../../src/index.js"
import { tempDir } from "../helpers.js"
import * as Cluster from "./cluster.js"

const rules: Wire.Rules.RulesFile = { sensitive: ["stripe.*"], rules: [{ action: "stripe.*", reason: "charges need finance", when: [{ signal: "amount_usd", op: ">", value: 10000 }] }] }

describe.each(Cluster.backends)("the rules of several instances (%s)", (backend) => {
  it.scopedLive("a second instance with a different rules file refuses to start; the same rules in another order start", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const { db } = yield* Cluster.database(backend)
      const first = Path.join(dir, "rules.json")
      const reordered = Path.join(dir, "same-rules.json")
      const other = Path.join(dir, "other-rules.json")
      Fs.writeFileSync(first, JSON.stringify(rules, null, 2))
      Fs.writeFileSync(reordered, JSON.stringify({ rules: rules.rules, sensitive: rules.sensitive }))
      Fs.writeFileSync(other, JSON.stringify({ ...rules, sensitive: ["stripe.*", "email.*"] }))
      const start = (path: string) => Layer.build(Server.layer({ port: 0, db, rules: path }))
      yield* start(first)
      yield* start(reordered)
      const refused = yield* Effect.flip(start(other))
      expect(refused.reason).toBe("Rules")
      expect(refused.message).toContain("another server instance on this database runs different rules")
      expect(refused.message).toContain(`rules file ${first}`)
      expect(refused.message).toContain(`this one loaded rules file ${other}`)
      expect(refused.message).toContain("start every instance with the same rules file")
      expect(refused.message).toContain("stop every instance, then start them with the new file")
    }))

  it.scopedLive("once every instance has stopped, the next start may bring new rules", () =>
    Effect.gen(function*() {
      const { db } = yield* Cluster.database(backend)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(Server.layer({ port: 0, db, rulesFile: rules }))
        yield* Layer.build(Server.layer({ port: 0, db, rulesFile: rules }))
      }))
      const info = yield* Effect.map(Layer.build(Server.layer({ port: 0, db, rulesFile: { sensitive: [], rules: [] } })), (context) => context)
      expect(info).toBeDefined()
      // and that start's rules are now the ones the others must run
      const refused = yield* Effect.flip(Layer.build(Server.layer({ port: 0, db, rulesFile: rules })))
      expect(refused.reason).toBe("Rules")
    }))
})
