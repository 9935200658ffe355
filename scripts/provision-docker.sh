#!/usr/bin/env bash
# Provisions what the containers world, docker-compose.yml and their tests
# need on a Debian machine without a container registry:
#   1. Debian's docker.io (engine 20.10), docker-compose (1.29) and haproxy
#      (its binary goes into the load balancer image), if missing;
#   2. a Docker engine: an engine that already answers is used as it is;
#      otherwise this script starts `dockerd` itself (vfs storage, no
#      iptables, no bridge: containers use host networking) with its data
#      under .cache/docker, a pidfile and a log there;
#   3. the local images, built from binaries already on this machine (a
#      rootfs of each binary plus its `ldd` libraries, `docker import`ed),
#      so Testcontainers and docker-compose find them without pulling:
#        chatlab/node:local       node 20 + libs, system/ and the run-time node_modules under /app,
#                                 user 10001, health check (docker/node.local.Dockerfile; same
#                                 layout, user, entrypoint and health check as ./Dockerfile)
#        chatlab/driver:local     the same node + libs, and the whole project under /app (bin/, cli/,
#                                 scenarios/, reports/, chaos/, plan/, system/; no tests) with its
#                                 run-time node_modules: `chatlab run` / `report merge` in a container
#                                 (entrypoint node /app/bin/chatlab.js, user 10001, no shell)
#        chatlab/redis:local      redis-server + redis-cli
#        chatlab/cassandra:local  a jlinked Java 17 + Cassandra 5.0.6 jars + docker/cassandra/*
#        chatlab/haproxy:local    haproxy 2.6
#        chatlab/coturn:local     coturn's turnserver (Debian's, from scripts/provision.sh), the TURN relay of calls
#      Each image carries a fingerprint label of its inputs (binaries, the
#      project's sources for the node image); a stale image is rebuilt.
#
# Idempotent and fast when done (under 1 s: `docker info` and four `docker
# image inspect`s). Measured here (2 cores shared with other work, vfs):
# engine start 0.5-0.8 s; all four images from scratch 30 s (node 8 s, redis
# 0.5 s, cassandra 20 s of which jlink is most, haproxy 0.6 s; coturn 0.4 s), up to twice
# that on a busy machine; a node-image rebuild after a source change 8-15 s; the driver
# image 14-15 s (191 MB), rebuilt after a change under bin/ cli/ scenarios/ reports/ chaos/
# plan/ system/ (tests excepted) or in the dependencies.
#
# Usage: scripts/provision-docker.sh [--check | --stop | --rebuild]
#   --check    change nothing; exit 1 and say what is missing or stale (the engine and the images
#              the containers world runs: not chatlab/driver:local, which it never starts).
#   --stop     stop the dockerd this script started (by its pidfile); nothing else.
#   --status   exit 0 when a dockerd this script started is running, 1 otherwise.
#   --rebuild  rebuild every local image even if its fingerprint matches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/sbin:/sbin" # dockerd and haproxy live there, not on every user's PATH
STATE="$ROOT/.cache/docker"
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
BUILD="$STATE/build"
CASSANDRA_LIB="$ROOT/.cache/cassandra/lib"
CHATLAB_UID=10001
MODE="${1:-}"
case "$MODE" in ""|--check|--stop|--status|--rebuild) ;; *) echo "usage: $0 [--check|--stop|--status|--rebuild]" >&2; exit 2 ;; esac

say() { printf 'provision-docker: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  say "the containers world and the compose tests need a Docker engine and the local images;"
  say "with a normal Docker install: docker build -t chatlab/node . and use official images (see README, Containers)"
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the dockerd we started -------------------------------------------------
our_dockerd_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Only a dockerd with our data root is ours (pids are reused).
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmdline" == *"--data-root $STATE/data "* ]] || return 1
  echo "$pid"
}

if [[ "$MODE" == "--status" ]]; then our_dockerd_pid >/dev/null; exit; fi

