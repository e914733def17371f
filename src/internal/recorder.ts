/**
 * What a Recorder does, defined below the services so the trail and step state
 * (`internal/state.ts`) and the Recorder service (`services/Recorder.ts`, which re-exports it)
 * share one shape without an import running back up.
 *
 * @internal
 */
import type { StepRecord } from "../schema/StepRecord.js"
import type { TrailRecord } from "../schema/TrailRecord.js"

/**
 * What a Recorder does. Offering never suspends and never fails: a full queue drops and counts,
 * it does not push back on the agent.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecorderShape {
  /** The agent name written on every trail. */
  readonly agent: string
  /** The dashboard's base URL, for trail and leash links. */
  readonly endpoint: string
  /** `false` turns tracing into a no-op (`HOUNDSIGHT_ENABLED=false`); leashes still ask the gate. */
  readonly enabled: boolean
  /** Takes a trail record (audit lane). */
  readonly offerTrail: (record: TrailRecord) => void
  /** Takes a step record (audit lane for review steps, ordinary otherwise). */
  readonly offerStep: (record: StepRecord) => void
}
