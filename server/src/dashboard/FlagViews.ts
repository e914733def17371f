/**
 * The flags page: every action an agent took around the gate, and every review step whose
 * approval the gate's own record does not confirm (v1.1), newest trail first, with what each
 * kind of flag means and links to the exact step.
 *
 * @since 0.1.0
 */
import type * as Wire from "houndsight/wire"
import * as Format from "./Format.js"
import { type Html, html, url } from "./Html.js"
import { flagText } from "./TrailViews.js"

/**
 * The flags page.
 *
 * @since 0.1.0
 * @category pages
 */
export const flagsPage = (
  flags: ReadonlyArray<Wire.Flag>,
  trails: ReadonlyMap<string, Wire.TrailSummary>
): Html =>
  html`<section>
  <h1>Flags</h1>
  <p class="notice" data-updated hidden>The flags have changed. <a href="/flags">Reload</a> to see them.</p>
  <p class="muted">The server's audit (the authoritative one) reads every trail's steps in order, checks every review step's approval against the gate's own leash record, and flags what went around the gate:</p>
  <ul class="kinds">${
    (Object.keys(flagText) as Array<Wire.FlagKind>).map((k) =>
      html`<li><span class="pill flag">⚑ ${flagText[k].title}</span> the agent ${flagText[k].meaning}</li>`
    )
  }</ul>
  ${
    flags.length === 0
      ? html`<p class="notice good">No flags: every sensitive action asked the gate and kept to its answer.</p>`
      : html`<table class="table flags">
  <thead><tr><th>Flag</th><th>Action</th><th>Step</th><th>Trail</th><th>Review</th></tr></thead>
  <tbody>${
        flags.map((f) => {
          const trail = trails.get(f.trailId)
          const trailLink = url`/trails/${f.trailId}`
          return html`<tr class="flagged">
    <td><span class="pill flag" title="${flagText[f.kind].meaning}">⚑ ${flagText[f.kind].title}</span></td>
    <td><code>${f.actionName}</code></td>
    <td><a href="${trailLink}#step-${f.stepId}">step #${f.seq}</a></td>
    <td><a href="${trailLink}">${trail === undefined ? f.trailId : html`${trail.agent} · ${trail.trigger}`}</a>${
            trail === undefined ? "" : html`<div class="small muted">${Format.time(trail.startedAt)}</div>`
          }</td>
    <td>${
            f.kind === "unverified_review"
              ? html`<span class="muted">this review step: the gate never gave that approval</span>`
              : f.reviewStepId === undefined
              ? html`<span class="muted">none: the gate was never asked</span>`
              : html`<a href="${trailLink}#step-${f.reviewStepId}">review step</a>`
          }</td>
  </tr>`
        })
      }</tbody>
</table>`
  }
</section>`
