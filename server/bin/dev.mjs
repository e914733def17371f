#!/usr/bin/env node
// The gate server from its TypeScript sources, for working in the repository (tests, the demo,
// `npm run server`): runs them through tsx, with server/tsconfig.json resolving `houndsight` to
// the SDK's own src/ (no build needed). Not shipped: the package's bin runs dist/.
import { fileURLToPath } from "node:url"
import { register } from "tsx/esm/api"

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) })
await import("../src/main.ts")
