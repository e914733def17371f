/**
 * Words the exporter's log lines share.
 *
 * @internal
 */
import { type Kind, TRAIL } from "../encode.js"

/** A record's kind as a log line names it. */
export const kindName = (kind: Kind): string => (kind === TRAIL ? "trail" : "step")

/** A duration for a log line: milliseconds below a second, else seconds to a tenth. */
export const formatMillis = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)
