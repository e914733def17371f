/**
 * The gate bench's statistics: latency percentiles and how figures are printed.
 *
 * @since 0.1.0
 */

/**
 * Percentiles of a latency series, in milliseconds (nearest rank).
 *
 * @since 0.1.0
 * @category models
 */
export interface Latency {
  readonly n: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

/** The percentiles of `values` (milliseconds). */
export const latency = (values: ReadonlyArray<number>): Latency => {
  const sorted = values.slice().sort((a, b) => a - b)
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length
  }
}

/** Milliseconds, printed with 0 to 2 decimals by size. */
export const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))
/** MiB, printed with 1 decimal. */
export const mib = (x: number): string => x.toFixed(1)
/** A count, rounded and grouped (1,234). */
export const count = (x: number): string => Math.round(x).toLocaleString("en-US")
