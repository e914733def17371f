/**
 * v1.1: ids are compared in their lowercase form (DESIGN.md section 2). The server lowercases
 * every id field it receives (`id`, `trail_id`, `step_id`, `parent_id`, `leash_id`) before any
 * decoding, lookup or idempotency comparison, so the same UUID in another case is the same
 * record. Nothing inside `payload`, `input`, `output` or attributes is touched.
 *
 * The functions here change a body as `JSON.parse` answered it, in place (it is the server's own
 * copy), and leave anything that is not a string alone for the decoder to refuse.
 *
 * @since 0.1.0
 */

type Json = Record<string, unknown>

const isRecord = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * An id in lowercase (a value that is not a string is answered as is).
 *
 * @since 0.1.0
 * @category normalizing
 */
export const lowercase = <A>(id: A): A => (typeof id === "string" ? (id.toLowerCase() as A) : id)

const lowerKeys = (record: unknown, keys: ReadonlyArray<string>): void => {
  if (!isRecord(record)) return
  for (const key of keys) {
    const value = record[key]
    if (typeof value === "string") record[key] = value.toLowerCase()
  }
}

const trailIdKeys = ["id"] as const
const stepIdKeys = ["id", "trail_id", "parent_id"] as const
const leashSummaryKeys = ["leash_id"] as const
const leashRequestKeys = ["leash_id", "trail_id", "step_id"] as const

/**
 * Lowercases the ids of an ingest body: each trail's `id`; each step's `id`, `trail_id`,
 * `parent_id` and its `leash.leash_id`.
 *
 * @since 0.1.0
 * @category normalizing
 */
export const lowercaseIngest = (body: unknown): void => {
  if (!isRecord(body)) return
  const trails = body["trails"]
  if (Array.isArray(trails)) for (const trail of trails) lowerKeys(trail, trailIdKeys)
  const steps = body["steps"]
  if (Array.isArray(steps)) {
    for (const step of steps) {
      lowerKeys(step, stepIdKeys)
      if (isRecord(step)) lowerKeys(step["leash"], leashSummaryKeys)
    }
  }
}

/**
 * Lowercases the ids of a leash request: `leash_id`, `trail_id`, `step_id`.
 *
 * @since 0.1.0
 * @category normalizing
 */
export const lowercaseLeashRequest = (body: unknown): void => lowerKeys(body, leashRequestKeys)

/**
 * Lowercases every value of a path's parameters (every parameter of the API's paths is an id).
 *
 * @since 0.1.0
 * @category normalizing
 */
export const lowercaseParams = (params: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const key of Object.keys(params)) out[key] = lowercase(params[key])
  return out
}
