import { fileURLToPath } from "node:url"
import { configDefaults, defineConfig } from "vitest/config"
import * as Postgres from "./test/support/postgres.js"

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url))

/** Every test file. */
const include = ["test/**/*.test.ts", "examples/**/*.test.ts", "server/test/**/*.test.ts"]

/**
 * The slow suites, left out of `npm run test:unit` (the project `unit`): the reliability suite,
 * the browser tests, the files that took longest in one measured run of the rest (servers
 * started many times, long-polls waited out in real time) and those that start the server
 * command as a child process. `npm test` runs them all.
 */
const slow = [
  "test/reliability/**",
  "server/test/browser/**",
  "server/test/Leash.test.ts",
  "server/test/Sdk.test.ts",
  "server/test/dashboard/TrailShapes.test.ts",
  "server/test/OpenApi.test.ts",
  "server/test/IngestBatch.test.ts",
  "server/test/Audit.test.ts",
  "server/test/dashboard/Pages.test.ts",
  "server/test/dashboard/Live.test.ts",
  "test/houndsight/example.test.ts",
  "server/test/Limits.test.ts",
  "test/houndsight/Houndsight.test.ts",
  "server/test/Migrations.test.ts",
  "server/test/dashboard/Session.test.ts",
  "server/test/dashboard/Decisions.test.ts",
  "server/test/Hardening.test.ts",
  "server/test/IngestCodec.test.ts",
  "server/test/Connections.test.ts",
  "examples/demo/demo.test.ts",
  "server/test/Otlp.test.ts",
  "server/test/OtlpEffect.test.ts",
  "test/leash/property.test.ts",
  "server/test/Reads.test.ts",
  "server/test/IngestIssues.test.ts",
  "server/test/dashboard/JsonDiff.test.ts",
  // these start the server command as a process of its own (tsx compiling it), many times
  "server/test/Restart.test.ts",
  "server/test/Cli.test.ts",
  "server/test/Keys.test.ts",
  // webhooks: retries, reminders and restarts waited out in real time; SIGKILLed server processes
  "server/test/Webhooks.test.ts",
  "server/test/WebhooksRestart.test.ts",
  // several servers on one database (on PostgreSQL, a cluster started per test), and its faults
  "server/test/multi/**"
]

/**
 * The `pg` project: the server's storage and contract suites again, each server on a fresh
 * database of one PostgreSQL cluster started for the run (`server/test/pgSetup.ts`), and the
 * PostgreSQL backend's own tests. Without PostgreSQL it is left out with one line saying so, or
 * fails when `HOUNDSIGHT_REQUIRE_POSTGRES=1` (CI).
 */
const postgresOnly = ["server/test/Postgres.test.ts"]
/**
 * The suites run again on PostgreSQL: those that test storage and the contract (ingest and its
 * idempotency, batches, leashes with their decisions, expiry and idempotent creates, the audit's
 * flags, the bounded lists and pages, the dashboard's decisions and trail pages, whose reads have
 * PostgreSQL forms of their own, two-person approval's compare-and-set). Left on SQLite alone: the browser, process and packaging
 * suites (nothing backend-specific), the SDK's, the timer's (no database), and the checks of
 * SQLite's own file, migrations and plans.
 */
const onPostgres = [
  ...postgresOnly,
  "server/test/Api.test.ts",
  "server/test/Ingest.test.ts",
  "server/test/IngestBatch.test.ts",
  "server/test/Leash.test.ts",
  "server/test/Audit.test.ts",
  "server/test/Reads.test.ts",
  "server/test/dashboard/Decisions.test.ts",
  "server/test/dashboard/Pages.test.ts",
  // two-person approval's compare-and-set statements
  "server/test/Approvals.test.ts",
  // the reliability suite's durability cases (SIGKILLs under write load, nothing acknowledged lost)
  "test/reliability/restart.test.ts",
  "test/reliability/exporter.test.ts"
]
const postgresProject = Postgres.available || Postgres.required
if (!postgresProject) console.log(Postgres.skipMessage)

export default defineConfig({
  resolve: {
    alias: [
      { find: /^houndsight\/test$/, replacement: src("test.ts") },
      { find: /^houndsight\/ai$/, replacement: src("ai.ts") },
      { find: /^houndsight\/wire$/, replacement: src("wire.ts") },
      { find: /^houndsight$/, replacement: src("index.ts") },
      // the server package from its sources (the published one runs server/dist)
      { find: /^houndsight-server$/, replacement: fileURLToPath(new URL("./server/src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // `npm test` runs both projects, each file in its own module graph; `npm run test:unit` runs
    // the first alone with `--no-isolate` (the files share one module graph, so Effect and the
    // sources are loaded once instead of once a file, which is most of a short suite's time)
    projects: [
      { extends: true, test: { name: "unit", include, exclude: [...configDefaults.exclude, ...slow, ...postgresOnly] } },
      { extends: true, test: { name: "slow", include: slow.map((glob) => glob.endsWith("/**") ? `${glob}/*.test.ts` : glob) } },
      ...(postgresProject
        ? [{
          extends: true as const,
          test: {
            name: "pg",
            include: onPostgres,
            globalSetup: ["server/test/pgSetup.ts"],
            env: { HOUNDSIGHT_TEST_BACKEND: "postgres" }
          }
        }]
        : [])
    ]
  }
})
