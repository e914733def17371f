/**
 * How trails look: the list, and a trail's page, built to be read at a glance.
 *
 * A trail's page opens with what matters most: its status, totals and any bypass flag, then the
 * run's input and output, then its steps as a tree (children under their parent, in `seq`
 * order). Each step is one row (layer, name, status, a bar placing it on the trail's timeline,
 * duration, cost, tokens) that opens onto its input, output, events and error. A review step
 * shows the gate's decision, who decided and when, and the agent's claim beside it when they
 * differ; a flagged step is marked red and says why.
 *
 * @since 0.1.0
 */
import * as Wire from "houndsight/wire"
import * as Cut from "./Cut.js"
import * as Format from "./Format.js"
import { type Html, html, join, url } from "./Html.js"
import { decider, decisionPill, previewText } from "./LeashViews.js"
import * as ModelViews from "./ModelViews.js"
import type { BlockPreview, StepPreview } from "./Queries.js"
import * as StepTree from "./StepTree.js"

/**
 * What the gate holds of a review step's leash: the trail and action it was created for, its
 * decision (`undefined`: pending), who decided and when.
 *
 * @since 0.1.0
 * @category models
 */
export interface LeashFacts {
  readonly trailId: string
  readonly actionName: string
  readonly decision: Wire.GateDecision["decision"] | undefined
  readonly decidedBy: string | undefined
  /** Epoch milliseconds. */
  readonly decidedAt: number | undefined
}

/** The gate's record of a review step's leash, when it holds it for this trail and action. */
const heldFor = (step: Wire.StepRecord, facts: LeashFacts | undefined): LeashFacts | undefined =>
  facts !== undefined && facts.trailId === step.trailId && facts.actionName === step.name ? facts : undefined

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
  },
  unverified_review: {
    title: "unverified review",
    meaning: "recorded an approval the gate's own leash record does not confirm, so it counts as no approval"
  }
}

const statusPill = (status: string): Html => html`<span class="pill status-${status}">${status}</span>`

/** How many tags a row of the trails list shows, and how much of each value. */
const listTags = { count: 6, chars: 60 }

/**
 * A trail's tags, in the order the agent gave them, as `key value` chips (nothing when none).
 * `brief` (the trails list) shows the first few, keys and values cut with `…` (the chip says so
 * on hover; the row stays bounded), then how many more the trail's page shows.
 *
 * @since 0.1.0
 * @category components
 */
export const tagList = (tags: Readonly<Record<string, string>> | undefined, brief = false): Html => {
  const entries = tags === undefined ? [] : Object.entries(tags)
  if (entries.length === 0) return html``
  const shown = brief ? entries.slice(0, listTags.count) : entries
  const more = entries.length - shown.length
  return html`<ul class="tags${brief ? " small" : ""}" aria-label="Tags">${
    shown.map(([k, v]) => {
      const cut = brief && (k.length > listTags.chars || v.length > listTags.chars)
      return html`<li class="tag"${cut ? html` title="cut here: the trail's page shows it whole" data-cut` : ""}><span class="k">${Format.brief(k, brief ? listTags.chars : Infinity)}</span> <span class="v">${
        Format.brief(v, brief ? listTags.chars : Infinity)
      }</span></li>`
    })
  }${more > 0 ? html`<li class="tag more">+${Format.count(more)} more</li>` : ""}</ul>`
}

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
    <td><a href="${url`/trails/${t.id}`}" class="strong">${t.agent}</a>${tagList(t.tags, true)}</td>
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

/**
 * The status marks are the dashboard's own icons (inline SVG drawn in `currentColor`), not
 * font glyphs: `⏸` and its kin render as an empty box in many common fonts.
 */
const icons = {
  ok: html`<svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M3 8.5l3.2 3.2L13 4.8" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"></path></svg>`,
  error: html`<svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><path d="M4 4l8 8M12 4l-8 8" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"></path></svg>`,
  interrupted: html`<svg class="icon" viewBox="0 0 16 16" aria-hidden="true"><rect x="3.5" y="3" width="3" height="10" rx="1" fill="currentColor"></rect><rect x="9.5" y="3" width="3" height="10" rx="1" fill="currentColor"></rect></svg>`
} as const

