/**
 * HTML that is safe by construction. Pages are written with the `html` template tag: every
 * interpolated value is escaped as text unless it is itself `Html` (built by this module), so an
 * agent-supplied string (an action summary, a payload, a step name) can never become markup,
 * whatever it holds (`<script>`, `" onerror=`, `javascript:`). Attribute values are always
 * written in double quotes, which the escaping covers.
 *
 * The only ways to make `Html` are the `html` tag and `join`, and `url` only builds links from
 * fixed paths and encoded path segments: no agent-supplied string is ever used as a link.
 *
 * **Example**
 *
 * ```ts
 * import { html, render } from "./Html.js"
 *
 * const summary = "<img src=x onerror=alert(1)>"
 * render(html`<p class="summary">${summary}</p>`)
 * // '<p class="summary">&lt;img src=x onerror=alert(1)&gt;</p>'
 * ```
 *
 * @since 0.1.0
 */

/**
 * A piece of trusted markup.
 *
 * @since 0.1.0
 * @category models
 */
export class Html {
  /** @internal */
  constructor(readonly markup: string) {}
  /** The markup. */
  toString(): string {
    return this.markup
  }
}

/**
 * What may be interpolated: text (escaped), markup, lists of either, and nothing
 * (`undefined`, `null`, `false` render as the empty string).
 *
 * @since 0.1.0
 * @category models
 */
export type Part = Html | string | number | boolean | null | undefined | ReadonlyArray<Part>

const replacements: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\"": "&quot;",
  "'": "&#39;"
}

/**
 * Escapes text for HTML content and double-quoted attribute values.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => replacements[c]!)

const partToString = (part: Part): string => {
  if (part === undefined || part === null || part === false) return ""
  if (part instanceof Html) return part.markup
  if (Array.isArray(part)) return (part as ReadonlyArray<Part>).map(partToString).join("")
  return escape(String(part))
}

/**
 * The template tag: `html\`<p>${text}</p>\`` escapes `text`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const html = (strings: TemplateStringsArray, ...parts: ReadonlyArray<Part>): Html => {
  let out = strings[0]!
  for (let i = 0; i < parts.length; i++) out += partToString(parts[i]!) + strings[i + 1]!
  return new Html(out)
}

/**
 * Joins parts into one piece of markup (text parts escaped).
 *
 * @since 0.1.0
 * @category constructors
 */
export const join = (parts: ReadonlyArray<Part>, separator: Html = empty): Html =>
  new Html(parts.map(partToString).join(separator.markup))

/**
 * No markup.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: Html = new Html("")

/**
 * The markup as a string.
 *
 * @since 0.1.0
 * @category destructors
 */
export const render = (part: Part): string => partToString(part)

/**
 * A link to a page of this server: fixed path pieces, with every `segments` value encoded as one
 * path segment (so `../` or `javascript:` in a value stays inside its segment).
 *
 * @since 0.1.0
 * @category constructors
 */
export const url = (strings: TemplateStringsArray, ...segments: ReadonlyArray<string | number>): string => {
  let out = strings[0]!
  for (let i = 0; i < segments.length; i++) out += encodeURIComponent(String(segments[i]!)) + strings[i + 1]!
  return out
}
