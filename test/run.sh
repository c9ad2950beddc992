#!/usr/bin/env bash
# The whole test suite: installs what the tests need (Debian packages via
# apt-get, npm packages via npm), builds, type-checks and lints, starts the real
# backends on 127.0.0.1, runs every test, then the unit, file-store and rbd
# suites again on each other supported Node version (test/node-versions.sh),
# stops the backends, and prints one closing line `tests: N passed, N failed,
# N skipped` summed over every run.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# Each entry starts in order in the background, entries side by side: Keystone's
# proxy uses the Swift started before it, Cinder the Ceph started before it.
# cinder-keystone (a second Cinder API, behind Keystone) also waits for
# Cinder's daemons, from the other chain, and boots beside them. vcsim (the
# vCenter simulator) needs nothing else: its chain is its own.
SERVICE_CHAINS=(${GLANCE_STORE_SERVICES:-ceph,cinder swift,keystone,cinder-keystone vcsim ceph-bluestore})

log() { printf '[test] %s\n' "$*" >&2; }

# 1. System packages: the reference implementation for differential and
#    interoperability tests, and each backend's own packages (e2fsprogs: the
#    file store's tests make an ext4 disk that turns read-only mid-add, and a FUSE
#    datadir that stops answering (fuse3, python3-fuse); the inspection tests make
#    their images with qemu-utils, gdisk, parted, xorriso and cryptsetup, and run python3-glance's
#    format inspector, which imports oslo.log; the vmware interop test runs
#    glance_store's vmware store, which needs oslo.vmware).
APT_PKGS=(python3-oslo.config python3-glance-store python3-oslo.vmware python3-boto3 python3-swiftclient openssl e2fsprogs fuse3 python3-fuse qemu-utils gdisk parted xorriso cryptsetup-bin python3-oslo.log)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq "${missing[@]}" >/dev/null || log "apt-get install failed for: ${missing[*]}"
  else
    log "not root: cannot install ${missing[*]}"
  fi
fi

# 2. npm dependencies and the build (bin, exports and the conformance suite are used from dist/).
[ -d node_modules ] || npm install --no-audit --no-fund
npm run build >&2 || { echo "tests: 0 passed, 1 failed"; exit 1; }
npx tsc --noEmit -p tsconfig.json >&2 || { log "type check failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
npx eslint --max-warnings 0 . >&2 || { log "lint failed"; echo "tests: 0 passed, 1 failed"; exit 1; }

# 3. Real services. Installs go one after another (apt-get holds one lock), then
#    the chains start side by side; all are stopped on any exit.
started=()
stop_services() {
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do bash "test/services/${started[i]}.sh" stop >/dev/null 2>&1 || true; done
}
trap stop_services EXIT
for chain in "${SERVICE_CHAINS[@]}"; do
  for s in ${chain//,/ }; do
    [ -f "test/services/$s.sh" ] || continue
    started+=("$s")
    bash "test/services/$s.sh" install >"/tmp/glance-store-$s-install.log" 2>&1 || { log "$s failed to install:"; tail -20 "/tmp/glance-store-$s-install.log" >&2; }
  done
done
pids=()
for chain in "${SERVICE_CHAINS[@]}"; do
  (
    for s in ${chain//,/ }; do
      [ -f "test/services/$s.sh" ] || continue
      if bash "test/services/$s.sh" start >"/tmp/glance-store-$s-start.log" 2>&1; then
        echo "[test] $s is up" >&2
      else
        echo "[test] $s failed to start:" >&2
        tail -40 "/tmp/glance-store-$s-start.log" >&2
      fi
    done
  ) &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid"; done

# The librbd binding can only be built once Ceph's headers are installed (by ceph.sh).
npm run build:native >&2 || true

# 4. Every test. Tests of a backend fail (not skip) when its service is down.
export GLANCE_STORE_REQUIRE_SERVICES=1
# The package supports Node 22 and later; a machine whose own Node is older (CI's is 20)
# still runs the whole suite on it, and the AWS SDK's notice about that Node would only
# repeat what engines already says. The supported versions run without it (node-versions.sh).
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true; fi
rm -f test-results*.json
npx vitest run "$@"
status=$?

# 4b. Process faults (test/process-faults): they stop, kill and restart the
#     daemons above, so they run after every other test, one file at a time.
if [ $# -eq 0 ]; then npx vitest run --config vitest.process-faults.config.ts || status=1; fi

# 5. The supported Node versions other than the machine's, with the same build
#    of the rbd binding (only for a whole run, not for a chosen test file).
if [ $# -eq 0 ]; then bash test/node-versions.sh || status=1; fi

# 6. The closing line, summed over the vitest JSON reports of every run.
shopt -s nullglob
node test/summary.mjs test-results.json test-results-process-faults.json test-results-node*.json
exit $status