const statusMark = (status: Wire.StepRecord["status"]): Html =>
  html`<span class="mark ${status}" title="${status}" role="img" aria-label="${status}">${icons[status]}</span>`

const events = (list: ReadonlyArray<Wire.Event>): Html =>
  html`<ol class="events">${
    list.map((e) =>
      html`<li><span class="event-name">${e.name}</span> <span class="small muted">${Format.time(e.at)}</span>${
        Object.keys(e.attributes).length === 0 ? "" : html`<pre class="json small">${Format.json(e.attributes)}</pre>`
      }</li>`
    )
  }</ol>`

/** The plain word above a block whose SDK cut values in it (nothing when it cut none). */
const sdkCutNotice = (cut: Cut.Found): Html | "" =>
  cut.count === 0 ? "" : html`<p class="notice small" data-sdk-cut>Cut by the agent's SDK before sending: ${
    Format.plural(cut.count, "value")
  } (${cut.paths.join(", ")}${cut.count > cut.paths.length ? ", …" : ""}) end with a marker; the rest of each was not recorded.</p>`

/** A value in a block, with a plain word above it when its SDK cut values in it. */
const block = (title: string, value: unknown): Html =>
  value === undefined
    ? html``
    : html`<div class="block"><h4>${title}</h4>${sdkCutNotice(Cut.find(value))}<pre class="json">${Format.json(value)}</pre></div>`

/**
 * A model step with its input and output, for its conversation view: the record itself when the
 * page read it whole, the record with its previews parsed back when both are whole, and
 * `undefined` (the blocks only, with their link to the step's own page, which shows the
 * conversation) when a preview is cut.
 */
const modelRecord = (s: Wire.StepRecord, preview: StepPreview | undefined): Wire.StepRecord | undefined => {
  if (preview === undefined) return s
  if (s.model === undefined || preview.input === undefined || preview.input.cut) return undefined
  if (preview.output !== undefined && preview.output.cut) return undefined
  try {
    const input: unknown = JSON.parse(preview.input.text)
    const output: unknown = preview.output === undefined ? undefined : JSON.parse(preview.output.text)
    return { ...s, input, ...(output === undefined ? {} : { output }) }
  } catch {
    return undefined
  }
}

/** A block of a step from its preview, cut ones marked, with a link to the step's own page. */
const previewBlock = (title: string, preview: BlockPreview | undefined, whole: string): Html =>
  preview === undefined
    ? html``
    : html`<div class="block"><h4>${title}</h4>${sdkCutNotice(preview.sdkCut)}<pre class="json">${previewText(preview)}</pre>${
      preview.cut
        ? html`<p class="notice cut small" data-preview-cut>Cut: the first ${
          Format.count(preview.text.length)
        } characters of ${Format.bytes(preview.bytes)}. <a href="${whole}">The whole step</a>.</p>`
        : ""
    }</div>`

/** A review step's decision as the gate holds it: `unverified` when the gate does not hold its leash for it. */
const gateDecision = (step: Wire.StepRecord, facts: ReadonlyMap<string, LeashFacts>): string => {
  const held = step.leash === undefined ? undefined : heldFor(step, facts.get(step.leash.leashId))
  return held === undefined ? "unverified" : held.decision ?? "pending"
}

/**
 * A review step's decision as the gate holds it, and the agent's claim beside it when they
 * differ (v1.1). A claim the gate does not back is never shown as a reviewer's decision.
 */
const reviewFacts = (step: Wire.StepRecord, facts: LeashFacts | undefined): Html => {
  const leash = step.leash
  if (leash === undefined) return html``
  const held = heldFor(step, facts)
  const claim = html`<span class="claim">the agent's record claims ${decisionPill(leash.decision)} “${leash.reason}”</span>`
  const link = html`<a class="small" href="${url`/leashes/${leash.leashId}`}">leash page</a>`
  if (held === undefined) {
    const why = facts === undefined
      ? "The gate holds no leash with this id"
      : `The gate's leash with this id is for ${facts.trailId === step.trailId ? "another action" : "another trail"}`
    return html`<div class="review-box unverified">
    <span><strong>${why}</strong>: no reviewer decided this step.</span>
    ${claim}
    ${facts === undefined ? "" : link}
  </div>`
  }
  const decision = held.decision ?? "pending"
  return html`<div class="review-box decision-${decision}">
    ${decisionPill(decision)}
    <span>${
    held.decision === undefined
      ? "still pending at the gate"
      : held.decidedBy === undefined
      ? "decided"
      : html`by <strong>${decider(held.decidedBy)}</strong>`
  }${held.decidedAt === undefined ? "" : html` at ${Format.time(held.decidedAt)}`}</span>
    ${held.decision === leash.decision ? html`<span class="reason">“${leash.reason}”</span>` : claim}
    ${link}
  </div>`
}

