/**
 * The body of every non-2xx answer: `{"error": {"code": "<snake_case>", "message": "<human text>"}}`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category schemas
 */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    code: Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9_]*$/, { message: () => "expected a snake_case code" })),
    message: Schema.String
  })
}).annotations({ identifier: "ErrorBody" })

/**
 * @since 0.1.0
 * @category models
 */
export type ErrorBody = typeof ErrorBody.Type

/**
 * Builds an error body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (code: string, message: string): ErrorBody => ({ error: { code, message } })
