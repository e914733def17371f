// Part of `npm run build -w server`: the dashboard's static files (read at run time next to
// dashboard/Assets.js, or the bundle's) go beside the compiled code, as tsc copies only TypeScript.
import { cpSync, rmSync } from "node:fs"

// dist/dashboard/assets for dist/dashboard/Assets.js, dist/assets for the bundle dist/cli.mjs
const from = new URL("../src/dashboard/assets/", import.meta.url)
for (const to of [new URL("../dist/dashboard/assets/", import.meta.url), new URL("../dist/assets/", import.meta.url)]) {
  rmSync(to, { recursive: true, force: true })
  cpSync(from, to, { recursive: true })
}
