/**
 * Every TypeScript block of README.md and docs/*.md type-checks against the SDK as it is, so a
 * snippet cannot drift from the API. Each block is written, as it stands, to a file of its own in
 * a temporary folder inside the repository (so `houndsight` and `houndsight/test` resolve through
 * tsconfig.json's paths, and packages from node_modules), and one TypeScript program checks them
 * all with the project's compiler options. The only thing a block may get that its reader does not
 * see is listed in `stubs` below, by block: `declare` lines for the values a fragment takes from
 * its surroundings, appended after the block (so diagnostics keep the block's line numbers).
 * Unused locals are allowed (a snippet shows a value it does not use); nothing else is relaxed.
 *
 * README's billing agent and its tests are also the example's: the bodies of those blocks (without
 * their imports) appear verbatim in examples/stripe-charge.ts and examples/stripe-charge.test.ts,
 * which run as tests.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** A fenced TypeScript block of a Markdown file. */
interface Block {
  /** `README.md › Quick start #1`: the file, the heading above the block, its number under it. */
  readonly id: string
  readonly file: string
  /** The line of the block's first code line in its file (1-based). */
  readonly line: number
  readonly code: string
}

const markdownFiles = [
  "README.md",
  ...Fs.readdirSync(Path.join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)
]

const extract = (file: string): ReadonlyArray<Block> => {
  const lines = Fs.readFileSync(Path.join(root, file), "utf8").split("\n")
  const blocks: Array<Block> = []
  let heading = "(top)"
  let underHeading = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const h = /^#{1,6}\s+(.*)$/.exec(line)
    if (h !== null) {
      heading = h[1]!.trim()
      underHeading = 0
      continue
    }
    const fence = /^(\s*)```(\w*)/.exec(line)
    if (fence === null) continue
    const end = lines.findIndex((l, j) => j > i && l.trim().startsWith("```"))
    if (end === -1) throw new Error(`${file}:${i + 1}: a code fence is never closed`)
    if (fence[2] === "ts" || fence[2] === "typescript") {
      underHeading++
      blocks.push({
        id: `${file} › ${heading} #${underHeading}`,
        file,
        line: i + 2,
        code: lines.slice(i + 1, end).join("\n")
      })
    }
    i = end
  }
  return blocks
}

const blocks = markdownFiles.flatMap(extract)

/**
 * What a block may get beside its own text, by block id: the values it takes from the page
 * around it (an agent written further up, a web server of the reader's own). Nothing else is
 * added to any block. Types use `import("…")` so a stub adds no import the reader does not see.
 */
const stubs: Readonly<Record<string, ReadonlyArray<string>>> = {
  "README.md › Production: `Houndsight.layer` #1": [
    "declare const forecast: import(\"effect\").Effect.Effect<number, never, import(\"houndsight\").Recorder.Recorder>"
  ],
  "README.md › Decisions #1": [
    "declare const decision: import(\"houndsight\").Decision.Decision<Charge>",
    "declare const request: Charge",
    "declare const charge: (c: Charge) => import(\"effect\").Effect.Effect<string>",
    "type Charge = { readonly customer: string; readonly amountUsd: number }"
  ],
  "README.md › Deciding later: `blocking: false` and `Leash.await` #1": [
    "declare const sendReport: import(\"effect\").Effect.Effect<void>"
  ],
  "README.md › Recording into memory #1": [
    "declare const forecast: import(\"effect\").Effect.Effect<number, never, import(\"houndsight\").Recorder.Recorder>"
  ],
  "docs/exporter.md › The exporter: how records reach the server, and how to flush #1": ["declare const agent: import(\"effect\").Effect.Effect<void, never, import(\"houndsight\").Recorder.Recorder>"],
  "docs/exporter.md › Settings #1": ["declare const apiKey: import(\"effect\").Redacted.Redacted<string>"],
  "docs/exporter.md › `redact` #1": ["declare const apiKey: import(\"effect\").Redacted.Redacted<string>"],
  "docs/exporter.md › `NodeRuntime.runMain` (recommended for processes) #1": ["declare const agent: import(\"effect\").Effect.Effect<void, never, import(\"houndsight\").Recorder.Recorder>"],
  "docs/exporter.md › `Effect.runPromise` / `Effect.runFork` #1": ["declare const agent: import(\"effect\").Effect.Effect<void, never, import(\"houndsight\").Recorder.Recorder>"],
  "docs/exporter.md › `Effect.runPromise` / `Effect.runFork` #2": ["declare const agent: import(\"effect\").Effect.Effect<void, never, import(\"houndsight\").Recorder.Recorder>"],
  "docs/exporter.md › `ManagedRuntime` #1": [
    "declare const handle: (req: unknown) => import(\"effect\").Effect.Effect<unknown, never, import(\"houndsight\").Recorder.Recorder>",
    "declare const app: { post: (path: string, f: (req: unknown, res: { json: (body: unknown) => void }) => unknown) => void }",
    "declare const server: { close: (done: () => void) => void }"
  ],
  "docs/exporter.md › Serverless handlers (AWS Lambda, Vercel, Netlify, Cloudflare Workers) #1": [
    "declare const agent: (event: unknown) => import(\"effect\").Effect.Effect<unknown, never, import(\"houndsight\").Recorder.Recorder>"
  ]
}

/**
 * Blocks that go on from an earlier block of the same page (README shows a test file, then one
 * more test of it further down): checked as that block followed by this one.
 */
const continues: Readonly<Record<string, string>> = {
  "README.md › The bypass audit #1": "README.md › Testing an agent without a server #2"
}

/**
 * Modules a block imports that the page shows elsewhere: `./stripe-charge.js` is README's billing
 * agent (the "Leashes" block), which is examples/stripe-charge.ts.
 */
