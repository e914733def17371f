/**
 * The Trail tag and what user code reads of the current trail, defined below the services so the
 * step primitive (`internal/step.ts`) and the services (`services/Trail.ts`, which re-exports
 * both) share one tag without an import running back up.
 *
 * @internal
 */
import * as Context from "effect/Context"

/**
 * What user code can read of the current trail.
 *
 * @since 0.1.0
 * @category models
 */
export interface CurrentTrail {
  /** The trail's id (a UUID). */
  readonly id: string
  /** The dashboard page of the trail: `{endpoint}/trails/{id}`. */
  readonly link: string
  /** The agent name the trail is recorded under. */
  readonly agent: string
  /** What started the run, such as `user_message`. */
  readonly trigger: string
}

/**
 * The current trail: a Context requirement of everything that records.
 *
 * @since 0.1.0
 * @category tags
 */
export class Trail extends Context.Tag("houndsight/Trail")<Trail, CurrentTrail>() {}
