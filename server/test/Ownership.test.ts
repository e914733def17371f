/**
 * The ownership checks on one database: a trail is its first writer's, whatever case its id is
 * sent in, and what an instance remembers of the owners never lets a key into a trail another
 * key claimed first, even when both checked before either claimed (two instances, or two
 * requests at once).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"
import * as Path from "node:path"
import * as Database from "../src/Database.js"
import type { Holder } from "../src/Keys.js"
import * as Ownership from "../src/Ownership.js"
import { leashRequest, tempDir, trailRecord, uuid } from "./helpers.js"

const holder = (id: string): Holder => ({
  role: "agent",
  name: id,
  id,
  agent: undefined,
  email: undefined,
  development: false
})
const first = holder("key_first")
const second = holder("key_second")

const leash = (trailId: string) => Schema.decodeUnknownSync(Wire.LeashRequest)(leashRequest({ trail_id: trailId }))
const batch = (trailId: string): Wire.IngestBatch =>
  Schema.decodeUnknownSync(Wire.IngestBatch)({ trails: [trailRecord({ id: trailId })], steps: [] })

/** The checks on a fresh database, remembering at most `remembered` owners. */
const checks = (remembered?: number) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Database.layer(Path.join(yield* tempDir, "owners.db")))
    return yield* Effect.provide(Ownership.make({ remembered }), context)
  })

/** Whether the check refuses `who`'s leash into `trailId` as another key's trail. */
const refused = (ownership: Ownership.Ownership["Type"], who: Holder, trailId: string) =>
  Effect.map(
    Effect.flip(Effect.flatMap(ownership.checkLeash(who, leash(trailId)), () => Effect.fail("accepted" as const))),
    (error) => typeof error === "object" && error._tag === "Forbidden" && error.message.includes("belongs to another key (key_first)")
  )

describe("trail ownership", () => {
  it.scoped("the first key's claim holds against another key, from memory and after the memory forgot it", () =>
    Effect.gen(function*() {
      const ownership = yield* checks(2)
      const trail = uuid()
      yield* Effect.flatten(ownership.checkIngest(first, batch(trail)))
      // the owner goes on; the first check of another key reads the owner, the next remembers it
      yield* Effect.flatten(ownership.checkLeash(first, leash(trail)))
      expect(yield* refused(ownership, second, trail)).toBe(true)
      expect(yield* refused(ownership, second, trail.toUpperCase())).toBe(true)
      // two more trails push this one out of a memory of two: read from the database again
      for (const other of [uuid(), uuid()]) {
        yield* Effect.flatten(ownership.checkLeash(first, leash(other)))
        yield* ownership.checkLeash(first, leash(other))
      }
      expect(yield* refused(ownership, second, trail)).toBe(true)
      yield* Effect.flatten(ownership.checkLeash(first, leash(trail)))
    }))

  it.scoped("two keys checked before either claimed: the claim written first wins, and the other key is refused after", () =>
    Effect.gen(function*() {
      const ownership = yield* checks()
      const trail = uuid()
      const secondClaim = yield* ownership.checkLeash(second, leash(trail))
      const firstClaim = yield* ownership.checkLeash(first, leash(trail))
      yield* firstClaim
      // the second key's claim loses: remembering it as the second key's would let it in
      yield* secondClaim
      expect(yield* refused(ownership, second, trail)).toBe(true)
      yield* Effect.flatten(ownership.checkLeash(first, leash(trail)))
    }))
})
