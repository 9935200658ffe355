#!/usr/bin/env bash
# Installs what the local world and the integration tests need on a Debian
# machine: redis-server, Java 17, Apache Cassandra 5.0.6 (jars from Maven
# Central into .cache/cassandra/lib), chromium (report tests), coturn (the
# TURN relay of calls) and toxiproxy-server (network faults; built with
# `go install` into .cache/bin).
#
# Idempotent and fast when done: every step is a file or command check first,
# so a provisioned machine passes in well under 2 s without touching the
# network. apt-get update runs at most once per run, and only when a Debian
# package is missing.
#
# Usage: scripts/provision.sh [--check]
#   --check   install nothing; exit 1 and say what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CASSANDRA_VERSION=5.0.6
CASSANDRA_LIB="$ROOT/.cache/cassandra/lib"
CASSANDRA_MARKER="$CASSANDRA_LIB/.complete-$CASSANDRA_VERSION"
POM="$ROOT/scripts/cassandra/pom.xml"
TOXIPROXY_BIN="$ROOT/.cache/bin/toxiproxy-server"
TOXIPROXY_VERSION=v2.5.0
TOXIPROXY_MODULE="github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
# Written beside the binary once it is built: a binary of another version is rebuilt.
TOXIPROXY_MARKER="$ROOT/.cache/bin/.toxiproxy-$TOXIPROXY_VERSION"
# SeaweedFS (Apache-2.0): `go install` refuses its module (its go.mod has
# replace directives), so the module source is downloaded and built with go build.
SEAWEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
SEAWEED_BIN="$ROOT/.cache/bin/weed"
SEAWEED_MARKER="$ROOT/.cache/bin/.weed-$SEAWEED_VERSION"
CHECK_ONLY=0
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=1
# Last step on every successful path: the Docker engine and local images of the containers world.
# A failure there fails only the containers tests (they provision again and say why), not every test.
provision_docker() { bash "$ROOT/scripts/provision-docker.sh" $([[ $CHECK_ONLY -eq 1 ]] && echo --check) || { [[ $CHECK_ONLY -eq 0 ]] && say "WARNING: Docker not provisioned (above); the containers tests will fail"; } || exit 1; }

say() { printf 'provision: %s\n' "$*" >&2; }

alternatives() {
  cat >&2 <<'EOF'
provision: instead of installing, you can
  - run the local world in containers:        chatlab run --world containers
  - point it at servers you already run:      chatlab run --world local --redis redis://127.0.0.1:6379 --cassandra 127.0.0.1:9042
EOF
}

fail() {
  say "FAILED: $*"
  alternatives
  exit 1
}

java_major() {
  command -v java >/dev/null 2>&1 || { echo 0; return; }
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1
}

# Leave no system redis service running (on 6379): chatlab starts its own.
stop_system_redis() {
  local pid
  if [[ -f /run/redis/redis-server.pid ]]; then
    pid="$(cat /run/redis/redis-server.pid 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      say "stopping the system redis service (pid $pid); chatlab starts its own"
      (command -v service >/dev/null 2>&1 && service redis-server stop >/dev/null 2>&1) || kill "$pid" || true
    fi
  fi
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
}

# Leave no system coturn service running (on 3478): chatlab starts its own
# turnserver per world and test, each with its own config, ports and secret.
# Only the service's own pidfile is looked at: turnservers chatlab started are
# not touched.
stop_system_turnserver() {
  local pidfile pid
  for pidfile in /run/turnserver/turnserver.pid /run/turnserver.pid /var/run/turnserver.pid; do
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      say "stopping the system coturn service (pid $pid); chatlab starts its own"
      (command -v service >/dev/null 2>&1 && service coturn stop >/dev/null 2>&1) || kill "$pid" || true
    fi
  done
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now coturn >/dev/null 2>&1 || true
  fi
}

