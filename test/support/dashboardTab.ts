/**
 * The dashboard as a browser tab sees it, for the dashboard tests and the reliability suite: a
 * `fetch` client with a cookie jar and no automatic redirects, forms posted as
 * `application/x-www-form-urlencoded`, sign-in through the sign-in form, and a page's CSRF token.
 */
import { Effect } from "effect"

/** An answer, as a browser would see it. */
export interface Page {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The `Location` header of a redirect. */
  readonly location: string | undefined
  /** The `Set-Cookie` headers. */
  readonly setCookies: ReadonlyArray<string>
}

/** A tab: a cookie jar and requests that carry it. */
export interface Tab {
  readonly cookies: Map<string, string>
  readonly get: (path: string, headers?: Record<string, string>) => Effect.Effect<Page>
  /** Posts a form (`application/x-www-form-urlencoded`). */
  readonly post: (path: string, form: Record<string, string>, headers?: Record<string, string>) => Effect.Effect<Page>
}

const expired = (cookie: string): boolean =>
  /;\s*max-age=0\b/i.test(cookie) || /;\s*expires=Thu, 01 Jan 1970/i.test(cookie)

/** A new tab on `base` with an empty cookie jar. */
export const tab = (base: string): Tab => {
  const cookies = new Map<string, string>()
  const send = (method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) =>
    Effect.promise(async (signal) => {
      const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ")
      const response = await fetch(`${base}${path}`, {
        method,
        redirect: "manual",
        signal,
        headers: {
          ...(cookie === "" ? {} : { cookie }),
          ...(body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }),
          ...headers
        },
        body: body ?? null
      })
      const setCookies = response.headers.getSetCookie()
      for (const c of setCookies) {
        const [pair] = c.split(";")
        const eq = pair!.indexOf("=")
        const name = pair!.slice(0, eq).trim()
        if (expired(c)) cookies.delete(name)
        else cookies.set(name, pair!.slice(eq + 1).trim())
      }
      return {
        status: response.status,
        headers: response.headers,
        text: await response.text(),
        location: response.headers.get("location") ?? undefined,
        setCookies
      } satisfies Page
    })
  return {
    cookies,
    get: (path, headers) => send("GET", path, undefined, headers),
    post: (path, form, headers) => send("POST", path, new URLSearchParams(form).toString(), headers)
  }
}

/** The value of the first hidden `csrf` field of a page. */
export const csrfOf = (page: Page): string => {
  const match = /name="csrf" value="([^"]+)"/.exec(page.text)
  if (match === null) throw new Error(`no csrf field on the page (status ${page.status}):\n${page.text.slice(0, 400)}`)
  return match[1]!
}

/** Signs in through the sign-in form (with the reviewer key unless told another); answers the tab and its session's CSRF token. */
export const signIn = (s: { readonly url: string; readonly reviewerKey: string }, key: string = s.reviewerKey) =>
  Effect.gen(function*() {
    const t = tab(s.url)
    const login = yield* t.get("/login")
    const answer = yield* t.post("/login", { csrf: csrfOf(login), key, next: "/" })
    if (answer.status !== 303) throw new Error(`sign-in failed (${answer.status}): ${answer.text.slice(0, 300)}`)
    const queue = yield* t.get("/")
    return { tab: t, csrf: csrfOf(queue) }
  })
