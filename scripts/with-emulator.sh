#!/usr/bin/env bash
# Runs a command against a local AWS emulator (moto server: DynamoDB and Secrets Manager).
#
#   scripts/with-emulator.sh cargo test --test store
#
# Why moto: it is a pip package (no JVM, no container, no download at run time), it implements
# DynamoDB transactions with per-item cancellation reasons and Secrets Manager version stages,
# which is what the store and the token source depend on.
#
# The server is started on a free loopback port, the AWS variables point the SDK at it, and the
# server is always stopped on exit. It is served single-threaded (see
# docs/dynamodb.md, "The emulator"): moto's threaded server does not apply conditional writes
# atomically under concurrency, which the concurrency tests would expose as flaky failures.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
# Pinned: emulator behaviour (cancellation reasons, stage handling) is part of what tests observe.
moto_spec='moto[server]==5.2.1'

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if ! "$venv/bin/python" -c 'import moto.server, flask' >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$moto_spec"
fi

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log="${TMPDIR:-/tmp}/moto-$port.log"

# One request at a time (see scripts/moto_server.py).
"$venv/bin/python" "$root/scripts/moto_server.py" "$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
  if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "moto server failed to start; log: $log" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export SCIM_TEST_DYNAMODB=1
"$@"
