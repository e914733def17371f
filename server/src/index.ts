/**
 * The local Houndsight gate server: the whole wire contract v1 (DESIGN.md section 2) on an
 * embedded SQLite database. Run it with `npx houndsight-server`; embed it with `Server.layer`.
 *
 * @since 0.1.0
 */

/**
 * The server as one layer, and what a running server reports.
 *
 * @since 0.1.0
 */
export * as Server from "./Server.js"

/**
 * The `houndsight-server` command line.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * Leash life on the server: create, expiry, long-poll, decide, cancel.
 *
 * @since 0.1.0
 */
export * as LeashDesk from "./LeashDesk.js"

/**
 * Storage in SQLite.
 *
 * @since 0.1.0
 */
export * as Store from "./Store.js"

/**
 * The database file, its migrations and checks.
 *
 * @since 0.1.0
 */
export * as Database from "./Database.js"

/**
 * The schema migrations.
 *
 * @since 0.1.0
 */
export * as Migrations from "./Migrations.js"

/**
 * API keys.
 *
 * @since 0.1.0
 */
export * as Keys from "./Keys.js"

/**
 * The rules file.
 *
 * @since 0.1.0
 */
export * as Rules from "./Rules.js"

/**
 * The HTTP front built from the contract's HttpApi description.
 *
 * @since 0.1.0
 */
export * as Http from "./Http.js"

/**
 * The handler of each endpoint.
 *
 * @since 0.1.0
 */
export * as Handlers from "./Handlers.js"

/**
 * Who may write what: the ownership checks of the agent endpoints (a service the handlers need).
 *
 * @since 0.1.0
 */
export * as Ownership from "./Ownership.js"

/**
 * Wake-ups for held long-polls.
 *
 * @since 0.1.0
 */
export * as Waiters from "./Waiters.js"

/**
 * "These leash ids / trail ids changed", told between server instances on one database
 * (PostgreSQL `LISTEN`/`NOTIFY`; in memory in one process).
 *
 * @since 0.1.0
 */
export * as Notifier from "./Notifier.js"

/**
 * The public base URL and trace links.
 *
 * @since 0.1.0
 */
export * as PublicUrl from "./PublicUrl.js"

/**
 * Canonical JSON.
 *
 * @since 0.1.0
 */
export * as Canonical from "./Canonical.js"

/**
 * Startup errors.
 *
 * @since 0.1.0
 */
export * as ServerError from "./ServerError.js"

/**
 * The reviewer dashboard, mounted in front of the API.
 *
 * @since 0.1.0
 */
export * as Dashboard from "./dashboard/Dashboard.js"

/**
 * Webhooks: the endpoints notified of leash events and flags (managed by `webhooks add|list|
 * remove|rotate-secret`), and the Standard Webhooks signature of a delivery.
 *
 * @since 0.1.0
 */
export * as Webhooks from "./Webhooks.js"

/**
 * The webhook delivery worker: retries, back-off, failed deliveries.
 *
 * @since 0.1.0
 */
export * as Delivery from "./Delivery.js"
