#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the layering rule, unit and router
# tests on both stores (DynamoDB and Secrets Manager through a local moto emulator), and the
# public SCIM conformance checkers against the real binary.
#
# Needs only cargo and python3; the emulator, cargo-lambda and the checkers are installed into
# .venv on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "formatting"
cargo fmt --all -- --check

step "layering: src/scim is pure (no HTTP, async runtime or AWS)"
if grep -rnE '(^|[^a-z_])(axum|hyper|tokio|lambda_http|aws_sdk_[a-z]+|aws_config|aws_smithy_[a-z]+)::|^\s*(pub )?use (http|axum|tokio)\b' src/scim; then
  echo "src/scim must not depend on I/O crates (see docs/architecture.md)" >&2
  exit 1
fi

step "lints"
cargo clippy --all-targets --quiet -- -D warnings

step "unit, store and router tests (memory store and DynamoDB emulator)"
bash scripts/with-emulator.sh cargo test --all-targets --quiet

step "the Lambda binary links no operator command, local server, embedded store or local allocator"
# The linker keeps only what the function's main reaches, so symbols tell what is in the bootstrap.
cargo build --quiet --bin scim-lambda-function
function_bin="${CARGO_TARGET_DIR:-target}/debug/scim-lambda-function"
# (grep -c reads all of nm's output: an early exit would kill nm and hide the match under pipefail.)
local_only=$(nm -C "$function_bin" | grep -cE 'scim_lambda::(cli|run::local|store::memory)::|_rjem_' || true)
if [ "$local_only" -gt 0 ]; then
  echo "$function_bin links $local_only symbols only the local binary needs (see Cargo.toml, [[bin]])" >&2
  exit 1
fi

step "Lambda mode under cargo lambda watch: Entra and Okta replays over HTTP, table as template.yaml defines it"
bash scripts/with-emulator.sh bash scripts/lambda-watch.sh

step "deployment template: cfn-lint and sam validate (offline)"
bash scripts/lint-template.sh

step "public SCIM conformance checkers against the binary"
bash scripts/conformance.sh
