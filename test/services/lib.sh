# Shared by the service scripts (sourced, not run). The sourcing script sets
# NAME (its log prefix), STATE (its state directory) and PACKAGES, defines
# start, stop and status, and ends with `service_main "$@"`.

log() { printf '[%s] %s\n' "$NAME" "$*" >&2; }

die() {
  log "$*"
  for f in "$STATE"/log/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}

# Installs the missing PACKAGES with apt-get, without starting the packages'
# own services (these scripts run their own, on test ports). A script with
# more to do (e.g. debconf answers) defines its own install and calls this.
install() { install_packages; }
install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null || { rm -f /usr/sbin/policy-rc.d; exit 1; }
  rm -f /usr/sbin/policy-rc.d
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

# A daemon keeps only its stdio from whoever started it: an fd a test run
# holds (a lock file, the test runner's pipe) would otherwise stay open for
# as long as a daemon the test restarted runs.
close_inherited_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
  done
  return 0
}

launch() { # name command...
  local name=$1
  shift
  (close_inherited_fds; exec nohup "$@" >"$STATE/log/$name.log" 2>&1) &
  echo $! >"$STATE/$name.pid"
}

# Ends the processes named (from their pid files), all signalled at once, each
# killed outright if it has not gone within 5 s.
stop_processes() { # name...
  local pids=() pid name
  for name in "$@"; do [ -f "$STATE/$name.pid" ] && pids+=("$(cat "$STATE/$name.pid")"); done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

# As launch, for a daemon that forks workers (or runs its real server as a
# child): it leads a process group of its own, so stop_groups ends its
# children with it.
launch_group() { # name command...
  local name=$1
  shift
  # setsid execs (no fork): a background job of a script is no group leader.
  (close_inherited_fds; exec setsid nohup "$@" >"$STATE/log/$name.log" 2>&1) &
  echo $! >"$STATE/$name.pid"
}

# As stop_processes, for the process groups launch_group started.
stop_groups() { # name...
  local pids=() pid name
  for name in "$@"; do running "$name" && pids+=("$(cat "$STATE/$name.pid")"); done
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- "-$pid" 2>/dev/null || true
  done
}

print_status() { # name...
  local name
  for name in "$@"; do
    if running "$name"; then echo "$name: running"; else echo "$name: stopped"; fi
  done
}

# A Swift proxy's configuration as both test proxies (tempauth's and Keystone's)
# have it; the auth middlewares named go into the pipeline, and the caller
# appends their [filter:...] sections.
swift_proxy_conf() { # port swift_dir memcached_port "auth middlewares"
  cat <<FILTERS
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
swift_dir = $2
log_facility = LOG_LOCAL0
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk $4 slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# With one storage node, one error must not make the proxy refuse it for a minute.
error_suppression_interval = 0
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$3
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
# Large objects are read at full speed: by default Swift serves segments after the
# 10th at one per second, which would make every large-image read crawl.
[filter:slo]
use = egg:swift#slo
rate_limit_segments_per_sec = 0
[filter:dlo]
use = egg:swift#dlo
rate_limit_segments_per_sec = 0
FILTERS
}

# Keystone v3 calls for the scripts that register users and endpoints in the
# test Keystone: they use $KS_URL, and $ADMIN_TOKEN (from `token`) for api.

# Prints a JSON value from stdin, following keys (and list indexes) in $@;
# prints nothing when the path is absent, e.g. an empty search result.
jget() {
  "${PY:-/usr/bin/python3}" -c 'import json, sys
v = json.load(sys.stdin)
try:
    for k in sys.argv[1:]:
        v = v[int(k)] if k.isdigit() else v[k]
except (KeyError, IndexError):
    sys.exit(0)
print(v)' "$@"
}

# A project-scoped v3 password token (domain Default): prints X-Subject-Token.
token() { # user password project
  local body
  body=$(printf '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"%s","domain":{"id":"default"},"password":"%s"}}},"scope":{"project":{"name":"%s","domain":{"id":"default"}}}}}' "$1" "$2" "$3")
  curl -fsS -o /dev/null -D - -H 'Content-Type: application/json' -d "$body" "$KS_URL/auth/tokens" 2>/dev/null |
    tr -d '\r' | sed -n 's/^X-Subject-Token: //Ip' || true
}

api() { # method path [json]
  curl -fsS -X "$1" -H "X-Auth-Token: $ADMIN_TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"} "$KS_URL$2"
}

# find-or-create by name, printing the id, so a role bootstrap already made
# (member) is reused rather than duplicated.
ensure() { # collection singular name extra-json-fields
  local id
  id=$(api GET "/$1?name=$3" | jget "$1" 0 id)
  [ -n "$id" ] || id=$(api POST "/$1" "{\"$2\":{\"name\":\"$3\"$4}}" | jget "$2" id)
  [ -n "$id" ] || die "could not create $2 $3"
  echo "$id"
}

grant() { # project-id user-id role-id
  api PUT "/projects/$1/users/$2/roles/$3" >/dev/null
}

endpoint() { # service-id interface region url
  api POST /endpoints "$(printf '{"endpoint":{"service_id":"%s","interface":"%s","region_id":"%s","url":"%s"}}' "$@")" >/dev/null
}

# keystonemiddleware's authtoken settings for a service user of project
# `service` in the test Keystone.
authtoken_options() { # user password
  cat <<EOF
www_authenticate_uri = $KS_URL
auth_url = $KS_URL
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = $1
password = $2
EOF
}

# Process faults for the tests (test/services/daemons.ts): a signal to exactly
# one daemon this script started, by its pid file (its whole group when it
# leads one), and a restart of one daemon, which the script defines as
# restart_<name> (it waits until the daemon answers again).
signal_daemon() { # name STOP|CONT|KILL|TERM
  local name=$1 sig=$2 pid
  [ -f "$STATE/$name.pid" ] || die "no daemon $name was started here"
  pid=$(cat "$STATE/$name.pid")
  kill -0 "$pid" 2>/dev/null || die "daemon $name (pid $pid) is not running"
  # A group leader (launch_group) is signalled with its workers.
  if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then kill "-$sig" -- "-$pid"; else kill "-$sig" "$pid"; fi
  if [ "$sig" = KILL ]; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

restart_daemon() { # name
  declare -F "restart_$1" >/dev/null || die "$NAME cannot restart $1"
  if running "$1"; then
    local pid
    pid=$(cat "$STATE/$1.pid")
    signal_daemon "$1" CONT
    if [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then stop_groups "$1"; else stop_processes "$1"; fi
  fi
  (close_inherited_fds; "restart_$1")
}

service_main() {
  case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    signal) signal_daemon "${2:?daemon}" "${3:?signal}" ;;
    restart) restart_daemon "${2:?daemon}" ;;
    *) echo "usage: $0 install|start|stop|status|signal DAEMON SIG|restart DAEMON" >&2; exit 2 ;;
  esac
}
