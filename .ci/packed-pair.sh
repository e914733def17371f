#!/usr/bin/env bash
# The gate server as a user installs it: `npm pack` of the SDK and of the server, both tarballs
# installed together in an empty folder with nothing else (from the npm cache, --offline, so no
# network is needed), then `npx houndsight-server --db ./gate.db` must start, answer /healthz,
# carry a leash round trip (the installed SDK's Leash.request, decided over HTTP with the
# reviewer key) and serve the dashboard. Prints "packed pair: ok" and exits 0, or says what failed.
#
#   bash .ci/packed-pair.sh            (builds first: npm run build:server)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

work="$(mktemp -d "${TMPDIR:-/tmp}/houndsight-packed-XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

echo "packed pair: building the SDK and the server"
npm run --silent build:server >/dev/null

echo "packed pair: npm pack (SDK, server)"
npm pack --silent --pack-destination "$work" >/dev/null
npm pack --silent -w server --pack-destination "$work" >/dev/null
sdk="$(ls "$work"/houndsight-[0-9]*.tgz)"
server="$(ls "$work"/houndsight-server-[0-9]*.tgz)"

app="$work/app"
mkdir "$app"
cd "$app"
node "$root/.ci/packed-pair-lock.mjs" "$root" "$app" "$sdk" "$server"
echo "packed pair: npm ci --offline in the empty folder (the two tarballs and their dependencies, from the npm cache)"
npm ci --offline --no-audit --no-fund --loglevel=error >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; echo "packed pair: install failed"; exit 1; }

# nothing of the repository may be reachable from the app folder
if [ -e "$app/node_modules/houndsight/src/index.ts" ] && [ ! -e "$app/node_modules/houndsight/dist/index.js" ]; then
  echo "packed pair: the SDK tarball has no dist/"; exit 1
fi
if [ -e "$app/node_modules/tsx" ]; then echo "packed pair: tsx was installed with the server (it must not be needed at run time)"; exit 1; fi

cp "$root/.ci/packed-pair-check.mjs" "$app/check.mjs"
node "$app/check.mjs"
