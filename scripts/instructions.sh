#!/usr/bin/env bash
# Instructions per request of a server, phase by phase, under callgrind: repeatable on a busy
# machine, where req/s are not (docs/performance.md, "Reads without trees").
#
#   scripts/instructions.sh SERVER_BINARY [USERS]
#
# Runs the server under `valgrind --tool=callgrind` on 127.0.0.1, replays a sync of USERS users
# (default 2,000) with the load generator attached to it, dumps the counts at the end of each
# phase and prints instructions per request. User space only. Needs valgrind and a bench-fast
# build of the load generator:
#   cargo build --profile bench-fast --example loadgen
set -euo pipefail
bin=${1:?server binary}
users=${2:-2000}
loadgen=${LOADGEN:-target/bench-fast/examples/loadgen}
port=${PORT:-18190}
out=$(mktemp -d)/callgrind.out
SCIM_LISTEN=127.0.0.1:$port SCIM_TOKEN=loadgen-token-0123456789 \
  SCIM_ADMIN_TOKEN=loadgen-admin-token-0123456789 SCIM_STORE=memory \
  setsid valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>"$out.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  sleep 0.5
  curl -s -o /dev/null "127.0.0.1:$port/scim/v2/ServiceProviderConfig" && break
done
callgrind_control -z "$pid" >/dev/null 2>&1
# The load generator prints one line per phase on standard error; each ends a dump.
"$loadgen" --users "$users" --groups 20 --group-size 100 --workers 8 --phase-seconds 300 \
  --attach x "127.0.0.1:$port" "$pid" 2>&1 >"$out.loadgen" | while read -r line; do
  case "$line" in
    *"requests in"*) sleep 0.3; callgrind_control -d "$pid" >/dev/null 2>&1; echo "$line" >>"$out.phases" ;;
  esac
done
kill -INT "$pid"; sleep 2
n=0
for f in $(ls -v "$out".* | grep -E '\.[0-9]+$'); do
  n=$((n + 1))
  read -r _ phase requests _ < <(sed -n "${n}p" "$out.phases")
  ir=$(grep -m1 '^summary:\|^totals:' "$f" | awk '{print $2}')
  echo "$phase: $((ir / requests)) instructions per request ($requests requests)"
done
