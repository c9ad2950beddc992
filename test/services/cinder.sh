#!/usr/bin/env bash
# A throw-away OpenStack Cinder (Debian bookworm's, Zed) on 127.0.0.1 for the
# cinder driver's tests: cinder-api, cinder-scheduler and cinder-volume with
# one RBD backend on the test Ceph (pool `volumes`, cephx user client.cinder),
# a private PostgreSQL on a Unix socket and a private RabbitMQ (oslo.messaging
# has no broker-free transport that works between processes).
#
# Not sqlite: the three services write one database file, and oslo.db begins
# every transaction with a deferred BEGIN, so two that read and then write at
# once fail at once with "database is locked" (no busy wait helps); that broke
# one in a few REST walks (a quota reservation, an attachment update).
#
#   test/services/cinder.sh install | start | stop | status
#
# `install` also makes the database template (a cluster with Cinder's schema,
# in $CINDER_CACHE_DIR, default /var/cache/glance-store), which `start` copies.
# `start` needs test/services/ceph.sh to be running: it makes the pool afresh
# there and client.cinder if missing. The API takes noauth tokens
# `<user>:<project>` (`admin:admin`) with the project in the URL:
# /v3/admin/volumes. test/services/cinder-keystone.sh adds a second API
# behind Keystone.
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
# The database template (see db_template) is kept across runs.
CACHE=${CINDER_CACHE_DIR:-/var/cache/glance-store}
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
PACKAGES=(cinder-api cinder-scheduler cinder-volume rabbitmq-server postgresql)
PY=/usr/bin/python3
DAEMONS=(api scheduler volume)


# The packages ask whether to set up a database and register Keystone
# endpoints; this Cinder has its own of both.
install() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 && continue
    debconf-set-selections <<EOF
cinder-common cinder/configure_db boolean false
cinder-api cinder/configure_api-endpoint boolean false
EOF
    install_packages
    break
  done
  # Here rather than in the first start, which test/run.sh times.
  db_template >/dev/null
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
  # Schedulers that sleep when idle instead of spinning: two cores are shared
  # with Ceph and the tests. (One scheduler, +S 1:1, made its boot slower.)
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='+sbwt none +sbwtdcpu none +sbwtdio none'
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
  launch_group epmd epmd -address 127.0.0.1 -port "$EPMD_PORT"
  for _ in $(seq 50); do listening "$EPMD_PORT" && break; sleep 0.1; done
  listening "$EPMD_PORT" || die "epmd does not listen on 127.0.0.1:$EPMD_PORT"
  # The script runs the node (beam.smp) as its child and waits.
  launch_group rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
}

# The pool (made afresh) and the least-privilege user (kept when it is there)
# on the running test Ceph.
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
    # Afresh: the new database knows none of the volumes an earlier run left.
    mon(prefix='osd pool rm', pool=pool, pool2=pool, yes_i_really_really_mean_it=True)
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
# On SIGTERM the volume service waits this long for its RPC work (60 s by default).
graceful_shutdown_timeout = 1
enabled_backends = ceph
# No per-project quota (10 volumes, 1000 GiB by default, kept in the database
# unless use_default_quota_class is off): a test suite makes many volumes,
# and its own checks, not a quota, find the ones it leaves.
use_default_quota_class = false
quota_volumes = -1
quota_gigabytes = -1
quota_snapshots = -1
[database]
connection = postgresql+psycopg2://cinder@/cinder?host=$STATE/pg
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
EOF
}

# PostgreSQL refuses to run as root: its user owns the clusters.
AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups)
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# A throw-away server on a cluster: no TCP (the socket lives next to the
# data), and no fsync, since nothing here has to survive a crash.
postgres_args() { # data-dir socket-dir
  echo "$(pg_bin)/postgres" -D "$1" -k "$2" -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off
}

pg_ready() { # socket-dir
  psql -h "$1" -U cinder -d postgres -qAtc 'SELECT 1' >/dev/null 2>&1
}

# A cluster with Cinder's schema, made once per Cinder and PostgreSQL version
# and copied at each start: initdb and `cinder-manage db sync` cost ~5 s on
# an idle machine, and half a minute on a busy one. Prints its path.
db_template() {
  local dir t pid ok=0 bin
  bin=$(pg_bin)
  dir=$CACHE/cinder-db-$(dpkg-query -W -f='${Version}' python3-cinder | tr -c 'A-Za-z0-9.+~\n-' _)-pg$(basename "$(dirname "$bin")")
  if [ ! -d "$dir" ]; then
    mkdir -p "$CACHE"
    t=$(mktemp -d "$CACHE/.cinder-db.XXXXXX")
    chown postgres "$t"
    printf '[database]\nconnection = postgresql+psycopg2://cinder@/cinder?host=%s\n' "$t" >"$t/cinder.conf"
    if "${AS_POSTGRES[@]}" "$bin/initdb" -D "$t/data" -U cinder -A trust -E UTF8 --locale=C.UTF-8 -N >"$t/log" 2>&1; then
      # shellcheck disable=SC2046
      "${AS_POSTGRES[@]}" $(postgres_args "$t/data" "$t") >>"$t/log" 2>&1 &
      pid=$!
      for _ in $(seq 300); do pg_ready "$t" && break; sleep 0.1; done
      psql -h "$t" -U cinder -d postgres -qAtc 'CREATE DATABASE cinder' >>"$t/log" 2>&1 &&
        cinder-manage --config-file "$t/cinder.conf" db sync >>"$t/log" 2>&1 && ok=1
      kill -INT "$pid" # a fast shutdown
      wait "$pid" || true
    fi
    if [ $ok = 1 ] && mv -T "$t/data" "$dir" 2>/dev/null; then rm -rf "$t"; else
      # Made by a start running beside this one, or failed.
      [ -d "$dir" ] || { tail -20 "$t/log" >&2; rm -rf "$t"; return 1; }
      rm -rf "$t"
    fi
  fi
  echo "$dir"
}

