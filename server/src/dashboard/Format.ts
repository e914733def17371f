/**
 * How the dashboard writes numbers, times and JSON: durations (`340 ms`, `1.2 s`), dollars
 * (`$0.0012`, `$25,000.00`), token counts (`1,234 in · 567 out`), UTC times that the page's
 * script shows in the reviewer's local time, and JSON pretty-printed for a `<pre>`.
 *
 * @since 0.1.0
 */
import { type Html, html } from "./Html.js"

/**
 * A duration in milliseconds, in the largest unit that reads well.
 *
 * @since 0.1.0
 * @category formatting
 */
export const duration = (millis: number): string => {
  if (!Number.isFinite(millis) || millis < 0) return "—"
  if (millis < 1000) return `${Math.round(millis)} ms`
  const seconds = millis / 1000
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
  const hours = Math.floor(minutes / 60)
  return `${hours} h ${minutes - hours * 60} min`
}

const grouped = (n: number, digits: number): string =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

/**
 * US dollars: cents from a dollar up, up to four decimals below, and two significant digits
 * under a cent (model costs are fractions of a cent).
 *
 * @since 0.1.0
 * @category formatting
 */
export const usd = (amount: number): string => {
  if (!Number.isFinite(amount)) return "—"
  if (amount === 0) return "$0"
  const sign = amount < 0 ? "-" : ""
  const a = Math.abs(amount)
  if (a >= 1) return `${sign}$${grouped(a, 2)}`
  if (a >= 0.01) return `${sign}$${a.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`
  return `${sign}$${Number(a.toPrecision(2)).toFixed(Math.min(20, 1 - Math.floor(Math.log10(a)))).replace(/0+$/, "")}`
}

/**
 * Token counts.
 *
 * @since 0.1.0
 * @category formatting
 */
export const tokens = (counts: { readonly input: number; readonly output: number } | undefined): string =>
  counts === undefined ? "—" : `${grouped(counts.input, 0)} in · ${grouped(counts.output, 0)} out`

/**
 * A whole number with thousands separators.
 *
 * @since 0.1.0
 * @category formatting
 */
export const count = (n: number): string => grouped(n, 0)

/**
 * A time as `2026-11-24 09:00:01 UTC` in a `<time>` element, its full ISO time on hover. The
 * page's script rewrites it in the reviewer's local time (the date only when it is not today)
 * and the hover in their zone (`2026-11-24T10:00:01.000+01:00 (Europe/Berlin)`).
 *
 * @since 0.1.0
 * @category formatting
 */
export const time = (at: Date | number): Html => {
  const date = typeof at === "number" ? new Date(at) : at
  if (Number.isNaN(date.getTime())) return html`<span>—</span>`
  const iso = date.toISOString()
  return html`<time datetime="${iso}" title="${iso}" data-local>${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC</time>`
}

/**
 * A size in bytes: `812 B`, `4.0 KiB`, `1.5 MiB`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const bytes = (n: number): string => {
  if (!Number.isFinite(n) || n < 0) return "—"
  if (n < 1024) return `${count(n)} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`
}

/** A value as JSON text (indented by `indent`), or as its string when JSON cannot hold it. */
const jsonText = (value: unknown, indent?: number): string => {
  try {
    return JSON.stringify(value, null, indent) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * A value as indented JSON text (`—` for nothing). Never throws: a value JSON cannot hold is
 * shown as its string.
 *
 * @since 0.1.0
 * @category formatting
 */
export const json = (value: unknown): string => value === undefined ? "—" : jsonText(value, 2)

/**
 * A short form of a value for one line: strings as they are, everything else as compact JSON,
 * cut at `max` characters.
 *
 * @since 0.1.0
 * @category formatting
 */
export const brief = (value: unknown, max = 120): string => {
  const text = typeof value === "string" ? value : jsonText(value)
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * `n thing` or `n things`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`
