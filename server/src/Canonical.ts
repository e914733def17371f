/**
 * Canonical JSON: object keys sorted at every level, no whitespace. Two bodies are the same
 * leash request when their canonical forms are equal, whatever their key order or spacing.
 *
 * **Example**
 *
 * ```ts
 * import { Canonical } from "houndsight-server"
 *
 * Canonical.stringify({ b: 1, a: [{ d: 2, c: 3 }] }) // '{"a":[{"c":3,"d":2}],"b":1}'
 * ```
 *
 * @since 0.1.0
 */

const sortKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === "object") {
    // Without a prototype, a key named `__proto__` (which JSON.parse makes an own key) is an own
    // key here too, not a prototype change that JSON.stringify would silently drop.
    const out: Record<string, unknown> = Object.create(null)
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

/**
 * The canonical JSON text of a parsed JSON value.
 *
 * @since 0.1.0
 * @category utils
 */
export const stringify = (value: unknown): string => JSON.stringify(sortKeys(value)) ?? "null"

/**
 * The first place where two parsed JSON values differ, as a path (`payload.amount_usd`), or
 * `undefined` when they are the same. Used to say *what* differs in an idempotency conflict.
 *
 * @since 0.1.0
 * @category utils
 */
export const firstDifference = (a: unknown, b: unknown, path = ""): string | undefined => {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return path === "" ? "(the body)" : path
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`)
      if (d !== undefined) return d
    }
    return undefined
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    for (const key of keys) {
      const d = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        path === "" ? key : `${path}.${key}`
      )
      if (d !== undefined) return d
    }
    return undefined
  }
  return stringify(a) === stringify(b) ? undefined : path === "" ? "(the body)" : path
}
