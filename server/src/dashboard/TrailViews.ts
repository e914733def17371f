/**
 * How trails look: the list, and a trail's page, built to be read at a glance.
 *
 * A trail's page opens with what matters most: its status, totals and any bypass flag, then the
 * run's input and output, then its steps as a tree (children under their parent, in `seq`
 * order). Each step is one row (layer, name, status, a bar placing it on the trail's timeline,
 * duration, cost, tokens) that opens onto its input, output, events and error. A review step
 * shows its decision, who decided and when; a flagged step is marked red and says why.
 *
 * @since 0.1.0
 */
import { Wire } from "houndsight"
import * as Format from "./Format.js"
import { type Html, html, url } from "./Html.js"
import { decider, decisionPill, previewText, size } from "./LeashViews.js"
import type { BlockPreview, StepPreview } from "./Queries.js"

/**
 * What the gate knows of a review step's leash: who decided and when.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeashFacts {
  readonly decidedBy: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number | undefined
}

/**
 * What each flag kind means, in a reviewer's words.
 *
 * @since 0.1.0
 * @category constants
 */
export const flagText: Record<Wire.FlagKind, { readonly title: string; readonly meaning: string }> = {
  unleashed_action: {
    title: "unleashed action",
    meaning: "ran a sensitive action without asking the gate"
  },
  ignored_decision: {
    title: "ignored decision",
    meaning: "ran the action after the gate said no"
  },
  reused_approval: {
    title: "reused approval",
    meaning: "ran the action again on an approval that was already used"
  }
}

const statusPill = (status: string): Html => html`<span class="pill status-${status}">${status}</span>`

const trailDuration = (startedAt: Date, endedAt: Date | undefined): string =>
  endedAt === undefined ? "running" : Format.duration(endedAt.getTime() - startedAt.getTime())

/**
 * The table of trails.
 *
 * @since 0.1.0
 * @category components
 */
export const trailsTable = (trails: ReadonlyArray<Wire.TrailSummary>): Html => {
  if (trails.length === 0) {
    return html`<p class="muted">No trails yet. They appear here as agents send them.</p>`
  }
  return html`<table class="table trails">
  <thead><tr><th>Status</th><th>Agent</th><th>Trigger</th><th>Started</th><th class="num">Duration</th><th class="num">Steps</th><th class="num">Cost</th><th class="num">Tokens</th><th>Flags</th></tr></thead>
  <tbody>${
    trails.map((t) =>
      html`<tr${t.flagCount > 0 ? html` class="flagged"` : ""}>
    <td>${statusPill(t.status)}</td>
    <td><a href="${url`/trails/${t.id}`}" class="strong">${t.agent}</a></td>
    <td>${t.trigger}</td>
    <td>${Format.time(t.startedAt)}</td>
    <td class="num">${trailDuration(t.startedAt, t.endedAt)}</td>
    <td class="num">${Format.count(t.stepCount)}</td>
    <td class="num">${t.costUsd === undefined ? "—" : Format.usd(t.costUsd)}</td>
    <td class="num">${Format.tokens(t.tokens)}</td>
    <td>${t.flagCount > 0 ? html`<span class="pill flag">⚑ ${Format.count(t.flagCount)}</span>` : ""}</td>
  </tr>`
    )
  }</tbody>
</table>`
}

/**
 * The filters of the trails page, as the query string holds them (each one optional).
 *
 * @since 0.1.0
 * @category models
 */
export interface TrailFilters {
  readonly agent?: string | undefined
  readonly status?: string | undefined
  readonly trigger?: string | undefined
  readonly flagged?: string | undefined
  readonly tag?: string | undefined
  readonly from?: string | undefined
  readonly to?: string | undefined
}

/** The names of the filters, in the order the form shows them. */
const filterNames = ["agent", "status", "trigger", "flagged", "tag", "from", "to"] as const

/**
 * The query string of `filters` (and `extra` parameters), for links and the live view.
 *
 * @since 0.1.0
 * @category utils
 */
