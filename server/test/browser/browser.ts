/**
 * The browser of the browser tests: Debian's `chromium` driven by `playwright-core`, one
 * persistent context per test file, and the steps every test takes (a bounded browser step, a
 * fresh tab, the page's complaints, signing in, a server with a signed-in tab).
 *
 * Without Chromium the tests are skipped with one line saying so, unless
 * HOUNDSIGHT_REQUIRE_BROWSER=1, which makes a missing browser a failure (CI sets it).
 * HOUNDSIGHT_CHROMIUM overrides the browser's path (default /usr/bin/chromium).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { type Running, startServer } from "../helpers.js"

/** Where the browser is. */
export const executablePath = process.env["HOUNDSIGHT_CHROMIUM"] ?? "/usr/bin/chromium"
/** Whether it is there. */
export const available = Fs.existsSync(executablePath)
const required = process.env["HOUNDSIGHT_REQUIRE_BROWSER"] === "1"

/** The flags a headless run as root needs, and nothing that reaches the network. */
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/**
 * Declares the browser for a test file: skipped (with a line saying so) without Chromium, a
 * failure without it under HOUNDSIGHT_REQUIRE_BROWSER=1, else started before the file's tests
 * (with `timezoneId`, when given) and closed after them. Answers the running context.
 */
export const useBrowser = (name: string, options: { readonly timezoneId?: string } = {}): () => BrowserContext => {
  let context: BrowserContext | undefined
  let profile: string | undefined
  if (!available && !required) {
    console.warn(
      `browser tests skipped: no Chromium at ${executablePath} (apt-get install chromium; HOUNDSIGHT_REQUIRE_BROWSER=1 makes this a failure)`
    )
  }
  if (!available && required) {
    describe(name, () => {
      it("needs Chromium (HOUNDSIGHT_REQUIRE_BROWSER=1)", () => {
        expect.fail(
          `HOUNDSIGHT_REQUIRE_BROWSER=1 but there is no Chromium at ${executablePath}: install it (apt-get install chromium) or set HOUNDSIGHT_CHROMIUM`
        )
      })
    })
  }
  if (available) {
    beforeAll(async () => {
      profile = Fs.mkdtempSync(Path.join(Os.tmpdir(), "houndsight-chromium-"))
      context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args: chromiumArgs,
        viewport: { width: 1280, height: 900 },
        deviceScaleFactor: 1,
        ...(options.timezoneId === undefined ? {} : { timezoneId: options.timezoneId })
      })
      context.setDefaultTimeout(20_000)
    }, 60_000)
    afterAll(async () => {
      await context?.close()
      if (profile !== undefined) Fs.rmSync(profile, { recursive: true, force: true })
    })
  }
  return () => {
    if (context === undefined) throw new Error("the browser did not start")
    return context
  }
}

/**
 * A promise as an Effect (a rejection fails the test with its error). Playwright bounds the calls
 * that wait (20 s, `setDefaultTimeout`), not `evaluate` or `close`: a browser step that has not
 * settled after 30 s fails the test with the step's source, instead of a bare test timeout.
 */
export const run = <A>(f: () => Promise<A>) =>
  // interruptible, so the bound holds inside an acquisition or a release too (both run
  // uninterruptibly, where a timeout would otherwise wait for the promise whatever it says)
  Effect.interruptible(Effect.promise(f)).pipe(
    Effect.timeoutFail({
      duration: "30 seconds",
      onTimeout: () => new Error(`the browser step ${f.toString().replace(/\s+/g, " ").slice(0, 160)} did not settle within 30 s`)
    }),
    Effect.orDie
  )

/**
 * A fresh tab, closed with the test's scope. A tab that does not close in 10 s (Chromium under
 * load sometimes never answers a close) is left to the browser's close: the release is
 * uninterruptible, so the close is made interruptible for its bound to hold.
 */
export const newPage = (browser: () => BrowserContext) =>
  Effect.acquireRelease(
    run(() => browser().newPage()),
    (page) => Effect.ignore(Effect.timeout(Effect.interruptible(Effect.promise(() => page.close())), "10 seconds"))
  )

/**
 * Everything the page complains about: script errors, and console errors (a Content-Security-
 * Policy violation, a failed request). A dashboard that works under its own CSP has none.
 */
export const problemsOf = (page: Page): Array<string> => {
  const problems: Array<string> = []
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`console ${message.type()}: ${message.text()}`)
  })
  return problems
}

/** Signs the tab in with the reviewer key, and waits until the live stream is open. */
export const signIn = (page: Page, s: Running) =>
  run(async () => {
    await page.goto(`${s.url}/`)
    expect(new URL(page.url()).pathname).toBe("/login")
    await page.fill("#key", s.reviewerKey)
    await page.click("button[type=submit]")
    await page.waitForURL(`${s.url}/`)
    // The live stream is open: from here on, what agents ask appears without a reload.
    await page.locator("body[data-connected]").waitFor()
  })

/**
 * A server started in the test's scope (with `options`) and a fresh tab signed in to it; the
 * tab's complaints are collected from before the sign-in on.
 */
export const signedIn = (browser: () => BrowserContext, options: Parameters<typeof startServer>[0] = {}) =>
  Effect.gen(function*() {
    const s = yield* startServer(options)
    const page = yield* newPage(browser)
    const problems = problemsOf(page)
    yield* signIn(page, s)
    return { s, page, problems }
  })
