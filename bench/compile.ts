/**
 * Compiles src/ and bench/ to plain JavaScript before measuring, so houndsight runs as users run
 * it (the tsc output in dist/), not as tsx runs it. tsx compiles with esbuild's `keepNames`,
 * which wraps every named closure in a `__name(fn, "name")` call (an `Object.defineProperty` on
 * each function created): `Sniff.run` creates two per call, so under tsx a sniff measures
 * markedly slower than the same code compiled by TypeScript.
 * Effect and OpenTelemetry run from their published JavaScript either way, so only a compiled
 * houndsight makes the comparison fair.
 *
 * Each file goes through `ts.transpileModule` with the project's target (ES2022, ES modules;
 * the project sets `isolatedModules`, so this is what tsc emits, without the type-check:
 * `npm run check` does that). The output lands in node_modules/.cache/houndsight-bench, where Node resolves
 * `effect` and `@opentelemetry/*` from the project's node_modules.
 *
 * @since 0.1.0
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"

const relativeImport = /(?:\bfrom|\bimport)\s*\(?\s*"(\.{1,2}\/[^"]+)\.js"/g

/** The server's import of the SDK (resolved to src/ by server/tsconfig.json). */
const sdkImport = /(\bfrom\s*)"houndsight"/g

/**
 * The entry files and every file they reach through relative imports (`./x.js` → `./x.ts`); a
 * file that imports `"houndsight"` (the server's) reaches src/index.ts too.
 */
const reachable = (root: string, entries: ReadonlyArray<string>): Array<string> => {
  const sdkIndex = join(root, "src", "index.ts")
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, "utf8")
    for (const match of text.matchAll(relativeImport)) {
      visit(resolve(dirname(file), `${match[1]}.ts`))
    }
    if (sdkImport.test(text)) visit(sdkIndex)
    sdkImport.lastIndex = 0
  }
  for (const entry of entries) visit(entry)
  return Array.from(seen)
}

/**
 * Transpiles `entries` (paths in `root`) and every file they reach through relative imports into
 * `outDir` (emptied first), each at its path relative to `root`, and returns the path of the
 * first entry's output. In the server's files, `from "houndsight"` becomes a relative import of
 * the compiled src/index.js, as server/tsconfig.json maps it. A file with a syntax error stops
 * with its name and the error.
 *
 * @since 0.1.0
 * @category building
 */
export const compileEntries = (root: string, entries: ReadonlyArray<string>, outDir: string): string => {
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    esModuleInterop: true,
    isolatedModules: true,
    sourceMap: false,
    declaration: false
  }
  const sdkIndex = join(root, "src", "index.ts")
  rmSync(outDir, { recursive: true, force: true })
  // the output must be ESM, like the project (package.json "type": "module")
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, "package.json"), JSON.stringify({ type: "module", private: true }) + "\n")
  for (const file of reachable(root, entries)) {
    let text = readFileSync(file, "utf8")
    if (sdkImport.test(text)) {
      const index = relative(dirname(file), sdkIndex).replace(/\.ts$/, ".js")
      text = text.replace(sdkImport, `$1"${index.startsWith(".") ? index : `./${index}`}"`)
    }
    sdkImport.lastIndex = 0
    const out = ts.transpileModule(text, {
      compilerOptions,
      fileName: file,
      reportDiagnostics: true
    })
    const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error)
    if (errors.length > 0) {
      throw new Error(
        `bench: cannot compile ${relative(root, file)}: ${ts.flattenDiagnosticMessageText(errors[0]!.messageText, "\n")}`
      )
    }
    const target = join(outDir, relative(root, file)).replace(/\.ts$/, ".js")
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, out.outputText)
  }
  return join(outDir, relative(root, entries[0]!)).replace(/\.ts$/, ".js")
}

/**
 * Transpiles bench/`entry` of `root` and every file it imports (in bench/ and src/) into
 * `outDir` (emptied first) and returns the path of the compiled entry point.
 *
 * @since 0.1.0
 * @category building
 */
export const compileBench = (root: string, outDir: string, entry = "index.ts"): string =>
  compileEntries(root, [join(root, "bench", entry)], outDir)
