# What the two test Ceph clusters (ceph.sh: memstore OSD and radosgw;
# ceph-bluestore.sh: a bluestore OSD that survives a kill) build alike:
# sourced after lib.sh by a script that sets STATE, CONF, MON_PORT_V2 and
# MON_PORT_V1 and defines ceph_ (the admin's ceph command).

# The [global] section: one host, cephx, pools of size 1 with 8 placement
# groups, the state directory's run and log paths; daemons bind ports in
# $2-$3; $4 adds lines of the caller's own. Then the [client], [client.admin]
# and [mon.a] sections.
ceph_global_conf() { # fsid port_min port_max [extra global lines]
  cat <<EOF
[global]
fsid = $1
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
ms bind port min = $2
ms bind port max = $3
ms bind ipv4 = true
ms bind ipv6 = false
${4:-}
[client]
# Many short-lived clients (tests, rbd commands) would collide on one admin socket path.
admin socket =
[client.admin]
keyring = $STATE/admin.keyring
[mon.a]
mon data = $STATE/mon
keyring = $STATE/mon.keyring
EOF
}

# Keyrings, the monitor map, and monitor a started and answering.
ceph_start_mon() { # fsid
  local mk=$STATE/mon.keyring adm=$STATE/admin.keyring
  ceph-authtool --create-keyring "$mk" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$adm" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$mk" --import-keyring "$adm" >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT_V2,v1:127.0.0.1:$MON_PORT_V1]" --fsid "$1" "$STATE/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$STATE/monmap" --keyring "$mk" >/dev/null 2>&1 || die "mon mkfs failed"
  ceph-mon -c "$CONF" -i a --pid-file "$STATE/mon.pid" || die "mon did not start"
  for _ in $(seq 100); do ceph_ mon stat >/dev/null 2>&1 && break; sleep 0.2; done
  ceph_ mon stat >/dev/null 2>&1 || die "mon does not answer"
}

# OSD 0 made (its [osd.0] section says which object store), placed in the
# CRUSH map, started and up (up to 30 s).
ceph_start_osd0() {
  local osd_id
  osd_id=$(ceph_ osd create)
  [ "$osd_id" = 0 ] || die "unexpected osd id $osd_id"
  ceph-osd -c "$CONF" -i 0 --mkfs --mkkey --no-mon-config >"$STATE/log/osd-mkfs.log" 2>&1 || die "osd mkfs failed"
  ceph_ auth add osd.0 osd 'allow *' mon 'allow profile osd' -i "$STATE/osd/keyring" >/dev/null
  ceph_ osd crush add-bucket node1 host >/dev/null
  ceph_ osd crush move node1 root=default >/dev/null
  ceph_ osd crush add osd.0 1.0 host=node1 >/dev/null
  ceph-osd -c "$CONF" -i 0 --pid-file "$STATE/osd.pid" || die "osd did not start"
  for _ in $(seq 150); do ceph_ osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.2; done
  ceph_ osd stat | grep -q '1 up' || die "osd is not up"
}

# The pool `images` (size 1, for rbd) and client.glance, limited to it.
ceph_glance_pool() {
  ceph_ osd pool create images 8 >/dev/null
  ceph_ osd pool set images size 1 --yes-i-really-mean-it >/dev/null
  ceph_ osd pool application enable images rbd >/dev/null
  ceph_ auth get-or-create client.glance mon 'profile rbd' osd 'profile rbd pool=images' -o "$STATE/glance.keyring" >/dev/null
}
