/**
 * Summarises `.cpuprofile` files (from `node --cpu-prof`, as `--profile <dir>` of the exporter
 * benches writes them): self time by function (name, file and line), the largest first, with its
 * share of the profile's samples, and the same grouped by package (the path under
 * `node_modules`, or `houndsight`, `node` for Node's own code, `(gc)`, `(idle)`, …).
 *
 *   npx tsx bench/cpuprofile.ts /tmp/prof/CPU.*.cpuprofile [--top 40] [--skip-ms 1500]
 *
 * `--skip-ms` leaves out the profile's first milliseconds (start-up, warm-up).
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const topAt = args.indexOf("--top")
const top = topAt >= 0 ? Number(args[topAt + 1]) : 40
const skipAt = args.indexOf("--skip-ms")
const skipMicros = skipAt >= 0 ? Number(args[skipAt + 1]) * 1000 : 0
const files = args.filter((a, i) => !a.startsWith("--") && i !== topAt + 1 && (skipAt < 0 || i !== skipAt + 1))
if (files.length === 0) throw new Error("bench/cpuprofile.ts: name one or more .cpuprofile files")

/** Where a function's code lives: a package, houndsight's own, Node's, or V8's pseudo-frames. */
const packageOf = (url: string, name: string): string => {
  if (url === "") return name.startsWith("(") ? name : "(native)"
  const nm = url.lastIndexOf("node_modules/")
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/")
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (url.startsWith("node:")) return "node"
  return "houndsight"
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfMicros = new Map<number, number>()
  let total = 0
  let elapsed = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    elapsed += dt
    if (elapsed < skipMicros) continue
    selfMicros.set(profile.samples[i]!, (selfMicros.get(profile.samples[i]!) ?? 0) + dt)
    total += dt
  }
  const byFunction = new Map<string, number>()
  const byPackage = new Map<string, number>()
  for (const [id, micros] of selfMicros) {
    const { functionName, lineNumber, url } = byId.get(id)!.callFrame
    const where = url === "" ? "" : ` ${url.replace(/^file:\/\/.*?(node_modules\/|\.cache\/[^/]+\/)/, "")}:${lineNumber + 1}`
    const key = `${functionName || "(anonymous)"}${where}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros)
    const pkg = packageOf(url, functionName)
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros)
  }
  const idle = byFunction.get("(idle)") ?? 0
  const busy = total - idle
  const line = (micros: number, label: string) =>
    `${(micros / 1000).toFixed(1).padStart(9)} ms ${(micros / busy * 100).toFixed(1).padStart(5)} %  ${label}`
  console.log(`\n${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms not idle (shares of that)`)
  console.log("\nby package:")
  for (const [pkg, micros] of [...byPackage].sort((a, b) => b[1] - a[1])) if (pkg !== "(idle)") console.log(line(micros, pkg))
  console.log(`\nby function (top ${top}):`)
  for (const [fn, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    if (fn !== "(idle)") console.log(line(micros, fn))
  }
}
