#!/usr/bin/env bash
# A throw-away OpenStack Keystone (v3 only) on 127.0.0.1 for the tests, plus a
# second Swift proxy that authenticates against it (authtoken + keystoneauth),
# so the Swift driver can be tested with Keystone v3 password and token auth
# and with service-catalog endpoint selection (interface and region).
#
#   test/services/keystone.sh install | start | stop | status
#
# `start` needs test/services/swift.sh to be running: the extra proxy serves
# the same rings and storage servers and shares its memcached. State lives in
# $KEYSTONE_STATE_DIR (default /tmp/glance-store-keystone); `start` writes the
# credentials and ids the tests need to $KEYSTONE_STATE_DIR/env. `stop` ends
# exactly the processes this script started and never touches swift.sh's.
set -euo pipefail
NAME=keystone
# shellcheck source=test/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${KEYSTONE_STATE_DIR:-/tmp/glance-store-keystone}
SWIFT_STATE=${SWIFT_STATE_DIR:-/tmp/glance-store-swift}
SWIFT_ETC=$SWIFT_STATE/etc
KEYSTONE_PORT=${KEYSTONE_PORT:-5000}
PROXY_PORT=${SWIFT_KS_PROXY_PORT:-8081}
MEMCACHED_PORT=${SWIFT_MEMCACHED_PORT:-11211}
# RegionTwo's endpoint points here on purpose: nothing may listen on it.
DEAD_PORT=${KEYSTONE_DEAD_PORT:-8099}
ADMIN_PASSWORD=${KEYSTONE_ADMIN_PASSWORD:-adminpass}
SWIFT_SERVICE_PASSWORD=swiftpass
KS_URL=http://127.0.0.1:$KEYSTONE_PORT/v3
# Not the `keystone` package: it wants debconf and an init script.
PACKAGES=(python3-keystone uwsgi-core uwsgi-plugin-python3 python3-keystonemiddleware)
# The distribution's Python: the one Keystone and Swift are installed for
# (a pyenv or venv python3 earlier in PATH would not find them).
PY=/usr/bin/python3



swift_running() { [ -f "$SWIFT_STATE/$1.pid" ] && kill -0 "$(cat "$SWIFT_STATE/$1.pid")" 2>/dev/null; }

keystone_conf() {
  cat >"$STATE/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///$STATE/keystone.db
[token]
provider = fernet
[fernet_tokens]
key_repository = $STATE/fernet-keys
[credential]
key_repository = $STATE/credential-keys
[identity]
# bcrypt's minimum: every password check costs ~0.3 s at the default 12.
password_hash_rounds = 4
EOF
}

proxy_conf() {
  cat >"$STATE/proxy-server.conf" <<EOF
$(swift_proxy_conf "$PROXY_PORT" "$SWIFT_ETC" "$MEMCACHED_PORT" "authtoken keystoneauth")
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
$(authtoken_options swift "$SWIFT_SERVICE_PASSWORD")
# keystoneauth decides, so anonymous requests can still reach public ACLs.
delay_auth_decision = true
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
[filter:keystoneauth]
use = egg:swift#keystoneauth
reseller_prefix = AUTH_
operator_roles = admin, member
EOF
}

# Users, projects, roles and the object-store catalog entries the tests use.
populate() {
  ADMIN_TOKEN=$(token admin "$ADMIN_PASSWORD" admin)
  [ -n "$ADMIN_TOKEN" ] || die "the bootstrap admin cannot get a token"
  local admin member service swift_user swift_svc
  admin=$(ensure roles role admin '')
  member=$(ensure roles role member '')
  service=$(ensure projects project service ',"domain_id":"default"')
  swift_user=$(ensure users user swift ",\"domain_id\":\"default\",\"password\":\"$SWIFT_SERVICE_PASSWORD\"")
  # authtoken validates users' tokens with this service user's token.
  grant "$service" "$swift_user" "$admin"
  PROJECT_ID=$(ensure projects project glance-test ',"domain_id":"default"')
  USER_ID=$(ensure users user glance ',"domain_id":"default","password":"glancepass"')
  grant "$PROJECT_ID" "$USER_ID" "$member"
  # admin too: keystoneauth lets only operators (and resellers) set container ACLs.
  grant "$PROJECT_ID" "$USER_ID" "$admin"
  TENANT2_PROJECT_ID=$(ensure projects project tenant2 ',"domain_id":"default"')
  TENANT2_USER_ID=$(ensure users user tenant2user ',"domain_id":"default","password":"tenant2pass"')
  grant "$TENANT2_PROJECT_ID" "$TENANT2_USER_ID" "$member"
  swift_svc=$(ensure services service swift ',"type":"object-store"')
  # Keystone fills in $(project_id)s per token, as real deployments do.
  endpoint "$swift_svc" public RegionOne "http://127.0.0.1:$PROXY_PORT/v1/AUTH_\$(project_id)s"
  endpoint "$swift_svc" internal RegionOne "http://127.0.0.1:$PROXY_PORT/v1/AUTH_\$(project_id)s"
  endpoint "$swift_svc" admin RegionOne "http://127.0.0.1:$PROXY_PORT/v1"
  api GET /regions/RegionTwo >/dev/null 2>&1 || api POST /regions '{"region":{"id":"RegionTwo"}}' >/dev/null
  # A region whose Swift is down, so choosing the region is observable.
  endpoint "$swift_svc" public RegionTwo "http://127.0.0.1:$DEAD_PORT/v1/AUTH_\$(project_id)s"
}

