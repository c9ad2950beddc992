#!/usr/bin/env bash
# A throw-away OpenStack Cinder (Debian bookworm's, Zed) on 127.0.0.1 for the
# cinder driver's tests: cinder-api, cinder-scheduler and cinder-volume with
# one RBD backend on the test Ceph (pool `volumes`, cephx user client.cinder),
# a sqlite database and a private RabbitMQ (oslo.messaging has no broker-free
# transport that works between processes).
#
#   test/services/cinder.sh install | start | stop | status
#
# `start` needs test/services/ceph.sh to be running (it creates the pool and
# the user there, idempotently). The API takes noauth tokens `<user>:<project>`
# (`admin:admin`) with the project in the URL: /v3/admin/volumes.
# test/services/cinder-keystone.sh adds a second API behind Keystone.
#
# State lives in $CINDER_STATE_DIR (default /tmp/glance-store-cinder); `start`
# writes what the tests need to $CINDER_STATE_DIR/env. It also writes the
# client.cinder keyring to /etc/ceph/ceph.client.cinder.keyring: Cinder's
# connection_info names the monitors and the user but carries no key
# (OSSN-0085), so os-brick, and with it glance_store's cinder store, reads the
# key from /etc/ceph/<cluster>.client.<user>.keyring, a path no option changes.
# Someone else's keyring there is kept aside and put back by `stop`. No
# /etc/ceph/ceph.conf is written: os-brick makes its own from connection_info
# (glance_store's cinder store works here without one), and one would change
# what every librados client on the machine reads by default. `stop` ends
# exactly the processes this script started, RabbitMQ's epmd included.
set -euo pipefail
NAME=cinder
# shellcheck source=test/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${CINDER_STATE_DIR:-/tmp/glance-store-cinder}
KEYSTONE_API_STATE=${CINDER_KEYSTONE_STATE_DIR:-/tmp/glance-store-cinder-keystone}
CEPH_STATE=${CEPH_STATE_DIR:-/tmp/glance-store-ceph}
API_PORT=${CINDER_API_PORT:-8776}
AMQP_PORT=${CINDER_RABBITMQ_PORT:-5673}
# Not 4369: a RabbitMQ or other Erlang node on this machine keeps its own epmd.
EPMD_PORT=${CINDER_EPMD_PORT:-4371}
DIST_PORT=$((AMQP_PORT + 20000))
POOL=volumes
CEPH_USER=cinder
SYSTEM_KEYRING=/etc/ceph/ceph.client.$CEPH_USER.keyring
KEYRING_BY="# written by glance-store's test/services/cinder.sh"
KEYRING_MARK="$KEYRING_BY for $STATE; its stop removes it"
API_URL=http://127.0.0.1:$API_PORT/v3
PACKAGES=(cinder-api cinder-scheduler cinder-volume rabbitmq-server)
PY=/usr/bin/python3
DAEMONS=(api scheduler volume)


# The packages ask whether to set up a database and register Keystone
# endpoints; this Cinder has its own of both.
install() {
  local need=0 p
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need=1; done
  [ $need = 1 ] || return 0
  debconf-set-selections <<EOF
cinder-common cinder/configure_db boolean false
cinder-api cinder/configure_api-endpoint boolean false
EOF
  install_packages
}

# The RabbitMQ node and its epmd, both in $STATE, answering only on 127.0.0.1
# with the default guest/guest (which RabbitMQ lets in from loopback only).
rabbitmq_env() {
  local r=$STATE/rabbitmq
  export HOME=$r # the Erlang cookie
  export RABBITMQ_NODENAME=glance-store-cinder@localhost
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$AMQP_PORT RABBITMQ_DIST_PORT=$DIST_PORT
  export ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$EPMD_PORT
  export RABBITMQ_CONF_ENV_FILE=$r/rabbitmq-env.conf RABBITMQ_CONFIG_FILE=$r/rabbitmq.conf
  export RABBITMQ_ADVANCED_CONFIG_FILE=$r/advanced.config RABBITMQ_ENABLED_PLUGINS_FILE=$r/enabled_plugins
  export RABBITMQ_MNESIA_BASE=$r/mnesia RABBITMQ_LOG_BASE=$STATE/log/rabbitmq RABBITMQ_PID_FILE=$r/pid
  export RABBITMQ_LOGS=- # to the launch log
  # One scheduler thread that sleeps when idle: two cores are shared with Ceph and the tests.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none'
}

