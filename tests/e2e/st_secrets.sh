#!/usr/bin/env bash
# `--st-secrets` with the real Streamlit (issue 14; SPEC §14): an app that reads st.secrets
# (nested tables, every TOML type, st.secrets.get, st.login's [auth]) where only variables
# exist, and its secrets file is built in memory by inject.
#   1. AppTest, in the checker's process under inject: st.secrets and os.environ agree and hold
#      the expected values, with only variables (typed by the committed template), with a
#      secrets file, and with that file encrypted (the key in DOTENV_PRIVATE_KEY); the control
#      without inject finds nothing;
#   2. `inject --st-secrets -- streamlit run`, only variables: headless Chromium shows what the
#      app read through st.secrets; while it runs no file under /tmp (two levels), /dev/shm,
#      XDG_RUNTIME_DIR, the working directory or HOME holds a value; the link holds none;
#   3. st.login: `?login=1` calls st.login(); Chromium follows Streamlit's redirect to an
#      OpenID discovery stub on 127.0.0.1, whose authorization endpoint must get the client_id
#      that came from a variable;
#   4. SIGTERM ends it with status 0, and no value is in the server's output.
# Needs PyPI (a venv with streamlit and Authlib) and Debian's chromium. Ends with
# "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/e2e/st_secrets

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
server="" stub=""
work=$(mktemp -d)
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  for pid in $server $stub; do
    if kill -KILL "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== setup"
streamlit_setup "$work/venv" "$here/requirements.txt"

