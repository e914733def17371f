/**
 * How leashes look: the card of a pending leash with its decision forms, a decision, the list
 * of recent decisions, the queue page and a leash's own page (the `trace_link` of every
 * Decision).
 *
 * Every string an agent sent (action name, summary, signals, payload) is written as text. The
 * forms post to `/leashes/{id}/decision` with the session's CSRF token; the modify form's JSON is
 * checked by the page's script before anything is sent, and again by the server.
 *
 * @since 0.1.0
 */
import type { Wire } from "houndsight"
import type { DecidedLeash } from "./Queries.js"
import * as Format from "./Format.js"
import { type Html, html, url } from "./Html.js"

/**
 * A pending leash as the queue shows it: its request without the payload, and the payload's
 * preview (stored with the leash; the whole payload is only on the leash's own page).
 *
 * @since 0.1.0
 * @category models
 */
export interface Pending {
  readonly leashId: string
  readonly request: Wire.LeashRequestSummary
  readonly preview: Wire.PayloadPreview
  readonly createdAt: Date
  readonly expiresAt: Date
}

/**
 * A size in bytes, in KiB or MiB from 1 KiB up.
 *
 * @since 0.1.0
 * @category formatting
 */
export const size = (bytes: number): string =>
  bytes < 1024
    ? `${Format.count(bytes)} bytes`
    : bytes < 1024 * 1024
    ? `${(bytes / 1024).toFixed(1)} KiB`
    : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`

/**
 * A preview as text to show: the whole payload indented when the preview holds all of it, else
 * its first bytes as sent, marked with an ellipsis.
 *
 * @since 0.1.0
 * @category formatting
 */
export const previewText = (preview: Wire.PayloadPreview): string => {
  if (preview.cut) return `${preview.text}…`
  try {
    return Format.json(JSON.parse(preview.text))
  } catch {
    return preview.text
  }
}

/**
 * Where a decision form sends the reviewer afterwards.
 *
 * @since 0.1.0
 * @category models
 */
export type ReturnTo = "queue" | "leash"

const signalValue = (key: string, value: unknown): string => {
  if (key === "amount_usd" && typeof value === "number") return Format.usd(value)
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(", ")
  return Format.brief(value, 200)
}

/**
 * The risk signals as labelled chips.
 *
 * @since 0.1.0
 * @category components
 */
export const signals = (riskSignals: Readonly<Record<string, unknown>>): Html => {
  const entries = Object.entries(riskSignals)
  if (entries.length === 0) return html`<p class="muted small">No risk signals.</p>`
  return html`<ul class="signals" aria-label="Risk signals">${
    entries.map(([k, v]) =>
      html`<li class="signal${k === "amount_usd" ? " money" : ""}"><span class="k">${k}</span> <span class="v">${
        signalValue(k, v)
      }</span></li>`
    )
  }</ul>`
}

/**
 * A decision as a coloured word.
 *
 * @since 0.1.0
 * @category components
 */
export const decisionPill = (decision: string): Html => html`<span class="pill decision-${decision}">${decision}</span>`

/**
 * Who decided: a reviewer key's name, the floor rule, the agent (a cancel) or the server (an expiry).
 *
 * @since 0.1.0
 * @category components
 */
export const decider = (decidedBy: string | undefined): string => {
  if (decidedBy === undefined) return "unknown"
  if (decidedBy === "floor_rule") return "a floor rule"
  if (decidedBy === "server") return "the server (expired)"
  return decidedBy
}

const hidden = (csrf: string, returnTo: ReturnTo) =>
  html`<input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="return" value="${returnTo}">`

/**
 * The decision forms of a pending leash: approve or reject with a reason, or approve a modified
 * payload edited as JSON, starting from `base` (the whole payload as JSON text). Without a
 * `base` (a queue card whose preview is cut) there is no modify form here, only a link to the
 * leash's page: a cut value is never offered as the base of a modification.
 *
 * @since 0.1.0
 * @category components
 */
export const decisionForms = (leashId: string, base: string | undefined, csrf: string, returnTo: ReturnTo): Html => {
  const action = url`/leashes/${leashId}/decision`
  return html`<form method="post" action="${action}" class="decide" data-decide>
    ${hidden(csrf, returnTo)}
    <input type="text" name="reason" maxlength="4096" placeholder="Reason (needed to reject)" aria-label="Reason">
    <button type="submit" name="decision" value="approved" class="approve">Approve</button>
    <button type="submit" name="decision" value="rejected" class="reject">Reject</button>
    <p class="form-error" role="alert" hidden></p>
  </form>
  ${
    base === undefined
      ? html`<p class="modify small">The payload is too large to edit here: <a href="${url`/leashes/${leashId}`}">modify it on the leash page</a>.</p>`
      : modifyForm(action, base, csrf, returnTo)
  }`
}

const modifyForm = (action: string, base: string, csrf: string, returnTo: ReturnTo): Html =>
  html`<details class="modify">
    <summary>Modify the payload…</summary>
    <form method="post" action="${action}" class="stack" data-modify>
      ${hidden(csrf, returnTo)}
      <input type="hidden" name="decision" value="modified">
      <label>Payload the agent will use (JSON)
        <textarea name="modified_payload" rows="${Math.min(18, lines(base) + 1)}" spellcheck="false" autocomplete="off">${base}</textarea>
      </label>
      <p class="form-error" role="alert" hidden></p>
      <input type="text" name="reason" maxlength="4096" placeholder="Reason (optional)" aria-label="Reason for the change">
      <button type="submit" class="modify-submit">Approve with changes</button>
    </form>
  </details>`

const lines = (text: string): number => {
  let n = 1
  for (let i = text.indexOf("\n"); i !== -1 && n < 18; i = text.indexOf("\n", i + 1)) n++
  return n
}

/**
 * The card of a pending leash: what the agent asks, why it is risky, what it will do, and the
 * forms to decide.
 *
 * @since 0.1.0
 * @category components
 */
export const pendingCard = (leash: Pending, csrf: string, returnTo: ReturnTo): Html => {
  const r = leash.request
  const p = leash.preview
  // The payload is written once, from its preview.
  const text = previewText(p)
  return html`<article class="card leash" id="leash-${leash.leashId}" data-leash-id="${leash.leashId}" data-action="${r.actionName}" data-expires-at="${leash.expiresAt.toISOString()}">
  <header class="leash-head">
    <span class="action">${r.actionName}</span>
    <span class="agent" title="Agent">${r.agent}</span>
    <span class="expires">answer within <span data-countdown="${leash.expiresAt.toISOString()}">${
    Format.duration(leash.expiresAt.getTime() - Date.now())
  }</span></span>
  </header>
  <p class="summary">${r.actionSummary}</p>
  ${signals(r.riskSignals)}
  ${r.riskSignalsCut === true ? html`<p class="muted small">The risk signals are too large to list here: see the leash page.</p>` : ""}
  <details class="payload" open>
    <summary>Payload <span class="small muted">${size(p.bytes)}</span></summary>
    <pre class="json">${text}</pre>
    ${
    p.cut
      ? html`<p class="notice cut" data-preview-cut>Preview cut: this shows the first 4 KiB of a ${size(p.bytes)} payload. <a href="${url`/leashes/${leash.leashId}`}">Read the whole payload on the leash page</a> before you decide.</p>`
      : ""
  }
  </details>
  <div class="decision-forms">${decisionForms(leash.leashId, p.cut ? undefined : text, csrf, returnTo)}</div>
  <footer class="leash-foot small muted">
    asked ${Format.time(leash.createdAt)} ·
    <a href="${url`/trails/${r.trailId}`}">trail</a> ·
    <a href="${url`/leashes/${leash.leashId}`}">leash page</a>
  </footer>
