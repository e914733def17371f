// Part of `npm run build -w server`: the dashboard's static files (read at run time next to
// dashboard/Assets.js) go beside the compiled code, as tsc copies only TypeScript.
import { cpSync, rmSync } from "node:fs"

const from = new URL("../src/dashboard/assets/", import.meta.url)
const to = new URL("../dist/dashboard/assets/", import.meta.url)
rmSync(to, { recursive: true, force: true })
cpSync(from, to, { recursive: true })
