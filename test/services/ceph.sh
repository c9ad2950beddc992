#!/usr/bin/env bash
# A throw-away single-node Ceph on 127.0.0.1 for the rbd and s3 tests: one
# monitor, one memstore OSD and a RADOS gateway, with cephx, a pool `images`
# of size 1, a least-privilege `client.glance` and an S3 user.
#
#   test/services/ceph.sh install | start | stop | status
#
# State (config, keyrings, logs, pid files, the env file tests read) lives in
# $CEPH_STATE_DIR (default /tmp/glance-store-ceph). `stop` ends exactly the
# processes this script started.
set -euo pipefail
NAME=ceph
# shellcheck source=test/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=test/services/ceph-cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/ceph-cluster.sh"

STATE=${CEPH_STATE_DIR:-/tmp/glance-store-ceph}
CONF=$STATE/ceph.conf
MON_PORT_V2=${CEPH_MON_PORT_V2:-3300}
MON_PORT_V1=${CEPH_MON_PORT_V1:-6789}
RGW_PORT=${CEPH_RGW_PORT:-7480}
MEMSTORE_BYTES=${CEPH_MEMSTORE_BYTES:-$((6 * 1024 * 1024 * 1024))}
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common librbd-dev librados-dev python3-rbd python3-rados)



ceph_() { timeout 60 ceph -c "$CONF" -n client.admin -k "$STATE/admin.keyring" "$@"; }


start() {
  if running mon && running osd && running rgw; then
    log "already running"
    return 0
  fi
  stop >/dev/null 2>&1 || true
  command -v ceph-mon >/dev/null || die "ceph-mon is not installed: run '$0 install'"
  mkdir -p "$STATE"/{mon,osd,rgw,log,run}
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  { ceph_global_conf "$fsid" 6800 6899; cat <<EOF
[osd.0]
osd data = $STATE/osd
keyring = $STATE/osd/keyring
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd max object size = 134217728
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $STATE/rgw
rgw dns name = 127.0.0.1
rgw enable usage log = false
# Deleted objects' data is freed by RGW's garbage collection, two hours after the delete by
# default: repeated adds and deletes of large images (the s3 bench) would fill the 6 GiB memstore.
rgw gc obj min wait = 60
rgw gc processor period = 60
EOF
  } >"$CONF"
  local adm=$STATE/admin.keyring
  ceph_start_mon "$fsid"
  ceph_start_osd0
  ceph_glance_pool

  ceph_ auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$STATE/rgw/keyring" >/dev/null
  radosgw -c "$CONF" -n client.rgw.a -k "$STATE/rgw/keyring" --pid-file "$STATE/rgw.pid" || die "radosgw did not start"
  for _ in $(seq 150); do curl -fsS "http://127.0.0.1:$RGW_PORT" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fsS "http://127.0.0.1:$RGW_PORT" >/dev/null || die "radosgw does not answer"
  local user
  user=$(timeout 60 radosgw-admin -c "$CONF" -n client.admin -k "$adm" user create --uid=glance --display-name=glance 2>/dev/null) || die "radosgw-admin user create failed"
  local access secret
  access=$(printf '%s' "$user" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["access_key"])')
  secret=$(printf '%s' "$user" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["secret_key"])')

  cat >"$STATE/env" <<EOF
CEPH_CONF=$CONF
CEPH_FSID=$fsid
CEPH_USER=glance
CEPH_KEYRING=$STATE/glance.keyring
CEPH_ADMIN_KEYRING=$adm
CEPH_POOL=images
RGW_ENDPOINT=http://127.0.0.1:$RGW_PORT
RGW_ACCESS_KEY=$access
RGW_SECRET_KEY=$secret
EOF
  # The glance client reads its keyring through the conf, as a deployment's ceph.conf does.
  printf '[client.glance]\nkeyring = %s\n' "$STATE/glance.keyring" >>"$CONF"
  log "up: fsid $fsid, rgw on 127.0.0.1:$RGW_PORT"
}

# Process faults (lib.sh's restart). The memstore OSD keeps nothing across a
# kill, so it is only ever stopped and continued; radosgw restarts as start ran it.
# An OSD continued after a stop keeps the placement groups whose read lease
# ran out meanwhile "waiting for readable" (a single OSD has no peer to renew
# it): every later request to them hangs, radosgw's watches first. Marking the
# OSD down makes it re-assert itself and peer them again at once.
resumed_osd() {
  ceph_ osd down 0 >/dev/null 2>&1 || true
  for _ in $(seq 100); do ceph_ osd stat 2>/dev/null | grep -q '1 up' && return 0; sleep 0.2; done
  die "the osd did not come back up"
}

restart_rgw() {
  radosgw -c "$CONF" -n client.rgw.a -k "$STATE/rgw/keyring" --pid-file "$STATE/rgw.pid" || die "radosgw did not start"
  for _ in $(seq 150); do curl -fsS "http://127.0.0.1:$RGW_PORT" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "radosgw did not come back"
}

stop() {
  # One after the other: each depends on the one stopped after it.
  for name in rgw osd mon; do stop_processes "$name"; done
  rm -rf "$STATE"
}

status() {
  print_status mon osd rgw
  running mon && ceph_ -s 2>/dev/null | sed -n '1,12p' || true
}

service_main "$@"