# ---- helm and kubernetes-validate (the Helm chart test) ----------------------
bash "$ROOT/scripts/provision-k8s-tools.sh" $([[ $CHECK_ONLY -eq 1 ]] && echo --check) || { [[ $CHECK_ONLY -eq 0 ]] && say "WARNING: helm and kubernetes-validate not provisioned (above); the Helm chart test will fail"; } || exit 1

# ---- what is missing -------------------------------------------------------
apt_missing=()
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
# turnserver lives in /usr/bin; coturn's service is kept from starting below.
command -v turnserver >/dev/null 2>&1 || apt_missing+=(coturn)
[[ -x /usr/bin/chromium ]] || apt_missing+=(chromium)
[[ "$(java_major)" -ge 17 ]] || apt_missing+=(openjdk-17-jre-headless)
need_cassandra=0
[[ -f "$CASSANDRA_MARKER" ]] || need_cassandra=1
if [[ $need_cassandra -eq 1 ]] && ! command -v mvn >/dev/null 2>&1; then apt_missing+=(maven); fi
need_toxiproxy=0
[[ -x "$TOXIPROXY_BIN" && -f "$TOXIPROXY_MARKER" ]] || need_toxiproxy=1
need_seaweed=0
[[ -x "$SEAWEED_BIN" && -f "$SEAWEED_MARKER" ]] || need_seaweed=1
if [[ $need_toxiproxy -eq 1 || $need_seaweed -eq 1 ]] && ! command -v go >/dev/null 2>&1 && [[ ! -x /usr/local/go/bin/go ]]; then apt_missing+=(golang-go); fi

