/**
 * The one reading of a `Retry-After` header (RFC 9110 §10.2.3) that every caller shares: the
 * leash's transport and the exporter.
 *
 * @internal
 */

/**
 * Reads a `Retry-After` value as milliseconds from `now`: delay-seconds (whole, non-negative) or
 * an HTTP date (a date in the past is 0). `undefined` when absent or unreadable (a negative or
 * fractional number, a bare number that `Date.parse` would read as a year, any other text), so
 * the caller falls back to its own back-off. Not capped: each caller bounds it by its own rule
 * (the leash by its deadline, the exporter by its longest honoured wait).
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // an HTTP date always names its day or month; without a letter it is not one
  if (!/[a-z]/i.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