export const filterQuery = (filters: TrailFilters, extra: Record<string, string> = {}): string => {
  const params = new URLSearchParams()
  for (const name of filterNames) {
    const value = filters[name]
    if (value !== undefined && value !== "") params.set(name, value)
  }
  for (const [k, v] of Object.entries(extra)) params.set(k, v)
  return params.toString()
}

const option = (value: string, label: string, selected: string | undefined): Html =>
  html`<option value="${value}"${selected === value ? html` selected` : ""}>${label}</option>`

const filtersForm = (f: TrailFilters): Html =>
  html`<form method="get" action="/trails" class="filters" data-trail-filters>
  <label>Agent <input type="text" name="agent" value="${f.agent ?? ""}" maxlength="256"></label>
  <label>Status <select name="status">${option("", "any", f.status)}${
    Wire.TrailStatus.literals.map((s) => option(s, s, f.status))
  }</select></label>
  <label>Trigger <input type="text" name="trigger" value="${f.trigger ?? ""}" maxlength="256"></label>
  <label>Flagged <select name="flagged">${option("", "any", f.flagged)}${option("true", "flagged", f.flagged)}${
    option("false", "not flagged", f.flagged)
  }</select></label>
  <label>Tag <input type="text" name="tag" value="${f.tag ?? ""}" placeholder="key or key:value"></label>
  <label>From <input type="text" name="from" value="${f.from ?? ""}" placeholder="2026-11-24T00:00:00.000Z"></label>
  <label>To <input type="text" name="to" value="${f.to ?? ""}" placeholder="2026-11-25T00:00:00.000Z"></label>
  <button type="submit">Filter</button> <a class="small" href="/trails">clear</a>
</form>`

/**
 * The trails page: the filters (kept in the URL), a page of trails, and the link to the next
 * page. The first page follows new records live; a later page stays as it was read.
 *
 * @since 0.1.0
 * @category pages
 */
export const trailsPage = (options: {
  readonly list: Wire.TrailList
  readonly filters: TrailFilters
  readonly limit: number
  /** Set on a later page (read with a cursor). */
  readonly paged: boolean
  /** What was wrong with the filters, if anything (then no trails are listed). */
  readonly error?: string | undefined
}): Html => {
  const { filters, list } = options
  const next = list.nextCursor === undefined
    ? ""
    : html`<p class="pager"><a href="${`/trails?${filterQuery(filters, { cursor: list.nextCursor })}`}" rel="next" data-next-page>Next ${
      Format.count(options.limit)
    } →</a></p>`
  return html`<section>
  <h1>Trails${options.paged ? "" : html` <span class="live-dot" data-live-status>live</span>`}</h1>
  <p class="muted">Every agent run, newest first. Open one to see its steps, decisions and flags.</p>
  ${filtersForm(filters)}
  ${options.error === undefined ? "" : html`<p class="notice error" role="alert">${options.error}</p>`}
  ${
    options.paged
      ? html`<div>${trailsTable(list.trails)}</div><p class="pager"><a href="${`/trails?${filterQuery(filters)}`}">← First page</a></p>`
      : html`<div data-trails="${filterQuery(filters, { limit: String(options.limit) })}">${trailsTable(list.trails)}</div>`
  }
  ${next}
</section>`
}

interface Node {
  readonly step: Wire.StepRecord
  readonly children: Array<Node>
}

/**
 * Steps as a tree: each under its parent, siblings in `seq` order; a step whose parent has not
 * arrived is shown at the top level.
 *
 * @since 0.1.0
 * @category utils
 */
export const tree = (steps: ReadonlyArray<Wire.StepRecord>): ReadonlyArray<Node> => {
  const sorted = [...steps].sort((a, b) => a.seq - b.seq || (a.id < b.id ? -1 : 1))
  const nodes = new Map<string, Node>()
  for (const step of sorted) nodes.set(step.id, { step, children: [] })
  const roots: Array<Node> = []
  for (const step of sorted) {
    const node = nodes.get(step.id)!
    const parent = step.parentId === null ? undefined : nodes.get(step.parentId)
    if (parent === undefined || parent === node) roots.push(node)
    else parent.children.push(node)
  }
  return roots
}