</article>`
}

/**
 * The table of recent decisions.
 *
 * @since 0.1.0
 * @category components
 */
export const decisionsTable = (decisions: ReadonlyArray<DecidedLeash>): Html => {
  if (decisions.length === 0) return html`<p class="muted">No decisions yet.</p>`
  return html`<table class="table">
  <thead><tr><th>Action</th><th>Agent</th><th>Decision</th><th>Reason</th><th>By</th><th>When</th></tr></thead>
  <tbody>${
    decisions.map((d) =>
      html`<tr>
    <td><a href="${url`/leashes/${d.leashId}`}" class="action">${d.request.actionName}</a><div class="small muted">${
        Format.brief(d.request.actionSummary, 80)
      }</div></td>
    <td>${d.request.agent}</td>
    <td>${decisionPill(d.decision)}</td>
    <td class="reason">${Format.brief(d.reason, 120)}</td>
    <td>${decider(d.decidedBy)}</td>
    <td>${Format.time(d.decidedAt)}</td>
  </tr>`
    )
  }</tbody>
</table>`
}

/**
 * The pending list of the queue (what the live view replaces card by card).
 *
 * @since 0.1.0
 * @category components
 */
export const pendingList = (pending: ReadonlyArray<Pending>, csrf: string, paged = false): Html =>
  html`<p class="empty muted" data-empty${pending.length > 0 ? html` hidden` : ""}>Nothing is waiting. Requests appear here the moment an agent asks.</p>
<div class="pending-list"${paged ? "" : html` data-pending-list`}>${pending.map((p) => pendingCard(p, csrf, "queue"))}</div>`

/**
 * The queue: pending leashes (live), the latest decisions, and the latest trails.
 *
 * @since 0.1.0
 * @category pages
 */
export const queue = (options: {
  readonly pending: ReadonlyArray<Pending>
  /** The cursor of the next page of pending leashes, if there are more. */
  readonly nextCursor?: string | undefined
  /** Set on a later page (read with a cursor): it is not live. */
  readonly paged?: boolean | undefined
  readonly decisions: ReadonlyArray<DecidedLeash>
  readonly trails: Html
  readonly csrf: string
  readonly notice?: Html | undefined
}): Html =>
  html`${options.notice ?? ""}