# Production-like: the app's folder has the committed template and no secrets file, HOME is
# empty, XDG_RUNTIME_DIR is private; the values are variables, as a platform sets them.
mkdir -p "$work/home" "$work/run" "$work/elsewhere"
chmod 700 "$work/run"
mkdir "$work/app"
cp -r "$here/app.py" "$here/.streamlit" "$work/app/"
export HOME=$work/home XDG_RUNTIME_DIR=$work/run STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
unset STREAMLIT_SECRETS_FILES INJECT_FILE INJECT_ONLY INJECT_PREFIX INJECT_CLEAN INJECT_NO_OVERRIDE INJECT_ST_SECRETS
title=$(printf 'Tâches du jour: "quoted" \\ and\nnew line')
cookie=cookie-secret-for-the-e2e-0123456789 client_secret=client-secret-from-env
variables=(title="$title" port=8501 ratio=1e+100 debug=true released=2026-12-03T10:00:00Z
  tags='["a",1,[true,2.5]]' DATABASE_URL=postgresql://app:pw@127.0.0.1:5432/app
  DATABASE_POOL_SIZE=5 DATABASE_POOL_TIMEOUT=2.5 AUTH_CLIENT_ID=client-from-env
  AUTH_REDIRECT_URI=http://127.0.0.1:8501/oauth2callback AUTH_COOKIE_SECRET="$cookie"
  AUTH_CLIENT_SECRET="$client_secret"
  AUTH_SERVER_METADATA_URL=http://127.0.0.1:9/.well-known/openid-configuration)
template=.streamlit/secrets.example.toml
cd "$work/app"

echo "== 1. AppTest: only variables, a secrets file, and the control"
checks env "${variables[@]}" "$inject" --st-secrets --require-from "$template" -- "$py" "$here/check_apptest.py" . variables
# The same values as a secrets file, outside the app's sight.
cat >"$work/elsewhere/secrets.toml" <<TOML
title = "Tâches du jour: \"quoted\" \\\\ and\\nnew line"
port = 8501
ratio = 1e100
debug = true
released = 2026-12-03T10:00:00Z
tags = ["a", 1, [true, 2.5]]
[database]
url = "postgresql://app:pw@127.0.0.1:5432/app"
pool = { size = 5, timeout = 2.5 }
[auth]
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "$cookie"
client_id = "client-from-env"
client_secret = "$client_secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
TOML
chmod 600 "$work/elsewhere/secrets.toml"
checks "$inject" --st-secrets -f "$work/elsewhere/secrets.toml" -- "$py" "$here/check_apptest.py" . file
# The same file encrypted (dotenvx's scheme), its key given as one variable, as on Heroku.
cp -p "$work/elsewhere/secrets.toml" "$work/elsewhere/encrypted.toml"
"$inject" -q encrypt -f "$work/elsewhere/encrypted.toml" --keys-file "$work/elsewhere/.env.keys"
if grep -qF -e "$cookie" -e "$client_secret" "$work/elsewhere/encrypted.toml"; then
  fail "inject encrypt left a value in plaintext"
fi
private_key=$(sed -n 's/^DOTENV_PRIVATE_KEY=//p' "$work/elsewhere/.env.keys")
checks env DOTENV_PRIVATE_KEY="$private_key" "$inject" --st-secrets -f "$work/elsewhere/encrypted.toml" \
  -- "$py" "$here/check_apptest.py" . encrypted
checks env "${variables[@]}" "$py" "$here/check_apptest.py" . control

echo "== 2. streamlit run under inject --st-secrets, only variables, in headless Chromium"
if ! command -v chromium >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >"$work/apt.log" 2>&1 || tail -5 "$work/apt.log"
fi
if ! command -v chromium >/dev/null; then
  unavailable "chromium (apt-get install chromium)"
  finish
fi
"$py" "$here/oidc_stub.py" "$work/stub.port" "$work/stub.log" &
stub=$!
for _ in $(seq 100); do [[ -s $work/stub.port ]] && break; sleep 0.1; done
stub_port=$(cat "$work/stub.port")
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
login_variables=(AUTH_REDIRECT_URI="http://127.0.0.1:$port/oauth2callback"
  AUTH_SERVER_METADATA_URL="http://127.0.0.1:$stub_port/.well-known/openid-configuration")
env "${variables[@]}" "${login_variables[@]}" PATH="$work/venv/bin:$PATH" \
  "$inject" --st-secrets --require-from "$template" -- \
  streamlit run app.py --server.headless true --server.address 127.0.0.1 --server.port "$port" \
  >"$work/server.log" 2>&1 &
server=$!
if ! answers "$py" "http://127.0.0.1:$port/_stcore/health" kill -0 "$server"; then
  fail "streamlit did not answer /_stcore/health within 60 s"
  tail -20 "$work/server.log"
  finish
fi
pass "streamlit under inject --st-secrets answers /_stcore/health"
checks "$py" "$here/check_browser.py" "http://127.0.0.1:$port/" "$work/stub.log"

echo "== no value on any filesystem while it runs"
link=$(tr '\0' '\n' <"/proc/$server/environ" | sed -n 's/^STREAMLIT_SECRETS_FILES=//p')
if [[ $link == "$work/run/inject-$(id -u)/"*.toml && $(readlink "$link") == /proc/self/fd/* ]]; then
  pass "STREAMLIT_SECRETS_FILES is a link into /proc/self/fd, in the private folder ($(readlink "$link"))"
else
  fail "STREAMLIT_SECRETS_FILES=$link -> $(readlink "$link" || true)"
fi
if [[ $(stat -c %a "$work/run/inject-$(id -u)") == 700 ]]; then pass "its folder is 0700"; else fail "its folder is not 0700"; fi
if [[ $(id -u) != 0 ]] || ! command -v setpriv >/dev/null; then
  unavailable "root and setpriv, to read as another user"
else
  for path in "/proc/$server/fd/3" "$link"; do
    if setpriv --reuid=65534 --regid=65534 --clear-groups cat "$path" >/dev/null 2>&1; then
      fail "another user (nobody) read $path"
    else
      pass "another user (nobody) cannot read $path"
    fi
  done
fi
values=("$cookie" "$client_secret" "postgresql://app:pw@127.0.0.1:5432/app")
holders=()
for value in "${values[@]}"; do
  while IFS= read -r file; do holders+=("$file"); done < <(
    { grep -rlF --no-messages -- "$value" /dev/shm "$work/run" "$work/app" "$work/home" || true
      find /tmp -maxdepth 2 -type f -size -64M -print0 2>/dev/null | xargs -0 -r grep -lF --no-messages -- "$value" || true; } | sort -u)
done
if ((${#holders[@]} == 0)); then
  pass "no file under /tmp (two levels), /dev/shm, XDG_RUNTIME_DIR, the app's folder or HOME holds a value"
else
  fail "files holding a value: ${holders[*]}"
fi

echo "== 4. SIGTERM"
kill -TERM "$server"
status=0
for _ in $(seq 50); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server" 2>/dev/null; then
  fail "streamlit still running 5 s after SIGTERM"
else
  wait "$server" || status=$?
  if ((status == 0)); then pass "SIGTERM: streamlit stopped with status 0"; else fail "SIGTERM: status $status"; fi
fi
server=""
if grep -qF -e "$cookie" -e "$client_secret" "$work/server.log"; then
  fail "a value in the server's output"
else
  pass "no value in the output of inject and streamlit"
fi
finish
