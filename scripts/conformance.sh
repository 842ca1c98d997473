#!/usr/bin/env bash
# RFC 7643/7644 conformance: runs two public, independent SCIM checkers from PyPI
# (scim2-tester and scim-sanity) against a freshly started debug build of the server.
#
#   bash scripts/conformance.sh
#
# - installs the pinned checkers into ./.venv when they are missing (PyPI only, first run);
# - `cargo build` (debug), then starts ./target/debug/scim-lambda on a free 127.0.0.1 port with a
#   random bearer token and its in-memory store; the server is stopped on exit;
# - prints one summary line per checker and exits non-zero when a check fails that is not listed
#   in scripts/conformance_allowlist.txt (each entry carries an RFC-based justification).
#
# Environment knobs (all optional):
#   CONFORMANCE_SKIP_BUILD=1   use the existing debug binary, do not run `cargo build`
#   CONFORMANCE_VERBOSE=1      also print every passing check
#   CONFORMANCE_ALLOWLIST=FILE use another allowlist (e.g. /dev/null to see every failure)
# Full reports (JSON) and the server log go to <cargo target dir>/conformance/.
# See docs/conformance.md.
set -euo pipefail

# Pinned checker versions (and the libraries whose behaviour the checks depend on).
SCIM2_TESTER_VERSION=0.5.2
SCIM2_CLIENT_VERSION=0.13.2
SCIM2_MODELS_VERSION=0.12.3
HTTPX2_VERSION=2.16.2
SCIM_SANITY_VERSION=0.7.4

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ALLOWLIST="${CONFORMANCE_ALLOWLIST:-$ROOT/scripts/conformance_allowlist.txt}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

log() { printf '[conformance] %s\n' "$*" >&2; }

