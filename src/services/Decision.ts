/**
 * The Decision a leash ends with: one of seven values, each a variant of one union, so a `switch`
 * on `decision` (or `Decision.match`) is checked for exhaustiveness by the compiler.
 *
 * | decision | approved | meaning |
 * |---|---|---|
 * | `approved` | true | the gate allows the action |
 * | `modified` | true | approved with edits: use `modifiedPayload` |
 * | `rejected` | false | a human reviewer denied the action |
 * | `blocked` | false | a floor rule on the server blocked the action |
 * | `timeout` | false | no decision in time (pending, unreachable, 5xx/408/429 until the deadline, expired, cancelled, interrupted) |
 * | `error` | false | the gate said the request was wrong (other 4xx), an answer that does not decode, a modified payload that does not match the payload schema, or a request the SDK refused to send (a payload over 256 KiB, a bad `timeoutSeconds`, …) |
 * | `async` | false | only with `blocking: false`: pending server-side; `Leash.await` waits for it |
 *
 * Every Decision carries `reason`, `leashId`, `traceLink` and the `actionName` it was asked for.
 * `traceLink` is the dashboard page of the leash, `{endpoint}/leashes/{leash_id}`, once the gate
 * answered its creation with a 2xx; otherwise (the SDK refused to send it, the gate refused it, no
 * answer came, `Leash.await` of an id the gate does not know) the trail's page,
 * `{endpoint}/trails/{trail_id}`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Decision } from "houndsight"
 *
 * const act = (decision: Decision.Decision<{ amountUsd: number }>, original: { amountUsd: number }) =>
 *   Decision.match(decision, {
 *     approved: () => Effect.succeed(original.amountUsd),
 *     modified: (d) => Effect.succeed(d.modifiedPayload.amountUsd),
 *     rejected: () => Effect.succeed(0),
 *     blocked: () => Effect.succeed(0),
 *     timeout: (d) => Effect.logWarning(`no decision, see ${d.traceLink}`).pipe(Effect.as(0)),
 *     error: (d) => Effect.logError(d.reason).pipe(Effect.as(0)),
 *     async: () => Effect.succeed(0)
 *   })
 * ```
 *
 * @since 0.1.0
 */
export * from "../internal/decision.js"
