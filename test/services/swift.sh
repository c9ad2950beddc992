#!/usr/bin/env bash
# A throw-away all-in-one OpenStack Swift on 127.0.0.1 for the tests: one
# replica, account/container/object servers, a proxy with tempauth and the
# s3api middleware (a second real S3 server for the s3 driver), memcached for
# tempauth's tokens.
#
#   test/services/swift.sh install | start | stop | status
#
# State lives in $SWIFT_STATE_DIR (default /tmp/glance-store-swift). Swift 2.30
# reads swift.conf only from /etc/swift/swift.conf: `start` writes it there
# (keeping any existing one) and `stop` puts the old one back. `stop` ends
# exactly the processes this script started.
set -euo pipefail
NAME=swift
# shellcheck source=test/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${SWIFT_STATE_DIR:-/tmp/glance-store-swift}
ETC=$STATE/etc
PROXY_PORT=${SWIFT_PROXY_PORT:-8080}
MEMCACHED_PORT=${SWIFT_MEMCACHED_PORT:-11211}
OBJ_PORT=6200 CONT_PORT=6201 ACCT_PORT=6202
# Small enough that large images take the segmented path in tests, cheaply.
MAX_FILE_SIZE=${SWIFT_MAX_FILE_SIZE:-$((16 * 1024 * 1024))}
PACKAGES=(swift swift-proxy swift-account swift-container swift-object memcached)
SWIFT_CONF=/etc/swift/swift.conf



server_conf() { # name port
  cat >"$ETC/$1-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $2
workers = 0
devices = $STATE/srv
mount_check = false
swift_dir = $ETC
log_facility = LOG_LOCAL0
[pipeline:main]
pipeline = $1-server
[app:$1-server]
use = egg:swift#$1
# No updater daemons run here: an object server that gave up on a slow container
# update would leave listings stale (and containers undeletable) until restarted.
container_update_timeout = 30
EOF
}

ring() { # kind port
  swift-ring-builder "$ETC/$1.builder" create 6 1 1 >/dev/null
  swift-ring-builder "$ETC/$1.builder" add "r1z1-127.0.0.1:$2/d1" 100 >/dev/null
  swift-ring-builder "$ETC/$1.builder" rebalance >/dev/null 2>&1 || true
}


start() {
  if running proxy && running object && running memcached; then
    log "already running"
    return 0
  fi
  stop >/dev/null 2>&1 || true
  command -v swift-proxy-server >/dev/null || die "swift is not installed: run '$0 install'"
  mkdir -p "$ETC" "$STATE"/{srv/d1,log,run}
  if [ -f "$SWIFT_CONF" ] && [ ! -f "$STATE/swift.conf.orig" ]; then cp "$SWIFT_CONF" "$STATE/swift.conf.orig"; fi
  mkdir -p /etc/swift
  cat >"$SWIFT_CONF" <<EOF
[swift-hash]
swift_hash_path_suffix = glance-store-tests
swift_hash_path_prefix = glance-store
[storage-policy:0]
name = default
default = yes
[swift-constraints]
max_file_size = $MAX_FILE_SIZE
EOF
  ring object $OBJ_PORT
  ring container $CONT_PORT
  ring account $ACCT_PORT
  server_conf object $OBJ_PORT
  server_conf container $CONT_PORT
  server_conf account $ACCT_PORT
  cat >"$ETC/proxy-server.conf" <<EOF
$(swift_proxy_conf "$PROXY_PORT" "$ETC" "$MEMCACHED_PORT" "s3api tempauth")
[filter:tempauth]
use = egg:swift#tempauth
reseller_prefix = AUTH
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
EOF
  launch memcached memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -u root -m 64
  launch object swift-object-server "$ETC/object-server.conf"
  launch container swift-container-server "$ETC/container-server.conf"
  launch account swift-account-server "$ETC/account-server.conf"
  launch proxy swift-proxy-server "$ETC/proxy-server.conf"
  local token=''
  for _ in $(seq 100); do
    token=$(curl -fsS -o /dev/null -D - -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "http://127.0.0.1:$PROXY_PORT/auth/v1.0" 2>/dev/null | tr -d '\r' | sed -n 's/^X-Auth-Token: //Ip') && [ -n "$token" ] && break
    sleep 0.2
  done
  [ -n "$token" ] || die "the proxy does not authenticate"
  # The first write proves the storage servers answer too.
  for _ in $(seq 50); do
    curl -fsS -X PUT -H "X-Auth-Token: $token" "http://127.0.0.1:$PROXY_PORT/v1/AUTH_test/probe" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fsS -X PUT -H "X-Auth-Token: $token" "http://127.0.0.1:$PROXY_PORT/v1/AUTH_test/probe" >/dev/null || die "the storage servers do not answer"
  curl -fsS -X DELETE -H "X-Auth-Token: $token" "http://127.0.0.1:$PROXY_PORT/v1/AUTH_test/probe" >/dev/null || true
  cat >"$STATE/env" <<EOF
SWIFT_AUTH_URL=http://127.0.0.1:$PROXY_PORT/auth/v1.0
SWIFT_USER=test:tester
SWIFT_KEY=testing
SWIFT_USER2=test2:tester2
SWIFT_KEY2=testing2
SWIFT_MAX_FILE_SIZE=$MAX_FILE_SIZE
S3_ENDPOINT=http://127.0.0.1:$PROXY_PORT
S3_ACCESS_KEY=test:tester
S3_SECRET_KEY=testing
EOF
  log "up: proxy on 127.0.0.1:$PROXY_PORT (tempauth, s3api)"
}

# Process faults (lib.sh's restart): each daemon as start launched it, back once it answers.
restart_proxy() {
  launch proxy swift-proxy-server "$ETC/proxy-server.conf"
  for _ in $(seq 100); do listening "$PROXY_PORT" && return 0; sleep 0.1; done
  die "the proxy did not come back"
}
restart_object() {
  launch object swift-object-server "$ETC/object-server.conf"
  for _ in $(seq 100); do listening "$OBJ_PORT" && return 0; sleep 0.1; done
  die "the object server did not come back"
}

stop() {
  stop_processes proxy account container object memcached
  if [ -f "$STATE/swift.conf.orig" ]; then cp "$STATE/swift.conf.orig" "$SWIFT_CONF"; elif [ -d "$STATE" ]; then rm -f "$SWIFT_CONF"; fi
  rm -rf "$STATE"
}

status() {
  print_status memcached object container account proxy
}

service_main "$@"
