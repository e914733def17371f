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
 * | {@link ddl} (column types of a migration) | as written | `INTEGER` → `BIGINT`, no `WITHOUT ROWID` |
 *
 * A row of {@link each} is read as `k.value ->> 0`, `k.value ->> 1`, … on both (text on
 * PostgreSQL: wrap a number in `CAST(… AS INTEGER)` where it is compared or stored).
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"

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
 * epoch milliseconds), so it becomes `BIGINT`; `WITHOUT ROWID` (SQLite's table layout) is dropped.
 *
 * @since 0.1.0
 * @category dialect
 */
export const ddl = (sql: SqlClient.SqlClient, text: string): string =>
  sql.onDialectOrElse({
    pg: () => text.replace(/\bINTEGER\b/g, "BIGINT").replace(/\)\s*WITHOUT ROWID\s*$/, ")"),
    orElse: () => text
  })
