/**
 * The frame of every dashboard page (head, navigation, who is signed in), and the pages that
 * stand alone: sign-in, errors, and the hop that brings the session cookie along after a link
 * from another site.
 *
 * @since 0.1.0
 */
import type { Assets } from "./Assets.js"
import * as Format from "./Format.js"
import { type Html, html, type Part } from "./Html.js"

/**
 * What the frame shows of the signed-in reviewer and the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Chrome {
  readonly reviewer: string
  readonly csrf: string
  readonly pending: number
  readonly flags: number
  /** The id of a development agent key still in force (any agent may write under any name), if any. */
  readonly developmentKey?: string | undefined
}

/**
 * The section of the navigation a page belongs to.
 *
 * @since 0.1.0
 * @category models
 */
export type Section = "queue" | "trails" | "flags" | "deliveries"

/**
 * A page to frame.
 *
 * @since 0.1.0
 * @category models
 */
export interface Page {
  readonly title: string
  readonly section?: Section | undefined
  readonly body: Html
  /** The signed-in reviewer; without one the page has no navigation (sign-in, errors). */
  readonly chrome?: Chrome | undefined
  /** Names the page for its script (`queue`, `leash`, `trails`, `trail`, `flags`, `login`). */
  readonly kind: string
}

const navLink = (href: string, label: string, section: Section, current: Section | undefined, badge: Part) =>
  html`<a href="${href}"${current === section ? html` aria-current="page"` : ""}>${label}${badge}</a>`

/**
 * Frames a page.
 *
 * @since 0.1.0
 * @category pages
 */
export const page = (assets: Assets, p: Page): Html => {
  const c = p.chrome
  const nav = c === undefined ? "" : html`<nav class="nav" aria-label="Dashboard">
      ${navLink("/", "Queue", "queue", p.section, html` <span class="count" data-pending-count${c.pending === 0 ? html` hidden` : ""}>${Format.count(c.pending)}</span>`)}
      ${navLink("/trails", "Trails", "trails", p.section, "")}
      ${navLink("/flags", "Flags", "flags", p.section, html` <span class="count flag" data-flag-count${c.flags === 0 ? html` hidden` : ""}>${Format.count(c.flags)}</span>`)}
      ${navLink("/deliveries", "Deliveries", "deliveries", p.section, "")}
    </nav>
    <div class="who">
      <span class="reviewer" title="Your decisions are recorded under this name">${c.reviewer}</span>
      <form method="post" action="/logout" class="inline">
        <input type="hidden" name="csrf" value="${c.csrf}">
        <button type="submit" class="link">Sign out</button>
      </form>
    </div>`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${p.title} · Houndsight</title>
<link rel="stylesheet" href="${assets.css.href}">
<link rel="icon" href="${assets.icon.href}" type="image/svg+xml">
<script src="${assets.js.href}" defer></script>
</head>
<body data-page="${p.kind}"${c === undefined ? "" : html` data-live`}>
<header class="top">
  <a class="brand" href="/"><img src="${assets.icon.href}" alt="" width="22" height="22"> Houndsight</a>
  ${nav}
</header>
<main>
${c?.developmentKey === undefined ? "" : html`<p class="notice" data-development-key>A development agent key (<code>${c.developmentKey}</code>) is in force: it writes under any agent name. Give each agent its own key (<code>houndsight-server keys create --agent NAME</code>), then revoke it (<code>houndsight-server keys revoke ${c.developmentKey}</code>).</p>`}
${p.body}
</main>
</body>
</html>
`
}

/**
 * The sign-in page.
 *
 * @since 0.1.0
 * @category pages
 */
export const login = (
  assets: Assets,
  options: { readonly csrf: string; readonly next: string; readonly error?: string | undefined }
): Html =>
  page(assets, {
    title: "Sign in",
    kind: "login",
    body: html`<section class="login card">
  <h1>Sign in to review</h1>
  <p class="muted">Use a reviewer key (<code>rv-hnd-…</code>). The server prints it when it starts. Your decisions are recorded under the key's name, never the key.</p>
  ${options.error === undefined ? "" : html`<p class="notice error" role="alert">${options.error}</p>`}
  <form method="post" action="/login" class="stack">
    <input type="hidden" name="csrf" value="${options.csrf}">
    <input type="hidden" name="next" value="${options.next}">
    <label for="key">Reviewer key</label>
    <input id="key" name="key" type="password" autocomplete="off" spellcheck="false" required autofocus placeholder="rv-hnd-…">
    <button type="submit" class="primary">Sign in</button>
  </form>
</section>`
  })

/**
 * An error page: what happened and where to go.
 *
 * @since 0.1.0
 * @category pages
 */
export const error = (
  assets: Assets,
  options: {
    readonly title: string
    readonly message: string
    readonly chrome?: Chrome | undefined
    readonly back?: { readonly href: string; readonly label: string } | undefined
  }
): Html =>
  page(assets, {
    title: options.title,
    kind: "error",
    chrome: options.chrome,
    body: html`<section class="card problem">
  <h1>${options.title}</h1>
  <p role="alert">${options.message}</p>
  <p><a href="${options.back?.href ?? "/"}">${options.back?.label ?? "Back to the queue"}</a></p>
</section>`
  })

/**
 * The hop after a link from another site: the session cookie is `SameSite=Strict`, so the
 * browser leaves it off a navigation that another site started. This page sends the browser on
 * to the same address from this site, where the cookie goes along.
 *
 * @since 0.1.0
 * @category pages
 */
export const hop = (assets: Assets, path: string): Html =>
  html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0;url=${path}">
<title>Opening · Houndsight</title>
<link rel="stylesheet" href="${assets.css.href}">
</head>
<body data-page="hop"><main><p class="card">Opening <a href="${path}">${path}</a>…</p></main></body>
</html>
`