start() {
  if running keystone && running proxy; then
    log "already running"
    return 0
  fi
  stop >/dev/null 2>&1 || true
  for name in proxy object container account memcached; do
    swift_running "$name" || die "swift is not running ($name): run 'bash test/services/swift.sh start' first"
  done
  [ -f "$SWIFT_ETC/object.ring.gz" ] || die "no Swift rings in $SWIFT_ETC: run 'bash test/services/swift.sh start' first"
  command -v keystone-manage >/dev/null && command -v uwsgi >/dev/null &&
    "$PY" -c 'import keystonemiddleware' 2>/dev/null || die "keystone is not installed: run '$0 install'"
  for port in "$KEYSTONE_PORT" "$PROXY_PORT"; do
    listening "$port" && die "127.0.0.1:$port is already in use"
  done
  listening "$DEAD_PORT" && log "warning: 127.0.0.1:$DEAD_PORT answers, RegionTwo is meant to be unreachable"
  mkdir -p "$STATE/log"
  # Keystone warns on every token when its keys are readable by others.
  mkdir -p -m 700 "$STATE/fernet-keys" "$STATE/credential-keys"
  keystone_conf
  proxy_conf
  # Its service token is fetched lazily, so the proxy can boot while Keystone does.
  launch proxy swift-proxy-server "$STATE/proxy-server.conf"

  local manage=(keystone-manage --config-file "$STATE/keystone.conf")
  # Each keystone-manage costs ~2 s of imports: the three independent steps
  # run side by side.
  local pids=() step
  "${manage[@]}" db_sync >"$STATE/log/db_sync.log" 2>&1 & pids+=($!)
  for step in fernet_setup credential_setup; do
    "${manage[@]}" "$step" --keystone-user root --keystone-group root >"$STATE/log/$step.log" 2>&1 & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "keystone-manage failed"; done
  # WAL lets a reader and the writer overlap; the journal mode sticks to the
  # file, and switching needs it unopened by anyone else.
  "$PY" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL").fetchone()' "$STATE/keystone.db"

  local wsgi=/usr/bin/keystone-wsgi-public
  if [ ! -f "$wsgi" ]; then
    wsgi=$STATE/keystone-wsgi.py
    printf 'from keystone.server.wsgi import initialize_public_application\napplication = initialize_public_application()\n' >"$wsgi"
  fi
  # One process, one thread: sqlite does not take concurrent writers.
  # uwsgi's http-socket drops the connection after each response without
  # saying so; keep-alive clients (authtoken's session, Node's fetch) then
  # reuse a dead socket, which showed up as a spurious 401 on the first Swift
  # request. `Connection: close` makes them open a fresh one. Skipping the
  # interpreter teardown avoids greenlet aborting ("Accessing state after
  # destruction") on every stop.
  launch keystone uwsgi --plugin python3 --http-socket "127.0.0.1:$KEYSTONE_PORT" --wsgi-file "$wsgi" \
    --processes 1 --threads 1 --need-app --die-on-term --skip-atexit-teardown \
    --add-header 'Connection: close' \
    --env "OS_KEYSTONE_CONFIG_FILES=$STATE/keystone.conf"
  # Loading the app reads nothing from the database, so bootstrap overlaps it.
  "${manage[@]}" bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$KS_URL" --bootstrap-internal-url "$KS_URL" --bootstrap-public-url "$KS_URL" \
    >"$STATE/log/bootstrap.log" 2>&1 || die "keystone-manage bootstrap failed"

  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$KS_URL" 2>/dev/null && break
    running keystone || die "keystone exited"
    sleep 0.2
  done
  curl -fsS -o /dev/null "$KS_URL" || die "keystone does not answer on $KS_URL"
  populate

  local tok='' url probe
  tok=$(token glance glancepass glance-test)
  [ -n "$tok" ] || die "no v3 token for glance/glance-test"
  url=http://127.0.0.1:$PROXY_PORT/v1/AUTH_$PROJECT_ID
  probe=$url/probe-$$
  # The proxy may still be loading; a write proves authtoken, keystoneauth
  # and the storage servers all answer.
  local code=000
  for _ in $(seq 50); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT -H "X-Auth-Token: $tok" "$probe" 2>/dev/null) || true
    case $code in 2??) break ;; 000) ;; *) log "probe PUT answered $code, retrying" ;; esac
    running proxy || die "the keystone-auth proxy exited"
    sleep 0.2
  done
  case $code in 2??) ;; *) die "the keystone-auth proxy refuses a v3 token (HTTP $code)" ;; esac
  curl -fsS -X DELETE -H "X-Auth-Token: $tok" "$probe" >/dev/null || die "the keystone-auth proxy cannot delete"
  cat >"$STATE/env" <<EOF
KEYSTONE_AUTH_URL=$KS_URL
KEYSTONE_REGION=RegionOne
KEYSTONE_ADMIN_PASSWORD=$ADMIN_PASSWORD
KEYSTONE_USER=glance
KEYSTONE_USER_ID=$USER_ID
KEYSTONE_PASSWORD=glancepass
KEYSTONE_PROJECT=glance-test
KEYSTONE_PROJECT_ID=$PROJECT_ID
KEYSTONE_TENANT2_USER=tenant2user
KEYSTONE_TENANT2_PASSWORD=tenant2pass
KEYSTONE_TENANT2_PROJECT=tenant2
KEYSTONE_TENANT2_PROJECT_ID=$TENANT2_PROJECT_ID
SWIFT_KS_ENDPOINT=$url
EOF
  log "up: keystone on $KS_URL, swift proxy (keystoneauth) on 127.0.0.1:$PROXY_PORT"
}

stop() {
  # Both take about a second to wind down: signalled together.
  stop_processes proxy keystone
  rm -rf "$STATE"
}

status() {
  print_status keystone proxy
}

service_main "$@"