/** What a page of steps knows beyond its steps: their previews, and which absent parents exist on other pages. */
interface PageContext {
  readonly previews: ReadonlyMap<string, StepPreview> | undefined
  /** Parent ids not on this page that the trail holds (on another page of its steps). */
  readonly elsewhere: ReadonlySet<string>
}

const stepDetails = (
  row: StepTree.Row,
  span: Span,
  flagsByStep: ReadonlyMap<string, ReadonlyArray<Wire.Flag>>,
  facts: ReadonlyMap<string, LeashFacts>,
  page: PageContext
): Html => {
  const s = row.step
  const previews = page.previews
  const preview = previews?.get(s.id)
  const whole = url`/trails/${s.trailId}/steps/${s.id}`
  const flags = flagsByStep.get(s.id) ?? []
  const flagged = flags.length > 0
  const isReview = s.layer === "review" && s.leash !== undefined
  const open = flagged || s.status === "error"
  return html`<details${open ? html` open` : ""}>
    <summary>
      <span class="seq">#${s.seq}</span>
      <span class="layer layer-${s.layer}">${s.layer}</span>
      <span class="name">${s.name}</span>
      ${s.model === undefined ? "" : html`<span class="pill model" title="the model this step called">${s.model.provider} · ${s.model.name}</span>`}
      ${statusMark(s.status)}
      ${isReview ? decisionPill(gateDecision(s, facts)) : ""}
      ${flags.map((f) => html`<span class="pill flag" title="${flagText[f.kind].meaning}">⚑ ${flagText[f.kind].title}</span>`)}
      ${placeMarks(row)}
      ${s.events.length === 0 ? "" : html`<span class="events-count" title="events recorded on this step">${Format.plural(s.events.length, "event")}</span>`}
      <span class="grow"></span>
      ${timeline(s, span)}
      <span class="num dur">${Format.duration(s.endedAt.getTime() - s.startedAt.getTime())}</span>
      <span class="num cost">${s.costUsd === undefined ? "" : Format.usd(s.costUsd)}</span>
      <span class="num tok">${s.tokens === undefined ? "" : Format.tokens(s.tokens)}</span>
    </summary>
    <div class="step-body">
      ${placeNotice(row, page.elsewhere)}
      ${
    flags.map((f) =>
      html`<p class="notice error">⚑ <strong>${flagText[f.kind].title}</strong>: this step ${flagText[f.kind].meaning}${
        f.reviewStepId === undefined ? "" : html` (see <a href="#step-${f.reviewStepId}">the review step</a>)`
      }.</p>`
    )
  }
      ${isReview ? reviewFacts(s, facts.get(s.leash!.leashId)) : ""}
      ${s.error === undefined ? "" : html`<p class="notice error"><strong>${s.error.type}</strong>: ${s.error.message}</p>`}
      ${
    s.tokens === undefined || (s.tokens.cachedInput === undefined && s.tokens.reasoning === undefined) ? "" : html`<p class="small tokens-detail">tokens: ${Format.tokens(s.tokens)}${
      s.tokens.cachedInput === undefined ? "" : html` · ${Format.count(s.tokens.cachedInput)} cached input`
    }${s.tokens.reasoning === undefined ? "" : html` · ${Format.count(s.tokens.reasoning)} reasoning`}</p>`
  }
      ${ModelViews.modelStep(modelRecord(s, preview), html`<div class="blocks">
        ${preview === undefined ? block("Input", s.input) : previewBlock("Input", preview.input, whole)}
        ${preview === undefined ? block("Output", s.output) : previewBlock("Output", preview.output, whole)}
      </div>`)}
      ${s.events.length === 0 ? "" : html`<div class="block"><h4>Events</h4>${events(s.events)}</div>`}
      ${preview?.events === undefined ? "" : previewBlock("Events", preview.events, whole)}
      <p class="small muted">step <code>${s.id}</code>${
    s.parentId === null ? "" : html` · parent <code>${s.parentId}</code>`
  } · started ${Format.time(s.startedAt)}</p>
    </div>
  </details>`
}

