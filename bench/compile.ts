/**
 * Compiles src/ and bench/ to plain JavaScript before measuring, so houndsight runs as users run
 * it (the tsc output in dist/), not as tsx runs it. tsx compiles with esbuild's `keepNames`,
 * which wraps every named closure in a `__name(fn, "name")` call (an `Object.defineProperty` on
 * each function created): `Sniff.run` creates two per call, and under tsx a sniff measured
 * about 35% slower (2.9–3.0 µs against 2.15 µs) than the same code compiled by TypeScript.
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

/** The entry file and every file it reaches through relative imports (`./x.js` → `./x.ts`). */
const reachable = (entry: string): Array<string> => {
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    for (const match of readFileSync(file, "utf8").matchAll(relativeImport)) {
      visit(resolve(dirname(file), `${match[1]}.ts`))
    }
  }
  visit(entry)
  return Array.from(seen)
}

/**
 * Transpiles bench/index.ts of `root` and every file it imports (in bench/ and src/) into
 * `outDir` (emptied first) and returns the path of the compiled entry point. A file with a
 * syntax error stops with its name and the error.
 *
 * @since 0.1.0
 * @category building
 */
export const compileBench = (root: string, outDir: string, entry = "index.ts"): string => {
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    esModuleInterop: true,
    isolatedModules: true,
    sourceMap: false,
    declaration: false
  }
  rmSync(outDir, { recursive: true, force: true })
  // the output must be ESM, like the project (package.json "type": "module")
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, "package.json"), JSON.stringify({ type: "module", private: true }) + "\n")
  for (const file of reachable(join(root, "bench", entry))) {
    const out = ts.transpileModule(readFileSync(file, "utf8"), {
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
  return join(outDir, "bench", entry.replace(/\.ts$/, ".js"))
}