start_db() {
  local template
  template=$(db_template) || return 1
  command install -d -o postgres -g postgres -m 700 "$STATE/pg"
  cp -a "$template" "$STATE/pg/data"
  # shellcheck disable=SC2046
  launch_group postgres "${AS_POSTGRES[@]}" $(postgres_args "$STATE/pg/data" "$STATE/pg")
  for _ in $(seq 300); do
    pg_ready "$STATE/pg" && return 0
    running postgres || return 1
    sleep 0.1
  done
  return 1
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
  start_db &
  local db=$!
  ceph_setup
  log "ceph pool and user ready (${SECONDS}s)"
  wait "$db" || die "the database did not start"
  log "database up (${SECONDS}s)"
  # The daemons only after the broker: the volume service announces its pool
  # once at start, and the scheduler asks for it once at start; with both
  # still retrying the broker, both messages can be lost, and the pool then
  # shows a minute later, at the volume service's next report.
  for _ in $(seq 600); do listening "$AMQP_PORT" && break; running rabbitmq || die "rabbitmq exited"; sleep 0.1; done
  listening "$AMQP_PORT" || die "rabbitmq does not listen on 127.0.0.1:$AMQP_PORT"
  log "rabbitmq up (${SECONDS}s)"

  local d
  # cinder-api and cinder-volume run their work in forked children.
  for d in "${DAEMONS[@]}"; do launch_group "$d" "cinder-$d" --config-file "$STATE/cinder.conf"; done
  # cinder-keystone.sh's API can boot from here on.
  touch "$STATE/launched"
  log "daemons launched (${SECONDS}s)"
  # A few seconds on an idle machine, a minute on a busy one.
  local deadline=$((SECONDS + 240))
  until ready; do
    for d in "${DAEMONS[@]}" rabbitmq postgres; do running "$d" || die "$d exited"; done
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

# Process faults (lib.sh's restart): a daemon starts again as start launched
# it, and is waited for until it serves again. The volume service counts as
# back once it has reported to the database since its launch (os-services
# still shows the killed one up for a minute) and the scheduler lists its pool.
restart_api() {
  launch_group api cinder-api --config-file "$STATE/cinder.conf"
  local deadline=$((SECONDS + 180))
  until cinder_get /os-services >/dev/null 2>&1; do
    running api || die "cinder-api exited"
    [ $SECONDS -lt $deadline ] || die "cinder-api did not come back"
    sleep 0.2
  done
}

restart_volume() {
  local since
  since=$(date -u +%Y-%m-%dT%H:%M:%S)
  launch_group volume cinder-volume --config-file "$STATE/cinder.conf"
  local deadline=$((SECONDS + 180))
  until cinder_get /os-services 2>/dev/null | "$PY" -c 'import json, sys
s = json.load(sys.stdin)["services"]
sys.exit(0 if any(x["binary"] == "cinder-volume" and x["state"] == "up" and (x["updated_at"] or "") >= sys.argv[1] for x in s) else 1)' "$since" 2>/dev/null && ready; do
    running volume || die "cinder-volume exited"
    [ $SECONDS -lt $deadline ] || die "cinder-volume did not come back"
    sleep 0.5
  done
}

# Cinder's own processes and files.
stop_cinder() {
  # All at once: nothing here needs a clean shutdown.
  stop_groups "${DAEMONS[@]}" rabbitmq epmd
  # After its clients: a smart shutdown waits for them.
  stop_groups postgres
  if [ -f "$STATE/system-keyring.orig" ]; then
    cp -p "$STATE/system-keyring.orig" "$SYSTEM_KEYRING"
  elif grep -qsxF "$KEYRING_MARK" "$SYSTEM_KEYRING"; then
    rm -f "$SYSTEM_KEYRING"
  fi
  rm -rf "$STATE"
}

stop() {
  # The API behind Keystone, when it runs on this database and broker: beside
  # Cinder's own daemons, and before the database, which waits for its clients.
  local ks=''
  if [ "$(cat "$KEYSTONE_API_STATE/cinder-state-dir" 2>/dev/null)" = "$STATE" ]; then
    CINDER_KEYSTONE_STATE_DIR=$KEYSTONE_API_STATE bash "$(dirname "${BASH_SOURCE[0]}")/cinder-keystone.sh" stop &
    ks=$!
  fi
  stop_groups "${DAEMONS[@]}" rabbitmq
  [ -z "$ks" ] || wait "$ks" || true
  stop_cinder
}

status() {
  print_status epmd rabbitmq "${DAEMONS[@]}"
  running api && cinder_get /os-services 2>/dev/null | "$PY" -c 'import json, sys
for s in json.load(sys.stdin)["services"]:
    print("  %s on %s: %s" % (s["binary"], s["host"], s["state"]))' || true
}

service_main "$@"
