/**
 * What the benches that measure in child processes share (`bench/exporter.ts`,
 * `bench/delivered.ts`): reading `--name value` flags, running a child that prints one
 * `RESULT {json}` line, and the median of a round's figures.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { join } from "node:path"

/**
 * Where a bench compiles its JavaScript: `node_modules/.cache/<name>-<hash of root>`, so two
 * checkouts sharing one `node_modules` (a before/after comparison) do not overwrite each other.
 *
 * @since 0.1.0
 * @category building
 */
export const cacheDirOf = (root: string, name: string): string =>
  join(root, "node_modules", ".cache", `${name}-${createHash("sha256").update(root).digest("hex").slice(0, 8)}`)

/**
 * The value after `--name` in `args`, or undefined.
 *
 * @since 0.1.0
 * @category reading
 */
export const flagOf = (args: ReadonlyArray<string>) => (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}

/**
 * Runs `node nodeArgs entry --child task` in `cwd` and resolves to the JSON of the `RESULT` line
 * it prints; rejects, with the end of its output, when it fails or prints none. With `verbose`,
 * the child's other output is shown.
 *
 * @since 0.1.0
 * @category running
 */
export const runResultChild = <A>(options: {
  readonly entry: string
  readonly nodeArgs: ReadonlyArray<string>
  readonly task: unknown
  readonly cwd: string
  readonly what: string
  readonly verbose: boolean
  readonly env?: Readonly<Record<string, string>>
}): Promise<A> =>
  new Promise((resolvePromise, reject) => {
    const proc = spawn(process.execPath, [...options.nodeArgs, options.entry, "--child", JSON.stringify(options.task)], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: options.cwd,
      env: { ...process.env, ...options.env }
    })
    let out = ""
    proc.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
    })
    proc.stderr!.on("data", (chunk: Buffer) => {
      if (options.verbose) process.stderr.write(chunk)
    })
    proc.once("error", reject)
    proc.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "))
      if (options.verbose) process.stderr.write(out.split("\n").filter((l) => !l.startsWith("RESULT ")).join("\n"))
      if (code !== 0 || line === undefined) {
        reject(new Error(`bench: the ${options.what} child failed (exit ${code}):\n${out.slice(-2000)}`))
      } else resolvePromise(JSON.parse(line.slice("RESULT ".length)) as A)
    })
  })

/**
 * The median of `xs`, NaN left out (NaN when nothing is left).
 *
 * @since 0.1.0
 * @category reading
 */
export const median = (xs: ReadonlyArray<number>): number => {
  const sorted = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * The version of `pkg` installed in `root`'s node_modules ("unknown" when it cannot be read).
 *
 * @since 0.1.0
 * @category reading
 */
export const versionIn = (root: string, pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")) as { version: string })
      .version
  } catch {
    return "unknown"
  }
}
