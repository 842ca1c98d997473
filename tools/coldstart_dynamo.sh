#!/usr/bin/env bash
# Cold start against the emulator: DynamoDB store + Secrets Manager token, secret fetch included.
#
#   scripts/with-emulator.sh tools/coldstart_dynamo.sh target/release/scim-lambda [runs]
#
# Creates the token secret with boto3 (moto ships it) and the table once (a first server run
# with SCIM_CREATE_TABLE=true), then asks the load generator for the time from exec to the first
# answered, authenticated lookup.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:?usage: $0 BINARY [RUNS]}
runs=${2:-10}
loadgen=${LOADGEN:-${CARGO_TARGET_DIR:-$root/target}/release/examples/loadgen}
"$root/.venv/bin/python" - <<'PY'
import boto3
sm = boto3.client("secretsmanager")
try:
    sm.create_secret(Name="scim-token", SecretString="loadgen-token-0123456789")
except sm.exceptions.ResourceExistsException:
    pass
PY
export SCIM_STORE=dynamodb SCIM_TABLE=scim-coldstart SCIM_TOKEN_SECRET_ID=scim-token
# The table is created once, outside the measured runs (in Lambda it exists beforehand).
SCIM_CREATE_TABLE=true "$loadgen" coldstart --runs 1 --server create-table "$bin" >/dev/null
"$loadgen" coldstart --runs "$runs" --server dynamodb+secrets "$bin"