if [[ "$MODE" == "--stop" ]]; then
  if pid="$(our_dockerd_pid)"; then
    say "stopping dockerd (pid $pid; its containers stop with it)"
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then say "dockerd $pid still running after 30 s; sending SIGKILL"; kill -KILL "$pid"; fi
    rm -f "$PIDFILE"
  else
    say "no dockerd started by this script is running"
  fi
  exit 0
fi

engine_up() { timeout 15 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# One provisioning at a time (several test runs may start together): the others wait here.
if [[ "$MODE" != "--check" ]]; then
  mkdir -p "$STATE"
  exec 9>"$STATE/provision.lock"
  flock -w 900 9 || fail "another provision-docker.sh has held $STATE/provision.lock for 15 minutes"
fi

# ---- Debian packages ----------------------------------------------------------
apt_missing=()
command -v dockerd >/dev/null 2>&1 || apt_missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || apt_missing+=(docker-compose)
command -v haproxy >/dev/null 2>&1 || apt_missing+=(haproxy)
if [[ ${#apt_missing[@]} -gt 0 ]]; then
  # An engine that already answers needs no docker.io; the rest is still needed.
  if [[ " ${apt_missing[*]} " == *" docker.io "* ]] && command -v docker >/dev/null 2>&1 && engine_up; then
    apt_missing=("${apt_missing[@]/docker.io}")
    read -r -a apt_missing <<<"${apt_missing[*]}"
  fi
fi
if [[ ${#apt_missing[@]} -gt 0 ]]; then
  [[ "$MODE" == "--check" ]] && { say "missing Debian packages: ${apt_missing[*]}; run: bash scripts/provision-docker.sh"; exit 1; }
  [[ $(id -u) -eq 0 ]] || fail "need root to apt-get install ${apt_missing[*]}"
  command -v apt-get >/dev/null 2>&1 || fail "no apt-get: install ${apt_missing[*]} by hand"
  say "installing ${apt_missing[*]}"
  # Keep Debian from starting services on install (we start dockerd ourselves,
  # and no system haproxy should run). Only a policy file we created is removed.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1; fi
  cleanup_policy() { if [[ $own_policy -eq 1 ]]; then rm -f "$policy"; fi; return 0; }
  trap cleanup_policy EXIT
  export DEBIAN_FRONTEND=noninteractive
  t=$(now)
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || fail "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null \
    || fail "apt-get install ${apt_missing[*]} failed"
  cleanup_policy
  trap - EXIT
  say "installed ${apt_missing[*]} in $(since "$t") s"
fi
command -v docker >/dev/null 2>&1 || fail "no docker client on PATH"

# ---- the engine -----------------------------------------------------------------
if ! engine_up; then
  [[ "$MODE" == "--check" ]] && { say "no Docker engine answers; run: bash scripts/provision-docker.sh"; exit 1; }
  [[ $(id -u) -eq 0 ]] || fail "no Docker engine answers and starting dockerd needs root"
  command -v dockerd >/dev/null 2>&1 || fail "dockerd missing after install"
  mkdir -p "$STATE/data"
  if pid="$(our_dockerd_pid)"; then fail "our dockerd (pid $pid) runs but does not answer; see $LOG, stop it with $0 --stop"; fi
  rm -f "$PIDFILE"
  say "starting dockerd (data root $STATE/data, log $LOG)"
  t=$(now)
  # --bridge=none: no docker0 and no private-range network; containers use --network host.
  setsid nohup dockerd --storage-driver=vfs --iptables=false --ip6tables=false --bridge=none \
    --data-root "$STATE/data" -p "$PIDFILE" >>"$LOG" 2>&1 </dev/null 9>&- & # 9: the lock, not to be inherited
  for _ in $(seq 1 300); do engine_up && break; sleep 0.1; done
  engine_up || { tail -n 20 "$LOG" >&2; fail "dockerd did not answer within 30 s (log $LOG)"; }
  say "dockerd ready in $(since "$t") s (pid $(cat "$PIDFILE")); stop it with: bash scripts/provision-docker.sh --stop"
fi

# ---- local images ---------------------------------------------------------------
sha() { sha256sum | cut -c1-16; }
# An image's recipe is the text of the functions that build it: editing one rebuilds only that image.
recipe() { declare -f "build_$1" rootfs_init rootfs_add rootfs_libs_of_tree rootfs_import; }
fp_of_image() { docker image inspect --format '{{ index .Config.Labels "org.chatlab.fingerprint" }}' "$1" 2>/dev/null || true; }

# Copies files (dereferenced) into a merged-/usr rootfs, with every library `ldd` names for ELF files.
rootfs_init() {
  local dir="$1"
  rm -rf "$dir"
  mkdir -p "$dir"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,tmp,home/chatlab}
  ln -s usr/bin "$dir/bin"; ln -s usr/sbin "$dir/sbin"; ln -s usr/lib "$dir/lib"; ln -s usr/lib64 "$dir/lib64"
  chmod 1777 "$dir/tmp"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nchatlab:x:%s:%s:chatlab:/home/chatlab:/usr/sbin/nologin\n' $CHATLAB_UID $CHATLAB_UID >"$dir/etc/passwd"
  printf 'root:x:0:\nchatlab:x:%s:\n' $CHATLAB_UID >"$dir/etc/group"
  printf 'hosts: files dns\n' >"$dir/etc/nsswitch.conf"
  chown $CHATLAB_UID:$CHATLAB_UID "$dir/home/chatlab"
}
rootfs_add() {
  local dir="$1" f lib
  shift
  for f in "$@"; do
    mkdir -p "$dir$(dirname "$f")"
    cp -L "$f" "$dir$f"
    if [[ "$(file -L "$f" 2>/dev/null)" == *ELF*dynamic* ]]; then
      for lib in $(ldd "$f" | awk '/=>/ && $3 ~ /^\// { print $3 } !/=>/ && $1 ~ /^\// { print $1 }'); do
        [[ -e "$dir$lib" ]] || { mkdir -p "$dir$(dirname "$lib")"; cp -L "$lib" "$dir$lib"; }
      done
    fi
  done
}
# Libraries of every ELF file under a folder already copied into the rootfs.
rootfs_libs_of_tree() {
  local dir="$1" tree="$2" f lib
  while IFS= read -r f; do
    for lib in $(ldd "$f" 2>/dev/null | awk '/=>/ && $3 ~ /^\// { print $3 } !/=>/ && $1 ~ /^\// { print $1 }'); do
      [[ "$lib" == "$tree"* || -e "$dir$lib" ]] || { mkdir -p "$dir$(dirname "$lib")"; cp -L "$lib" "$dir$lib"; }
    done
  done < <(find "$tree" -type f \( -name '*.so' -o -perm -u+x \) -exec sh -c 'file "$1" | grep -q "ELF.*dynamic"' _ {} \; -print)
}
rootfs_import() { # dir image fingerprint --change...
  local dir="$1" image="$2" fp="$3"
  shift 3
  local changes=(--change "LABEL org.chatlab.fingerprint=$fp" --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin')
  for c in "$@"; do changes+=(--change "$c"); done
  tar --numeric-owner -C "$dir" -cf - . | docker import "${changes[@]}" - "$image" >/dev/null
  rm -rf "$dir"
}

command -v file >/dev/null 2>&1 || fail "the 'file' command is missing (apt-get install file)"

# The node image: this machine's node binary and its libraries, system/ (no tests) and the
# run-time node_modules, imported as one layer with the image's config (user, workdir,
# entrypoint); then docker/node.local.Dockerfile adds the HEALTHCHECK, which `docker import`
# cannot set. One layer and one build step, because under vfs every layer and every build
# step is a full copy of the filesystem (about 3 s each here). Never .cache, out/ or dev
# dependencies.
fp_node() {
  { recipe node; node --version; stat -c '%s %Y' "$(readlink -f "$(command -v node)")";
    cat "$ROOT/package-lock.json" "$ROOT/package.json" "$ROOT/tsconfig.json" "$ROOT/docker/node.local.Dockerfile" "$ROOT/docker/runtime-modules.mjs";
    (cd "$ROOT" && find system -type f ! -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum); } | sha
}
# A rootfs in $1 with this machine's node and its libraries, and /app holding package.json,
# package-lock.json, tsconfig.json, the files of the folders in $3 (no tests) and the
# run-time closure of the dependencies (not testcontainers: the CLI's; a nested package
# comes with its parent folder). $2 names the image in errors.
stage_app() {
  local dir="$1" what="$2" dirs="$3" app="$1/app" node rel mods
  node="$(readlink -f "$(command -v node)")"
  rootfs_init "$dir"
  rootfs_add "$dir" "$node"
  [[ -e "$dir/usr/bin/node" ]] || ln -s "$node" "$dir/usr/bin/node"
  mkdir -p "$app/node_modules"
  # shellcheck disable=SC2086 # the folder list splits on purpose
  (cd "$ROOT" && cp package.json package-lock.json tsconfig.json "$app/" \
    && find $dirs -type f ! -name '*.test.ts' -print0 | tar --null -T - -cf - | tar -C "$app" -xf -)
  mods="$(cd "$ROOT" && node docker/runtime-modules.mjs --exclude testcontainers)" || fail "$what image: cannot list the run-time node_modules"
  while IFS= read -r rel; do
    [[ "${rel#node_modules/}" == *node_modules/* ]] && continue
    mkdir -p "$app/$(dirname "$rel")"
    cp -a "$ROOT/$rel" "$app/$rel"
  done <<<"$mods"
  [[ -d "$app/node_modules/tsx" ]] || fail "$what image: tsx missing from the dependencies (npm ci first)"
}
build_node() {
  local dir="$BUILD/node"
  stage_app "$dir" node system
  rootfs_import "$dir" chatlab/node-rootfs:local "$1" 'USER 10001' 'WORKDIR /app' 'EXPOSE 8080' \
    'ENV NODE_ENV=production CHATLAB_PORT=8080' 'ENTRYPOINT ["node", "--import", "tsx"]' 'CMD ["system/worlds/node-process.ts"]'
  mkdir -p "$dir"
  cp "$ROOT/docker/node.local.Dockerfile" "$dir/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t chatlab/node:local "$dir" >/dev/null 2>"$STATE/build-node.log" \
    || { cat "$STATE/build-node.log" >&2; fail "docker build of chatlab/node:local failed"; }
  rm -rf "$dir"
  docker rmi chatlab/node-rootfs:local >/dev/null 2>&1 || true # untag only: it is the new image's parent layer
}

# The driver image: what `chatlab run` and `chatlab report merge` need, for a driver in a
# container or a Kubernetes Job (the chart's driver.image). The node image's rootfs (this
# machine's node and its libraries) with the whole project under /app: bin/, cli/, scenarios/,
# reports/, chaos/, plan/ and system/ (no tests), package.json, tsconfig.json and the run-time
# node_modules (tsx included: the CLI runs from its TypeScript sources). testcontainers stays
# out: a driver drives a running cluster (--target), it starts no containers world. No shell;
# entrypoint `node /app/bin/chatlab.js`. One `docker import`, no build step (it has no health check).
DRIVER_DIRS="bin cli scenarios reports chaos plan system"
fp_driver() {
  { recipe driver; echo "$DRIVER_DIRS"; node --version; stat -c '%s %Y' "$(readlink -f "$(command -v node)")";
    cat "$ROOT/package-lock.json" "$ROOT/package.json" "$ROOT/tsconfig.json" "$ROOT/docker/runtime-modules.mjs";
    # shellcheck disable=SC2086 # the folder list splits on purpose
    (cd "$ROOT" && find $DRIVER_DIRS -type f ! -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum); } | sha
}
build_driver() {
  local dir="$BUILD/driver"
  stage_app "$dir" driver "$DRIVER_DIRS"
  [[ -d "$dir/app/node_modules/commander" ]] || fail "driver image: commander missing from the dependencies (npm ci first)"
  rootfs_import "$dir" chatlab/driver:local "$1" 'USER 10001' 'WORKDIR /app' 'ENV NODE_ENV=production' \
    'ENTRYPOINT ["node", "/app/bin/chatlab.js"]' 'CMD ["--help"]'
}

fp_redis() { { recipe redis; redis-server --version; } | sha; }
build_redis() {
  local dir="$BUILD/redis"
  command -v redis-server >/dev/null 2>&1 || fail "redis-server missing (run scripts/provision.sh)"
  rootfs_init "$dir"
  rootfs_add "$dir" /usr/bin/redis-server /usr/bin/redis-cli
  mkdir -p "$dir/data" && chown $CHATLAB_UID:$CHATLAB_UID "$dir/data"
  rootfs_import "$dir" chatlab/redis:local "$1" 'USER 10001' 'WORKDIR /data' 'EXPOSE 6379' 'CMD ["redis-server"]'
}

fp_cassandra() {
  { recipe cassandra; cat "$CASSANDRA_LIB"/.complete-* 2>/dev/null; ls "$CASSANDRA_LIB"; java -version 2>&1;
    cat "$ROOT/system/worlds/infra/cassandra/cassandra.yaml" "$ROOT/system/worlds/infra/cassandra/logback.xml" "$ROOT/docker/cassandra/docker-entrypoint.sh"; } | sha
}
build_cassandra() {
  local dir="$BUILD/cassandra"
  ls "$CASSANDRA_LIB"/.complete-* >/dev/null 2>&1 || fail "Cassandra jars missing in $CASSANDRA_LIB (run scripts/provision.sh)"
  command -v jlink >/dev/null 2>&1 || fail "jlink missing (apt-get install openjdk-17-jdk-headless)"
  rootfs_init "$dir"
  # A trimmed Java 17 (62 MB instead of 260): the modules Cassandra 5.0 uses.
  # Kept in .cache/docker/jre-<java version> so a rebuild of this image does not jlink again (20 s).
  local jre modules=java.se,jdk.unsupported,jdk.management,jdk.management.agent,jdk.attach,jdk.crypto.ec,jdk.jfr,jdk.naming.dns,jdk.localedata,jdk.zipfs,jdk.httpserver,jdk.net,jdk.sctp,jdk.security.auth
  jre="$STATE/jre-$( { java -version 2>&1; echo "$modules"; } | sha)"
  if [[ ! -x "$jre/bin/java" ]]; then
    rm -rf "$jre" "$jre.tmp"
    jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=2 --output "$jre.tmp"
    mv "$jre.tmp" "$jre"
  fi
  mkdir -p "$dir/opt" && cp -a "$jre" "$dir/opt/java"
  rootfs_libs_of_tree "$dir" "$dir/opt/java"
  ln -s /opt/java/bin/java "$dir/usr/bin/java"
  rootfs_add "$dir" /bin/dash
  ln -s dash "$dir/usr/bin/sh"
  mkdir -p "$dir/opt/cassandra" "$dir/etc/cassandra" "$dir/usr/local/bin" "$dir/var/lib/cassandra" "$dir/var/log/cassandra"
  cp -r "$CASSANDRA_LIB" "$dir/opt/cassandra/lib"
  # The project's yaml with fixed defaults; ports are overridden per container with
  # -Dcassandra.native_transport_port / -Dcassandra.storage_port (JVM_EXTRA_OPTS). A seed
  # without a port means "this storage port", whichever it is.
  sed -e 's/\${CLUSTER_NAME}/chatlab/; s|\${DIR}|/var/lib/cassandra|; s/\${NATIVE_PORT}/9042/; s/\${STORAGE_PORT}/7000/' \
      -e 's/seeds: "127.0.0.1:7000"/seeds: "127.0.0.1"/' \
      "$ROOT/system/worlds/infra/cassandra/cassandra.yaml" >"$dir/etc/cassandra/cassandra.yaml"
  grep -q '\${' "$dir/etc/cassandra/cassandra.yaml" && fail "cassandra.yaml template has a placeholder this script does not fill"
  cp "$ROOT/system/worlds/infra/cassandra/logback.xml" "$dir/etc/cassandra/"
  cp "$ROOT/docker/cassandra/docker-entrypoint.sh" "$dir/usr/local/bin/docker-entrypoint.sh"
  chmod 755 "$dir/usr/local/bin/docker-entrypoint.sh"
  chown -R $CHATLAB_UID:$CHATLAB_UID "$dir/var/lib/cassandra" "$dir/var/log/cassandra"
  rootfs_import "$dir" chatlab/cassandra:local "$1" 'USER 10001' 'WORKDIR /var/lib/cassandra' 'EXPOSE 7000 9042' \
    'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]'
}

fp_haproxy() { { recipe haproxy; haproxy -v 2>&1 | sed -n 1p; } | sha; }
build_haproxy() {
  local dir="$BUILD/haproxy"
  rootfs_init "$dir"
  rootfs_add "$dir" /usr/sbin/haproxy
  mkdir -p "$dir/usr/local/etc/haproxy" "$dir/var/lib/haproxy"
  chown $CHATLAB_UID:$CHATLAB_UID "$dir/var/lib/haproxy"
  rootfs_import "$dir" chatlab/haproxy:local "$1" 'USER 10001' 'WORKDIR /var/lib/haproxy' \
    'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'
}

# SeaweedFS (the media service's object store): the binary scripts/provision.sh built.
fp_seaweedfs() { { recipe seaweedfs; ls "$ROOT"/.cache/bin/.weed-* 2>/dev/null; } | sha; }
build_seaweedfs() {
  local dir="$BUILD/seaweedfs"
  [[ -x "$ROOT/.cache/bin/weed" ]] || fail "SeaweedFS weed missing in .cache/bin (run scripts/provision.sh)"
  rootfs_init "$dir"
  cp "$ROOT/.cache/bin/weed" "$dir/usr/bin/weed"
  rootfs_libs_of_tree "$dir" "$dir/usr/bin"
  mkdir -p "$dir/data" && chown $CHATLAB_UID:$CHATLAB_UID "$dir/data"
  rootfs_import "$dir" chatlab/seaweedfs:local "$1" 'USER 10001' 'WORKDIR /data' 'ENV WEED_MASTER_VOLUME_GROWTH_COPY_1=1' 'ENTRYPOINT ["weed"]'
}

# coturn (the TURN relay of calls): Debian's turnserver, which scripts/provision.sh installs. Its config
# comes as arguments (-n: no config file; the containers world passes the same options as the local world's file).
fp_coturn() { { recipe coturn; turnserver --version 2>/dev/null; stat -c '%s %Y' /usr/bin/turnserver 2>/dev/null; } | sha; }
build_coturn() {
  local dir="$BUILD/coturn"
  command -v turnserver >/dev/null 2>&1 || fail "turnserver missing (run scripts/provision.sh: it installs Debian's coturn)"
  rootfs_init "$dir"
  rootfs_add "$dir" /usr/bin/turnserver
  rootfs_import "$dir" chatlab/coturn:local "$1" 'USER 10001' 'WORKDIR /tmp' 'EXPOSE 3478/udp' 'ENTRYPOINT ["turnserver"]'
}

mkdir -p "$BUILD"
stale=()
built=0
for name in node driver redis cassandra haproxy seaweedfs coturn; do
  # --check is what the containers world asks before it starts; it never runs the driver image.
  [[ "$MODE" == "--check" && "$name" == driver ]] && continue
  want="$("fp_$name")"
  have="$(fp_of_image "chatlab/$name:local")"
  if [[ "$MODE" == "--rebuild" || "$want" != "$have" ]]; then
    if [[ "$MODE" == "--check" ]]; then
      stale+=("chatlab/$name:local ($([[ -z "$have" ]] && echo missing || echo stale))")
      continue
    fi
    t=$(now)
    "build_$name" "$want"
    built=1
    say "built chatlab/$name:local in $(since "$t") s"
  fi
done
if [[ ${#stale[@]} -gt 0 ]]; then
  say "images to build: ${stale[*]}; run: bash scripts/provision-docker.sh"
  exit 1
fi
# Previous builds are now untagged: remove those (only ours, by label) so vfs copies do not pile up.
if [[ $built -eq 1 ]]; then docker image prune -f --filter label=org.chatlab.fingerprint >/dev/null 2>&1 || true; fi
exit 0
