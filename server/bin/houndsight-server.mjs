#!/usr/bin/env node
// The local Houndsight gate server. Runs the TypeScript sources through tsx, with
// server/tsconfig.json resolving `houndsight` to the SDK's own src/ (no build needed).
import { fileURLToPath } from "node:url"
import { register } from "tsx/esm/api"

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) })
await import("../src/main.ts")
