/**
 * Why the server could not start. Every startup failure is one `StartupError` with a literal
 * `reason` and a message that names the problem and what to do:
 *
 * | reason | when |
 * |---|---|
 * | `Usage` | an unknown flag, a missing or malformed value (`--port abc`) |
 * | `Rules` | the rules file is missing, not JSON, or does not match the schema (the message names the field) |
 * | `Database` | the database file or its folder cannot be created, opened or migrated |
 * | `Keys` | a key given in the environment does not have the right prefix |
 * | `Port` | the port is in use, or the address cannot be bound |
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { ServerError } from "houndsight-server"
 *
 * const failed = Effect.fail(
 *   new ServerError.StartupError({ reason: "Port", message: "port 7411 is already in use: choose another with --port" })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as Wire from "houndsight/wire"

/**
 * The server could not start.
 *
 * @since 0.1.0
 * @category errors
 */
export class StartupError extends Schema.TaggedError<StartupError>("houndsight-server/StartupError")("StartupError", {
  reason: Schema.Literal("Usage", "Rules", "Database", "Keys", "Webhooks", "Port"),
  message: Schema.String
}) {}


/**
 * The message of an unknown failure (an `Error`'s message, a system error's code) and of its
 * causes, on one line.
 *
 * @since 0.1.0
 * @category utils
 */
export const chainMessage = (cause: unknown): string => {
  const parts: Array<string> = []
  for (const link of Wire.causeChain(cause, 4)) {
    if (typeof link !== "object") {
      parts.push(String(link))
      break
    }
    const c = link as { code?: unknown; message?: unknown }
    const message = typeof c.message === "string" && c.message !== "" ? c.message : undefined
    const code = typeof c.code === "string" ? c.code : undefined
    const text = message ?? code
    if (text !== undefined && !parts.some((p) => p.includes(text))) {
      parts.push(code !== undefined && message !== undefined && !message.includes(code) ? `${code}: ${message}` : text)
    }
  }
  return parts.length === 0 ? "unknown error" : parts.join(": ").replace(/\s+/g, " ")
}
