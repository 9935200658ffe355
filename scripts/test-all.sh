#!/usr/bin/env bash
# Runs every test: provisions what the integration tests need (see
# scripts/provision.sh: redis-server, Apache Cassandra's jars, Chromium,
# toxiproxy, the Docker engine and local images), then unit, embedded and
# integration tests in one mocha run, and closes with "N passed, N failed".
# Servers the tests start, they stop; a Docker engine this run started is
# stopped at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

# A Docker engine this run starts is stopped at the end; one already running (started earlier) is left as it was.
docker_was_up=0
bash scripts/provision-docker.sh --status && docker_was_up=1
stop_what_we_started() {
  if [ "$docker_was_up" -eq 0 ] && bash scripts/provision-docker.sh --status; then bash scripts/provision-docker.sh --stop; fi
}
trap stop_what_we_started EXIT

bash scripts/provision.sh || { echo "provisioning failed: see the message above"; echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
npx tsc --noEmit -p . 2>&1 | tee "$log.tsc"
tsc_status=${PIPESTATUS[0]}

npx mocha --config .mocharc.all.json "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

stop_what_we_started
trap - EXIT

# mocha colours its summary when it thinks it may (CI=true does that): strip the escapes before reading it.
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
passed=$(grep -Eo '^ +[0-9]+ passing' <<<"$plain" | grep -Eo '[0-9]+' | tail -1)
failed=$(grep -Eo '^ +[0-9]+ failing' <<<"$plain" | grep -Eo '[0-9]+' | tail -1)
passed=${passed:-0}
failed=${failed:-0}
if [ "$tsc_status" -ne 0 ]; then
  echo "type check failed"
  failed=$((failed + 1))
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "no test ran"
  failed=1
fi
echo "${passed} passed, ${failed} failed"
rm -f "$log" "$log.tsc"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
