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
 * A pending leash as the queue shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Pending {
  readonly leashId: string
  readonly request: Wire.LeashRequest
  readonly createdAt: Date
  readonly expiresAt: Date
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
 * payload edited as JSON.
 *
 * @since 0.1.0
 * @category components
 */
export const decisionForms = (leash: Pending, csrf: string, returnTo: ReturnTo): Html => {
  const action = url`/leashes/${leash.leashId}/decision`
  return html`<form method="post" action="${action}" class="decide" data-decide>
    ${hidden(csrf, returnTo)}
    <input type="text" name="reason" maxlength="4096" placeholder="Reason (needed to reject)" aria-label="Reason">
    <button type="submit" name="decision" value="approved" class="approve">Approve</button>
    <button type="submit" name="decision" value="rejected" class="reject">Reject</button>
    <p class="form-error" role="alert" hidden></p>
  </form>
  <details class="modify">
    <summary>Modify the payload…</summary>
    <form method="post" action="${action}" class="stack" data-modify>
      ${hidden(csrf, returnTo)}
      <input type="hidden" name="decision" value="modified">
      <label>Payload the agent will use (JSON)
        <textarea name="modified_payload" rows="${Math.min(18, Format.json(leash.request.payload).split("\n").length + 1)}" spellcheck="false" autocomplete="off">${
    Format.json(leash.request.payload)
  }</textarea>
      </label>
      <p class="form-error" role="alert" hidden></p>
      <input type="text" name="reason" maxlength="4096" placeholder="Reason (optional)" aria-label="Reason for the change">
      <button type="submit" class="modify-submit">Approve with changes</button>
    </form>
  </details>`
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
  <details class="payload" open>
    <summary>Payload</summary>
    <pre class="json">${Format.json(r.payload)}</pre>
  </details>
  <div class="decision-forms">${decisionForms(leash, csrf, returnTo)}</div>
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
export const pendingList = (pending: ReadonlyArray<Pending>, csrf: string): Html =>
  html`<p class="empty muted" data-empty${pending.length > 0 ? html` hidden` : ""}>Nothing is waiting. Requests appear here the moment an agent asks.</p>
<div class="pending-list" data-pending-list>${pending.map((p) => pendingCard(p, csrf, "queue"))}</div>`

/**
 * The queue: pending leashes (live), the latest decisions, and the latest trails.
 *
 * @since 0.1.0
 * @category pages
 */
export const queue = (options: {
  readonly pending: ReadonlyArray<Pending>
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
  ${pendingList(options.pending, options.csrf)}
</section>
<section aria-labelledby="decisions-title">
  <h2 id="decisions-title">Recent decisions</h2>
  <div data-decisions>${decisionsTable(options.decisions)}</div>
</section>
<section aria-labelledby="trails-title">
  <h2 id="trails-title">Recent trails <a class="small" href="/trails">all trails →</a></h2>
  <div data-trails="10">${options.trails}</div>
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
    <div class="decision-forms">${
      decisionForms({ leashId: options.leashId, request: r, createdAt: options.createdAt, expiresAt: options.expiresAt }, options.csrf, "leash")
    }</div>
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
  <pre class="json">${Format.json(r.payload)}</pre>
</section>
${decided}`
}
