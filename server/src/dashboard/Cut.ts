/**
 * Values an agent's SDK cut before sending, found by their markers: a string over its limit
 * (`…[truncated: 40000 bytes, limit 32768]` at its end), nesting too deep, a record field over
 * the record limit. SDKs before contract v1.1 cut leash payloads this way without a word (what
 * the agent then acts on may be the whole original, which the reviewer never saw), and trail and
 * step records are still cut so. The dashboard says so where it shows such a value, instead of
 * leaving the marker at the end of a scrolling block.
 *
 * @since 0.1.0
 */
import * as JsonDiff from "./JsonDiff.js"

/**
 * What `find` found.
 *
 * @since 0.1.0
 * @category models
 */
export interface Found {
  /** The first few paths, as a reader writes them. */
  readonly paths: ReadonlyArray<string>
  /** How many cut values in all. */
  readonly count: number
}

const sdkCutMarkers = [
  /…\[truncated: \d+ bytes, limit \d+\]$/,
  /^\[Truncated: nested deeper than \d+\]$/,
  /^\[truncated: .* was about \d+ bytes; a record is limited to \d+ bytes\]$/
]

/**
 * Where a value holds values that an SDK cut before sending: the first few paths, and how many
 * in all.
 *
 * @since 0.1.0
 * @category utils
 */
export const find = (payload: unknown): Found => {
  const paths: Array<string> = []
  let count = 0
  // Paths as linked places, made into text only for the few that are shown.
  interface Place {
    readonly parent: Place | undefined
    readonly key: string | number
  }
  const pathOf = (place: Place | undefined): JsonDiff.Path => {
    const out: Array<string | number> = []
    for (let p = place; p !== undefined; p = p.parent) out.push(p.key)
    return out.reverse()
  }
  const stack: Array<{ readonly value: unknown; readonly place: Place | undefined }> = [{ value: payload, place: undefined }]
  while (stack.length > 0) {
    const { place, value } = stack.pop()!
    if (typeof value === "string") {
      if (value.endsWith("]") && sdkCutMarkers.some((marker) => marker.test(value))) {
        count++
        if (paths.length < 5) paths.push(JsonDiff.formatPath(pathOf(place)))
      }
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], place: { parent: place, key: i } })
    } else if (value !== null && typeof value === "object") {
      const entries = Object.entries(value)
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push({ value: entries[i]![1], place: { parent: place, key: entries[i]![0] } })
      }
    }
  }
  return { paths, count }
}

