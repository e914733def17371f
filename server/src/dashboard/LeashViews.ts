/**
 * How leashes look: the card of a pending leash with its decision forms, a decision, the list
 * of recent decisions, the queue page and a leash's own page (the `trace_link` of every
 * Decision).
 *
 * Every string an agent sent (action name, summary, signals, payload) is written as text. The
 * forms post to `/leashes/{id}/decision` with the session's CSRF token; the modify form's JSON is
 * checked by the page's script before anything is sent, and again by the server.
 *
 * A reviewer sees all of what they approve: payloads are shown in the order the agent sent them;
 * a value cut for a card says so where it is cut, and values an SDK cut before sending are named
 * above the payload (`Cut`); the modify form never starts from a cut value (`ModifyBase`); a
 * modification is shown as what changed (`JsonDiff`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Wire from "houndsight/wire"
import { hasApproved } from "../Approvals.js"
import { yieldToEventLoop } from "../EventLoop.js"
import type { DecidedLeash } from "./Queries.js"
import * as Format from "./Format.js"
import { type Html, html, join, url } from "./Html.js"
import * as Cut from "./Cut.js"
import * as JsonDiff from "./JsonDiff.js"

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
  /** A leash that needs several approvals: how many, and who approved so far. */
  readonly approvals?: Progress | undefined
  /** When it is close to expiry (its reminder time): from then on its card is marked. */
  readonly remindAt?: Date | undefined
}

/**
 * The approvals of a leash that needs several (two-person approval), as the views show them.
 *
 * @since 0.2.0
 * @category models
 */
export interface Progress {
  readonly required: number
  /** Of the payload under review; the first is a modification when one is under review. */
  readonly approvals: ReadonlyArray<Wire.Approval>
}

/** Whether a modification (not the agent's payload) is under review. */
const modifiedUnderReview = (progress: Progress | undefined): boolean => progress?.approvals[0]?.decision === "modified"

/**
 * Who approved so far, out of how many needed; and, for the reviewer looking (`viewer`), that
 * they approved already.
 *
 * @since 0.2.0
 * @category components
 */
export const approvalsSoFar = (progress: Progress, viewer: Wire.Reviewer | undefined): Html => {
  const mine = viewer !== undefined && hasApproved(progress.approvals, viewer)
  return html`<div class="approvals" data-approvals data-approvals-count="${String(progress.approvals.length)}" data-approvals-required="${
    String(progress.required)
  }">
    <p><strong>${Format.count(progress.approvals.length)} of ${Format.count(progress.required)} approvals</strong> <span class="small muted">(distinct reviewers needed: ${
    Format.count(progress.required)
  })</span></p>
    ${
    progress.approvals.length === 0 ? "" : html`<ul class="approvers" aria-label="Approved so far">${
      progress.approvals.map((a) =>
        html`<li data-approver="${a.reviewer.id}"><span class="name">${a.reviewer.name}</span> <span class="small muted">${
          a.decision === "modified" ? "modified the payload" : "approved"
        } ${Format.time(a.at)}</span></li>`
      )
    }</ul>`
  }
    ${
    mine
      ? html`<p class="notice good" data-you-approved>You approved this. It waits for ${
        Format.plural(progress.required - progress.approvals.length, "more reviewer")
      }; you may still reject it or modify it.</p>`
      : ""
  }
  </div>`
}

/**
 * The mark of a leash close to expiry ("expires in 2 min"), shown from `remindAt` on (the
 * page's script shows it when that time comes while the page is open, and keeps its time).
 *
 * @since 0.1.0
 * @category components
 */
export const soonMark = (remindAt: Date, expiresAt: Date, now: number): Html =>
  html`<span class="pill soon" data-soon data-remind-at="${remindAt.toISOString()}"${now < remindAt.getTime() ? html` hidden` : ""}>⏰ <span data-soon-text>expires in ${
    Format.duration(expiresAt.getTime() - now)
  }</span></span>`

/** The value a preview holds whole (`undefined`: its text does not parse). */
const parsePreview = (text: string): { readonly value: unknown } | undefined => {
  try {
    return { value: JSON.parse(text) as unknown }
  } catch {
    return undefined
  }
}

