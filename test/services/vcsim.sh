#!/usr/bin/env bash
# govmomi's vCenter simulator on 127.0.0.1 for the vmware driver's tests.
# Debian ships govmomi's simulator library (golang-github-vmware-govmomi-dev)
# but no vcsim program: `install` builds test/services/vcsim/main.go against
# it offline, in GOPATH mode (module mode would want a network proxy).
#
#   test/services/vcsim.sh install | start | stop | status | signal vcsim SIG | restart vcsim
#
#   test/services/vcsim.sh second-start DIR | second-stop DIR
#
# `second-start` runs an instance of its own for the glance_store interop
# test and the vmware bench, on 127.0.0.2:443 (Python's glance_store speaks
# to port 443 only; binding it needs root), one datastore, serving a vim WSDL
# (test/interop/vim_wsdl.py) at /sdk/vimService.wsdl, which oslo.vmware
# fetches; its state, certificate and env file are in DIR. The shared
# instance on 127.0.0.1:8989 is left alone. `second-stop` ends it and
# removes DIR.
#
# It serves one datacenter (DC0) with three datastores over TLS, with a
# 2048-bit certificate made here (vcsim's own is 1024-bit RSA, which OpenSSL 3
# refuses): LocalDS_0 reports its real free space, LocalDS_1 reports only
# VCSIM_SMALL_FREE bytes free (too small for a large image), LocalDS_2 is not
# accessible. Datastores are directories under $STATE/datastores, kept across
# a restart. State lives in $VCSIM_STATE_DIR (default /tmp/glance-store-vcsim);
# the env file the tests read is $STATE/env. The built program is kept in
# $VCSIM_BUILD_DIR (default /var/cache/glance-store-vcsim) between runs.
set -euo pipefail
NAME=vcsim
# shellcheck source=test/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${VCSIM_STATE_DIR:-/tmp/glance-store-vcsim}
BUILD=${VCSIM_BUILD_DIR:-/var/cache/glance-store-vcsim}
PORT=${VCSIM_PORT:-8989}
SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/vcsim" && pwd)/main.go
BIN=$BUILD/vcsim
SMALL_FREE=$((16 * 1024 * 1024))
PACKAGES=(golang-go golang-github-vmware-govmomi-dev openssl)

# Builds the simulator when it is missing or older than its source.
build() {
  if [ -x "$BIN" ] && [ "$BIN" -nt "$SOURCE" ]; then return 0; fi
  command -v go >/dev/null || die "go is not installed: run '$0 install'"
  mkdir -p "$BUILD/gopath" "$BUILD/cache"
  log "building vcsim from Debian's govmomi"
  GOPATH="$BUILD/gopath:/usr/share/gocode" GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE="$BUILD/cache" \
    go build -o "$BIN.new" "$SOURCE" || die "the build of vcsim failed"
  mv "$BIN.new" "$BIN"
}

install() {
  install_packages
  build
}

restart_vcsim() {
  launch vcsim "$BIN" -listen "127.0.0.1:$PORT" -username "$(cat "$STATE/user")" -password "$(cat "$STATE/password")" \
    -cert "$STATE/cert.pem" -key "$STATE/key.pem" -datastores 3 -datastore-root "$STATE/datastores" \
    -free-space "LocalDS_1=$SMALL_FREE" -inaccessible LocalDS_2
  for _ in $(seq 100); do
    grep -q '^listening on' "$STATE/log/vcsim.log" 2>/dev/null && listening "$PORT" && return 0
    running vcsim || break
    sleep 0.1
  done
  die "vcsim did not start"
}

start() {
  if running vcsim; then
    log "already running"
    return 0
  fi
  stop >/dev/null 2>&1 || true
  build
  mkdir -p "$STATE/log" "$STATE/datastores"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$STATE/key.pem" -out "$STATE/cert.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"
  echo glance >"$STATE/user"
  openssl rand -hex 12 >"$STATE/password"
  chmod 600 "$STATE/password" "$STATE/key.pem"
  restart_vcsim
  cat >"$STATE/env" <<ENV
VCSIM_URL=https://127.0.0.1:$PORT/sdk
VCSIM_HOST=127.0.0.1:$PORT
VCSIM_USER=$(cat "$STATE/user")
VCSIM_PASSWORD=$(cat "$STATE/password")
VCSIM_CA_FILE=$STATE/cert.pem
VCSIM_DATACENTER=DC0
VCSIM_DATASTORE=LocalDS_0
VCSIM_SMALL_DATASTORE=LocalDS_1
VCSIM_SMALL_FREE=$SMALL_FREE
VCSIM_INACCESSIBLE_DATASTORE=LocalDS_2
VCSIM_DATASTORE_ROOT=$STATE/datastores
ENV
  log "up: https://127.0.0.1:$PORT/sdk (DC0: LocalDS_0, LocalDS_1 small, LocalDS_2 inaccessible)"
}

stop() {
  stop_processes vcsim
  rm -rf "$STATE"
}

status() {
  print_status vcsim
}

SECOND_HOST=127.0.0.2

second_start() {
  local dir=$1
  [ -n "$dir" ] || die "second-start needs a directory"
  build
  mkdir -p "$dir/datastores"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$SECOND_HOST" -addext "subjectAltName=IP:$SECOND_HOST" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"
  /usr/bin/python3 "$(dirname "$SOURCE")/../../interop/vim_wsdl.py" "https://$SECOND_HOST/sdk" >"$dir/vimService.wsdl" ||
    die "no vim WSDL: is python3-oslo.vmware installed?"
  local password
  password=$(openssl rand -hex 12)
  (close_inherited_fds; exec nohup "$BIN" -listen "$SECOND_HOST:443" -username glance -password "$password" \
    -cert "$dir/cert.pem" -key "$dir/key.pem" -datastores 1 -datastore-root "$dir/datastores" \
    -wsdl "$dir/vimService.wsdl" >"$dir/vcsim.log" 2>&1) &
  echo $! >"$dir/vcsim.pid"
  for _ in $(seq 100); do
    if grep -q '^listening on' "$dir/vcsim.log" 2>/dev/null; then
      cat >"$dir/env" <<ENV
VCSIM_HOST=$SECOND_HOST
VCSIM_USER=glance
VCSIM_PASSWORD=$password
VCSIM_CA_FILE=$dir/cert.pem
VCSIM_DATACENTER=DC0
VCSIM_DATASTORE=LocalDS_0
VCSIM_DATASTORE_DIR=$dir/datastores/LocalDS_0
ENV
      return 0
    fi
    kill -0 "$(cat "$dir/vcsim.pid")" 2>/dev/null || break
    sleep 0.1
  done
  tail -5 "$dir/vcsim.log" >&2
  second_stop "$dir"
  die "the second vcsim did not start on $SECOND_HOST:443"
}

second_stop() {
  local dir=$1
  [ -n "$dir" ] || die "second-stop needs a directory"
  if [ -f "$dir/vcsim.pid" ]; then
    local pid
    pid=$(cat "$dir/vcsim.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  second-start) second_start "${2:-}" ;;
  second-stop) second_stop "${2:-}" ;;
  *) service_main "$@" ;;
esac