# --- 1. checkers, pinned, in the project venv (shared with other scripts: never recreate it) ---
if [[ ! -x "$PY" ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
pins=(
  "scim2-tester==$SCIM2_TESTER_VERSION"
  "scim2-client==$SCIM2_CLIENT_VERSION"
  "scim2-models==$SCIM2_MODELS_VERSION"
  "httpx2==$HTTPX2_VERSION"
  "scim-sanity==$SCIM_SANITY_VERSION"
)
if ! "$PY" - "${pins[@]}" <<'EOF' 2>/dev/null; then
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    if version(name) != want:
        sys.exit(1)
EOF
  log "installing ${pins[*]} into .venv"
  "$PY" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
fi

# --- 2. server binary ---
if [[ "${CONFORMANCE_SKIP_BUILD:-0}" != 1 ]]; then
  log "cargo build"
  cargo build --quiet
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/debug/scim-lambda"
[[ -x "$BIN" ]] || { log "missing $BIN (run cargo build)"; exit 2; }
OUT="$TARGET_DIR/conformance"
mkdir -p "$OUT"

# --- 3. start it on a free loopback port with a random token ---
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
TOKEN="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')"
URL="http://127.0.0.1:$PORT/scim/v2"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SCIM_TOKEN="$TOKEN" SCIM_LISTEN="127.0.0.1:$PORT" "$BIN" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!

if ! "$PY" - "$URL" "$TOKEN" "$SERVER_PID" <<'EOF'; then
import os, sys, time, urllib.request
url, token, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
req = urllib.request.Request(url + "/ServiceProviderConfig",
                             headers={"Authorization": "Bearer " + token})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("server exited before answering")
    try:
        with opener.open(req, timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.2)
sys.exit("server did not answer within 30s")
EOF
  log "server failed to start; log:"
  cat "$OUT/server.log" >&2
  exit 2
fi
log "server up at $URL (pid $SERVER_PID)"

# --- 4. run both checkers, apply the allowlist, summarise ---
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"
set +e
"$PY" - "$URL" "$TOKEN" "$ALLOWLIST" "$OUT" "$VENV/bin/scim-sanity" <<'EOF'
import fnmatch, json, os, re, subprocess, sys

url, token, allowlist_path, out_dir, sanity_bin = sys.argv[1:6]
verbose = os.environ.get("CONFORMANCE_VERBOSE") == "1"

# Allowlist: "<checker> | <check name or fnmatch pattern> | <RFC-based justification>"
allow = []  # (checker, pattern, justification, line number)
bad_allowlist = False
with open(allowlist_path, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|", 2)]
        if len(parts) != 3 or not all(parts):
            print(f"allowlist line {n}: expected '<checker> | <check> | <justification>'")
            bad_allowlist = True
            continue
        allow.append((parts[0], parts[1], parts[2], n))
used = set()


def allowed(checker, name):
    for checker_, pattern, why, n in allow:
        if checker_ == checker and fnmatch.fnmatchcase(name, pattern):
            used.add(n)
            return why
    return None


def report(checker, checks):
    """checks: list of (name, outcome in pass/fail/skip, detail). Returns unallowed failures."""
    passed = failed = skipped = allowed_n = 0
    for name, outcome, detail in checks:
        if outcome == "pass":
            passed += 1
            if verbose:
                print(f"  PASS  {checker}: {name}")
        elif outcome == "skip":
            skipped += 1
            if verbose:
                print(f"  SKIP  {checker}: {name}: {detail}")
        else:
            failed += 1
            why = allowed(checker, name)
            detail = " ".join(str(detail).split())[:400]
            if why:
                allowed_n += 1
                print(f"  ALLOWED  {checker}: {name}: {detail}\n           (allowlisted: {why})")
            else:
                print(f"  FAIL  {checker}: {name}: {detail}")
    line = f"{checker}: {passed} passed, {failed} failed ({allowed_n} allowed)"
    if skipped:
        line += f", {skipped} skipped"
    return line, passed, failed - allowed_n


summaries = []
total_pass = total_bad = 0

# ---- scim2-tester (library: scim2_tester.check_server over a scim2-client httpx2 client) ----
checks = []
try:
    from httpx2 import Client
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    # RFC 9967 section 4 adds `securityEvents` (asyncRequest, eventUris) to the core
    # ServiceProviderConfig schema; scim2-models 0.12.3 predates it and forbids any member it
    # does not model, which fails the discovery check and with it most of the run. The
    # checker's model is extended by exactly that member (still validated, still strict about
    # everything else).
    from typing import Annotated
    import scim2_client.client as _client
    import scim2_tester.checkers.service_provider_config as _spc_checker
    from scim2_models import ComplexAttribute, ServiceProviderConfig
    from scim2_models.annotations import Mutability

    class SecurityEvents(ComplexAttribute):
        async_request: Annotated[str | None, Mutability.read_only] = None
        event_uris: Annotated[list[str] | None, Mutability.read_only] = None

    class Rfc9967ServiceProviderConfig(ServiceProviderConfig):
        security_events: Annotated[SecurityEvents | None, Mutability.read_only] = None

    _client.ServiceProviderConfig = Rfc9967ServiceProviderConfig
    _client.CONFIG_RESOURCES = tuple(
        Rfc9967ServiceProviderConfig if m is ServiceProviderConfig else m
        for m in _client.CONFIG_RESOURCES
    )
    _spc_checker.ServiceProviderConfig = Rfc9967ServiceProviderConfig

    http = Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                  timeout=10, trust_env=False)
    results = check_server(SyncSCIMClient(http))
    ok = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
    dump = []
    for r in results:
        # Name: [<ResourceType>/]<checker function>[:<attribute urn> | :<HTTP method>]
        name = f"{r.resource_type}/{r.title}" if r.resource_type else str(r.title)
        qual = None
        if isinstance(r.data, dict) and r.data.get("urn"):
            qual = r.data["urn"]
        elif r.reason and (m := re.match(r"(GET|POST|PUT|PATCH|DELETE) ", r.reason)):
            qual = m.group(1)
        if qual:
            name += ":" + qual
        outcome = ("pass" if r.status in ok else
                   "skip" if r.status == Status.SKIPPED else "fail")
        detail = f"[{r.status.name}] {r.reason or ''}"
        checks.append((name, outcome, detail))
        dump.append({"name": name, "status": r.status.name, "reason": r.reason,
                     "data": repr(r.data)[:2000]})
    with open(os.path.join(out_dir, "scim2-tester.json"), "w") as f:
        json.dump(dump, f, indent=1)
except Exception as exc:  # the checker itself crashed: that is a failure, never allowlisted
    checks.append(("(checker crashed)", "fail", repr(exc)))
line, p, bad = report("scim2-tester", checks)
summaries.append(line); total_pass += p; total_bad += bad

# ---- scim-sanity (CLI: `scim-sanity probe`, strict mode, JSON output) ----
checks = []
try:
    proc = subprocess.run(
        [sanity_bin, "probe", url, "--token", token, "--i-accept-side-effects",
         "--strict", "--json-output", "--timeout", "10"],
        capture_output=True, text=True, timeout=120)
    with open(os.path.join(out_dir, "scim-sanity.json"), "w") as f:
        f.write(proc.stdout)
    data = json.loads(proc.stdout)
    for r in data["results"]:
        status = r.get("status")
        outcome = "pass" if status == "pass" else "skip" if status == "skip" else "fail"
        checks.append((r["name"], outcome, f"[{status}] {r.get('message') or ''}"))
    if not data["results"]:
        checks.append(("(no results)", "fail", proc.stderr))
except Exception as exc:
    checks.append(("(checker crashed)", "fail", repr(exc)))
line, p, bad = report("scim-sanity", checks)
summaries.append(line); total_pass += p; total_bad += bad

for checker_, pattern, why, n in allow:
    if n not in used:
        print(f"  note: allowlist line {n} ({checker_} | {pattern}) matched no failure; remove it?")
print()
for line in summaries:
    print(line)
print(f"conformance: {total_pass} passed, {total_bad} failed")
sys.exit(1 if total_bad or bad_allowlist else 0)
EOF
rc=$?
set -e
exit "$rc"