/**
 * A preview as text to show: the whole payload indented when the preview holds all of it, else
 * its first bytes as sent, marked with an ellipsis.
 *
 * @since 0.1.0
 * @category formatting
 */
export const previewText = (preview: Wire.PayloadPreview): string => {
  if (preview.cut) return `${preview.text}…`
  const whole = parsePreview(preview.text)
  return whole === undefined ? preview.text : Format.json(whole.value)
}

/**
 * Where a decision form sends the reviewer afterwards.
 *
 * @since 0.1.0
 * @category models
 */
export type ReturnTo = "queue" | "leash"

/** How much of a risk signal's value a queue card shows (the leash page shows it whole). */
const signalChars = 200

const signalText = (key: string, value: unknown): string => {
  if (key === "amount_usd" && typeof value === "number") return Format.usd(value)
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(", ")
  return Format.brief(value, Number.POSITIVE_INFINITY)
}

/**
 * The risk signals as labelled chips. `whole: false` (a queue card) cuts a long value and says
 * so on the chip; the leash page shows every value whole.
 *
 * @since 0.1.0
 * @category components
 */
export const signals = (riskSignals: Readonly<Record<string, unknown>>, options: { readonly whole: boolean } = { whole: false }): Html => {
  const entries = Object.entries(riskSignals)
  if (entries.length === 0) return html`<p class="muted small">No risk signals.</p>`
  return html`<ul class="signals" aria-label="Risk signals">${
    entries.map(([k, v]) => {
      const text = signalText(k, v)
      const cut = !options.whole && text.length > signalChars
      return html`<li class="signal${k === "amount_usd" ? " money" : ""}"><span class="k">${k}</span> <span class="v">${
        cut ? Format.brief(text, signalChars) : text
      }</span>${
        cut
          ? html` <span class="cut" data-cut>cut: ${Format.count(signalChars - 1)} of ${Format.count(text.length)} characters shown; the leash page shows it whole</span>`
          : ""
      }</li>`
    })
  }</ul>`
}

const cutNotice = (cut: Cut.Found): Html =>
  cut.count === 0 ? html`` : html`<p class="notice error" role="alert" data-sdk-cut>This payload holds ${
    Format.plural(cut.count, "value")
  } that the agent's SDK cut before sending (${cut.paths.join(", ")}${cut.count > cut.paths.length ? ", …" : ""}): you are not seeing all of it, and an approval may let the agent act on the whole original. Reject it and ask for the agent to be upgraded, or approve a payload you write in full.</p>`

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

/**
 * What the decision forms offer: the Approve button (not to a reviewer who approved already, nor
 * on a card whose payload is no longer the one under review), and the payload round shown (an
 * approval of another round is refused: it would approve a payload its reviewer did not see).
 *
 * @since 0.2.0
 * @category models
 */
export interface FormOptions {
  readonly approve: boolean
  readonly round: number
}

const anyRound: FormOptions = { approve: true, round: 0 }

const hidden = (csrf: string, returnTo: ReturnTo, round: number) =>
  html`<input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="return" value="${returnTo}"><input type="hidden" name="round" value="${
    String(round)
  }">`

/**
 * What the modify form starts from. Never a cut value: the whole payload (`Whole`, its JSON
 * text); or, where the view shows only a cut preview, nothing but a link to the leash page,
 * which loads the whole payload (`OnLeashPage`); or an empty form when the payload itself holds
 * values an SDK cut (`Blank`).
 *
 * @since 0.1.0
 * @category models
 */
export type ModifyBase =
  | { readonly _tag: "Whole"; readonly json: string }
  | { readonly _tag: "OnLeashPage" }
  | { readonly _tag: "Blank" }

/**
 * The modify form's start for a whole payload: the payload itself, unless it holds values an
 * SDK cut.
 *
 * @since 0.1.0
 * @category constructors
 */
export const wholeBase = (payload: unknown, json: string = Format.json(payload)): ModifyBase =>
  Cut.find(payload).count > 0 ? { _tag: "Blank" } : { _tag: "Whole", json }

