/**
 * The dashboard as a browser tab sees it (test/support/dashboardTab.ts: a cookie jar, no automatic
 * redirects, forms posted as `application/x-www-form-urlencoded`, sign-in through the sign-in
 * form); and checks that a page is inert: no inline script, no event-handler attribute, no
 * `javascript:` link, whatever text it shows.
 */
export { csrfOf, type Page, signIn, type Tab, tab } from "../../support/dashboardTab.js"

// -----------------------------------------------------------------------------------------------
// Inert pages
// -----------------------------------------------------------------------------------------------

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", "#39": "'", apos: "'" }
const unescape = (text: string) => text.replace(/&(amp|lt|gt|quot|#39|apos);/g, (_, e: string) => entities[e]!)

/** The tags of an HTML text with their attributes (names lower-cased, values unescaped). */
export const tagsOf = (markup: string): Array<{ readonly name: string; readonly attributes: Map<string, string>; readonly end: number }> => {
  const out: Array<{ name: string; attributes: Map<string, string>; end: number }> = []
  const tag = /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'=<>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g
  const attribute = /([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g
  for (const m of markup.matchAll(tag)) {
    const attributes = new Map<string, string>()
    for (const a of (m[2] ?? "").matchAll(attribute)) {
      attributes.set(a[1]!.toLowerCase(), unescape(a[2] ?? a[3] ?? a[4] ?? ""))
    }
    out.push({ name: m[1]!.toLowerCase(), attributes, end: m.index! + m[0].length })
  }
  return out
}

/**
 * What would make a page run code: an inline script, an event-handler attribute, a
 * `javascript:` (or `data:`, `vbscript:`) link, a frame, an object or an embed. Empty when the
 * page is inert.
 */
export const activeParts = (markup: string): Array<string> => {
  const problems: Array<string> = []
  for (const t of tagsOf(markup)) {
    for (const [name, value] of t.attributes) {
      if (name.startsWith("on")) problems.push(`<${t.name} ${name}=…>`)
      if (["href", "src", "action", "formaction", "xlink:href", "srcdoc"].includes(name)) {
        if (/^\s*(javascript|data|vbscript):/i.test(value) || name === "srcdoc") problems.push(`<${t.name} ${name}="${value}">`)
      }
      if (name === "http-equiv" && value.toLowerCase() === "refresh") {
        const content = t.attributes.get("content") ?? ""
        if (!/^\d+;url=\/(?![/\\])/i.test(content)) problems.push(`<meta refresh to ${content}>`)
      }
    }
    if (t.name === "script") {
      if (!t.attributes.has("src")) problems.push("an inline <script>")
      else if (!markup.slice(t.end).startsWith("</script>")) problems.push("a <script src> with inline content")
    }
    if (["iframe", "frame", "object", "embed", "base"].includes(t.name)) problems.push(`<${t.name}>`)
  }
  return problems
}

/** Whether a Content-Security-Policy forbids inline and foreign script. */
export const cspForbidsInlineScript = (csp: string | null): boolean => {
  if (csp === null) return false
  const directives = new Map(
    csp.split(";").map((d) => d.trim().split(/\s+/)).filter((d) => d[0] !== "").map((d) => [d[0]!.toLowerCase(), d.slice(1)])
  )
  const script = directives.get("script-src") ?? directives.get("default-src")
  if (script === undefined) return false
  const unsafe = script.some((v) =>
    ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:", "blob:"].includes(v.toLowerCase())
  )
  return !unsafe && directives.has("default-src") && (directives.get("object-src") ?? directives.get("default-src"))!.every((v) =>
    v === "'none'" || v === "'self'"
  )
}