start_rabbitmq() {
  rabbitmq_env
  mkdir -p "$HOME" "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
  : >"$RABBITMQ_CONF_ENV_FILE"
  printf '[].\n' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
  # Erlang distribution (what rabbitmqctl would use) on loopback too.
  printf '[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}].\n' >"$RABBITMQ_ADVANCED_CONFIG_FILE"
  cat >"$RABBITMQ_CONFIG_FILE" <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
loopback_users.guest = true
default_user = guest
default_pass = guest
EOF
  launch epmd epmd -address 127.0.0.1 -port "$EPMD_PORT"
  for _ in $(seq 50); do listening "$EPMD_PORT" && break; sleep 0.1; done
  listening "$EPMD_PORT" || die "epmd does not listen on 127.0.0.1:$EPMD_PORT"
  # The script runs the node (beam.smp) as its child and waits.
  launch_group rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
}

# The pool and the least-privilege user on the running test Ceph; each step
# leaves what is already there as it is.
ceph_setup() {
  [ -f "$CEPH_STATE/env" ] || die "ceph is not running: run 'bash test/services/ceph.sh start' first"
  # One client for the four monitor commands: each `ceph` command costs a
  # second of Python start-up.
  (umask 077 && timeout 60 "$PY" - "$CEPH_STATE/ceph.conf" "$CEPH_STATE/admin.keyring" "$POOL" "$CEPH_USER" \
    >"$STATE/ceph.client.$CEPH_USER.keyring" 2>"$STATE/log/ceph-setup.log" <<'PY'
import json, sys
import rados
conf, keyring, pool, user = sys.argv[1:]
with rados.Rados(conffile=conf, name='client.admin', conf={'keyring': keyring}) as cluster:
    def mon(**cmd):
        ret, out, err = cluster.mon_command(json.dumps(cmd), b'')
        if ret != 0:
            sys.exit('%s: %s' % (cmd['prefix'], err))
        return out
    mon(prefix='osd pool create', pool=pool, pg_num=8)
    mon(prefix='osd pool set', pool=pool, var='size', val='1', yes_i_really_mean_it=True)
    mon(prefix='osd pool application enable', pool=pool, app='rbd')
    sys.stdout.write(mon(prefix='auth get-or-create', entity='client.' + user,
                         caps=['mon', 'profile rbd', 'osd', 'profile rbd pool=' + pool]).decode())
PY
  ) || die "cannot create the pool $POOL and client.$CEPH_USER on the test Ceph"
  # Cinder's own view of the cluster: the test monitors and client.cinder's key.
  {
    grep -E '^(fsid|mon host) = ' "$CEPH_STATE/ceph.conf"
    printf '[client]\nadmin socket =\n[client.%s]\nkeyring = %s\n' "$CEPH_USER" "$STATE/ceph.client.$CEPH_USER.keyring"
  } | sed '1i [global]' >"$STATE/ceph.conf"
  mkdir -p /etc/ceph
  # Someone else's keyring is kept aside; one of ours (a run that was never
  # stopped) is not.
  if [ -f "$SYSTEM_KEYRING" ] && ! grep -qF "$KEYRING_BY" "$SYSTEM_KEYRING" && [ ! -f "$STATE/system-keyring.orig" ]; then
    cp -p "$SYSTEM_KEYRING" "$STATE/system-keyring.orig"
  fi
  (umask 077 && { echo "$KEYRING_MARK"; cat "$STATE/ceph.client.$CEPH_USER.keyring"; } >"$SYSTEM_KEYRING")
  chmod 600 "$SYSTEM_KEYRING"
}

cinder_conf() {
  cat >"$STATE/cinder.conf" <<EOF
[DEFAULT]
host = glance-store-test
my_ip = 127.0.0.1
state_path = $STATE/lib
api_paste_config = /etc/cinder/api-paste.ini
rootwrap_config = /etc/cinder/rootwrap.conf
use_stderr = true
# Tokens are '<user>:<project>'; the project in the URL must match.
auth_strategy = noauth_include_project_id
# noauth projects are names, not uuids: without this /v3/admin/... is a 404.
project_id_regex = [0-9a-f\-]+|admin
transport_url = rabbit://guest:guest@127.0.0.1:$AMQP_PORT/
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = $API_PORT
osapi_volume_workers = 1
enabled_backends = ceph
[database]
connection = sqlite:///$STATE/cinder.sqlite
[ceph]
volume_driver = cinder.volume.drivers.rbd.RBDDriver
volume_backend_name = ceph
rbd_pool = $POOL
rbd_user = $CEPH_USER
rbd_ceph_conf = $STATE/ceph.conf
[coordination]
backend_url = file://$STATE/coordination
[oslo_concurrency]
lock_path = $STATE/lock
[oslo_messaging_notifications]
driver = noop
[oslo_messaging_rabbit]
# Every second, not 1, 3, 5... s, while the broker boots beside them.
rabbit_retry_backoff = 0
EOF
}

db_sync() {
  cinder-manage --config-file "$STATE/cinder.conf" db sync >"$STATE/log/db_sync.log" 2>&1
}

cinder_get() { # path: GET as admin, printing the JSON
  curl -fsS -H 'X-Auth-Token: admin:admin' -H 'OpenStack-API-Version: volume 3.0' "$API_URL/admin$1"
}

