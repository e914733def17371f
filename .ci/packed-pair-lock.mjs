// Part of .ci/packed-pair.sh: writes the empty app folder's package.json (the two tarballs as its
// only dependencies) and a package-lock.json that pins every package below them to the versions
// and integrity hashes of the repository's own lock file, so `npm ci --offline` in that folder
// takes every tarball from the npm cache that the repository's `npm ci` filled, and needs no
// registry metadata (npm 11 asks for full package documents when it resolves ranges itself, and
// `npm ci` caches only the tarballs).
//
//   node packed-pair-lock.mjs <repo root> <app folder> <sdk.tgz> <server.tgz>
import { createHash } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { basename, join, relative } from "node:path"

const [root, app, sdkTgz, serverTgz] = process.argv.slice(2)
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"))
const integrity = (file) => `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`
const manifest = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))

const tarballEntry = (pkg, file) => ({
  version: pkg.version,
  resolved: `file:${relative(app, file)}`,
  integrity: integrity(file),
  license: pkg.license,
  ...(pkg.dependencies ? { dependencies: pkg.dependencies } : {}),
  ...(pkg.peerDependencies ? { peerDependencies: pkg.peerDependencies } : {}),
  ...(pkg.bin ? { bin: typeof pkg.bin === "string" ? { [pkg.name]: pkg.bin } : pkg.bin } : {}),
  ...(pkg.engines ? { engines: pkg.engines } : {})
})

const sdk = manifest(root)
const server = manifest(join(root, "server"))
const packages = {
  "": {
    name: "houndsight-packed-pair",
    dependencies: { houndsight: `file:${relative(app, sdkTgz)}`, "houndsight-server": `file:${relative(app, serverTgz)}` }
  },
  "node_modules/houndsight": tarballEntry(sdk, sdkTgz),
  "node_modules/houndsight-server": tarballEntry(server, serverTgz)
}

// Where Node finds `name` from a package at `from` in the repository's tree (its own
// node_modules, then each parent's), as a key of the lock's `packages`.
const resolve = (from, name) => {
  let at = from
  for (;;) {
    const key = at === "" ? `node_modules/${name}` : `${at}/node_modules/${name}`
    if (lock.packages[key] !== undefined) return key
    if (at === "") return undefined
    const cut = at.lastIndexOf("/node_modules/")
    at = cut === -1 ? "" : at.slice(0, cut)
  }
}
// A repository location as a location in the app: the server workspace is node_modules/houndsight-server.
const appKey = (key) => key.startsWith("server/") ? `node_modules/houndsight-server/${key.slice("server/".length)}` : key

const visit = (from, deps, optionalPeers = {}) => {
  for (const name of Object.keys(deps ?? {})) {
    if (name === "houndsight") continue
    const key = resolve(from, name)
    if (key === undefined) {
      if (optionalPeers[name]?.optional === true) continue
      throw new Error(`packed pair: ${name} (needed from ${from || "the root"}) is not in package-lock.json`)
    }
    const target = appKey(key)
    if (packages[target] !== undefined) continue
    const { dev, devOptional, peer, ...entry } = lock.packages[key]
    packages[target] = entry
    visit(key, { ...entry.dependencies, ...entry.optionalDependencies })
    visit(key, entry.peerDependencies, entry.peerDependenciesMeta)
  }
}
visit("server", server.dependencies)
visit("", sdk.peerDependencies, sdk.peerDependenciesMeta)

writeFileSync(
  join(app, "package.json"),
  JSON.stringify({
    name: "houndsight-packed-pair",
    private: true,
    dependencies: packages[""].dependencies,
    // better-sqlite3 builds its native module at install time (npm 11 runs no dependency's install
    // script unless it is allowed)
    allowScripts: { "better-sqlite3": true }
  }, null, 2) + "\n"
)
writeFileSync(
  join(app, "package-lock.json"),
  JSON.stringify({ name: "houndsight-packed-pair", lockfileVersion: 3, requires: true, packages }, null, 2) + "\n"
)
console.log(`packed pair: ${Object.keys(packages).length - 1} packages pinned from package-lock.json for ${basename(app)}`)
