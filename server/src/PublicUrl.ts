/**
 * The server's public base URL (`http://127.0.0.1:7411` by default): where the dashboard is, and
 * the base of every leash's `trace_link` (`{base}/leashes/{leash_id}`).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"

/**
 * The public base URL, without a trailing slash.
 *
 * @since 0.1.0
 * @category tags
 */
export class PublicUrl extends Context.Tag("houndsight-server/PublicUrl")<PublicUrl, string>() {}

/**
 * The dashboard page of a leash: `{base}/leashes/{leash_id}`.
 *
 * @since 0.1.0
 * @category utils
 */
export const leashLink = (base: string, leashId: string): string => `${base}/leashes/${leashId}`

/**
 * A base URL without its trailing slashes.
 *
 * @since 0.1.0
 * @category utils
 */
export const normalize = (url: string): string => url.replace(/\/+$/, "")
