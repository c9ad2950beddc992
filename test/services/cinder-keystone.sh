#!/usr/bin/env bash
# A second cinder-api for the test Cinder, behind the test Keystone
# (`auth_strategy = keystone`), for the cinder driver's cinder_store_* and
# catalog tests. It serves the same volumes (one database, broker, scheduler
# and volume service), so the noauth API of cinder.sh keeps working beside it.
#
#   test/services/cinder-keystone.sh install | start | stop | status
#
# `start` needs test/services/cinder.sh and test/services/keystone.sh; test/run.sh
# starts them in other chains, so it waits (up to $CINDER_KEYSTONE_WAIT s) for
# both. In Keystone it adds, next to what keystone.sh made: a service user
# `cinder` (admin in project `service`, for authtoken), a user `cinder-store`
# (member of project `cinder-test`, the store's cinder_store_* credentials),
# and a `volumev3` service with its endpoints; `stop` removes the service and
# its endpoints again. State, and the env file the tests read, live in
# $CINDER_KEYSTONE_STATE_DIR (default /tmp/glance-store-cinder-keystone).
set -euo pipefail
NAME=cinder-keystone
# shellcheck source=test/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE=${CINDER_KEYSTONE_STATE_DIR:-/tmp/glance-store-cinder-keystone}
CINDER_STATE=${CINDER_STATE_DIR:-/tmp/glance-store-cinder}
KEYSTONE_STATE=${KEYSTONE_STATE_DIR:-/tmp/glance-store-keystone}
API_PORT=${CINDER_KS_API_PORT:-8786}
WAIT=${CINDER_KEYSTONE_WAIT:-300}
SERVICE_PASSWORD=cinderpass
STORE_USER=cinder-store STORE_PASSWORD=cinderstorepass STORE_PROJECT=cinder-test
PY=/usr/bin/python3

# cinder-api brings keystonemiddleware.
install() { bash "$(dirname "${BASH_SOURCE[0]}")/cinder.sh" install; }

env_value() { sed -n "s/^$2=//p" "$1/env"; }

# Waits for a file cinder.sh's start writes (`launched` once its daemons are
# booting, `env` once it is ready); fails at once when that start has failed.
wait_for_cinder() { # file
  local i
  for ((i = 0; i < WAIT * 5; i++)); do
    [ -f "$CINDER_STATE/$1" ] && return 0
    [ -f "$CINDER_STATE/failed" ] && die "cinder failed to start"
    sleep 0.2
  done
  die "cinder is not running after ${WAIT}s: run 'bash test/services/cinder.sh start'"
}

wait_for_keystone() {
  local i
  for ((i = 0; i < WAIT * 5; i++)); do
    [ -f "$KEYSTONE_STATE/env" ] && return 0
    sleep 0.2
  done
  die "keystone is not running after ${WAIT}s: run 'bash test/services/keystone.sh start'"
}

# The volumev3 service of this API, found by its name.
service_id() { api GET "/services?name=cinderv3-glance-store" | jget services 0 id; }

register() {
  ADMIN_TOKEN=$(token admin "$(env_value "$KEYSTONE_STATE" KEYSTONE_ADMIN_PASSWORD)" admin)
  [ -n "$ADMIN_TOKEN" ] || die "the Keystone admin cannot get a token"
  local admin member service svc user url iface
  admin=$(ensure roles role admin '')
  member=$(ensure roles role member '')
  service=$(ensure projects project service ',"domain_id":"default"')
  user=$(ensure users user cinder ",\"domain_id\":\"default\",\"password\":\"$SERVICE_PASSWORD\"")
  # authtoken validates users' tokens with this service user's token.
  grant "$service" "$user" "$admin"
  PROJECT_ID=$(ensure projects project "$STORE_PROJECT" ',"domain_id":"default"')
  USER_ID=$(ensure users user "$STORE_USER" ",\"domain_id\":\"default\",\"password\":\"$STORE_PASSWORD\"")
  grant "$PROJECT_ID" "$USER_ID" "$member"
  # One volumev3 service, its endpoints made afresh (the port may have changed).
  svc=$(service_id)
  [ -z "$svc" ] || api DELETE "/services/$svc" >/dev/null
  svc=$(api POST /services '{"service":{"name":"cinderv3-glance-store","type":"volumev3"}}' | jget service id)
  [ -n "$svc" ] || die "could not create the volumev3 service"
  url="http://127.0.0.1:$API_PORT/v3/\$(project_id)s"
  for iface in public internal admin; do endpoint "$svc" "$iface" "$KEYSTONE_REGION" "$url"; done
}