interface Span {
  readonly start: number
  readonly end: number
}

const spanOf = (trail: Wire.TrailRecord | null, steps: ReadonlyArray<Wire.StepRecord>): Span => {
  let start = trail?.startedAt.getTime() ?? Number.POSITIVE_INFINITY
  let end = trail?.endedAt?.getTime() ?? Number.NEGATIVE_INFINITY
  for (const s of steps) {
    start = Math.min(start, s.startedAt.getTime())
    end = Math.max(end, s.endedAt.getTime())
  }
  if (!Number.isFinite(start)) start = 0
  if (!Number.isFinite(end) || end <= start) end = start + 1
  return { start, end }
}

/** The step's place on the trail's timeline, drawn with SVG attributes (no inline style). */
const timeline = (step: Wire.StepRecord, span: Span): Html => {
  const total = span.end - span.start
  const x = Math.max(0, Math.min(100, ((step.startedAt.getTime() - span.start) / total) * 100))
  const w = Math.max(0.6, Math.min(100 - x, ((step.endedAt.getTime() - step.startedAt.getTime()) / total) * 100))
  return html`<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect class="track" x="0" y="3" width="100" height="4" rx="2"></rect><rect class="span layer-${step.layer}" x="${
    x.toFixed(2)
  }" y="1" width="${w.toFixed(2)}" height="8" rx="2"></rect></svg>`
}

const statusMark = (status: Wire.StepRecord["status"]): Html =>
  status === "ok"
    ? html`<span class="mark ok" title="ok">✓</span>`
    : status === "error"
    ? html`<span class="mark error" title="error">✕</span>`
    : html`<span class="mark interrupted" title="interrupted">⏸</span>`

const events = (list: ReadonlyArray<Wire.Event>): Html =>
  html`<ol class="events">${
    list.map((e) =>
      html`<li><span class="event-name">${e.name}</span> <span class="small muted">${Format.time(e.at)}</span>${
        Object.keys(e.attributes).length === 0 ? "" : html`<pre class="json small">${Format.json(e.attributes)}</pre>`
      }</li>`
    )
  }</ol>`

const block = (title: string, value: unknown): Html =>
  value === undefined ? html`` : html`<div class="block"><h4>${title}</h4><pre class="json">${Format.json(value)}</pre></div>`

/** A block of a step from its preview, cut ones marked, with a link to the step's own page. */
const previewBlock = (title: string, preview: BlockPreview | undefined, whole: string): Html =>
  preview === undefined
    ? html``
    : html`<div class="block"><h4>${title}${
      preview.cut ? html` <span class="small muted">${size(preview.bytes)}</span>` : ""
    }</h4><pre class="json">${previewText(preview)}</pre>${
      preview.cut
        ? html`<p class="notice cut small" data-preview-cut>Cut: the first ${
          Format.count(preview.text.length)
        } characters of ${size(preview.bytes)}. <a href="${whole}">The whole step</a>.</p>`
        : ""
    }</div>`

const reviewFacts = (step: Wire.StepRecord, facts: LeashFacts | undefined): Html => {
  const leash = step.leash
  if (leash === undefined) return html``
  return html`<div class="review-box decision-${leash.decision}">
    ${decisionPill(leash.decision)}
    <span>${
    facts?.decidedBy === undefined
      ? leash.decision === "timeout" || leash.decision === "error" || leash.decision === "async"
        ? "as the agent recorded it"
        : "decided"
      : html`by <strong>${decider(facts.decidedBy)}</strong>`
  }${facts?.decidedAt === undefined ? "" : html` at ${Format.time(facts.decidedAt)}`}</span>
    <span class="reason">“${leash.reason}”</span>
    <a class="small" href="${url`/leashes/${leash.leashId}`}">leash page</a>
  </div>`
}