const modifyForm = (
  action: string,
  base: ModifyBase,
  csrf: string,
  returnTo: ReturnTo,
  leashId: string,
  round: number
): Html => {
  if (base._tag === "OnLeashPage") {
    return html`<p class="small" data-modify-elsewhere>This card shows a cut preview of the payload, and a modification starts from the whole payload: <a href="${
      url`/leashes/${leashId}`
    }">modify it on the leash page</a>.</p>`
  }
  const text = base._tag === "Whole" ? base.json : ""
  return html`<form method="post" action="${action}" class="stack" data-modify>
      ${hidden(csrf, returnTo, round)}
      <input type="hidden" name="decision" value="modified">
      ${
    base._tag === "Blank"
      ? html`<p class="small">The payload holds values its SDK cut, so it is not offered as a start: write the whole payload the agent should use.</p>`
      : ""
  }
      <label>Payload the agent will use (JSON)
        <textarea name="modified_payload" rows="${Math.min(18, Math.max(4, text.split("\n").length + 1))}" spellcheck="false" autocomplete="off">${text}</textarea>
      </label>
      <p class="form-error" role="alert" hidden></p>
      <input type="text" name="reason" maxlength="4096" placeholder="Reason (optional)" aria-label="Reason for the change">
      <button type="submit" class="modify-submit">Approve with changes</button>
    </form>`
}

/**
 * The decision forms of a pending leash: approve or reject with a reason, or approve a modified
 * payload edited as JSON, starting from `base`: on a queue card whose preview is cut there is
 * no modify form, only a link to the leash's page (`OnLeashPage`): a cut value is never offered
 * as the base of a modification.
 *
 * @since 0.1.0
 * @category components
 */
export const decisionForms = (
  leashId: string,
  base: ModifyBase,
  csrf: string,
  returnTo: ReturnTo,
  options: FormOptions = anyRound
): Html => {
  const action = url`/leashes/${leashId}/decision`
  return html`<form method="post" action="${action}" class="decide" data-decide>
    ${hidden(csrf, returnTo, options.round)}
    <input type="text" name="reason" maxlength="4096" placeholder="Reason (needed to reject)" aria-label="Reason">
    ${options.approve ? html`<button type="submit" name="decision" value="approved" class="approve">Approve</button>` : ""}
    <button type="submit" name="decision" value="rejected" class="reject">Reject</button>
    <p class="form-error" role="alert" hidden></p>
  </form>
  <details class="modify">
    <summary>Modify the payload…</summary>
    ${modifyForm(action, base, csrf, returnTo, leashId, options.round)}
  </details>`
}

/**
 * The card of a pending leash: what the agent asks, why it is risky, what it will do, and the
 * forms to decide.
 *
 * @since 0.1.0
 * @category components
 */
