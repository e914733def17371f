/**
 * Recorders for the bench, built on the `Recorder` tag of src/services/Recorder.ts:
 *
 * - `batching`: keeps records in a buffer and drops the buffer every 512 records, the way the
 *   exporter holds a batch until it is sent, and the way OpenTelemetry's `BatchSpanProcessor`
 *   (512 spans per export) holds spans. The fair peer of the OTel case, and the default.
 * - `discarding`: drops every record at once: what the SDK costs when records die young.
 *
 * The in-memory `Memory` recorder keeps every record until it is cleared; with tens of thousands
 * of steps per run that measures the garbage collector promoting them to the old generation
 * (about 4× the per-step figure when run alone), and the old-generation garbage it leaves is
 * then collected during whichever case runs next, so it is not a case (see BENCHMARKS.md).
 *
 * @since 0.1.0
 */
import type { RecorderShape } from "../src/services/Recorder.js"

const base = { agent: "bench", endpoint: "http://127.0.0.1:7411", enabled: true } as const

/**
 * A recorder that holds up to 512 records, then drops them all, counting what it got.
 *
 * @since 0.1.0
 * @category constructors
 */
export const batching = (): RecorderShape & { readonly received: () => number } => {
  let buffer: Array<unknown> = []
  let received = 0
  const offer = (record: unknown) => {
    received++
    buffer.push(record)
    if (buffer.length >= 512) buffer = []
  }
  return { ...base, offerTrail: offer, offerStep: offer, received: () => received }
}

/**
 * A recorder that drops every record.
 *
 * @since 0.1.0
 * @category constructors
 */
export const discarding = (): RecorderShape => ({ ...base, offerTrail: () => {}, offerStep: () => {} })