<section class="queue" aria-labelledby="pending-title">
  <h1 id="pending-title">Waiting for a decision <span class="count big" data-pending-count${
    options.pending.length === 0 ? html` hidden` : ""
  }>${Format.count(options.pending.length)}</span> <span class="live-dot" title="Live: new requests appear without reloading" data-live-status>live</span></h1>
  ${pendingList(options.pending, options.csrf, options.paged === true)}
  <p class="pager">${options.paged === true ? html`<a href="/">← First page</a> ` : ""}${
    options.nextCursor === undefined
      ? ""
      : html`<a href="${`/?cursor=${encodeURIComponent(options.nextCursor)}`}" rel="next" data-next-page>More waiting: next page →</a>`
  }</p>
</section>
<section aria-labelledby="decisions-title">
  <h2 id="decisions-title">Recent decisions</h2>
  <div data-decisions>${decisionsTable(options.decisions)}</div>
</section>
<section aria-labelledby="trails-title">
  <h2 id="trails-title">Recent trails <a class="small" href="/trails">all trails →</a></h2>
  <div data-trails="limit=10">${options.trails}</div>
</section>`

/**
 * A leash's page: what it asked, and its decision, or the forms while it waits.
 *
 * @since 0.1.0
 * @category pages
 */
export const leashPage = (options: {
  readonly leashId: string
  readonly request: Wire.LeashRequest
  readonly createdAt: Date
  readonly expiresAt: Date
  readonly decision: Wire.GateDecision | undefined
  readonly csrf: string
  readonly notice?: Html | undefined
}): Html => {
  const r = options.request
  const d = options.decision
  // The whole payload, written as JSON text once (this page is the only one that reads it).
  const payload = Format.json(r.payload)
  const status = d === undefined
    ? html`<span class="pill pending">waiting for a decision</span>`
    : decisionPill(d.decision)
  const decided = d === undefined
    ? html`<section class="card" aria-labelledby="decide-title">
    <p class="notice" data-decided-elsewhere hidden>This leash is no longer waiting: it was decided elsewhere, cancelled or expired. <a href="${
      url`/leashes/${options.leashId}`
    }">Reload</a> to see how.</p>
    <h2 id="decide-title">Decide <span class="expires small muted">answer within <span data-countdown="${options.expiresAt.toISOString()}">${
      Format.duration(options.expiresAt.getTime() - Date.now())
    }</span></span></h2>
    <div class="decision-forms">${decisionForms(options.leashId, payload, options.csrf, "leash")}</div>
  </section>`
    : html`<section class="card decided decision-${d.decision}" aria-labelledby="decision-title">
    <h2 id="decision-title">${decisionPill(d.decision)} by ${decider(d.decidedBy)}</h2>
    <dl class="facts">
      <dt>Reason</dt><dd class="reason">${d.reason === "" ? "—" : d.reason}</dd>
      <dt>Decided</dt><dd>${Format.time(d.decidedAt)}</dd>
      <dt>Waited</dt><dd>${Format.duration(d.decidedAt.getTime() - options.createdAt.getTime())}</dd>
    </dl>
    ${
      d.modifiedPayload === undefined ? "" : html`<h3>Payload the agent was told to use</h3><pre class="json">${
        Format.json(d.modifiedPayload)
      }</pre>`
    }
  </section>`
  return html`${options.notice ?? ""}
<section class="card leash-page" data-leash-id="${options.leashId}"${d === undefined ? html` data-pending` : ""}>
  <p class="crumbs small muted"><a href="/">Queue</a> › leash <code>${options.leashId}</code></p>
  <h1><span class="action">${r.actionName}</span> ${status}</h1>
  <p class="summary">${r.actionSummary}</p>
  <dl class="facts">
    <dt>Agent</dt><dd>${r.agent}</dd>
    <dt>Trail</dt><dd><a href="${url`/trails/${r.trailId}`}">${r.trailId}</a></dd>
    <dt>Asked</dt><dd>${Format.time(options.createdAt)}</dd>
    <dt>Deadline</dt><dd>${Format.time(options.expiresAt)} (${Format.duration(r.timeoutSeconds * 1000)} after asking)</dd>
    <dt>Blocking</dt><dd>${r.blocking ? "yes: the agent waits" : "no: the agent carries on and checks later"}</dd>
  </dl>
  <h2>Risk signals</h2>
  ${signals(r.riskSignals)}
  <h2>Payload</h2>
  <pre class="json">${payload}</pre>
</section>
${decided}`
}
