// Part of `npm run build -w server`: the command's code in one file, dist/cli.mjs (esbuild), so
// `houndsight-server` starts by reading one module instead of resolving and loading the several
// hundred files of its dependencies one by one (module loading is most of a cold start). The
// library (`import { Server } from "houndsight-server"`, dist/index.js) stays unbundled and uses
// the installed `houndsight` and `effect`. better-sqlite3 stays outside: it loads its native
// module from its own folder.
import { build } from "esbuild"
import { fileURLToPath } from "node:url"

const dist = fileURLToPath(new URL("../dist/", import.meta.url))
await build({
  entryPoints: [`${dist}main.js`],
  outfile: `${dist}cli.mjs`,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3"],
  // the CommonJS inside the bundle (and better-sqlite3) get a require of their own
  banner: { js: 'import { createRequire as __houndsightRequire } from "node:module"; const require = __houndsightRequire(import.meta.url);' },
  logLevel: "warning",
  legalComments: "none"
})
