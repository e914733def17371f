#!/usr/bin/env -S node --max-semi-space-size=2 --optimize-for-size
// The Houndsight gate server, as installed: the command bundled in one file, dist/cli.mjs
// (npm run build -w server writes it). The node flags keep the heap small (2 MiB semi-spaces for
// the young generation, V8 tuned for size), for many agents waiting on long-polls in a small RSS
// (bench/server.ts measures it). From a clone of the repository, bin/dev.mjs runs the sources.
import "../dist/cli.mjs"
