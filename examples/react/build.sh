#!/bin/sh
# Bundles app.jsx with React into dist/app.js using esbuild, all from npm into a
# throwaway folder (default .state/npm at the repo root). No CDN is used at run time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tools=${FLOWKICK_NPM_DIR:-$here/../../.state/npm}
mkdir -p "$tools"
[ -f "$tools/package.json" ] || echo '{"private": true}' > "$tools/package.json"
[ -x "$tools/node_modules/.bin/esbuild" ] && [ -d "$tools/node_modules/react-dom" ] ||
  npm install --prefix "$tools" --no-audit --no-fund esbuild react react-dom axe-core >&2
NODE_PATH="$tools/node_modules" "$tools/node_modules/.bin/esbuild" "$here/app.jsx" --bundle --minify \
  --jsx=automatic --define:process.env.NODE_ENV='"production"' --outfile="$here/dist/app.js" --log-level=warning