const modules: Readonly<Record<string, string>> = {
  "stripe-charge.ts": "export * from \"../../../examples/stripe-charge.js\"\n"
}

const slug = (id: string) => id.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").toLowerCase()

let dir: string
let program: ts.Program
const fileOf = new Map<string, string>()
/** Lines of the block before a continuing block, at the top of its file. */
const offsetOf = new Map<string, number>()

beforeAll(() => {
  // inside the repository, so module resolution sees node_modules and tsconfig.json's paths
  dir = Fs.mkdtempSync(Path.join(root, "test", "docs", ".snippets-"))
  for (const [name, text] of Object.entries(modules)) Fs.writeFileSync(Path.join(dir, name), text)
  blocks.forEach((block) => {
    const path = Path.join(dir, `${slug(block.id)}.ts`)
    const from = continues[block.id]
    const earlier = from === undefined ? undefined : blocks.find((b) => b.id === from)
    // (a missing earlier block fails "every stub belongs to a block that exists")
    const before = earlier === undefined ? "" : `${earlier.code}\n`
    // `export {}` makes each block a module of its own, as a reader's file would be
    Fs.writeFileSync(path, `${before}${block.code}\nexport {}\n${(stubs[block.id] ?? []).join("\n")}\n`)
    fileOf.set(block.id, path)
    offsetOf.set(block.id, before === "" ? 0 : before.split("\n").length - 1)
  })
  const config = ts.readConfigFile(Path.join(root, "tsconfig.json"), ts.sys.readFile)
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  program = ts.createProgram({
    rootNames: [...fileOf.values()],
    options: { ...parsed.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false }
  })
}, 120_000)

afterAll(() => {
  if (dir !== undefined) Fs.rmSync(dir, { recursive: true, force: true })
})

/** The block's diagnostics as `README.md:123: message`, at the line of the Markdown file. */
const diagnostics = (block: Block): ReadonlyArray<string> => {
  const source = program.getSourceFile(fileOf.get(block.id)!)!
  return ts.getPreEmitDiagnostics(program, source).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n")
    if (d.file === undefined || d.start === undefined) return `${block.file}: ${text}`
    const { line } = d.file.getLineAndCharacterOfPosition(d.start)
    const where = d.file === source
      ? `${block.file}:${block.line + line - offsetOf.get(block.id)!}`
      : `${Path.relative(root, d.file.fileName)}:${line + 1}`
    return `${where}: ${text}`
  })
}

describe("every TypeScript block of README.md and docs/*.md type-checks", () => {
  it("finds the blocks", () => {
    expect(blocks.filter((b) => b.file === "README.md").length).toBeGreaterThanOrEqual(10)
    expect(new Set(blocks.map((b) => b.id)).size).toBe(blocks.length)
  })

  it("every stub belongs to a block that exists", () => {
    const ids = new Set(blocks.map((b) => b.id))
    expect([...Object.keys(stubs), ...Object.keys(continues), ...Object.values(continues)].filter((id) => !ids.has(id)))
      .toStrictEqual([])
  })

  for (const block of blocks) {
    it(`${block.id} (${block.file}:${block.line})`, () => {
      expect(diagnostics(block)).toStrictEqual([])
    })
  }
})

/** A block or a file without its import statements, and with its lines trimmed at the end. */
const body = (code: string): string =>
  code.replace(/^import\s[\s\S]*?\sfrom\s+"[^"]+"\s*\n/gm, "").split("\n").map((l) => l.trimEnd()).join("\n").trim()

describe("README's billing agent is the example's", () => {
  const readme = (id: string) => {
    const block = blocks.find((b) => b.id === id)
    if (block === undefined) throw new Error(`README has no block ${id}`)
    return body(block.code)
  }
  const example = (file: string) => body(Fs.readFileSync(Path.join(root, "examples", file), "utf8"))

  it("the agent of \"Leashes\" is examples/stripe-charge.ts's, verbatim", () => {
    expect(example("stripe-charge.ts")).toContain(readme("README.md › Leashes: ask the gate before a sensitive action #1"))
  })

  it("the tests of \"Testing an agent without a server\" and \"The bypass audit\" are in examples/stripe-charge.test.ts, verbatim", () => {
    const tests = example("stripe-charge.test.ts")
    expect(tests).toContain(readme("README.md › Testing an agent without a server #2"))
    expect(tests).toContain(readme("README.md › The bypass audit #1"))
  })
})

describe("README's install line", () => {
  const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
  const install = /## Install\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ""
  const pinned = [...install.matchAll(/(@?[\w/-]+)@~(\d+)\.(\d+)/g)].map(([, name, major, minor]) => ({
    name: name!,
    range: `~${major}.${minor}`
  }))

  it("pins every package the snippets import, besides houndsight itself", () => {
    expect(install).toMatch(/npm install houndsight /)
    expect(pinned.map((p) => p.name).sort()).toStrictEqual(
      ["@effect/platform", "@effect/platform-node", "@effect/vitest", "effect", "vitest"]
    )
  })

  it("names the versions this repository is tested with (major and minor of node_modules)", () => {
    for (const { name, range } of pinned) {
      const { version } = JSON.parse(Fs.readFileSync(Path.join(root, "node_modules", name, "package.json"), "utf8"))
      const [major, minor] = String(version).split(".")
      expect(`${name}@~${major}.${minor}`).toBe(`${name}@${range}`)
    }
  })

  it("says which Node versions are supported, as package.json's engines does", () => {
    const { engines } = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8"))
    expect(engines.node).toBe(">=20")
    expect(readme).toContain("Supported: Node 20 or later (`engines`)")
  })
})
