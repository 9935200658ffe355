#!/usr/bin/env bash
# Builds ./Dockerfile, unchanged, on a machine without a container registry,
# to check it the way a user with a normal Docker install would build it.
# `node:20-slim` cannot be pulled here, so a stand-in is tagged under that
# name on this engine for the duration of the build: a rootfs of this
# machine's node 20 and npm, dash and the few coreutils the Dockerfile's RUN
# uses, user `node` (1000), this machine's CA bundle — then removed again. `npm ci` inside the build
# needs the npm registry (as it would for the user). Not part of `npm test`.
#
# Usage: docker/verify-dockerfile.sh   (after scripts/provision-docker.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.cache/docker/build/node-20-slim"
say() { printf 'verify-dockerfile: %s\n' "$*" >&2; }

if docker image inspect node:20-slim >/dev/null 2>&1 && [[ -z "$(docker image inspect --format '{{ index .Config.Labels "org.chatlab.standin" }}' node:20-slim)" ]]; then
  say "a real node:20-slim is present; building with it"
  standin=0
else
  standin=1
  rm -rf "$DIR"
  mkdir -p "$DIR"/{usr/bin,usr/lib,usr/lib64,etc,tmp,home/node,root}
  ln -s usr/bin "$DIR/bin"; ln -s usr/lib "$DIR/lib"; ln -s usr/lib64 "$DIR/lib64"
  chmod 1777 "$DIR/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$DIR/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' >"$DIR/etc/group"
  printf 'hosts: files dns\n' >"$DIR/etc/nsswitch.conf"
  chown 1000:1000 "$DIR/home/node"
  for f in "$(readlink -f "$(command -v node)")" /bin/dash /usr/bin/cp /usr/bin/mkdir /usr/bin/env /usr/bin/grep /usr/bin/xargs /usr/bin/rm; do
    mkdir -p "$DIR$(dirname "$f")"
    cp -L "$f" "$DIR$f"
    for lib in $(ldd "$f" | awk '/=>/ && $3 ~ /^\// { print $3 } !/=>/ && $1 ~ /^\// { print $1 }'); do
      [[ -e "$DIR$lib" ]] || { mkdir -p "$DIR$(dirname "$lib")"; cp -L "$lib" "$DIR$lib"; }
    done
  done
  ln -sf dash "$DIR/usr/bin/sh"
  [[ -e "$DIR/usr/bin/node" ]] || ln -s "$(readlink -f "$(command -v node)")" "$DIR/usr/bin/node"
  mkdir -p "$DIR/usr/lib/node_modules"
  cp -a /usr/lib/node_modules/npm "$DIR/usr/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$DIR/usr/bin/npm"
  # This machine's trust store, so npm inside the build trusts what npm outside it trusts.
  mkdir -p "$DIR/etc/ssl/certs"
  cp -L /etc/ssl/certs/ca-certificates.crt "$DIR/etc/ssl/certs/ca-certificates.crt"
  tar --numeric-owner -C "$DIR" -cf - . | docker import --change 'LABEL org.chatlab.standin=node:20-slim' \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["node"]' - node:20-slim >/dev/null
  rm -rf "$DIR"
  say "tagged a stand-in node:20-slim (this machine's node $(node --version) and npm $(npm --version))"
fi
cleanup() {
  if [[ $standin -eq 1 ]]; then
    docker rmi node:20-slim >/dev/null 2>&1 || true
    # The untagged `deps` stage (npm ci output); the tagged result stays.
    docker image prune -f --filter label=org.chatlab.standin >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

t=$(date +%s)
DOCKER_BUILDKIT=0 docker build --network host -t chatlab/node:dockerfile "$ROOT"
say "built chatlab/node:dockerfile from ./Dockerfile in $(( $(date +%s) - t )) s"
docker image inspect --format 'user={{.Config.User}} health={{json .Config.Healthcheck.Test}}' chatlab/node:dockerfile
out="$(docker run --rm --network host chatlab/node:dockerfile 2>&1 || true)"
[[ "$out" == *"missing CHATLAB_NODE_ID"* ]] || { say "the image did not run node-process.ts: $out"; exit 1; }
say "ok: the image runs system/worlds/node-process.ts (it asks for its configuration)"