/** What is odd about a step's place in the tree, on its row. */
const placeMarks = (row: StepTree.Row): Html =>
  html`${
    row.cycle === undefined
      ? ""
      : html`<span class="pill cycle" data-cycle title="the parents of these steps form a cycle">↻ cycle</span>`
  }${
    row.depth > StepTree.maxShownDepth
      ? html`<span class="pill deep" data-depth="${row.depth}" title="nested ${row.depth} levels deep">depth ${
        Format.count(row.depth)
      }</span>`
      : ""
  }`

/** The same, in words, in the step's body. */
const placeNotice = (row: StepTree.Row, elsewhere: ReadonlySet<string>): Html => {
  const s = row.step
  if (row.cycle !== undefined) {
    return html`<p class="notice error">↻ The parents of this step form a cycle: ${
      row.cycle.id === s.id
        ? "it names itself as its parent"
        : html`its parent is <a href="#step-${row.cycle.id}">step #${row.cycle.seq}</a>, which descends from it`
    }. It is shown at the top level, with the rest of the cycle under it.</p>`
  }
  if (row.missingParent !== undefined && elsewhere.has(row.missingParent)) {
    return html`<p class="notice" data-parent-elsewhere>Its parent step <a href="${
      url`/trails/${s.trailId}/steps/${row.missingParent}`
    }"><code>${row.missingParent}</code></a> is on another page of this trail's steps, so it is shown at the top level of this page.</p>`
  }
  if (row.missingParent !== undefined) {
    return html`<p class="notice">Its parent step <code>${row.missingParent}</code> has not arrived, so it is shown at the top level.</p>`
  }
  return html``
}

/**
 * The step rows as nested lists, built by a loop over the laid-out rows (never by recursion:
 * steps may nest thousands deep); past `StepTree.maxShownDepth` levels deeper steps are listed
 * flat, after a marker that says so.
 */
const stepList = (
  rows: ReadonlyArray<StepTree.Row>,
  span: Span,
  flagsByStep: ReadonlyMap<string, ReadonlyArray<Wire.Flag>>,
  facts: ReadonlyMap<string, LeashFacts>,
  page: PageContext
): Html => {
  const out: Array<Html> = [html`<ol class="steps root">`]
  let open = -1
  for (const row of rows) {
    const d = row.shownDepth
    if (open >= 0) {
      if (d > open) out.push(html`<ol class="steps">`)
      else {
        out.push(html`</li>`)
        for (let k = d; k < open; k++) out.push(html`</ol></li>`)
      }
    }
    open = d
    if (row.cutHere) {
      out.push(
        html`<li class="depth-cut" data-depth-cut><p class="notice">The steps below are nested deeper than ${StepTree.maxShownDepth} levels: they are listed flat from here, each with its depth.</p></li>`
      )
    }
    const s = row.step
    const flagged = (flagsByStep.get(s.id) ?? []).length > 0
    const classes = ["step", `layer-${s.layer}`, `status-${s.status}`, flagged ? "flagged" : "", row.cycle === undefined ? "" : "cycle"]
      .filter((c) => c !== "").join(" ")
    out.push(html`<li class="${classes}" id="step-${s.id}">
  `, stepDetails(row, span, flagsByStep, facts, page))
  }
  if (open >= 0) {
    out.push(html`</li>`)
    for (let k = 0; k < open; k++) out.push(html`</ol></li>`)
  }
  out.push(html`</ol>`)
  return join(out)
}