if [[ ${#apt_missing[@]} -eq 0 && $need_cassandra -eq 0 && $need_toxiproxy -eq 0 && $need_seaweed -eq 0 ]]; then
  [[ $CHECK_ONLY -eq 1 ]] || { stop_system_redis; stop_system_turnserver; }
  provision_docker
  exit 0
fi

if [[ $CHECK_ONLY -eq 1 ]]; then
  [[ ${#apt_missing[@]} -gt 0 ]] && say "missing Debian packages: ${apt_missing[*]}"
  [[ $need_cassandra -eq 1 ]] && say "missing Cassandra $CASSANDRA_VERSION jars in $CASSANDRA_LIB"
  [[ $need_toxiproxy -eq 1 ]] && say "missing $TOXIPROXY_BIN"
  [[ $need_seaweed -eq 1 ]] && say "missing $SEAWEED_BIN (SeaweedFS $SEAWEED_VERSION)"
  say "run: bash scripts/provision.sh"
  alternatives
  exit 1
fi

# ---- Debian packages -------------------------------------------------------
if [[ ${#apt_missing[@]} -gt 0 ]]; then
  [[ $(id -u) -eq 0 ]] || fail "need root to apt-get install ${apt_missing[*]} (try: sudo bash scripts/provision.sh)"
  command -v apt-get >/dev/null 2>&1 || fail "no apt-get: install ${apt_missing[*]} by hand"
  say "installing ${apt_missing[*]}"
  # Keep Debian from starting the system redis and coturn services on install:
  # the local world starts its own redis-server and turnserver on free ports. policy-rc.d exit 101
  # means "action forbidden"; only ours is removed afterwards.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  cleanup_policy() { [[ $own_policy -eq 1 ]] && rm -f "$policy"; return 0; }
  trap cleanup_policy EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || fail "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null \
    || fail "apt-get install ${apt_missing[*]} failed"
  cleanup_policy
  trap - EXIT
fi

stop_system_redis
stop_system_turnserver

command -v redis-server >/dev/null 2>&1 || fail "redis-server still missing after install"
command -v turnserver >/dev/null 2>&1 || fail "turnserver (coturn) still missing after install"
[[ -x /usr/bin/chromium ]] || fail "chromium still missing after install"
[[ "$(java_major)" -ge 17 ]] || fail "Java 17 still missing after install"

# ---- Cassandra jars from Maven Central ------------------------------------
if [[ $need_cassandra -eq 1 ]]; then
  command -v mvn >/dev/null 2>&1 || fail "maven (mvn) missing"
  say "fetching Cassandra $CASSANDRA_VERSION jars into $CASSANDRA_LIB (about 66 MB)"
  tmp="$CASSANDRA_LIB.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  mvn_log="$ROOT/.cache/cassandra/mvn.log"
  if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    tail -n 20 "$mvn_log" >&2
    fail "mvn could not fetch org.apache.cassandra:cassandra-all:$CASSANDRA_VERSION (log: $mvn_log)"
  fi
  ls "$tmp"/cassandra-all-"$CASSANDRA_VERSION".jar >/dev/null 2>&1 || fail "cassandra-all jar missing after mvn"
  rm -rf "$CASSANDRA_LIB"
  mv "$tmp" "$CASSANDRA_LIB"
  ls "$CASSANDRA_LIB" | wc -l >"$CASSANDRA_MARKER"
fi

# ---- Toxiproxy (network faults), built from the Go module proxy ------------
if [[ $need_toxiproxy -eq 1 ]]; then
  go_bin="$(command -v go || echo /usr/local/go/bin/go)"
  [[ -x "$go_bin" ]] || fail "go missing: cannot build toxiproxy-server"
  say "building toxiproxy-server ($TOXIPROXY_MODULE, about a minute)"
  gobin="$ROOT/.cache/go-bin"
  mkdir -p "$gobin" "$(dirname "$TOXIPROXY_BIN")"
  go_log="$ROOT/.cache/toxiproxy-build.log"
  if ! GOBIN="$gobin" "$go_bin" install "$TOXIPROXY_MODULE" >"$go_log" 2>&1; then
    tail -n 20 "$go_log" >&2
    fail "go install $TOXIPROXY_MODULE failed (log: $go_log)"
  fi
  # The module's binary is named `server`; copy then rename, so a half-written file never passes the check.
  cp "$gobin/server" "$TOXIPROXY_BIN.tmp" && chmod +x "$TOXIPROXY_BIN.tmp" && mv "$TOXIPROXY_BIN.tmp" "$TOXIPROXY_BIN"
  touch "$TOXIPROXY_MARKER"
fi

# ---- SeaweedFS (the media service's object store), built from its module source
if [[ $need_seaweed -eq 1 ]]; then
  go_bin="$(command -v go || echo /usr/local/go/bin/go)"
  [[ -x "$go_bin" ]] || fail "go missing: cannot build SeaweedFS"
  say "building SeaweedFS weed ($SEAWEED_VERSION, about 5 minutes the first time)"
  mkdir -p "$(dirname "$SEAWEED_BIN")"
  sw_log="$ROOT/.cache/seaweedfs-build.log"
  src_dir="$("$go_bin" mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEED_VERSION" 2>"$sw_log" \
    | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])' 2>>"$sw_log")" \
    || { tail -n 20 "$sw_log" >&2; fail "go mod download github.com/seaweedfs/seaweedfs@$SEAWEED_VERSION failed (log: $sw_log)"; }
  # The module cache is read-only: build in a writable copy, removed afterwards (the binary is what is kept).
  build_dir="$(mktemp -d "$ROOT/.cache/seaweedfs-src.XXXXXX")"
  cp -r "$src_dir/." "$build_dir/" && chmod -R u+w "$build_dir"
  if ! (cd "$build_dir" && "$go_bin" build -o "$SEAWEED_BIN.tmp" ./weed) >>"$sw_log" 2>&1; then
    rm -rf "$build_dir"
    tail -n 20 "$sw_log" >&2
    fail "go build of SeaweedFS failed (log: $sw_log)"
  fi
  rm -rf "$build_dir"
  mv "$SEAWEED_BIN.tmp" "$SEAWEED_BIN"
  touch "$SEAWEED_MARKER"
fi

say "ready: redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), coturn $(dpkg-query -W -f '${Version}' coturn 2>/dev/null || echo '?'), Java $(java_major), Cassandra $CASSANDRA_VERSION ($(cat "$CASSANDRA_MARKER") jars), chromium, toxiproxy-server $TOXIPROXY_VERSION, SeaweedFS weed"
provision_docker
