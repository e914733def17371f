/**
 * The one place where the server's SQL differs between its two backends, SQLite and PostgreSQL.
 * Every other statement is written once, in the forms both accept (`ON CONFLICT`, `RETURNING`,
 * `CAST`, `coalesce`, row values); what they spell differently is a helper here:
 *
 * | helper | SQLite | PostgreSQL |
 * |---|---|---|
 * | {@link each} (a JSON array parameter as rows) | `json_each(?) AS k` | `jsonb_array_elements(?::jsonb) AS k(value)` |
 * | {@link texts} (a JSON array of strings as rows) | `json_each(?) AS k` | `jsonb_array_elements_text(?::jsonb) AS k(value)` |
 * | {@link indexedBy} (a planner hint) | `INDEXED BY name` | nothing |
 * | {@link now} (the database's clock, ISO-8601 text) | the process clock, as a parameter | `clock_timestamp()` formatted in UTC |
 * | {@link ddl} (column types of a migration) | as written | `INTEGER` → `BIGINT`, `TEXT` → `TEXT COLLATE "C"`, no `WITHOUT ROWID` |
 * | {@link numbered} (placeholders of a statement's text) | `?` | `$1`, `$2`, … |
 * | {@link jsonText} (a member of a JSON text column, as text) | `col ->> '$.key'` | `col::jsonb ->> 'key'` |
 * | {@link jsonBlock} (a member as its JSON text, unchanged) | `col -> '$.key'` | `col::json -> 'key'` |
 * | {@link jsonWithout} (a JSON object text without some members) | `json_remove(col, '$.a', …)` | `(col::jsonb - 'a' - …)::text` |
 * | {@link cutPaths} (paths of the strings in a block that match patterns) | `json_tree` and `GLOB` | a recursive walk and `~` |
 *
 * A row of {@link each} is read as `k.value ->> 0`, `k.value ->> 1`, … on both (text on
 * PostgreSQL: wrap a number in `CAST(… AS INTEGER)` where it is compared or stored).
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"

/**
 * Which backend a client runs on.
 *
 * @since 0.1.0
 * @category models
 */
export type Backend = "sqlite" | "postgres"

/**
 * The backend of `sql`.
 *
 * @since 0.1.0
 * @category dialect
 */
export const backend = (sql: SqlClient.SqlClient): Backend =>
  sql.onDialectOrElse({ pg: () => "postgres" as const, orElse: () => "sqlite" as const })