const stepRow = (
  node: Node,
  span: Span,
  flagsByStep: ReadonlyMap<string, ReadonlyArray<Wire.Flag>>,
  facts: ReadonlyMap<string, LeashFacts>,
  previews: ReadonlyMap<string, StepPreview> | undefined
): Html => {
  const s = node.step
  const preview = previews?.get(s.id)
  const whole = url`/trails/${s.trailId}/steps/${s.id}`
  const flags = flagsByStep.get(s.id) ?? []
  const flagged = flags.length > 0
  const isReview = s.layer === "review" && s.leash !== undefined
  const open = flagged || s.status === "error"
  const classes = ["step", `layer-${s.layer}`, `status-${s.status}`, flagged ? "flagged" : ""].filter((c) => c !== "")
    .join(" ")
  return html`<li class="${classes}" id="step-${s.id}">
  <details${open ? html` open` : ""}>
    <summary>
      <span class="seq">#${s.seq}</span>
      <span class="layer layer-${s.layer}">${s.layer}</span>
      <span class="name">${s.name}</span>
      ${statusMark(s.status)}
      ${isReview ? decisionPill(s.leash!.decision) : ""}
      ${flags.map((f) => html`<span class="pill flag" title="${flagText[f.kind].meaning}">⚑ ${flagText[f.kind].title}</span>`)}
      ${s.events.length === 0 ? "" : html`<span class="events-count" title="events recorded on this step">${Format.plural(s.events.length, "event")}</span>`}
      <span class="grow"></span>
      ${timeline(s, span)}
      <span class="num dur">${Format.duration(s.endedAt.getTime() - s.startedAt.getTime())}</span>
      <span class="num cost">${s.costUsd === undefined ? "" : Format.usd(s.costUsd)}</span>
      <span class="num tok">${s.tokens === undefined ? "" : Format.tokens(s.tokens)}</span>
    </summary>
    <div class="step-body">
      ${
    flags.map((f) =>
      html`<p class="notice error">⚑ <strong>${flagText[f.kind].title}</strong>: this step ${flagText[f.kind].meaning}${
        f.reviewStepId === undefined ? "" : html` (see <a href="#step-${f.reviewStepId}">the review step</a>)`
      }.</p>`
    )
  }
      ${isReview ? reviewFacts(s, facts.get(s.leash!.leashId)) : ""}
      ${s.error === undefined ? "" : html`<p class="notice error"><strong>${s.error.type}</strong>: ${s.error.message}</p>`}
      <div class="blocks">
        ${preview === undefined ? block("Input", s.input) : previewBlock("Input", preview.input, whole)}
        ${preview === undefined ? block("Output", s.output) : previewBlock("Output", preview.output, whole)}
      </div>
      ${s.events.length === 0 ? "" : html`<div class="block"><h4>Events</h4>${events(s.events)}</div>`}
      ${preview?.events === undefined ? "" : previewBlock("Events", preview.events, whole)}
      <p class="small muted">step <code>${s.id}</code> · started ${Format.time(s.startedAt)}</p>
    </div>
  </details>
  ${node.children.length === 0 ? "" : html`<ol class="steps">${node.children.map((c) => stepRow(c, span, flagsByStep, facts, previews))}</ol>`}
</li>`
}

/**
 * The page of a trail the server holds no record or step of (contract v1.1: the SDK links it for
 * a leash that never reached the server): it says so, and lists the leashes the server holds
 * for that trail.
 *
 * @since 0.1.0
 * @category pages
 */
