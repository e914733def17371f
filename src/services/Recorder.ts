/**
 * The Recorder is where finished records go: the exporter's queues in production, an in-memory
 * store in tests. `Trail.run` needs one in its requirements; `Houndsight.layer` and the test layers
 * provide it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type { RecorderShape } from "../internal/recorder.js"
import type { StepRecord } from "../schema/StepRecord.js"
import type { TrailRecord } from "../schema/TrailRecord.js"

export type {
  /**
   * What a Recorder does. Offering never suspends and never fails: a full queue drops and counts,
   * it does not push back on the agent.
   *
   * @since 0.1.0
   * @category models
   */
  RecorderShape
} from "../internal/recorder.js"

/**
 * The service tag of the Recorder.
 *
 * @since 0.1.0
 * @category tags
 */
export class Recorder extends Context.Tag("houndsight/Recorder")<Recorder, RecorderShape>() {}

/**
 * A user's redaction hook: gets each record before it is queued and returns the record to send.
 *
 * @since 0.1.0
 * @category models
 */
export interface Redact {
  readonly trail?: ((record: TrailRecord) => TrailRecord) | undefined
  readonly step?: ((record: StepRecord) => StepRecord) | undefined
}

/**
 * Wraps offer functions with a redaction hook. A hook that throws does not reach the agent: the
 * record is sent with its `input`, `output`, `payload` and attributes replaced by a marker, so
 * nothing unredacted leaves the process.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withRedact = (
  shape: RecorderShape,
  redact: Redact | undefined
): RecorderShape => {
  if (redact === undefined || (redact.trail === undefined && redact.step === undefined)) return shape
  const marker = "[redaction failed]"
  const trailHook = redact.trail
  const stepHook = redact.step
  return {
    ...shape,
    offerTrail: trailHook === undefined ? shape.offerTrail : (record) => {
      let out: TrailRecord
      try {
        out = trailHook(record)
      } catch {
        out = { ...record, payload: marker, output: marker, events: [] }
      }
      shape.offerTrail(out)
    },
    offerStep: stepHook === undefined ? shape.offerStep : (record) => {
      let out: StepRecord
      try {
        out = stepHook(record)
      } catch {
        out = { ...record, input: marker, output: marker, events: [] }
      }
      shape.offerStep(out)
    }
  }
}