/** An alias for a table function (a plain identifier: it is written into the statement as is). */
const alias = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not an SQL alias: ${name}`)
  return name
}

/**
 * The elements of a JSON array (given as its JSON text) as rows of a table aliased `as`, each
 * element in its column `value` (read a tuple's members with `as.value ->> 0`).
 *
 * @since 0.1.0
 * @category dialect
 */
export const each = (sql: SqlClient.SqlClient, json: string, as = "j"): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql`jsonb_array_elements(${json}::jsonb) AS ${sql.literal(alias(as))}(value)`,
    orElse: () => sql`json_each(${json}) AS ${sql.literal(alias(as))}`
  })

/**
 * The strings of a JSON array (given as its JSON text) as rows of a table aliased `as`, each in
 * its text column `value`.
 *
 * @since 0.1.0
 * @category dialect
 */
export const texts = (sql: SqlClient.SqlClient, json: string, as = "j"): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql`jsonb_array_elements_text(${json}::jsonb) AS ${sql.literal(alias(as))}(value)`,
    orElse: () => sql`json_each(${json}) AS ${sql.literal(alias(as))}`
  })

/**
 * `column IN` the strings of `values`, as one parameter (one statement text whatever their number).
 *
 * @since 0.1.0
 * @category dialect
 */
export const inTexts = (sql: SqlClient.SqlClient, column: string, values: ReadonlyArray<string>): Statement.Fragment =>
  sql`${sql.literal(column)} IN (SELECT value FROM ${texts(sql, JSON.stringify(values))})`

/**
 * Takes, for the rest of the transaction, the lock of each trail in `trailIds`, so writes to one
 * trail on several instances follow one another: on PostgreSQL a transaction-scoped advisory lock
 * per trail id (taken in one order, so two batches never wait on each other in a circle); on
 * SQLite nothing, since one writer at a time holds the whole database.
 *
 * @since 0.1.0
 * @category dialect
 */
export const lockTrails = (sql: SqlClient.SqlClient, trailIds: ReadonlyArray<string>): Effect.Effect<void, SqlError> =>
  trailIds.length === 0 ? Effect.void : sql.onDialectOrElse({
    pg: () =>
      Effect.asVoid(sql`SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(value, 0) AS k
        FROM ${texts(sql, JSON.stringify(trailIds))} ORDER BY k) AS trail_locks`),
    orElse: () => Effect.void
  })

/**
 * SQLite's `INDEXED BY name` (the planner picks a worse index without it); nothing on PostgreSQL.
 *
 * @since 0.1.0
 * @category dialect
 */
export const indexedBy = (sql: SqlClient.SqlClient, index: string): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql.literal(""),
    orElse: () => sql.literal(`INDEXED BY ${alias(index)}`)
  })

/**
 * The current time as the ISO-8601 text the rows hold (`2026-12-02T04:05:06.789Z`), from the
 * database's clock on PostgreSQL (so instances whose clocks differ agree on what is due), from the
 * process's clock on SQLite (the database lives in the process).
 *
 * @since 0.1.0
 * @category dialect
 */
export const now = (sql: SqlClient.SqlClient): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql.literal(`to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`),
    orElse: () => sql`${new Date().toISOString()}`
  })

/**
 * The current time in milliseconds since the epoch, as `now` (the database's clock on PostgreSQL).
 *
 * @since 0.1.0
 * @category dialect
 */
export const nowMillis = (sql: SqlClient.SqlClient): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql.literal(`CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)`),
    orElse: () => sql`${Date.now()}`
  })

/**
 * A migration's DDL text for the backend: PostgreSQL's `INTEGER` is 32 bits (SQLite's holds 64:
 * epoch milliseconds), so it becomes `BIGINT`; text compares byte by byte as in SQLite (`COLLATE
 * "C"`: ISO times, ids and cursors sort the same whatever the database's locale); `WITHOUT
 * ROWID` (SQLite's table layout) is dropped.
 *
 * @since 0.1.0
 * @category dialect
 */
export const ddl = (sql: SqlClient.SqlClient, text: string): string =>
  sql.onDialectOrElse({
    pg: () =>
      text.replace(/\bINTEGER\b/g, "BIGINT").replace(/\bTEXT\b/g, `TEXT COLLATE "C"`).replace(/\)\s*WITHOUT ROWID\s*$/, ")"),
    orElse: () => text
  })

/**
 * The two ends of an insert that skips rows whose key is taken: SQLite's `INSERT OR IGNORE`
 * (a statement that cannot abort half-way needs no statement journal, which SQLite would
 * otherwise write for every multi-row insert), PostgreSQL's `ON CONFLICT DO NOTHING`.
 * `${head} steps (…) VALUES … ${tail} RETURNING id`.
 *
 * @since 0.1.0
 * @category dialect
 */
export const insertIgnoring = (sql: SqlClient.SqlClient): { readonly head: string; readonly tail: string } =>
  sql.onDialectOrElse({
    pg: () => pgIgnoring,
    orElse: () => sqliteIgnoring
  })

const pgIgnoring = { head: "INSERT INTO", tail: "ON CONFLICT DO NOTHING" } as const
const sqliteIgnoring = { head: "INSERT OR IGNORE INTO", tail: "" } as const

/**
 * The `n`th (from 1) parameter's placeholder in a statement's text given to `sql.unsafe`: `?` on
 * SQLite, `$n` on PostgreSQL.
 *
 * @since 0.1.0
 * @category dialect
 */
export const placeholder = (sql: SqlClient.SqlClient, n: number): string =>
  sql.onDialectOrElse({ pg: () => `$${n}`, orElse: () => "?" })

const numberedTexts = new Map<string, string>()

/**
 * A statement's text written with `?` placeholders (and no `?` elsewhere), for `sql.unsafe` on
 * the backend of `sql`: as is on SQLite, numbered `$1`, `$2`, … on PostgreSQL (cached by text).
 *
 * @since 0.1.0
 * @category dialect
 */
export const numbered = (sql: SqlClient.SqlClient, text: string): string =>
  sql.onDialectOrElse({
    pg: () => {
      let out = numberedTexts.get(text)
      if (out === undefined) {
        let n = 0
        out = text.replace(/\?/g, () => `$${++n}`)
        if (numberedTexts.size > 1000) numberedTexts.clear()
        numberedTexts.set(text, out)
      }
      return out
    },
    orElse: () => text
  })

/** A JSON member name written into a statement (plain names only). */
const member = (key: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`not a plain JSON member name: ${key}`)
  return key
}

/**
 * The text of member `key` of the JSON object text in `column` (`NULL` when absent), as SQL text.
 *
 * @since 0.1.0
 * @category dialect
 */
export const jsonText = (sql: SqlClient.SqlClient, column: string, key: string): string =>
  sql.onDialectOrElse({
    pg: () => `(${column}::jsonb ->> '${member(key)}')`,
    orElse: () => `${column} ->> '$.${member(key)}'`
  })

/**
 * Member `key` of the JSON object text in `column` as its own JSON text, as written (`NULL` when
 * absent): PostgreSQL's `json` (not `jsonb`) keeps the text as stored.
 *
 * @since 0.1.0
 * @category dialect
 */
export const jsonBlock = (sql: SqlClient.SqlClient, column: string, key: string): string =>
  sql.onDialectOrElse({
    pg: () => `(${column}::json -> '${member(key)}')::text`,
    orElse: () => `${column} -> '$.${member(key)}'`
  })

/**
 * The JSON object text in `column` without the members `keys` (PostgreSQL writes the members in
 * its own order: read the result with `JSON.parse`).
 *
 * @since 0.1.0
 * @category dialect
 */
export const jsonWithout = (sql: SqlClient.SqlClient, column: string, keys: ReadonlyArray<string>): string =>
  sql.onDialectOrElse({
    pg: () => `(${column}::jsonb${keys.map((k) => ` - '${member(k)}'`).join("")})::text`,
    orElse: () => `json_remove(${column}, ${keys.map((k) => `'$.${member(k)}'`).join(", ")})`
  })

/** A pattern of {@link cutPaths}: `*` any characters, everything else literal. */
const globOf = (pattern: string): string => pattern.replace(/\[/g, "[[]").replace(/'/g, "''")
const regexOf = (pattern: string): string =>
  `^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`.replace(/'/g, "''")

/**
 * A subquery answering the JSON array text of the paths (`$.key.a[1]."b c"`, SQLite's
 * `json_tree` form) of the strings under member `key` of the JSON text in `column` that match one
 * of `patterns` (`*`: any characters), or `NULL` when there are none.
 *
 * @since 0.1.0
 * @category dialect
 */
export const cutPaths = (sql: SqlClient.SqlClient, column: string, key: string, patterns: ReadonlyArray<string>): string =>
  sql.onDialectOrElse({
    pg: () =>
      `(WITH RECURSIVE t(path, v) AS (
        SELECT '$.${member(key)}', ${column}::jsonb -> '${member(key)}'
        UNION ALL
        SELECT t.path || c.p, c.v FROM t CROSS JOIN LATERAL (
          SELECT '.' || to_jsonb(e.key)::text AS p, e.value AS v
            FROM jsonb_each(CASE WHEN jsonb_typeof(t.v) = 'object' THEN t.v END) e
          UNION ALL
          SELECT '[' || (a.i - 1) || ']', a.value
            FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.v) = 'array' THEN t.v END) WITH ORDINALITY a(value, i)
        ) c
      ) SELECT json_agg(path)::text FROM t WHERE jsonb_typeof(v) = 'string' AND (${
        patterns.map((p) => `(v #>> '{}') ~ '${regexOf(p)}'`).join(" OR ")
      }))`,
    orElse: () =>
      `(SELECT json_group_array(fullkey) FROM json_tree(${column}, '$.${member(key)}') WHERE type = 'text' AND (${
        patterns.map((p) => `atom GLOB '${globOf(p)}'`).join(" OR ")
      }))`
  })
