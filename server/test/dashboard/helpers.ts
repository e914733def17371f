/**
 * Helpers of the dashboard tests: the cookie-jar tab, sign-in and a page's CSRF token (from
 * test/support/dashboardTab.ts, shared with the reliability suite), and the reviewer's name.
 */
import type { Running } from "../helpers.js"

export { csrfOf, type Page, signIn, type Tab, tab } from "../../../test/support/dashboardTab.js"

/** The reviewer key's name, as decisions record it. */
export const reviewerName = (s: Running): string => s.info.keys.find((k) => k.role === "reviewer")!.name
