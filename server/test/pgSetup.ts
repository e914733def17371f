/**
 * The `pg` project's global setup: one PostgreSQL cluster for the whole run (each server of a test
 * gets a fresh database of it), its URL given to the tests as `houndsightPostgresUrl`. Without
 * PostgreSQL the run fails when `HOUNDSIGHT_REQUIRE_POSTGRES=1` (CI), and the project is left out
 * of the config otherwise (`vitest.config.ts` prints why).
 */
import { Effect, Exit, Scope } from "effect"
import type { TestProject } from "vitest/node"
import * as Postgres from "../../test/support/postgres.js"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!Postgres.available) throw new Error(Postgres.missingMessage)
  const scope = Effect.runSync(Scope.make())
  const pg = await Effect.runPromise(Scope.extend(Postgres.start, scope))
  project.provide("houndsightPostgresUrl", pg.url())
  return () => Effect.runPromise(Scope.close(scope, Exit.void))
}