export const unknownTrailPage = (options: {
  readonly id: string
  readonly leashes: ReadonlyArray<{
    readonly leashId: string
    readonly actionName: string
    readonly actionSummary: string
    readonly agent: string
    readonly status: "pending" | "decided"
    readonly decision: string | undefined
    readonly createdAt: number
  }>
}): Html =>
  html`<p class="crumbs small muted"><a href="/trails">Trails</a> › <code>${options.id}</code></p>
<section class="trail-head" data-unknown-trail>
  <h1>Trail <code>${options.id}</code></h1>
  <p class="notice">This server holds no record of trail ${options.id}: neither the trail nor any of its steps has arrived. An agent's records arrive within a second or two of being made, so reload in a moment. If the agent could not reach this server, or the request was refused before it was stored, nothing of it will arrive: the agent's own log and its Decision's reason say why.</p>
</section>
<section class="card" aria-labelledby="trail-leashes-title">
  <h2 id="trail-leashes-title">Leashes of this trail on this server</h2>
  ${
    options.leashes.length === 0
      ? html`<p class="muted">None: no leash of this trail reached this server.</p>`
      : html`<table class="table">
  <thead><tr><th>Action</th><th>Agent</th><th>State</th><th>Asked</th></tr></thead>
  <tbody>${
        options.leashes.map((l) =>
          html`<tr>
    <td><a href="${url`/leashes/${l.leashId}`}" class="action">${l.actionName}</a><div class="small muted">${
            Format.brief(l.actionSummary, 80)
          }</div></td>
    <td>${l.agent}</td>
    <td>${l.decision === undefined ? html`<span class="pill pending">waiting</span>` : decisionPill(l.decision)}</td>
    <td>${Format.time(l.createdAt)}</td>
  </tr>`
        )
      }</tbody>
</table>`
  }
</section>`

/**
 * A step's own page: the step whole (its input, output and events uncut), under its trail.
 *
 * @since 0.1.0
 * @category pages
 */
export const stepPage = (step: Wire.StepRecord): Html =>
  html`<p class="crumbs small muted"><a href="/trails">Trails</a> › <a href="${url`/trails/${step.trailId}`}"><code>${step.trailId}</code></a> › step #${step.seq}</p>
<section class="card" aria-labelledby="step-title">
  <h1 id="step-title"><span class="layer layer-${step.layer}">${step.layer}</span> ${step.name} ${statusMark(step.status)}</h1>
  <p class="small muted">step <code>${step.id}</code> · started ${Format.time(step.startedAt)} · ${
    Format.duration(step.endedAt.getTime() - step.startedAt.getTime())
  }</p>
  ${step.error === undefined ? "" : html`<p class="notice error"><strong>${step.error.type}</strong>: ${step.error.message}</p>`}
  <div class="blocks">
    ${block("Input", step.input)}
    ${block("Output", step.output)}
  </div>
  ${step.events.length === 0 ? "" : html`<div class="block"><h4>Events</h4>${events(step.events)}</div>`}
</section>`

/**
 * A trail's page.
 *
 * @since 0.1.0
 * @category pages
 */
