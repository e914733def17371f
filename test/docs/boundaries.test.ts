/**
 * The house reads one way: the contract (`src/schema`, the `houndsight/wire` entry) below the
 * machinery (`src/internal`), below the services (`src/services`), below the layers
 * (`src/layers`), below the faces (`src/index.ts`, `src/test.ts`, `src/ai.ts` with its
 * `src/ai/`, `src/wire.ts`); and the gate server (`server/src`) above the contract alone. Every
 * import of every file is read with TypeScript's own pre-processor (so an import in a comment or
 * a JSDoc example does not count) and checked against those rules.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("../../", import.meta.url))

/** Every `.ts` file under `dir` (relative to the repository), recursively. */
const filesUnder = (dir: string): ReadonlyArray<string> =>
  Fs.readdirSync(Path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => Path.relative(root, Path.join(entry.parentPath, entry.name)))
    .sort()

/** The module specifiers a file imports or re-exports (static and dynamic), comments ignored. */
const importsOf = (file: string): ReadonlyArray<string> =>
  ts.preProcessFile(Fs.readFileSync(Path.join(root, file), "utf8"), true, true).importedFiles.map((f) => f.fileName)

/** The repository path a relative specifier of `file` points at (`.js` written for `.ts`). */
const resolve = (file: string, specifier: string): string =>
  Path.relative(root, Path.resolve(Path.dirname(Path.join(root, file)), specifier)).replace(/\.js$/, ".ts")

/** The rank of a file of `src`: an import may only point at the same rank or below. */
const rankOf = (file: string): number => {
  if (file.startsWith("src/schema/")) return 0
  if (file.startsWith("src/internal/")) return 1
  if (file.startsWith("src/services/")) return 2
  if (file.startsWith("src/layers/")) return 3
  return 4 // the faces and src/ai/
}

const rankNames = ["src/schema", "src/internal", "src/services", "src/layers", "the faces"]

/**
 * Imports that still point upward, each owned by an open issue: remove an entry when the file
 * stops importing upward (the test fails on an exception that no longer holds).
 */
const knownUpward: ReadonlyArray<string> = []

describe("boundaries", () => {
  it("the server imports the SDK only through houndsight/wire (never houndsight, houndsight/test or houndsight/ai)", () => {
    const files = filesUnder("server/src")
    expect(files.length).toBeGreaterThan(10)
    const offenders = files.flatMap((file) =>
      importsOf(file)
        .filter((s) => (s === "houndsight" || s.startsWith("houndsight/")) && s !== "houndsight/wire")
        .map((s) => `${file} imports ${s}`)
    )
    // nor the SDK's sources by path
    const byPath = files.flatMap((file) =>
      importsOf(file)
        .filter((s) => s.startsWith(".") && !resolve(file, s).startsWith("server/"))
        .map((s) => `${file} imports ${s}`)
    )
    expect([...offenders, ...byPath]).toEqual([])
  })

  it("the SDK's imports run one way: schema ← internal ← services ← layers ← faces", () => {
    const files = filesUnder("src")
    expect(files.length).toBeGreaterThan(40)
    const upward: Array<string> = []
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith(".")) continue
        const target = resolve(file, specifier)
        if (rankOf(target) > rankOf(file)) upward.push(`${file} -> ${target}`)
      }
    }
    expect(upward.filter((edge) => !knownUpward.includes(edge))).toEqual([])
    // an exception that no longer holds is removed from the list, so the list cannot go stale
    expect(knownUpward.filter((edge) => !upward.includes(edge))).toEqual([])
  })

  it("the contract (src/schema) imports nothing of the SDK above it, nor any package but the runtime peers", () => {
    const offenders = filesUnder("src/schema").flatMap((file) =>
      importsOf(file)
        .filter((s) =>
          s.startsWith(".") ? !resolve(file, s).startsWith("src/schema/") : !/^(effect|@effect\/platform)(\/|$)/.test(s)
        )
        .map((s) => `${file} imports ${s} (${rankNames[0]} must stand alone)`)
    )
    expect(offenders).toEqual([])
  })
})
