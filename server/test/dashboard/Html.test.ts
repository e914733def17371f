/**
 * The `html` template tag: any string interpolated into a page is text, never markup, and links
 * are built from fixed paths and encoded segments only; numbers are written the same way on
 * every page.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as Format from "../../src/dashboard/Format.js"
import { escape, html, join, render, url } from "../../src/dashboard/Html.js"

const unescape = (text: string) =>
  text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&#39;/g, "'").replace(/&amp;/g, "&")

describe("html", () => {
  it("an interpolated string is text, in content and in a quoted attribute, whatever it holds", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ unit: "binary" }), (s) => {
        const content = render(html`<p>${s}</p>`)
        const inner = content.slice(3, -4)
        expect(inner).not.toMatch(/[<>"']/)
        expect(unescape(inner)).toBe(s)
        const attribute = render(html`<a title="${s}">x</a>`)
        expect(attribute.slice(10, -7)).not.toMatch(/["<>]/)
      }),
      { numRuns: 500 }
    )
  })

  it("the classic payloads come out inert", () => {
    expect(render(html`<p>${"<script>alert(1)</script>"}</p>`)).toBe("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    expect(render(html`<input value="${`" onfocus="alert(1)`}">`)).toBe(`<input value="&quot; onfocus=&quot;alert(1)">`)
    expect(escape("a & b's")).toBe("a &amp; b&#39;s")
  })

  it("markup made by the tag passes through once; lists join; nothing renders as nothing", () => {
    const item = (s: string) => html`<li>${s}</li>`
    expect(render(html`<ul>${["<a>", "b"].map(item)}</ul>`)).toBe("<ul><li>&lt;a&gt;</li><li>b</li></ul>")
    expect(render(html`${undefined}${null}${false}${0}`)).toBe("0")
    expect(render(join(["<x>", html`<br>`], html`, `))).toBe("&lt;x&gt;, <br>")
  })

  it("url encodes each value as one path segment", () => {
    expect(url`/trails/${"../../admin"}`).toBe("/trails/..%2F..%2Fadmin")
    expect(url`/leashes/${"javascript:alert(1)"}/decision`).toBe("/leashes/javascript%3Aalert(1)/decision")
  })
})

describe("Format", () => {
  it("dollars: cents from a dollar, up to four decimals below, two significant digits under a cent", () => {
    expect(Format.usd(25_000)).toBe("$25,000.00")
    expect(Format.usd(120)).toBe("$120.00")
    expect(Format.usd(0.5)).toBe("$0.50")
    expect(Format.usd(0.0123)).toBe("$0.0123")
    expect(Format.usd(0.0042)).toBe("$0.0042")
    expect(Format.usd(0.0001)).toBe("$0.0001")
    expect(Format.usd(0)).toBe("$0")
  })

  it("durations in the unit that reads best", () => {
    expect(Format.duration(340)).toBe("340 ms")
    expect(Format.duration(1234)).toBe("1.2 s")
    expect(Format.duration(42_000)).toBe("42 s")
    expect(Format.duration(125_000)).toBe("2 min 5 s")
    expect(Format.duration(3_720_000)).toBe("1 h 2 min")
    expect(Format.duration(-1)).toBe("—")
  })

  it("tokens, counts and JSON", () => {
    expect(Format.tokens({ input: 1234, output: 56 })).toBe("1,234 in · 56 out")
    expect(Format.tokens(undefined)).toBe("—")
    expect(Format.plural(1, "flag")).toBe("1 flag")
    expect(Format.plural(2, "flag")).toBe("2 flags")
    expect(Format.json({ a: 1 })).toBe("{\n  \"a\": 1\n}")
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => Format.json(cyclic)).not.toThrow()
    expect(Format.brief("x".repeat(200), 10)).toBe("xxxxxxxxx…")
  })
})
