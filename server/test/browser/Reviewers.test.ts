/**
 * Reviewers as people, in a real browser (Debian's `chromium` through `playwright-core`): a
 * reviewer with a key of their own signs in, the dashboard shows who is signed in, their approval
 * is recorded under their name (the API's `decided_by` and `reviewer`, the leash's page), and
 * once their key is revoked (`keys revoke`, no restart) their open session ends.
 *
 * Skipped without Chromium unless HOUNDSIGHT_REQUIRE_BROWSER=1 (as the other browser tests).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Cli } from "../../src/index.js"
import { client, leashRequest, startServer } from "../helpers.js"
import { available, newPage as newTab, run, useBrowser } from "./browser.js"

const browser = useBrowser("reviewers in a real browser")
const newPage = newTab(browser)

/** Runs a keys command on the server's database, as `houndsight-server keys …` would. */
const keys = (db: string, ...args: ReadonlyArray<string>) =>
  Effect.flatMap(Cli.parse(["keys", ...args, "--db", db], {}), (command) => {
    if (command._tag !== "Keys") throw new Error("not a keys command")
    return Cli.runKeys(command.command)
  })

const created = (text: string) => {
  const match = /key (key_[0-9a-f]{12}) for [\s\S]*?\n\n {2}(\S+)\n/.exec(text)
  if (match === null) throw new Error(`no key in ${text}`)
  return { id: match[1]!, key: match[2]! }
}

describe.skipIf(!available)("reviewers in a real browser", () => {
  it.scopedLive("a reviewer signs in with their own key, approves by clicking, the decision names them; revoked, their session ends", () =>
    Effect.gen(function*() {
      const s = yield* startServer()
      const ada = created(yield* keys(s.db, "create", "--reviewer", "Ada Lovelace", "--email", "ada@example.com"))
      const bot = client(s.url, created(yield* keys(s.db, "create", "--agent", "billing-bot")).key)
      const leash = leashRequest({ agent: "billing-bot" })
      expect((yield* bot.post("/v1/leashes", { body: leash })).status).toBe(200)

      const page = yield* newPage
      yield* run(async () => {
        await page.goto(`${s.url}/`)
        await page.fill("#key", ada.key)
        await page.click("button[type=submit]")
        await page.waitForURL(`${s.url}/`)
      })
      expect(yield* run(() => page.locator(".reviewer").innerText())).toBe("Ada Lovelace")
      const card = page.locator(`[data-leash-id="${leash.leash_id}"]`)
      yield* run(() => card.locator("button.approve").click())
      yield* run(() => page.waitForURL(/\/\?decided=/))

      const state = (yield* bot.get(`/v1/leashes/${leash.leash_id}`)).body
      expect(state.decision.decided_by).toBe("Ada Lovelace")
      expect(state.decision.reviewer).toStrictEqual({ id: ada.id, name: "Ada Lovelace" })
      yield* run(() => page.goto(`${s.url}/leashes/${leash.leash_id}`))
      expect(yield* run(() => page.locator("#decision-title").innerText())).toContain("by Ada Lovelace")

      yield* keys(s.db, "revoke", ada.id)
      yield* run(() => page.goto(`${s.url}/`))
      expect(new URL(page.url()).pathname).toBe("/login")
    }), 90_000)
})
