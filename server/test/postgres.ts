/**
 * The PostgreSQL side of the server tests. The `pg` project of `vitest.config.ts` starts one
 * cluster for its run (`pgSetup.ts`, through `test/support/postgres.ts`) and sets
 * `HOUNDSIGHT_TEST_BACKEND=postgres`: then `startServer` (helpers.ts) runs each server on a fresh
 * database of that cluster instead of a fresh SQLite file.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Redacted, type Scope } from "effect"
import * as Crypto from "node:crypto"
import { inject } from "vitest"
import * as Postgres from "../../test/support/postgres.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The URL of the `postgres` database of the `pg` project's cluster (unset without PostgreSQL). */
    houndsightPostgresUrl: string | undefined
  }
}

/** The backend the server tests run on. */
export const backend: "sqlite" | "postgres" = process.env["HOUNDSIGHT_TEST_BACKEND"] === "postgres" ? "postgres" : "sqlite"

/** The cluster of the `pg` project's run, if there is one. */
const shared = (): string | undefined => {
  try {
    return inject("houndsightPostgresUrl")
  } catch {
    return undefined
  }
}

/** Whether this file can reach a PostgreSQL: the run's cluster, or binaries to start one. */
export const available: boolean = shared() !== undefined || Postgres.available

/**
 * The URL of a cluster's `postgres` database: the run's shared cluster, else one started for the
 * scope. Dies without PostgreSQL (check {@link available}).
 */
export const cluster: Effect.Effect<string, never, Scope.Scope> = Effect.suspend(() => {
  const url = shared()
  return url !== undefined ? Effect.succeed(url) : Effect.map(Postgres.start, (pg) => pg.url())
})

/** Runs one statement on the database at `url` over a connection of its own. */
export const run = (url: string, statement: string): Effect.Effect<ReadonlyArray<Record<string, unknown>>> =>
  Effect.flatMap(PgClient.PgClient, (sql) => sql.unsafe<Record<string, unknown>>(statement)).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url) })),
    Effect.orDie
  )

/** Creates a fresh database on the cluster at `url` (its `postgres` database) and answers its URL. */
export const createDatabase = (url: string): Effect.Effect<string> => {
  const name = `t_${Crypto.randomBytes(8).toString("hex")}`
  return Effect.as(run(url, `CREATE DATABASE ${name}`), url.replace(/\/[^/]*$/, `/${name}`))
}

/** A fresh database on the run's cluster (or one started for the scope). */
export const freshDatabase: Effect.Effect<string, never, Scope.Scope> = Effect.flatMap(cluster, createDatabase)

