#!/usr/bin/env node
// The Houndsight gate server, as installed: the compiled JavaScript in dist/ (npm run build -w
// server writes it). From a clone of the repository, bin/dev.mjs runs the TypeScript sources.
import "../dist/main.js"
