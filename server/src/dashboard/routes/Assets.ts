/**
 * The dashboard's static files, `GET /assets/{name}` (see `Assets`): cached for good, since
 * pages link them by a hash of their content, and with the same security headers as pages.
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Guards from "../Guards.js"
import { securityHeaders } from "../Responses.js"

/**
 * The assets' route.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes = (shared: Guards.Shared, _guards: Guards.Guards) =>
  Effect.sync(() => {
    const { assets } = shared

    const asset = Effect.gen(function*() {
      const { name } = yield* HttpRouter.params
      const found = name === undefined ? undefined : assets.byName.get(name)
      if (found === undefined) {
        return HttpServerResponse.text("no such asset", { status: 404, headers: securityHeaders })
      }
      return HttpServerResponse.uint8Array(found.body, {
        contentType: found.contentType,
        headers: { ...securityHeaders, "cache-control": "public, max-age=31536000, immutable", etag: `"${found.hash}"` }
      })
    })

    return HttpRouter.empty.pipe(HttpRouter.get("/assets/:name", asset))
  })
