#!/usr/bin/env bash
# The binary in Lambda mode, under the Lambda runtime emulator of `cargo lambda watch`, against
# the DynamoDB and Secrets Manager emulator (run it through scripts/with-emulator.sh, as
# scripts/test.sh does): the table is created exactly as template.yaml defines it, the token
# lives in a secret, and a subset of the Entra and Okta replays (tests/api/lambda.rs) is sent
# as real HTTP to the emulator's function URL.
#
#   bash scripts/with-emulator.sh bash scripts/lambda-watch.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
venv="$root/.venv"
# Pinned like the emulator: the runtime emulator's event shape is part of what is tested.
cargo_lambda_spec='cargo-lambda==1.9.2'

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  echo "run through scripts/with-emulator.sh (needs the DynamoDB and Secrets Manager emulator)" >&2
  exit 2
fi
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "$cargo_lambda_spec"
fi
export PATH="$venv/bin:$PATH"

table="scim-lambda-watch-$RANDOM$RANDOM"
secret="scim-lambda-watch/token-$RANDOM$RANDOM"
token="lambda-watch-token-$RANDOM$RANDOM$RANDOM"
"$venv/bin/python" scripts/create_table_from_template.py template.yaml "$table"
"$venv/bin/python" - "$secret" "$token" <<'PY'
import sys, boto3
boto3.client("secretsmanager").create_secret(Name=sys.argv[1], SecretString=sys.argv[2])
PY

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log="${TMPDIR:-/tmp}/cargo-lambda-watch-$port.log"
# The function's environment as template.yaml sets it, pointed at the emulator.
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --ignore-changes --quiet \
  --env-var "SCIM_TABLE=$table" \
  --env-var "SCIM_TOKEN_SECRET_ID=$secret" \
  --env-var "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" \
  --env-var "AWS_REGION=$AWS_REGION" \
  --env-var "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" \
  --env-var "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" \
  --env-var "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH=true" \
  --env-var "RUST_LOG=warn" \
  >"$log" 2>&1 &
watcher=$!
trap 'kill "$watcher" 2>/dev/null || true; wait "$watcher" 2>/dev/null || true' EXIT INT TERM

# The function URL names the binary: the lean one template.yaml deploys.
url="http://127.0.0.1:$port/lambda-url/scim-lambda-function"
# The first invocation builds the binary (debug, the warm target) and boots it: bounded wait.
for _ in $(seq 1 600); do
  if "$venv/bin/python" - "$url/scim/v2/ServiceProviderConfig" <<'PY'
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=5)
except urllib.error.HTTPError:
    pass  # any HTTP answer (401 without a token) means the function is up
except Exception:
    sys.exit(1)
PY
  then
    break
  fi
  if ! kill -0 "$watcher" 2>/dev/null; then
    echo "cargo lambda watch exited; log: $log" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 1
done

SCIM_LAMBDA_URL="$url" SCIM_LAMBDA_TOKEN="$token" cargo test --quiet --test api lambda:: -- --test-threads 1
