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
import { decider, decisionPill } from "./LeashViews.js"

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
 * The trails page.
 *
 * @since 0.1.0
 * @category pages
 */
export const trailsPage = (trails: ReadonlyArray<Wire.TrailSummary>): Html =>
  html`<section>
  <h1>Trails <span class="live-dot" data-live-status>live</span></h1>
  <p class="muted">Every agent run, newest first. Open one to see its steps, decisions and flags.</p>
  <div data-trails="100">${trailsTable(trails)}</div>
</section>`

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
  facts: ReadonlyMap<string, LeashFacts>
): Html => {
  const s = node.step
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
      ${s.model === undefined ? "" : html`<span class="pill model" title="the model this step called">${s.model.provider} · ${s.model.name}</span>`}
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
      ${
    s.tokens === undefined || (s.tokens.cachedInput === undefined && s.tokens.reasoning === undefined) ? "" : html`<p class="small tokens-detail">tokens: ${Format.tokens(s.tokens)}${
      s.tokens.cachedInput === undefined ? "" : html` · ${Format.count(s.tokens.cachedInput)} cached input`
    }${s.tokens.reasoning === undefined ? "" : html` · ${Format.count(s.tokens.reasoning)} reasoning`}</p>`
  }
      <div class="blocks">
        ${block("Input", s.input)}
        ${block("Output", s.output)}
      </div>
      ${s.events.length === 0 ? "" : html`<div class="block"><h4>Events</h4>${events(s.events)}</div>`}
      <p class="small muted">step <code>${s.id}</code> · started ${Format.time(s.startedAt)}</p>
    </div>
  </details>
  ${node.children.length === 0 ? "" : html`<ol class="steps">${node.children.map((c) => stepRow(c, span, flagsByStep, facts))}</ol>`}
</li>`
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
}): Html => {
  const { flags, steps, trail } = options.detail
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
    <li><span class="k">steps</span> ${Format.count(steps.length)}</li>
    <li><span class="k">leashes</span> ${Format.count(reviews.length)}</li>
    <li><span class="k">cost</span> ${cost === undefined ? "—" : Format.usd(cost)}</li>
    <li><span class="k">tokens</span> ${Format.tokens(trail.tokens)}</li>
    <li class="${flags.length > 0 ? "bad" : "good"}"><span class="k">flags</span> ${Format.count(flags.length)}</li>
  </ul>`
  const flagBanner = flags.length === 0 ? "" : html`<section class="card flags-banner" aria-labelledby="flags-title">
  <h2 id="flags-title">⚑ ${Format.plural(flags.length, "flag")}: this agent went around the gate</h2>
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
  <h2 id="steps-title">Steps</h2>
  <p class="legend small muted">${
    Wire.StepLayer.literals.map((l) => html`<span class="layer layer-${l}">${l}</span> `)
  }· bars place each step on the trail's timeline</p>
  ${steps.length === 0 ? html`<p class="muted">No steps have arrived.</p>` : html`<ol class="steps root">${
    tree(steps).map((n) => stepRow(n, span, flagsByStep, options.facts))
  }</ol>`}
</section>`
}
