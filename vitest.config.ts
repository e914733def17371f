import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^houndsight\/test$/, replacement: src("test.ts") },
      { find: /^houndsight\/ai$/, replacement: src("ai.ts") },
      { find: /^houndsight\/wire$/, replacement: src("wire.ts") },
      { find: /^houndsight$/, replacement: src("index.ts") },
      // the server package from its sources (the published one runs server/dist)
      { find: /^houndsight-server$/, replacement: fileURLToPath(new URL("./server/src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts", "server/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