export const pendingCard = (leash: Pending, csrf: string, returnTo: ReturnTo, viewer?: Wire.Reviewer): Html => {
  const r = leash.request
  const p = leash.preview
  const progress = leash.approvals
  // the card shows the agent's payload: no approval from it once a modification is under review
  const modified = modifiedUnderReview(progress)
  const mine = viewer !== undefined && progress !== undefined && hasApproved(progress.approvals, viewer)
  // The payload is written once, from its preview; a preview that holds the whole payload is
  // also the start of a modification.
  const whole = p.cut ? undefined : parsePreview(p.text)
  const text = whole === undefined ? previewText(p) : Format.json(whole.value)
  const now = Date.now()
  const soon = leash.remindAt !== undefined && now >= leash.remindAt.getTime()
  return html`<article class="card leash${soon ? " soon" : ""}" id="leash-${leash.leashId}" data-leash-id="${leash.leashId}" data-action="${r.actionName}" data-expires-at="${leash.expiresAt.toISOString()}">
  <header class="leash-head">
    <span class="action">${r.actionName}</span>
    <span class="agent" title="Agent">${r.agent}</span>
    ${leash.remindAt === undefined ? "" : soonMark(leash.remindAt, leash.expiresAt, now)}
    <span class="expires">answer within <span data-countdown="${leash.expiresAt.toISOString()}">${
    Format.duration(leash.expiresAt.getTime() - Date.now())
  }</span></span>
  </header>
  <p class="summary">${r.actionSummary}</p>
  ${signals(r.riskSignals)}
  ${r.riskSignalsCut === true ? html`<p class="muted small">The risk signals are too large to list here: see the leash page.</p>` : ""}
  ${whole === undefined ? "" : cutNotice(Cut.find(whole.value))}
  <details class="payload" open>
    <summary>Payload <span class="small muted">${Format.bytes(p.bytes)}</span></summary>
    <pre class="json">${text}</pre>
    ${
    p.cut
      ? html`<p class="notice cut" data-preview-cut>Preview cut: this shows the first 4 KiB of a ${Format.bytes(p.bytes)} payload. <a href="${url`/leashes/${leash.leashId}`}">Read the whole payload on the leash page</a> before you decide.</p>`
      : ""
  }
  </details>
  ${progress === undefined ? "" : approvalsSoFar(progress, viewer)}
  ${
    modified
      ? html`<p class="notice" data-modified-under-review>${
        progress!.approvals[0]!.reviewer.name
      } modified the payload: the approvals so far are of the modified payload. <a href="${
        url`/leashes/${leash.leashId}`
      }">Review the change on the leash page</a> to approve it.</p>`
      : ""
  }
  <div class="decision-forms">${
    decisionForms(
      leash.leashId,
      whole === undefined || modified ? { _tag: "OnLeashPage" } : wholeBase(whole.value, text),
      csrf,
      returnTo,
      { approve: !mine && !modified, round: 0 }
    )
  }</div>
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
export const pendingList = (pending: ReadonlyArray<Pending>, csrf: string, paged = false, viewer?: Wire.Reviewer): Html =>
  pendingListOf(pending.length, pending.map((p) => pendingCard(p, csrf, "queue", viewer)), paged)

const pendingListOf = (count: number, cards: Html | ReadonlyArray<Html>, paged: boolean): Html =>
  html`<p class="empty muted" data-empty${count > 0 ? html` hidden` : ""}>Nothing is waiting. Requests appear here the moment an agent asks.</p>
<div class="pending-list"${paged ? "" : html` data-pending-list`}>${cards}</div>`

/** How many cards `pendingListInSlices` renders at a time. */
const cardSlice = 10

/**
 * The pending list as `pendingList` writes it, rendered `cardSlice` cards at a time with a
 * yield to the event loop between the slices: a page of 100 cards at the v1.1 limits is a long
 * piece of work that would otherwise hold every other request back until it is done.
 *
 * @since 0.1.0
 * @category components
 */
export const pendingListInSlices = (
  pending: ReadonlyArray<Pending>,
  csrf: string,
  paged = false,
  viewer?: Wire.Reviewer
): Effect.Effect<Html> =>
  Effect.gen(function*() {
    const slices: Array<Html> = []
    for (let i = 0; i < pending.length; i += cardSlice) {
      if (i > 0) yield* yieldToEventLoop
      slices.push(join(pending.slice(i, i + cardSlice).map((p) => pendingCard(p, csrf, "queue", viewer))))
    }
    return pendingListOf(pending.length, slices, paged)
  })

/**
 * The queue: pending leashes (live), the latest decisions, and the latest trails.
 *
 * @since 0.1.0
 * @category pages
 */
