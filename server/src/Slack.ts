/**
 * The `slack` format of a delivery: a Slack incoming-webhook message, `text` (the fallback of
 * notifications) and `blocks`: a section with the event, the action and its summary, a section
 * with the risk signals, and a button linking to the leash's (or the flagged trail's) page.
 *
 * Everything an agent wrote (the action, summary, signals, agent and step names) is escaped for
 * Slack's markup: `&`, `<` and `>` become entities, so no `<!channel>`, `<@U123>` or
 * `<http://evil|x>` can form; `@channel`, `@here` and `@everyone` get a word joiner after the
 * `@`, and `://` and `www.` one inside, so the text neither mentions nor turns into a link.
 *
 * @since 0.1.0
 */
import type * as WebhookBody from "./WebhookBody.js"

/** U+2060 WORD JOINER: invisible, and breaks what Slack would read as a mention or a link. */
const joiner = "\u2060"

/**
 * Agent-written text made inert for Slack's mrkdwn.
 *
 * @since 0.1.0
 * @category escaping
 */
export const escape = (text: string): string =>
  text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/@(channel|here|everyone)/gi, `@${joiner}$1`)
    .replace(/:\/\//g, `:${joiner}//`)
    .replace(/www\./gi, (w) => `${w.slice(0, 3)}${joiner}.`)

/** At most `max` characters (Slack refuses a section over 3000). */
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

const titles: Readonly<Record<string, string>> = {
  "leash.pending": "Waiting for a decision",
  "leash.reminder": "Still waiting for a decision (expires soon)",
  "leash.decided": "Decided",
  "leash.expired": "Expired without a decision",
  "flag.raised": "Bypass flag raised"
}

const signalsText = (signals: Readonly<Record<string, unknown>>): string => {
  const entries = Object.entries(signals)
  if (entries.length === 0) return "_no risk signals_"
  const lines = entries.slice(0, 20).map(([k, v]) => `• ${escape(cut(k, 80))}: ${escape(cut(JSON.stringify(v) ?? "null", 200))}`)
  return cut([...lines, ...(entries.length > 20 ? [`… and ${entries.length - 20} more`] : [])].join("\n"), 2900)
}

/**
 * A Slack message.
 *
 * @since 0.1.0
 * @category models
 */
export interface Message {
  readonly text: string
  readonly blocks: ReadonlyArray<unknown>
}

/**
 * The Slack message of a delivery's body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const message = (body: WebhookBody.Body): Message => {
  const title = titles[body.type] ?? body.type
  const button = (url: string, label: string) => ({
    type: "actions",
    elements: [{ type: "button", text: { type: "plain_text", text: label }, url }]
  })
  if (body.type === "flag.raised") {
    const f = body.data as WebhookBody.FlagData
    const line = `${title}: ${escape(cut(f.kind, 80))} on ${escape(cut(f.action_name, 200))} (trail ${f.trail_id})`
    return {
      text: `Houndsight: ${line}`,
      blocks: [
        { type: "section", text: { type: "mrkdwn", text: `*${line}*` } },
        button(f.link, "Open the trail")
      ]
    }
  }
  const l = body.data as WebhookBody.LeashData
  const decided = l.decision === undefined
    ? ""
    : `\n*${escape(l.decision.decision)}*${l.decision.decided_by === null ? "" : ` by ${escape(cut(l.decision.decided_by, 200))}`}${
      l.decision.reason === "" ? "" : `: ${escape(cut(l.decision.reason, 500))}`
    }`
  const action = escape(cut(l.action_name, 200))
  return {
    text: `Houndsight: ${title}: ${action} from ${escape(cut(l.agent, 200))}`,
    blocks: [
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: cut(
            `*${title}*: \`${action}\` from ${escape(cut(l.agent, 200))} (expires ${l.expires_at})\n${
              escape(cut(l.action_summary, 2000))
            }${decided}`,
            3000
          )
        }
      },
      { type: "section", text: { type: "mrkdwn", text: `*Risk signals*\n${signalsText(l.risk_signals)}` } },
      button(l.link, "Open the leash")
    ]
  }
}
