/**
 * A seedable random source for the reliability suite, so a failing run can be replayed: every
 * fault the proxy injects is drawn from it, in the order requests arrive.
 *
 * The seed comes from the caller, else from `HOUNDSIGHT_FAULT_SEED`, else it is drawn at random;
 * the proxy prints it in `describe()` and tests put it in their assertion messages. Replay a run
 * with `HOUNDSIGHT_FAULT_SEED=<seed> npx vitest run test/reliability/<file>`.
 */

/** A source of uniform numbers in [0, 1). */
export interface Source {
  readonly seed: number
  /** The next number in [0, 1). */
  readonly next: () => number
  /** A whole number in [min, max]. */
  readonly int: (min: number, max: number) => number
}

/** The environment variable that fixes the seed of every proxy of a run. */
export const seedVariable = "HOUNDSIGHT_FAULT_SEED"

/** The seed to use: `given`, else `HOUNDSIGHT_FAULT_SEED`, else a fresh random one. */
export const chooseSeed = (given?: number): number => {
  if (given !== undefined) return given >>> 0
  const fromEnv = process.env[seedVariable]
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    const n = Number(fromEnv)
    if (!Number.isInteger(n)) throw new Error(`${seedVariable} must be a whole number, got ${JSON.stringify(fromEnv)}`)
    return n >>> 0
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0
}

/** mulberry32: small, fast, and good enough to spread faults. */
export const make = (seed: number): Source => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { seed: seed >>> 0, next, int: (min, max) => min + Math.floor(next() * (max - min + 1)) }
}
