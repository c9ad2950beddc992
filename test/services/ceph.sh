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
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT_V2,v1:127.0.0.1:$MON_PORT_V1]
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $STATE/run
log file = $STATE/log/\$name.log
admin socket = $STATE/run/\$name.asok
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
paxos propose interval = 0.1
mon data avail warn = 2
mon data avail crit = 1
ms bind port min = 6800
ms bind port max = 6899
ms bind ipv4 = true
ms bind ipv6 = false
[client]
# Many short-lived clients (tests, rbd commands) would collide on one admin socket path.
admin socket =
[client.admin]
keyring = $STATE/admin.keyring
[mon.a]
mon data = $STATE/mon
keyring = $STATE/mon.keyring
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
EOF
  local mk=$STATE/mon.keyring adm=$STATE/admin.keyring
  ceph-authtool --create-keyring "$mk" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$adm" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$mk" --import-keyring "$adm" >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT_V2,v1:127.0.0.1:$MON_PORT_V1]" --fsid "$fsid" "$STATE/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$STATE/monmap" --keyring "$mk" >/dev/null 2>&1 || die "mon mkfs failed"
  ceph-mon -c "$CONF" -i a --pid-file "$STATE/mon.pid" || die "mon did not start"
  for _ in $(seq 100); do ceph_ mon stat >/dev/null 2>&1 && break; sleep 0.2; done
  ceph_ mon stat >/dev/null 2>&1 || die "mon does not answer"

  local osd_id
  osd_id=$(ceph_ osd create)
  [ "$osd_id" = 0 ] || die "unexpected osd id $osd_id"
  ceph-osd -c "$CONF" -i 0 --mkfs --mkkey --no-mon-config >/dev/null 2>&1 || die "osd mkfs failed"
  ceph_ auth add osd.0 osd 'allow *' mon 'allow profile osd' -i "$STATE/osd/keyring" >/dev/null
  ceph_ osd crush add-bucket node1 host >/dev/null
  ceph_ osd crush move node1 root=default >/dev/null
  ceph_ osd crush add osd.0 1.0 host=node1 >/dev/null
  ceph-osd -c "$CONF" -i 0 --pid-file "$STATE/osd.pid" || die "osd did not start"
  for _ in $(seq 150); do ceph_ osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.2; done
  ceph_ osd stat | grep -q '1 up' || die "osd is not up"

  ceph_ osd pool create images 8 >/dev/null
  ceph_ osd pool set images size 1 --yes-i-really-mean-it >/dev/null
  ceph_ osd pool application enable images rbd >/dev/null
  ceph_ auth get-or-create client.glance mon 'profile rbd' osd 'profile rbd pool=images' -o "$STATE/glance.keyring" >/dev/null

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
