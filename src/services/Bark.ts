/**
 * Barks are typed custom events (`cache_hit { key }`) attached to the current sniff, or to the
 * trail when no sniff is open.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Bark } from "houndsight"
 *
 * const CacheHit = Bark.define("cache_hit", Schema.Struct({ key: Schema.String }))
 * const hit = CacheHit({ key: "forecast:Q2" })
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { emitEvent } from "./Sniff.js"
import type { Trail } from "./Trail.js"

/**
 * A typed emitter made by `Bark.define`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Emitter<A> {
  (attributes: A): Effect.Effect<void, never, Trail>
  /** The event name. */
  readonly barkName: string
}

/**
 * Defines a typed bark. Attributes are encoded with the schema before they are recorded; if they
 * do not match it (possible only by escaping the types), the event is still recorded as given and
 * a warning names the field that is wrong.
 *
 * @since 0.1.0
 * @category constructors
 */
export const define = <A, I extends Readonly<Record<string, unknown>>>(
  name: string,
  schema: Schema.Schema<A, I, never>
): Emitter<A> => {
  if (typeof name !== "string" || name.length === 0 || name.length > 256) {
    throw new TypeError(
      `Bark.define: a bark name must be a non-empty string of at most 256 characters, got ${JSON.stringify(name)}`
    )
  }
  const encode = Schema.encodeEither(schema)
  const emitter = (attributes: A): Effect.Effect<void, never, Trail> => {
    const encoded = encode(attributes)
    if (Either.isRight(encoded)) return emitEvent(`bark ${name}`, name, encoded.right)
    return Effect.zipRight(
      Effect.logWarning(
        `houndsight: bark ${JSON.stringify(name)} got attributes that do not match its schema; recorded as given:\n${
          ParseResult.TreeFormatter.formatErrorSync(encoded.left)
        }`
      ),
      emitEvent(`bark ${name}`, name, attributes)
    )
  }
  return Object.assign(emitter, { barkName: name })
}

/**
 * Emits an untyped bark with any attributes (made JSON-safe).
 *
 * @since 0.1.0
 * @category recording
 */
export const emit = (name: string, attributes: Readonly<Record<string, unknown>> = {}): Effect.Effect<
  void,
  never,
  Trail
> => emitEvent("Bark.emit", name, attributes)
