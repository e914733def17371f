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
import { spawn } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"

const relativeImport = /(?:\bfrom|\bimport)\s*\(?\s*"(\.{1,2}\/[^"]+)\.js"/g

/**
 * The server's imports of the SDK's entries (`houndsight`, `houndsight/wire`, …), resolved to
 * src/ by server/tsconfig.json: the entry's file in src/ for each.
 */
const sdkImport = /(\bfrom\s*)"houndsight(?:\/(wire|test|ai))?"/g

/** The src/ file of an SDK entry (`undefined`: the package's root, src/index.ts). */
const sdkEntry = (root: string, entry: string | undefined): string => join(root, "src", `${entry ?? "index"}.ts`)

/**
 * The entry files and every file they reach through relative imports (`./x.js` → `./x.ts`); a
 * file that imports one of the SDK's entries (the server's) reaches its src/ file too.
 */
const reachable = (root: string, entries: ReadonlyArray<string>): Array<string> => {
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, "utf8")
    for (const match of text.matchAll(relativeImport)) {
      visit(resolve(dirname(file), `${match[1]}.ts`))
    }
    for (const match of text.matchAll(sdkImport)) visit(sdkEntry(root, match[2]))
  }
  for (const entry of entries) visit(entry)
  return Array.from(seen)
}

/**
 * Transpiles `entries` (paths in `root`) and every file they reach through relative imports into
 * `outDir` (emptied first), each at its path relative to `root`, and returns the path of the
 * first entry's output. In the server's files, `from "houndsight"` (or `"houndsight/wire"`, …)
 * becomes a relative import of the compiled src/index.js (src/wire.js, …), as
 * server/tsconfig.json maps it. A file with a syntax error stops with its name and the error.
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
  rmSync(outDir, { recursive: true, force: true })
  // the output must be ESM, like the project (package.json "type": "module")
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, "package.json"), JSON.stringify({ type: "module", private: true }) + "\n")
  for (const file of reachable(root, entries)) {
    const text = readFileSync(file, "utf8").replace(sdkImport, (_, from: string, entry: string | undefined) => {
      const path = relative(dirname(file), sdkEntry(root, entry)).replace(/\.ts$/, ".js")
      return `${from}"${path.startsWith(".") ? path : `./${path}`}"`
    })
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

/**
 * Compiles bench/`entry` of `root` into `outDir` ({@link compileBench}) and runs it in a child
 * `node` process with `nodeArgs` (its output this process's, `BENCH_ROOT` set to `root`);
 * resolves to the child's exit code.
 *
 * @since 0.1.0
 * @category building
 */
export const compileAndRun = (
  root: string,
  entry: string,
  outDir: string,
  nodeArgs: ReadonlyArray<string> = []
): Promise<number> => {
  const compiled = compileBench(root, outDir, entry)
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, compiled], {
      stdio: "inherit",
      env: { ...process.env, BENCH_ROOT: root }
    })
    child.on("error", reject)
    child.on("exit", (code, signal) => done(code ?? (signal === null ? 1 : 128)))
  })
}
