#!/usr/bin/env bash
# A Heroku dyno, simulated faithfully (issue 11; SPEC §13): the built wheel, installed from
# requirements.txt the way the Python buildpack does, runs the real examples/heroku/Procfile.
#   * APP (a temp dir) stands for /app and HOME; a venv at APP/.heroku/python for the buildpack's
#     Python, `pip install --find-links "$DIST" -r requirements.txt`, the wheel's version pinned;
#   * a runner, PID 1 of new PID, mount and network namespaces (the dyno manager's part), sources
#     .profile.d, runs the Procfile's web: line with `bash -c`, with only PORT, DYNO, the platform's
#     basics and config vars in the environment, and no secrets file anywhere;
#   * checks /_stcore/health, that bash -> inject -> streamlit kept one PID, that the config vars
#     reached the process (/proc/PID/environ, names only) and the app (the page in headless
#     Chromium and the app's log line: names and lengths), then `kill -TERM -1`, as the dyno
#     manager does, must end the web process with status 0 within 5 s.
# The network namespace holds only loopback: Streamlit binds 0.0.0.0 as on Heroku, yet nothing
# is reachable from outside. No secret value is ever printed: it is checked for in every output.
# Needs unshare, python3 with venv, PyPI (streamlit) and Debian's chromium (installed with apt-get
# when missing). DIST: the folder of wheels (default target/dist). Ends with "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/e2e
DIST=${DIST:-$root/target/dist}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
dyno=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  # --kill-child: killing unshare SIGKILLs the namespace's PID 1, and with it every process inside.
  if [[ -n $dyno ]] && kill -0 "$dyno" 2>/dev/null; then kill -KILL "$dyno"; wait "$dyno" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT


echo "== setup: the slug (APP stands for /app), inject $version from $DIST"
command -v unshare >/dev/null || { unavailable "unshare (util-linux)"; finish; }
shopt -s nullglob
wheels=("$DIST"/streamlit_inject-"$version"-py3-none-*.whl)
shopt -u nullglob
if ((${#wheels[@]} == 0)); then fail "no streamlit_inject-$version-py3-none-*.whl in $DIST (bash packaging/build.sh)"; finish; fi
app=$work/app
mkdir -p "$app"
cp "$root"/examples/heroku/* "$app/"
# The Python buildpack: requirements into /app/.heroku/python, its bin/ on PATH via .profile.d.
# The constraint pins the wheel's own version, so PyPI can never supply another streamlit-inject.
python3 -m venv "$app/.heroku/python" || { unavailable "python3 -m venv"; finish; }
echo "streamlit-inject==$version" >"$work/constraints.txt"
if ! "$app/.heroku/python/bin/pip" install --quiet --disable-pip-version-check --find-links "$DIST" \
  -c "$work/constraints.txt" -r "$app/requirements.txt" --report "$work/pip.json" >"$work/pip.log" 2>&1; then
  tail -5 "$work/pip.log"
  unavailable "pip install -r examples/heroku/requirements.txt --find-links $DIST (PyPI)"
  finish
fi
mkdir -p "$app/.profile.d"
# shellcheck disable=SC2016 # expanded when the dyno sources it, as the buildpack's file is
echo 'export PATH="$HOME/.heroku/python/bin:$PATH"' >"$app/.profile.d/python.sh"
py=$app/.heroku/python/bin/python
source_url=$("$py" -c 'import json, sys
print(*[i["download_info"]["url"] for i in json.load(open(sys.argv[1]))["install"] if i["metadata"]["name"] == "streamlit-inject"])' "$work/pip.json")
if [[ $source_url == "file://$(realpath "$DIST")/"*.whl ]]; then pass "pip installed streamlit-inject from $source_url"; else fail "pip installed streamlit-inject from '$source_url', not from $DIST"; fi
got=$("$app/.heroku/python/bin/inject" --version 2>&1 || true)
if [[ $got == "inject $version" ]]; then pass "the venv's bin/inject prints '$got'"; else fail "the venv's bin/inject prints '$got', not 'inject $version'"; fi
files=$("$app/.heroku/python/bin/pip" show -f streamlit-inject 2>&1 || true) # no grep -q in a pipe: pipefail
if grep -q '/bin/inject$' <<<"$files"; then pass "pip show -f streamlit-inject lists bin/inject"; else fail "pip show -f streamlit-inject does not list bin/inject"; fi
if [[ ! -e $app/.streamlit ]]; then pass "no secrets file: neither ./.streamlit nor ~/.streamlit exists in APP"; else fail "APP/.streamlit exists"; fi

page=""
if ! command -v chromium >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >"$work/apt.log" 2>&1 || tail -5 "$work/apt.log"
fi
if command -v chromium >/dev/null; then page=$work/page.py; else unavailable "chromium (apt-get install chromium)"; fi

# Config vars: fresh fake values each run. Their lengths are no secret; the values are (in a file
# of this test, only to look for them in every output).
config=(
  "TRELLO_API_KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  "TRELLO_OAUTH_TOKEN=ATTA$(od -An -tx1 -N30 /dev/urandom | tr -d ' \n')"
  "DATABASE_URL=postgres://app:$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')@127.0.0.1:5432/app"
)
expect=()
for var in "${config[@]}"; do value=${var#*=} && expect+=("${var%%=*}=${#value}"); done
printf '%s\n' "${config[@]#*=}" >"$work/values"
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The page, in headless Chromium (check_page.py's driver): Streamlit serves a JS shell over HTTP
# and renders the script's output over a websocket, so only a browser sees what the app shows.
cat >"$work/page.py" <<'PY'
import sys, tempfile
sys.path.insert(0, sys.argv[1])
from check_page import Chromium
from expected import report
url, values, expect = sys.argv[2], open(sys.argv[3]).read().split(), sys.argv[4:]
lines = [f"{name}: {length} characters" for name, length in (e.split("=") for e in expect)]
with tempfile.TemporaryDirectory() as profile:
    browser = Chromium(profile)
    try:
        session = browser.open(url)
        text = browser.page_text(session, *lines, every=True)
        html = browser.evaluate(session, "document.documentElement.outerHTML")
    finally:
        browser.close()
ok = [report(line in text, f"Chromium: the page shows '{line}'") for line in lines]
ok.append(report(not any(value in html for value in values), "Chromium: no config var value in the page's HTML"))
sys.exit(0 if all(ok) else 1)
PY

# The dyno manager: PID 1 of the namespaces. Prints PASS:/FAIL: lines, counted below.
cat >"$work/runner.sh" <<'SH'
set -uo pipefail
work=$1 page=$2 e2e=$3; shift 3
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; }
secs() { awk -v now="$EPOCHREALTIME" -v then="$1" 'BEGIN { printf "%.2f", now - then }'; }
ip link set lo up
cd "$HOME"
for f in .profile.d/*.sh; do . "$f"; done
web=$(sed -n 's/^web:[[:space:]]*//p' Procfile)
start=$EPOCHREALTIME
bash -c "$web" >"$work/web.log" 2>&1 &
pid=$!
healthy=""
while ((SECONDS < 60)); do
  python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "http://127.0.0.1:$PORT/_stcore/health" 2>/dev/null && { healthy=$(secs "$start"); break; }
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if [[ -z $healthy ]]; then fail "'$web' did not answer /_stcore/health on 127.0.0.1:$PORT within 60 s"; tail -5 "$work/web.log"; exit 0; fi
pass "'$web' answers http://127.0.0.1:$PORT/_stcore/health after $healthy s"
comm=$(cat "/proc/$pid/comm") cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
if [[ ($comm == streamlit || $comm == python*) && $cmdline == *"streamlit run app.py --server.port $PORT"* ]]; then
  pass "one PID: bash -> inject -> streamlit all exec'd (PID $pid is $comm: $cmdline)"
else
  fail "PID $pid is '$comm' ($cmdline), not streamlit: something stayed in between"
fi
names=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p')
for e in PORT=0 DYNO=0 "$@"; do
  if grep -qx "${e%%=*}" <<<"$names"; then pass "streamlit's environment has ${e%%=*}"; else fail "streamlit's environment lacks ${e%%=*}"; fi
done
if [[ -n $page ]]; then # its PASS/FAIL lines count; so does dying without printing one
  out=$(HOME=$work PYTHONDONTWRITEBYTECODE=1 python "$page" "$e2e" "http://127.0.0.1:$PORT/" "$work/values" "$@" 2>"$work/page.err")
  code=$? && echo "$out"
  [[ $code -ne 0 && $out != *FAIL:* ]] && fail "the page check died ($code): $(tail -1 "$work/page.err")"
fi
stop=$EPOCHREALTIME
kill -TERM -1 # every process of the dyno but PID 1, as the dyno manager does at shutdown
(sleep 5 && kill -KILL "$pid") 2>/dev/null &
wait "$pid"
status=$? took=$(secs "$stop")
if [[ $status -eq 0 && ${took%.*} -lt 5 ]]; then pass "kill -TERM -1: the web process exited with status 0 after $took s"
else fail "kill -TERM -1: the web process exited with status $status after $took s (want 0 within 5 s)"; fi
SH

echo "== the dyno: env -i, PID 1 of new namespaces, port $port"
env -i HOME="$app" PORT="$port" DYNO=web.1 PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "${config[@]}" \
  unshare --pid --fork --kill-child --mount-proc --net bash "$work/runner.sh" "$work" "$page" "$here" "${expect[@]}" \
  >"$work/runner.out" 2>&1 &
dyno=$!
status=0
wait "$dyno" || status=$?
dyno=""
cat "$work/runner.out"
passed=$((passed + $(grep -c '^PASS: ' "$work/runner.out" || true)))
failed=$((failed + $(grep -c '^FAIL: ' "$work/runner.out" || true)))
((status == 0)) || fail "the dyno's runner exited $status"

# The app's own log line (written when Chromium's session ran the script): names and lengths.
if [[ -n $page ]] && grep -q '^PASS: Chromium' "$work/runner.out"; then
  for e in "${expect[@]}"; do
    if grep -q "^config vars:.*${e%%=*}(${e#*=})" "$work/web.log"; then pass "the app logged ${e%%=*}(${e#*=})"; else fail "the app's log has no ${e%%=*}(${e#*=})"; fi
  done
fi
if grep -qF -f "$work/values" "$work/web.log" "$work/runner.out" "$work/pip.log"; then
  fail "a config var value appears in the output of the dyno"
else
  pass "no config var value in the output of inject, streamlit or the runner"
fi
finish
