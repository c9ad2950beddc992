#!/usr/bin/env bash
# A second, small Ceph on 127.0.0.1 whose one OSD keeps its data across a
# kill: bluestore on a sparse file. It exists for the process-fault tests
# that SIGKILL the OSD (test/process-faults/rbd-osd-kill.test.ts); the main
# cluster's OSD (ceph.sh) is memstore, which loses every object when killed.
# One monitor, one bluestore OSD, no manager or gateway, cephx, a pool
# `images` of size 1 and a least-privilege `client.glance`.
#
#   test/services/ceph-bluestore.sh install | start | stop | status
#   test/services/ceph-bluestore.sh signal osd KILL | restart osd
#
# Its own fsid, ports (monitor 3310/6790, daemons 6900-6949) and state
# directory ($CEPH_BLUESTORE_STATE_DIR, default /tmp/glance-store-ceph-bluestore),
# so it never touches the main cluster.
set -euo pipefail
NAME=ceph-bluestore
# shellcheck source=test/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=test/services/ceph-cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/ceph-cluster.sh"

STATE=${CEPH_BLUESTORE_STATE_DIR:-/tmp/glance-store-ceph-bluestore}
CONF=$STATE/ceph.conf
MON_PORT_V2=${CEPH_BLUESTORE_MON_PORT_V2:-3310}
MON_PORT_V1=${CEPH_BLUESTORE_MON_PORT_V1:-6790}
# The OSD's block device: a sparse file, so only what is written takes disk space.
BLOCK_BYTES=${CEPH_BLUESTORE_BLOCK_BYTES:-$((4 * 1024 * 1024 * 1024))}
PACKAGES=(ceph-mon ceph-osd ceph-common)

ceph_() { timeout 60 ceph -c "$CONF" -n client.admin -k "$STATE/admin.keyring" "$@"; }

start() {
  if running mon && running osd; then
    log "already running"
    return 0
  fi
  stop >/dev/null 2>&1 || true
  command -v ceph-mon >/dev/null || die "ceph-mon is not installed: run '$0 install'"
  mkdir -p "$STATE"/{mon,osd,log,run}
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  # A restarted OSD waits out its placement groups' read lease before serving them
  # (0.8 x 20 s by default); a single OSD has no peer it must wait for, so keep it short.
  { ceph_global_conf "$fsid" 6900 6949 'osd pool default read lease ratio = 0.05'; cat <<EOF
[osd.0]
osd data = $STATE/osd
keyring = $STATE/osd/keyring
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $BLOCK_BYTES
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mkfs = false
bluestore fsck on mount = false
# Small and quick to start: a fixed cache, few worker threads.
bluestore cache autotune = false
bluestore cache size = 67108864
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2
osd max object size = 134217728
EOF
  } >"$CONF"
  local adm=$STATE/admin.keyring
  ceph_start_mon "$fsid"
  ceph_start_osd0
  osd_up
  ceph_glance_pool
  pgs_serve

  cat >"$STATE/env" <<EOF
CEPH_CONF=$CONF
CEPH_FSID=$fsid
CEPH_USER=glance
CEPH_KEYRING=$STATE/glance.keyring
CEPH_ADMIN_KEYRING=$adm
CEPH_POOL=images
EOF
  printf '[client.glance]\nkeyring = %s\n' "$STATE/glance.keyring" >>"$CONF"
  log "up: fsid $fsid, monitor on 127.0.0.1:$MON_PORT_V2, bluestore OSD on $STATE/osd/block"
}

# The monitor has the OSD up and in (up to 30 s).
osd_up() {
  for _ in $(seq 150); do ceph_ osd stat 2>/dev/null | grep -q '1 up.*1 in' && return 0; sleep 0.2; done
  die "the osd is not up and in"
}

# Every placement group of the pool answers (up to 60 s): with no manager
# there is no `pg stat`, so each is asked for its objects (a placement-group
# op the OSD serves only once the group is active), each call bounded.
pgs_serve() {
  local pool_id pg n
  pool_id=$(ceph_ osd pool ls detail 2>/dev/null | awk '$3 == "'\''images'\''" {print $2; exit}')
  [ -n "$pool_id" ] || die "no pool images"
  n=$(ceph_ osd pool get images pg_num | awk '{print $2}')
  local end=$((SECONDS + 60))
  for ((pg = 0; pg < n; pg++)); do
    until timeout 10 rados -c "$CONF" -n client.admin -k "$STATE/admin.keyring" --rados-osd-op-timeout 5 -p images --pgid "$pool_id.$(printf '%x' "$pg")" ls >/dev/null 2>&1; do
      [ $SECONDS -lt $end ] || die "placement group $pool_id.$pg does not answer"
      sleep 0.2
    done
  done
}

# Process faults (lib.sh's signal and restart): the OSD killed and started
# again keeps what it had written; restart returns once its placement groups serve.
restart_osd() {
  ceph-osd -c "$CONF" -i 0 --pid-file "$STATE/osd.pid" || die "osd did not start"
  osd_up
  pgs_serve
}

stop() {
  for name in osd mon; do stop_processes "$name"; done
  rm -rf "$STATE"
}

status() {
  print_status mon osd
  running mon && ceph_ -s 2>/dev/null | sed -n '1,12p' || true
}

service_main "$@"
