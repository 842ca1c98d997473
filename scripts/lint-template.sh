#!/usr/bin/env bash
# Lints template.yaml offline: cfn-lint (resource schemas, intrinsic functions, best practices)
# and `sam validate --lint` (the SAM transform itself, then cfn-lint on its output).
#
# Both tools go into the shared .venv on the first run (pip install only: other scripts use the
# same venv). Versions are pinned so a new cfn-lint rule cannot break CI overnight; bump them
# on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
SAM_CLI_VERSION=1.170.0
TEMPLATE=${1:-template.yaml}

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# (No `grep -q` in a pipeline: it exits early, pip dies of SIGPIPE and pipefail reports a miss.)
have() { [ "$(.venv/bin/pip show "$1" 2>/dev/null | sed -n 's/^Version: //p')" = "$2" ]; }
if ! have cfn-lint "$CFN_LINT_VERSION" || ! have aws-sam-cli "$SAM_CLI_VERSION"; then
  echo "==> installing cfn-lint $CFN_LINT_VERSION and aws-sam-cli $SAM_CLI_VERSION into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION"
fi

# sam validate builds an AWS client before it looks at the template: give it a region and
# throwaway credentials so it never reaches for a profile, IMDS or the network. With --lint it
# validates locally (SAM translator + cfn-lint) and makes no AWS call.
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=offline-lint-only
export AWS_EC2_METADATA_DISABLED=true
# No usage telemetry and no update check from a lint step.
export SAM_CLI_TELEMETRY=0 SAM_CLI_CHECK_VERSION=0

echo "==> cfn-lint $TEMPLATE"
.venv/bin/cfn-lint "$TEMPLATE"

echo "==> sam validate --lint $TEMPLATE"
.venv/bin/sam validate --lint --template "$TEMPLATE" --region us-east-1

# cfn-lint sees the dashboard body as an opaque string: check that it is JSON once every ${...}
# substitution is filled, since CloudFormation would only reject it in the middle of a deploy.
echo "==> dashboard body is JSON"
.venv/bin/python - "$TEMPLATE" <<'PY'
import json, re, sys
from cfnlint.decode import decode
template, errors = decode(sys.argv[1])
if errors:
    sys.exit(f"{sys.argv[1]}: {errors}")
for name, resource in template.get("Resources", {}).items():
    if resource.get("Type") != "AWS::CloudWatch::Dashboard":
        continue
    body = resource["Properties"]["DashboardBody"]
    text = body.get("Fn::Sub", body) if isinstance(body, dict) else body
    if isinstance(text, list):
        text = text[0]
    try:
        widgets = json.loads(re.sub(r"\$\{[^}]+\}", "x", text))["widgets"]
    except (ValueError, KeyError, TypeError) as e:
        sys.exit(f"{name}: DashboardBody is not a dashboard JSON document: {e}")
    print(f"{name}: {len(widgets)} widgets")
PY

echo "template OK"
