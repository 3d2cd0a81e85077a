#!/usr/bin/env bash
# End to end with things no one on this project wrote (issue 6): the Streamlit + Trello example
# in examples/streamlit-trello, run under the release binary of inject.
#   1. Streamlit's AppTest runs the app under inject, the secrets file out of the app's sight;
#   2. `inject -- streamlit run` serves it, headless Chromium loads it (screenshot kept in
#      target/e2e/streamlit.png), SIGTERM stops it;
#   3. parity: with the file where Streamlit reads it, Streamlit's own export to os.environ and
#      inject's agree.
# Needs network access to PyPI (a venv is made in a temp dir) and Debian's chromium (installed
# with apt-get when missing). Ends with "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/e2e
app=$root/examples/streamlit-trello
artifacts=$root/target/e2e

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
server=""
work=$(mktemp -d)
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then kill -KILL "$server"; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== setup"
streamlit_setup "$work/venv" "$app/requirements.txt"

# Production-like: the app's directory holds no secrets file, HOME is empty, and the secrets
# live where neither the app nor Streamlit looks.
mkdir -p "$work/home" "$work/elsewhere"
cp -r "$app" "$work/app"
rm -f "$work/app/.streamlit/secrets.toml" # a developer's own copy, git-ignored
install -m 600 "$here/secrets.toml" "$work/elsewhere/secrets.toml"
export HOME=$work/home STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
unset STREAMLIT_SECRETS_FILES INJECT_FILE INJECT_ONLY INJECT_PREFIX INJECT_CLEAN INJECT_NO_OVERRIDE
secrets=$work/elsewhere/secrets.toml

echo "== 1. AppTest under inject, secrets file out of the app's sight"
checks "$py" "$here/check_apptest.py" --without-inject "$work/app"
checks "$inject" -f "$secrets" -- "$py" "$here/check_apptest.py" "$work/app"

echo "== 2. inject -- streamlit run, in headless Chromium, stopped by SIGTERM"
if ! command -v chromium >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >"$work/apt.log" 2>&1 || tail -5 "$work/apt.log"
fi
if ! command -v chromium >/dev/null; then
  unavailable "chromium (apt-get install chromium)"
else
  port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # `streamlit` is found on PATH by inject, as on a laptop with the venv active.
  (cd "$work/app" && PATH=$work/venv/bin:$PATH exec "$inject" -f "$secrets" -- \
    streamlit run app.py --server.headless true --server.address 127.0.0.1 --server.port "$port") \
    >"$work/server.log" 2>&1 &
  server=$!
  if ! answers "$py" "http://127.0.0.1:$port/_stcore/health" kill -0 "$server"; then
    fail "streamlit did not answer /_stcore/health on 127.0.0.1:$port within 60 s"
    tail -20 "$work/server.log"
  else
    pass "streamlit under inject answers /_stcore/health on 127.0.0.1:$port"
    if tr '\0' ' ' <"/proc/$server/cmdline" | grep -q 'streamlit run app.py'; then
      pass "inject exec'd streamlit in its own place (PID $server is streamlit, no process in between)"
    else
      fail "PID $server is not streamlit: $(tr '\0' ' ' <"/proc/$server/cmdline")"
    fi
    checks "$py" "$here/check_page.py" "http://127.0.0.1:$port/" "$artifacts/streamlit.png"

    kill -TERM "$server"
    stopped=""
    for _ in $(seq 50); do
      if ! kill -0 "$server" 2>/dev/null; then stopped=yes; break; fi
      sleep 0.1
    done
    status=0
    if [[ -n $stopped ]]; then
      wait "$server" || status=$?
      if [[ $status -eq 0 ]]; then
        pass "SIGTERM: streamlit stopped within 5 s, exit status 0"
      else
        fail "SIGTERM: streamlit stopped with exit status $status"
      fi
    else
      fail "SIGTERM: streamlit still running 5 s after SIGTERM"
    fi
  fi
  trello_values=$(cd "$here" && "$py" -c 'from expected import TRELLO; print("\n".join(TRELLO.values()))')
  if grep -qF "$trello_values" "$work/server.log"; then
    fail "a secret value appears in the server's output"
  else
    pass "no secret value in the output of inject and streamlit"
  fi
fi

echo "== 3. parity with Streamlit's own export of root-level keys"
cp -r "$work/app" "$work/parity"
install -m 600 "$here/secrets.toml" "$work/parity/.streamlit/secrets.toml"
checks "$py" "$here/parity.py" "$inject" "$work/parity"

finish
