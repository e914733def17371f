/**
 * The dashboard's static files (its stylesheet, its script and its icon), read once from
 * `assets/` next to this module and served from `/assets/<name>`. Pages link them with a hash of
 * their content (`/assets/dashboard.js?v=1a2b3c4d`), so a browser may cache them for good and
 * still gets a changed file at once. Nothing is inline: the Content-Security-Policy allows
 * scripts and styles from this server only.
 *
 * @since 0.1.0
 */
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"

/**
 * One static file.
 *
 * @since 0.1.0
 * @category models
 */
export interface Asset {
  readonly name: string
  readonly contentType: string
  readonly body: Uint8Array
  /** The first 8 hex digits of the content's SHA-256. */
  readonly hash: string
  /** `/assets/<name>?v=<hash>`. */
  readonly href: string
}

/**
 * The files, by name.
 *
 * @since 0.1.0
 * @category models
 */
export interface Assets {
  readonly css: Asset
  readonly js: Asset
  readonly icon: Asset
  readonly byName: ReadonlyMap<string, Asset>
}

const read = (name: string, contentType: string): Asset => {
  const body = Fs.readFileSync(new URL(`./assets/${name}`, import.meta.url))
  const hash = Crypto.createHash("sha256").update(body).digest("hex").slice(0, 8)
  return { name, contentType, body, hash, href: `/assets/${name}?v=${hash}` }
}

/**
 * Reads the files (once per call; the server calls it once at startup).
 *
 * @since 0.1.0
 * @category constructors
 */
export const load = (): Assets => {
  const css = read("dashboard.css", "text/css; charset=utf-8")
  const js = read("dashboard.js", "text/javascript; charset=utf-8")
  const icon = read("favicon.svg", "image/svg+xml")
  return { css, js, icon, byName: new Map([css, js, icon].map((a) => [a.name, a])) }
}