export const queue = (options: {
  readonly pending: ReadonlyArray<Pending>
  /** The pending list rendered already (`pendingListInSlices`); else it is rendered here. */
  readonly pendingList?: Html | undefined
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
  ${options.pendingList ?? pendingList(options.pending, options.csrf, options.paged === true)}
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

const changeValue = (value: unknown): Html => html`<pre class="json small">${Format.json(value)}</pre>`

/**
 * What a reviewer's modification changed: one row per change (where, what it was, what it is
 * now), from a structural diff of the two documents (`JsonDiff`, linear in their size).
 *
 * @since 0.1.0
 * @category components
 */
export const changes = (before: unknown, after: unknown): Html => {
  const { changes } = JsonDiff.diff(before, after)
  if (changes.length === 0) {
    return html`<p class="muted" data-diff>The modified payload is the same as the one the agent asked for.</p>`
  }
  return html`<table class="table diff" data-diff aria-label="What changed">
  <thead><tr><th>Where</th><th>Was</th><th>Now</th></tr></thead>
  <tbody>${
    changes.map((c) =>
      html`<tr class="change change-${c._tag.toLowerCase()}">
    <td><code class="path">${JsonDiff.formatPath(c.path)}</code></td>
    <td>${c._tag === "Added" ? html`<span class="what">(not there: added)</span>` : changeValue(c.before)}</td>
    <td>${c._tag === "Removed" ? html`<span class="what">(removed)</span>` : changeValue(c.after)}</td>
  </tr>`
    )
  }</tbody>
</table>`
}

/**
 * A leash's page: what it asked, whole, and its decision (what a modification changed), or the
 * forms while it waits. The payload is rendered once and offered whole as the start of a
 * modification, unless its SDK cut values in it, which the page says plainly.
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
  /** A pending leash that needs several approvals: its approvals, the payload under review and its round. */
  readonly approvals?: (Progress & { readonly round: number; readonly payload: unknown }) | undefined
  /** The reviewer looking at the page. */
  readonly viewer?: Wire.Reviewer | undefined
}): Html => {
  const r = options.request
  const d = options.decision
  const progress = d === undefined ? options.approvals : undefined
  const modified = progress !== undefined && modifiedUnderReview(progress)
  const mine = options.viewer !== undefined && progress !== undefined && hasApproved(progress.approvals, options.viewer)
  const underReview = modified ? progress!.payload : r.payload
  // The whole payload, written as JSON text once (this page is the only one that reads it).
  const json = Format.json(r.payload)
  const cut = Cut.find(r.payload)
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
    ${progress === undefined ? "" : approvalsSoFar(progress, options.viewer)}
    ${
      modified
        ? html`<h3>${progress!.approvals[0]!.reviewer.name} modified the payload: approving approves this</h3>
    ${changes(r.payload, underReview)}
    <pre class="json" data-under-review>${Format.json(underReview)}</pre>`
        : ""
    }
    <div class="decision-forms">${
      decisionForms(
        options.leashId,
        modified ? wholeBase(underReview) : wholeBase(r.payload, json),
        options.csrf,
        "leash",
        { approve: !mine, round: progress?.round ?? 0 }
      )
    }</div>
  </section>`
    : html`<section class="card decided decision-${d.decision}" aria-labelledby="decision-title">
    <h2 id="decision-title">${decisionPill(d.decision)} by ${decider(d.decidedBy)}</h2>
    <dl class="facts">
      <dt>Reason</dt><dd class="reason">${d.reason === "" ? "—" : d.reason}</dd>
      ${
      d.approvers === undefined || d.approvers.length < 2 ? "" : html`<dt>Approved by</dt><dd data-approvers>${
        d.approvers.map((a) => a.name).join(", ")
      }</dd>`
    }
      <dt>Decided</dt><dd>${Format.time(d.decidedAt)}</dd>
      <dt>Waited</dt><dd>${Format.duration(d.decidedAt.getTime() - options.createdAt.getTime())}</dd>
    </dl>
    ${
      d.modifiedPayload === undefined ? "" : html`<h3>What the reviewer changed</h3>
    ${changes(r.payload, d.modifiedPayload)}
    <details class="payload">
      <summary>The whole payload the agent was told to use</summary>
      <pre class="json" data-modified-payload>${Format.json(d.modifiedPayload)}</pre>
    </details>`
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
  ${signals(r.riskSignals, { whole: true })}
  <h2>Payload <span class="small muted" data-payload-whole>${
    cut.count === 0 ? "whole, in the order the agent sent it" : "as the agent's SDK sent it"
  } · ${Format.bytes(Wire.jsonBytes(r.payload))}</span></h2>
  ${cutNotice(cut)}
  <pre class="json" data-payload>${json}</pre>
</section>
${decided}`
}