start() {
  if running api; then
    log "already running"
    return 0
  fi
  stop >/dev/null 2>&1 || true
  wait_for_keystone
  KS_URL=$(env_value "$KEYSTONE_STATE" KEYSTONE_AUTH_URL)
  KEYSTONE_REGION=$(env_value "$KEYSTONE_STATE" KEYSTONE_REGION)
  listening "$API_PORT" && die "127.0.0.1:$API_PORT is already in use"
  mkdir -p "$STATE/log"
  # cinder.sh's stop stops this API too, when it is the Cinder named here.
  echo "$CINDER_STATE" >"$STATE/cinder-state-dir"
  register
  # It boots beside cinder's own daemons, from cinder's database and broker.
  wait_for_cinder launched
  # Read after cinder.conf, so only these settings differ from cinder.sh's API.
  cat >"$STATE/keystone-api.conf" <<EOF
[DEFAULT]
auth_strategy = keystone
osapi_volume_listen_port = $API_PORT
[keystone_authtoken]
$(authtoken_options cinder "$SERVICE_PASSWORD")
EOF
  # Its service token is fetched on the first request, so Keystone need not
  # answer while the API boots.
  launch_group api cinder-api --config-file "$CINDER_STATE/cinder.conf" --config-file "$STATE/keystone-api.conf"

  # Ready when a user's token lists volumes: authtoken, the catalog's project
  # URL and the API all answer.
  local tok code=000
  tok=$(token "$STORE_USER" "$STORE_PASSWORD" "$STORE_PROJECT")
  [ -n "$tok" ] || die "no token for $STORE_USER"
  local deadline=$((SECONDS + 240))
  while :; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $tok" "http://127.0.0.1:$API_PORT/v3/$PROJECT_ID/volumes" 2>/dev/null) || true
    [ "$code" = 200 ] && break
    running api || die "cinder-api exited"
    [ $SECONDS -lt $deadline ] || die "cinder-api behind Keystone answers HTTP $code to a user's token"
    sleep 0.2
  done
  # Volumes can be made once the scheduler and volume service are up too.
  wait_for_cinder env
  cat >"$STATE/env" <<EOF
CINDER_KS_URL=http://127.0.0.1:$API_PORT/v3
CINDER_KS_AUTH_URL=$KS_URL
CINDER_KS_REGION=$KEYSTONE_REGION
CINDER_KS_CATALOG_INFO=volumev3::publicURL
CINDER_KS_USER=$STORE_USER
CINDER_KS_USER_ID=$USER_ID
CINDER_KS_PASSWORD=$STORE_PASSWORD
CINDER_KS_PROJECT=$STORE_PROJECT
CINDER_KS_PROJECT_ID=$PROJECT_ID
EOF
  log "up in ${SECONDS}s: cinder-api on 127.0.0.1:$API_PORT behind $KS_URL (volumev3 in the catalog)"
}

stop() {
  stop_groups api
  # Keystone may be gone already (test/run.sh stops it after this).
  if [ -f "$KEYSTONE_STATE/env" ]; then
    KS_URL=$(env_value "$KEYSTONE_STATE" KEYSTONE_AUTH_URL)
    ADMIN_TOKEN=$(token admin "$(env_value "$KEYSTONE_STATE" KEYSTONE_ADMIN_PASSWORD)" admin)
    local svc=''
    [ -z "$ADMIN_TOKEN" ] || svc=$(service_id 2>/dev/null) || true
    [ -z "$svc" ] || api DELETE "/services/$svc" >/dev/null || true
  fi
  rm -rf "$STATE"
}

status() {
  print_status api
}

service_main "$@"