# Ready when the scheduler and the volume service are up and the scheduler
# has the pool (before that, creating a volume fails with "No valid backend").
ready() {
  listening "$API_PORT" || return 1
  cinder_get /os-services 2>/dev/null | "$PY" -c 'import json, sys
s = json.load(sys.stdin)["services"]
up = {x["binary"] for x in s if x["state"] == "up" and x["status"] == "enabled"}
sys.exit(0 if {"cinder-scheduler", "cinder-volume"} <= up else 1)' 2>/dev/null &&
    cinder_get /scheduler-stats/get_pools 2>/dev/null | grep -q "#ceph"
}

start() {
  if running api && running scheduler && running volume && running rabbitmq; then
    log "already running"
    return 0
  fi
  # Not `stop`: cinder-keystone.sh may be waiting for this start.
  stop_cinder >/dev/null 2>&1 || true
  # cinder-keystone.sh, which test/run.sh starts side by side, waits for
  # `launched` and the env file, or this mark.
  trap '[ -f "$STATE/env" ] || { mkdir -p "$STATE" && touch "$STATE/failed"; }' EXIT
  command -v cinder-api >/dev/null && command -v rabbitmq-server >/dev/null || die "cinder is not installed: run '$0 install'"
  for port in "$API_PORT" "$AMQP_PORT" "$EPMD_PORT" "$DIST_PORT"; do
    listening "$port" && die "127.0.0.1:$port is already in use"
  done
  mkdir -p "$STATE"/{log,lib,lock,coordination}
  cinder_conf
  # RabbitMQ boots (~3 s) while the database is made and Ceph set up.
  ( start_rabbitmq )
  db_sync &
  local sync=$!
  ceph_setup
  log "ceph pool and user ready (${SECONDS}s)"
  wait "$sync" || die "cinder-manage db sync failed"
  log "database synced (${SECONDS}s)"

  local d
  # They boot (seconds of imports) while RabbitMQ may still be booting: they
  # retry the broker every second. cinder-api and cinder-volume run their work
  # in forked children.
  for d in "${DAEMONS[@]}"; do launch_group "$d" "cinder-$d" --config-file "$STATE/cinder.conf"; done
  # cinder-keystone.sh's API can boot from here on.
  touch "$STATE/launched"
  log "daemons launched (${SECONDS}s)"
  # A few seconds on an idle machine, a minute on a busy one.
  local deadline=$((SECONDS + 240))
  until ready; do
    for d in "${DAEMONS[@]}" rabbitmq; do running "$d" || die "$d exited"; done
    [ $SECONDS -lt $deadline ] || die "cinder is not ready: scheduler and volume up with the pool listed"
    sleep 0.2
  done
  cat >"$STATE/env" <<EOF
CINDER_URL=$API_URL
CINDER_ENDPOINT_TEMPLATE=$API_URL/%(project_id)s
CINDER_PROJECT_ID=admin
CINDER_USER_ID=admin
CINDER_TOKEN=admin:admin
CINDER_CEPH_CONF=$STATE/ceph.conf
CINDER_CEPH_POOL=$POOL
CINDER_CEPH_USER=$CEPH_USER
CINDER_CEPH_KEYRING=$STATE/ceph.client.$CEPH_USER.keyring
CINDER_CEPH_SYSTEM_KEYRING=$SYSTEM_KEYRING
EOF
  log "up in ${SECONDS}s: cinder-api on $API_URL (noauth, token admin:admin), RBD pool $POOL"
}

# Cinder's own processes and files.
stop_cinder() {
  # All at once: nothing here needs a clean shutdown.
  stop_groups "${DAEMONS[@]}" rabbitmq
  stop_processes epmd
  if [ -f "$STATE/system-keyring.orig" ]; then
    cp -p "$STATE/system-keyring.orig" "$SYSTEM_KEYRING"
  elif grep -qsxF "$KEYRING_MARK" "$SYSTEM_KEYRING"; then
    rm -f "$SYSTEM_KEYRING"
  fi
  rm -rf "$STATE"
}

stop() {
  # The API behind Keystone, when it runs on this database and broker.
  if [ "$(cat "$KEYSTONE_API_STATE/cinder-state-dir" 2>/dev/null)" = "$STATE" ]; then
    CINDER_KEYSTONE_STATE_DIR=$KEYSTONE_API_STATE bash "$(dirname "${BASH_SOURCE[0]}")/cinder-keystone.sh" stop
  fi
  stop_cinder
}

status() {
  print_status epmd rabbitmq "${DAEMONS[@]}"
  running api && cinder_get /os-services 2>/dev/null | "$PY" -c 'import json, sys
for s in json.load(sys.stdin)["services"]:
    print("  %s on %s: %s" % (s["binary"], s["host"], s["state"]))' || true
}

service_main "$@"