/** A trail's model calls, cost and tokens per model (issue 16); nothing when no step called a model. */
const modelTotals = (steps: ReadonlyArray<Wire.StepRecord>): Html | "" => {
  const byModel = new Map<string, { calls: number; input: number; output: number; cost: number; priced: boolean }>()
  for (const s of steps) {
    if (s.model === undefined) continue
    const key = `${s.model.provider} · ${s.model.name}`
    const t = byModel.get(key) ?? { calls: 0, input: 0, output: 0, cost: 0, priced: false }
    t.calls++
    t.input += s.tokens?.input ?? 0
    t.output += s.tokens?.output ?? 0
    if (s.costUsd !== undefined) {
      t.cost += s.costUsd
      t.priced = true
    }
    byModel.set(key, t)
  }
  if (byModel.size === 0) return ""
  return html`<ul class="stats models" aria-label="cost and tokens per model">${
    [...byModel].map(([model, t]) =>
      html`<li><span class="k">${model}</span> ${Format.plural(t.calls, "call")} · ${
        Format.tokens({ input: t.input, output: t.output })
      } · ${t.priced ? Format.usd(t.cost) : "no price"}</li>`
    )
  }</ul>`
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
  ${ModelViews.modelStep(step, html`<div class="blocks">
    ${block("Input", step.input)}
    ${block("Output", step.output)}
  </div>`)}
  ${step.events.length === 0 ? "" : html`<div class="block"><h4>Events</h4>${events(step.events)}</div>`}
</section>`

/** The known depths of the parents on other pages. */
const depthsOf = (parents: ReadonlyMap<string, number | undefined> | undefined): ReadonlyMap<string, number> => {
  const out = new Map<string, number>()
  for (const [id, depth] of parents ?? []) if (depth !== undefined) out.set(id, depth)
  return out
}

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
  /**
   * The parents of this page's steps that are not on this page but the trail holds (on another
   * page), with their depth in the trail when known.
   */
  readonly parentsElsewhere?: ReadonlyMap<string, number | undefined> | undefined
  /** How many leashes the trail's review steps cite, all pages (default: those on this page). */
  readonly leashCount?: number | undefined
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
  // A leash may have more than one review step (a `blocking: false` leash and its
  // `Leash.await`): the tile counts leashes.
  const leashIds = new Set<string>()
  for (const s of steps) if (s.leash !== undefined) leashIds.add(s.leash.leashId)
  const head = trail === null
    ? html`<h1>Trail <code>${options.id}</code></h1>
  <p class="notice">The trail's own record has not arrived yet; its steps are below.</p>`
    : html`<h1>${trail.agent} <span class="muted">·</span> ${trail.trigger} ${statusPill(trail.status)}</h1>
  <ul class="stats">
    <li><span class="k">started</span> ${Format.time(trail.startedAt)}</li>
    <li><span class="k">duration</span> ${trailDuration(trail.startedAt, trail.endedAt)}</li>
    <li><span class="k">steps</span> ${Format.count(stepCount)}</li>
    <li data-stat="leashes"><span class="k">leashes</span> ${Format.count(options.leashCount ?? leashIds.size)}</li>
    <li><span class="k">cost</span> ${cost === undefined ? "—" : Format.usd(cost)}</li>
    <li><span class="k">tokens</span> ${Format.tokens(trail.tokens)}</li>
    <li class="${flagCount > 0 ? "bad" : "good"}"><span class="k">flags</span> ${Format.count(flagCount)}</li>
  </ul>
  ${tagList(trail.tags)}`
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
              : html`, ${decisionPill(gateDecision(stepById.get(f.reviewStepId)!, options.facts))}`
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
  ${modelTotals(steps)}
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
  ${
    steps.length === 0
      ? html`<p class="muted">No steps ${options.paged === true ? "on this page" : "have arrived"}.</p>`
      : stepList(StepTree.layout(steps, StepTree.maxShownDepth, depthsOf(options.parentsElsewhere)), span, flagsByStep, options.facts, {
        previews: options.previews,
        elsewhere: new Set(options.parentsElsewhere?.keys() ?? [])
      })
  }
  <p class="pager">${options.paged === true ? html`<a href="${url`/trails/${options.id}`}">← First steps</a> ` : ""}${
    options.detail.nextCursor === undefined
      ? ""
      : html`<a href="${`${url`/trails/${options.id}`}?cursor=${encodeURIComponent(options.detail.nextCursor)}`}" rel="next" data-next-page>Next steps →</a>`
  }</p>
</section>`
}
