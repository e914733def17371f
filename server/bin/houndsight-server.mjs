#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=10
// The Houndsight gate server, as installed: the command bundled in one file, dist/cli.mjs
// (npm run build -w server writes it). The node flags keep the heap small, for many agents
// waiting on long-polls in a small RSS: 1 MiB semi-spaces for the young generation, and the old
// generation grown by 10 % at a time. --optimize-for-size held the same RSS but cost a fifth more
// CPU per ingested step (BENCHMARKS.md, Part 4; bench/server.ts measures the RSS, bench/gate.ts
// the CPU). From a clone of the repository, bin/dev.mjs runs the sources.
import "../dist/cli.mjs"
