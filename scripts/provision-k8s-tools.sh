#!/usr/bin/env bash
# Installs what the Helm chart's offline test (deploy/helm/chart.integration.test.ts)
# needs; no Kubernetes cluster is involved:
#   - helm v4.3.2, built with `go install` into .cache/bin/helm (about 3 minutes
#     the first time; Go comes from scripts/provision.sh, or Debian's golang-go);
#   - kubernetes-validate 1.37.0 (the Kubernetes 1.25-1.37 schemas, checked
#     offline) in a virtualenv, .cache/venv-k8s/bin/kubernetes-validate
#     (python3-venv from Debian if `python3 -m venv` cannot work).
#
# Idempotent and fast when done: every step is a file check first (a marker
# written beside each tool once it is complete), so a provisioned machine
# passes in well under a second without touching the network.
#
# Usage: scripts/provision-k8s-tools.sh [--check]
#   --check   install nothing; exit 1 and say what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELM_VERSION=v4.3.2
HELM_MODULE="helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
HELM_BIN="$ROOT/.cache/bin/helm"
# Written beside the binary once it is built: a binary of another version is rebuilt.
HELM_MARKER="$ROOT/.cache/bin/.helm-$HELM_VERSION"
KV_VERSION=1.37.0
VENV="$ROOT/.cache/venv-k8s"
KV_BIN="$VENV/bin/kubernetes-validate"
KV_MARKER="$VENV/.kubernetes-validate-$KV_VERSION"
CHECK_ONLY=0
[[ "${1:-}" == "--check" ]] && CHECK_ONLY=1

say() { printf 'provision-k8s-tools: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

need_helm=0
[[ -x "$HELM_BIN" && -f "$HELM_MARKER" ]] || need_helm=1
need_kv=0
[[ -x "$KV_BIN" && -f "$KV_MARKER" ]] || need_kv=1

if [[ $need_helm -eq 0 && $need_kv -eq 0 ]]; then exit 0; fi

go_bin="$(command -v go || echo /usr/local/go/bin/go)"
apt_missing=()
if [[ $need_helm -eq 1 && ! -x "$go_bin" ]]; then apt_missing+=(golang-go); fi
# `python3 -m venv` needs ensurepip, which Debian ships in python3-venv.
if [[ $need_kv -eq 1 ]] && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_missing+=(python3-venv); fi

if [[ $CHECK_ONLY -eq 1 ]]; then
  [[ ${#apt_missing[@]} -gt 0 ]] && say "missing Debian packages: ${apt_missing[*]}"
  [[ $need_helm -eq 1 ]] && say "missing $HELM_BIN (helm $HELM_VERSION)"
  [[ $need_kv -eq 1 ]] && say "missing $KV_BIN (kubernetes-validate $KV_VERSION)"
  say "run: bash scripts/provision-k8s-tools.sh"
  exit 1
fi

# ---- Debian packages ---------------------------------------------------------
if [[ ${#apt_missing[@]} -gt 0 ]]; then
  [[ $(id -u) -eq 0 ]] || fail "need root to apt-get install ${apt_missing[*]} (try: sudo bash scripts/provision-k8s-tools.sh)"
  command -v apt-get >/dev/null 2>&1 || fail "no apt-get: install ${apt_missing[*]} by hand"
  say "installing ${apt_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || fail "apt-get update failed"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null \
    || fail "apt-get install ${apt_missing[*]} failed"
  go_bin="$(command -v go || echo /usr/local/go/bin/go)"
fi

# ---- helm, built from the Go module proxy --------------------------------------
if [[ $need_helm -eq 1 ]]; then
  [[ -x "$go_bin" ]] || fail "go missing: cannot build helm"
  say "building helm ($HELM_MODULE, about 3 minutes the first time)"
  mkdir -p "$ROOT/.cache/bin"
  rm -f "$HELM_MARKER"
  helm_log="$ROOT/.cache/helm-build.log"
  if ! GOBIN="$ROOT/.cache/bin" "$go_bin" install "$HELM_MODULE" >"$helm_log" 2>&1; then
    tail -n 20 "$helm_log" >&2
    fail "go install $HELM_MODULE failed (log: $helm_log)"
  fi
  "$HELM_BIN" version --short >/dev/null 2>&1 || fail "$HELM_BIN does not run after go install (log: $helm_log)"
  touch "$HELM_MARKER"
fi

# ---- kubernetes-validate, in its own virtualenv --------------------------------
if [[ $need_kv -eq 1 ]]; then
  say "installing kubernetes-validate $KV_VERSION into $VENV"
  rm -f "$KV_MARKER"
  kv_log="$ROOT/.cache/kubernetes-validate-install.log"
  mkdir -p "$ROOT/.cache"
  # A half-made virtualenv (no pip) is made again; a whole one is reused.
  [[ -x "$VENV/bin/pip" ]] || { rm -rf "$VENV"; python3 -m venv "$VENV" >"$kv_log" 2>&1 || { tail -n 20 "$kv_log" >&2; fail "python3 -m venv $VENV failed (log: $kv_log)"; }; }
  if ! "$VENV/bin/pip" install -q "kubernetes-validate==$KV_VERSION" >>"$kv_log" 2>&1; then
    tail -n 20 "$kv_log" >&2
    fail "pip install kubernetes-validate==$KV_VERSION failed (log: $kv_log)"
  fi
  "$KV_BIN" --version >/dev/null 2>&1 || fail "$KV_BIN does not run after pip install (log: $kv_log)"
  touch "$KV_MARKER"
fi

say "ready: helm $("$HELM_BIN" version --short 2>/dev/null || echo '?'), kubernetes-validate $("$KV_BIN" --version 2>/dev/null | tr -d '\n' || echo '?')"