export const trailPage = (options: {
  readonly id: string
  readonly detail: Wire.TrailDetail
  /** Who decided each review step's leash, by leash id. */
  readonly facts: ReadonlyMap<string, LeashFacts>
  /** Set on a later page of the steps (read with a cursor). */
  readonly paged?: boolean | undefined
  /** Previews of the steps' input, output and events, when the steps were read without them. */
  readonly previews?: ReadonlyMap<string, StepPreview> | undefined
}): Html => {
  const { flags, steps, trail } = options.detail
  const stepCount = options.detail.stepCount ?? steps.length
  const flagCount = options.detail.flagCount ?? flags.length
  const span = spanOf(trail, steps)
  const flagsByStep = new Map<string, Array<Wire.Flag>>()
  for (const f of flags) flagsByStep.set(f.stepId, [...(flagsByStep.get(f.stepId) ?? []), f])
  const stepById = new Map(steps.map((s) => [s.id, s]))
  const cost = trail?.costUsd ?? (steps.some((s) => s.costUsd !== undefined)
    ? steps.reduce((sum, s) => sum + (s.costUsd ?? 0), 0)
    : undefined)
  const reviews = steps.filter((s) => s.leash !== undefined)
  const head = trail === null
    ? html`<h1>Trail <code>${options.id}</code></h1>
  <p class="notice">The trail's own record has not arrived yet; its steps are below.</p>`
    : html`<h1>${trail.agent} <span class="muted">·</span> ${trail.trigger} ${statusPill(trail.status)}</h1>
  <ul class="stats">
    <li><span class="k">started</span> ${Format.time(trail.startedAt)}</li>
    <li><span class="k">duration</span> ${trailDuration(trail.startedAt, trail.endedAt)}</li>
    <li><span class="k">steps</span> ${Format.count(stepCount)}</li>
    <li><span class="k">leashes</span> ${Format.count(reviews.length)}</li>
    <li><span class="k">cost</span> ${cost === undefined ? "—" : Format.usd(cost)}</li>
    <li><span class="k">tokens</span> ${Format.tokens(trail.tokens)}</li>
    <li class="${flagCount > 0 ? "bad" : "good"}"><span class="k">flags</span> ${Format.count(flagCount)}</li>
  </ul>`
  const flagBanner = flagCount === 0 ? "" : html`<section class="card flags-banner" aria-labelledby="flags-title">
  <h2 id="flags-title">⚑ ${Format.plural(flagCount, "flag")}: this agent went around the gate</h2>
  ${
    flagCount > flags.length
      ? html`<p class="small muted">${Format.plural(flags.length, "flag")} on this page of steps; <a href="${url`/flags?trail_id=${options.id}`}">all of this trail's flags</a>.</p>`
      : ""
  }
  <ul>${
    flags.map((f) => {
      const step = stepById.get(f.stepId)
      return html`<li><strong>${flagText[f.kind].title}</strong>: <a href="#step-${f.stepId}">step #${f.seq} <code>${f.actionName}</code></a> ${
        flagText[f.kind].meaning
      }${
        f.reviewStepId === undefined
          ? ""
          : html` (review: <a href="#step-${f.reviewStepId}">step #${stepById.get(f.reviewStepId)?.seq ?? "?"}</a>${
            stepById.get(f.reviewStepId)?.leash === undefined
              ? ""
              : html`, ${decisionPill(stepById.get(f.reviewStepId)!.leash!.decision)}`
          })`
      }${step?.status === "error" ? " — the step failed" : ""}.</li>`
    })
  }</ul>
</section>`
  const running = trail === null || trail.status === "running"
  return html`<p class="crumbs small muted"><a href="/trails">Trails</a> › <code>${options.id}</code></p>
${
    running
      ? html`<p class="notice" data-updated hidden>New records have arrived. <a href="${url`/trails/${options.id}`}">Reload</a> to see them.</p>`
      : ""
  }
<section class="trail-head">
  ${head}
</section>
${flagBanner}
${
    trail === null ? "" : html`<section class="blocks io">
  ${block("Input (trigger payload)", trail.payload)}
  ${block("Output", trail.output)}
</section>
${trail.events.length === 0 ? "" : html`<section class="block"><h4>Trail events</h4>${events(trail.events)}</section>`}`
  }
<section class="card steps-card" aria-labelledby="steps-title">
  <h2 id="steps-title">Steps${
    stepCount > steps.length || options.paged === true
      ? html` <span class="small muted" data-steps-page>${Format.count(steps.length)} of ${Format.count(stepCount)}${
        steps.length === 0 ? "" : html`: #${steps[0]!.seq} to #${steps[steps.length - 1]!.seq}`
      }</span>`
      : ""
  }</h2>
  <p class="legend small muted">${
    Wire.StepLayer.literals.map((l) => html`<span class="layer layer-${l}">${l}</span> `)
  }· bars place each step on the trail's timeline</p>
  ${steps.length === 0 ? html`<p class="muted">No steps ${options.paged === true ? "on this page" : "have arrived"}.</p>` : html`<ol class="steps root">${
    tree(steps).map((n) => stepRow(n, span, flagsByStep, options.facts, options.previews))
  }</ol>`}
  <p class="pager">${options.paged === true ? html`<a href="${url`/trails/${options.id}`}">← First steps</a> ` : ""}${
    options.detail.nextCursor === undefined
      ? ""
      : html`<a href="${`${url`/trails/${options.id}`}?cursor=${encodeURIComponent(options.detail.nextCursor)}`}" rel="next" data-next-page>Next steps →</a>`
  }</p>
</section>`
}
