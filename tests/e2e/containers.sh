#!/usr/bin/env bash
# The container and empty-root proof (issue 11, SPEC §6.3 and §13), on the release artefacts:
#   1. examples/docker/Dockerfile on a Debian bookworm base made here with debootstrap (no image
#      registry is needed), with inject from the local wheel: Streamlit answers on loopback,
#      inject is PID 1 in init mode, secrets from a mounted secrets.toml and from `-e` reach the
#      app (its environment, and its page through a websocket session), `podman stop` is quick
#      and the container's exit status is the app's, no secret value in its output;
#   2. packaging/Containerfile (FROM scratch, the static binary alone) and
#      examples/docker/Dockerfile.static copying inject out of it into a busybox-only image;
#   3. an empty root: a chroot holding only the static binary and a static busybox.
# Artefacts come from DIST (default target/dist, made by `bash packaging/build.sh`): the wheel(s)
# and inject-x86_64-unknown-linux-musl. Runs as root; installs podman, runc, debootstrap and
# busybox-static with apt-get when missing; needs PyPI for streamlit. The Debian base image
# (localhost/debian-bookworm-py:local) and localhost/busybox:local are kept between runs.
# Only loopback is published; no secret value is printed. Ends with "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/e2e
dist=${DIST:-$root/target/dist}
dist=$(cd "$dist" 2>/dev/null && pwd || echo "$dist")

base=localhost/debian-bookworm-py:local
bbox=localhost/busybox:local
tag=e2e-$$
demo=localhost/inject-demo:$tag
static=localhost/inject-static:$tag
consumer=localhost/inject-consumer:$tag
# crun (podman's default runtime on Debian) fails with `setrlimit RLIMIT_NOFILE: Operation not
# permitted` on these machines; runc with explicit limits works.
podman=(podman --runtime runc)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
containers=() images=()
work=$(mktemp -d)
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local c i
  for c in "${containers[@]}"; do "${podman[@]}" rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  for i in "${images[@]}"; do "${podman[@]}" rmi -f "$i" >/dev/null 2>&1 || true; done
  remove "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Compare an environment with tests/e2e/expected.py (the oracle for tests/e2e/secrets.toml);
# prints one PASS/FAIL line naming variables, never a value. See check_env below.
checks() {
  local out status=0
  out=$(python3 - "$here" "$@" 2>"$work/checker.err" <<'EOF'
import os, re, sys
from collections import Counter
sys.path.insert(0, sys.argv[1])
from expected import EVERYTHING

mode, path, what, extra = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
data = open(path, "rb").read().decode()
expected = dict(EVERYTHING, **{name: os.environ[name] for name in extra})
name_re = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
if mode == "environ":  # /proc/PID/environ: NUL-separated, exact
    got = dict(e.split("=", 1) for e in data.split("\0") if e)
    bad = sorted(n for n in expected if got.get(n) != expected[n])
    ok, detail = not bad, f"missing or different: {', '.join(bad)}"
else:  # the output of `env`: a value with a newline spans lines, so compare sorted lines
    want = sorted("".join(f"{k}={v}\n" for k, v in expected.items()).splitlines())
    lines = data.splitlines()
    names = {l.split("=", 1)[0] for l in lines if name_re.match(l)}
    if mode == "exact":
        ok = sorted(lines) == want
    else:  # "contains": every expected line, other variables allowed
        ok = not Counter(want) - Counter(lines)
    missing = sorted(set(expected) - names)
    extra_names = sorted(names - set(expected)) if mode == "exact" else []
    detail = f"missing: {missing}, unexpected: {extra_names} (or a value differs; values not shown)"
print(f"PASS: {what}" if ok else f"FAIL: {what}: {detail}")
EOF
  ) || status=$?
  [[ -n $out ]] && echo "$out"
  passed=$((passed + $(grep -c '^PASS: ' <<<"$out" || true)))
  failed=$((failed + $(grep -c '^FAIL: ' <<<"$out" || true)))
  if [[ $status -ne 0 && -z $out ]]; then fail "env checker exited $status: $(tail -1 "$work/checker.err")"; fi
}
check_env() { checks "$@"; } # MODE FILE DESCRIPTION [NAME_OF_AN_EXTRA_VARIABLE_IN_OUR_ENV...]
# Does FILE contain any of the secret values (the Trello ones and $extra_secret)?
leaks() {
  local values
  values=$(cd "$here" && python3 -c 'from expected import TRELLO; print("\n".join(TRELLO.values()))')
  grep -qF -e "$values" -e "$extra_secret" "$1"
}

echo "== setup"
if [[ $(id -u) -ne 0 ]]; then
  unavailable "root (rootful podman and chroot)"
  finish
fi
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
[[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null) == *"ok installed" ]] || missing+=(busybox-static)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
    >"$work/apt.log" 2>&1 || tail -5 "$work/apt.log"
fi
have() { command -v "$1" >/dev/null; }
have python3 || { unavailable "python3 (apt-get install python3)"; finish; }
busybox=""
if [[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null) == *"ok installed" ]]; then busybox=/bin/busybox; fi

binary=$dist/inject-x86_64-unknown-linux-musl
wheels=("$dist"/streamlit_inject-*-py3-none-*.whl)
if [[ ! -f $binary || ! -f ${wheels[0]} ]]; then
  fail "no inject-x86_64-unknown-linux-musl or streamlit_inject-*.whl in $dist (run bash packaging/build.sh, or set DIST)"
  finish
fi
version=${wheels[0]##*/streamlit_inject-}
version=${version%%-*}
cp "$binary" "$work/inject" && chmod 755 "$work/inject"
echo "dist $dist: inject $version, ${#wheels[@]} wheel(s)"
# The binary of every wheel, to tell that an image's inject is the local one.
for w in "${wheels[@]}"; do
  python3 - "$w" <<'EOF'
import hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.endswith(".data/scripts/inject"):
        print(hashlib.sha256(z.read(n)).hexdigest())
EOF
done >"$work/wheel-binaries.sha256"

# The secrets: the end-to-end test's file (every shape Streamlit allows), mode 600, and one more
# secret passed with `-e` only, made up here.
install -m 600 "$here/secrets.toml" "$work/secrets.toml"
extra_secret=$(python3 -c 'import secrets; print(secrets.token_hex(20))')
export DATABASE_URL="postgres://app:$extra_secret@db.invalid/app"


echo "== 1. examples/docker/Dockerfile: Streamlit with inject from the local wheel, inject as PID 1"
if ! have podman || ! have runc; then
  unavailable "podman and runc (apt-get install podman runc)"
elif "${podman[@]}" image exists "$base"; then
  echo "base image $base: cached"
elif ! have debootstrap; then
  unavailable "debootstrap (apt-get install debootstrap)"
else
  mirror=$(apt_mirror) || { fail "apt's sources name no mirror for bookworm (debootstrap needs one)"; finish; }
  echo "making $base with debootstrap from $mirror"
  t0=$(now)
  if debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 &&
    tar -C "$work/rootfs" -c . | "${podman[@]}" import -q - "$base" >/dev/null; then
    echo "timing: debootstrap + import $(since "$t0") s"
  else
    tail -5 "$work/debootstrap.log"
    fail "debootstrap of bookworm from $mirror, or podman import"
  fi
  remove "$work/rootfs"
fi
if "${podman[@]}" image exists "$base" 2>/dev/null; then
  t0=$(now)
  # The wheel folder and the machine's CA bundle are mounted for the build only; pip takes inject
  # from the folder, pinned to the local version, so PyPI cannot supply another one.
  if "${podman[@]}" build -q --layers=false "${limits[@]}" -f "$root/examples/docker/Dockerfile" -t "$demo" \
    --build-arg BASE="$base" \
    --build-arg STREAMLIT_INJECT="streamlit-inject==$version" \
    --build-arg PIP_FIND_LINKS=/dist \
    --build-arg PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    -v "$dist:/dist:ro" \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    "$root/examples/docker" >"$work/build.log" 2>&1; then
    images+=("$demo")
    pass "built examples/docker/Dockerfile on $base ($(since "$t0") s)"
  else
    images+=("$demo")
    tail -15 "$work/build.log"
    fail "podman build of examples/docker/Dockerfile"
  fi
fi
if "${podman[@]}" image exists "$demo" 2>/dev/null; then
  sum=$("${podman[@]}" run --rm "${limits[@]}" --entrypoint sha256sum "$demo" /usr/local/bin/inject | cut -d' ' -f1)
  if grep -qx "$sum" "$work/wheel-binaries.sha256"; then
    pass "the image's /usr/local/bin/inject is the binary of a local wheel"
  else
    fail "the image's /usr/local/bin/inject is not the binary of any wheel in $dist"
  fi

  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  name=inject-demo-$tag
  containers+=("$name")
  # -e DATABASE_URL without a value: podman takes it from this environment, so the value is in
  # no command line.
  "${podman[@]}" run -d --name "$name" "${limits[@]}" -p "127.0.0.1:$port:8501" \
    -v "$work/secrets.toml:/app/.streamlit/secrets.toml:ro" -e DATABASE_URL "$demo" >/dev/null
  # shellcheck disable=SC2317 # called by `answers`
  running() { [[ $("${podman[@]}" inspect -f '{{.State.Running}}' "$name") == true ]]; }
  if ! answers python3 "http://127.0.0.1:$port/_stcore/health" running; then
    fail "the container did not answer /_stcore/health on 127.0.0.1:$port within 60 s"
    "${podman[@]}" logs "$name" 2>&1 | tail -20
  else
    pass "the container answers /_stcore/health on 127.0.0.1:$port (loopback only)"
  fi
  in_demo() { "${podman[@]}" exec "$name" "$@"; }
  comm=$(in_demo cat /proc/1/comm || true)
  cmdline=$(in_demo cat /proc/1/cmdline | tr '\0' ' ' || true)
  if [[ $comm == inject && $cmdline == "inject -- streamlit run app.py " ]]; then
    pass "PID 1 is inject ($cmdline)"
  else
    fail "PID 1 is '$comm' ($cmdline), not inject -- streamlit run app.py"
  fi
  # Init mode: inject did not exec, streamlit is its child (podman exec's own processes have
  # parent 0 in the container's PID namespace).
  children=$(in_demo cat /proc/1/task/1/children || true)
  read -r -a kids <<<"$children"
  app=""
  if ((${#kids[@]} == 1)); then
    app=${kids[0]}
    if in_demo cat "/proc/$app/cmdline" | tr '\0' ' ' | grep -q 'streamlit run app.py'; then
      pass "init mode: inject stayed as PID 1 with streamlit as its only child (PID $app)"
    else
      fail "PID 1's child $app is not streamlit"
      app=""
    fi
  else
    fail "PID 1 has children '$children', expected streamlit alone"
  fi
  if [[ -n $app ]]; then
    in_demo cat "/proc/$app/environ" >"$work/app.environ"
    check_env environ "$work/app.environ" \
      "streamlit's environment holds every variable of the mounted secrets.toml and the -e DATABASE_URL (values compared, not shown)" \
      DATABASE_URL
    rm -f "$work/app.environ"
  fi
  # The page: open a session as a browser would (Streamlit's websocket, from inside the
  # container), run app.py once and collect the alerts it shows: names and lengths, no values.
  "${podman[@]}" exec -i "$name" python3 - ws://127.0.0.1:8501/_stcore/stream \
    >"$work/page.txt" 2>"$work/page.err" <<'PY' || true
import asyncio, sys
from websockets.asyncio.client import connect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

async def main(url):
    async with connect(url, subprotocols=["streamlit"], max_size=None) as ws:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        await ws.send(rerun.SerializeToString())
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await asyncio.wait_for(ws.recv(), 30))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.new_element.WhichOneof("type") == "alert":
                print(msg.delta.new_element.alert.body)
            elif kind == "script_finished":
                return

asyncio.run(main(sys.argv[1]))
PY
  # shellcheck disable=SC2016 # the backquotes are Markdown, for Python
  want=$(cd "$here" && python3 -c 'from expected import EVERYTHING as e
for n in ("TRELLO_API_KEY", "TRELLO_OAUTH_TOKEN", "db_username"): print(f"`{n}` is set ({len(e[n])} characters)")')
  if [[ $(<"$work/page.txt") == "$want" ]]; then
    pass "the page (app.py run in a websocket session) shows: $(paste -sd ';' <<<"$want")"
  else
    fail "the page shows '$(paste -sd ';' "$work/page.txt")', want '$(paste -sd ';' <<<"$want")' $(tail -1 "$work/page.err")"
  fi
  if [[ $(in_demo stat -c %a /app/.streamlit/secrets.toml) == 600 ]]; then
    pass "the mounted secrets.toml is mode 600 in the container"
  else
    fail "the mounted secrets.toml is not mode 600 in the container"
  fi

  t0=$(now)
  "${podman[@]}" stop -t 10 "$name" >/dev/null
  took=$(since "$t0")
  # How much of that was the app and inject, and how much podman's own work afterwards.
  ended=$(python3 -c 'import sys; print(f"{int(sys.argv[2]) / 1e9 - float(sys.argv[1]):.2f}")' \
    "$t0" "$("${podman[@]}" inspect -f '{{.State.FinishedAt.UnixNano}}' "$name")")
  echo "timing: podman stop $took s (the container ended $ended s after the stop began)"
  # The budget is for what inject controls: the app gone within 2 s of SIGTERM (not 10 s and a
  # SIGKILL). podman's own teardown after that (network, conmon) takes 0.4-0.8 s more on a busy
  # machine, so the whole `podman stop` gets 4 s: still far from the 10 s timeout.
  if python3 -c 'import sys; sys.exit(not (float(sys.argv[1]) < 2 and float(sys.argv[2]) < 4))' "$ended" "$took"; then
    pass "podman stop -t 10: the container ended $ended s after the stop began (under 2 s), podman returned in $took s"
  else
    fail "podman stop -t 10: the container ended after $ended s (2 s allowed), podman returned in $took s (4 s allowed)"
  fi
  # Streamlit's SIGTERM handler stops the server and exits 0; inject exits with that status.
  code=$("${podman[@]}" inspect -f '{{.State.ExitCode}}' "$name")
  if [[ $code == 0 ]]; then
    pass "the container's exit status is streamlit's: 0"
  else
    fail "the container's exit status is $code, not streamlit's 0 after SIGTERM"
  fi
  "${podman[@]}" logs "$name" >"$work/demo.log" 2>&1
  if leaks "$work/demo.log"; then
    fail "a secret value appears in the container's output"
  else
    pass "no secret value in the container's output"
  fi
fi

echo "== 2. packaging/Containerfile (FROM scratch) and COPY --from= into a busybox-only image"
if ! have podman || ! have runc; then
  unavailable "podman and runc (apt-get install podman runc)"
else
  t0=$(now)
  if "${podman[@]}" build -q --layers=false -f "$root/packaging/Containerfile" -t "$static" "$dist" >"$work/static.log" 2>&1; then
    images+=("$static")
    echo "timing: FROM scratch image $(since "$t0") s"
    out=$("${podman[@]}" run --rm "${limits[@]}" "$static" --version 2>&1 || true)
    if [[ $out == "inject $version" ]]; then
      pass "FROM scratch image: inject --version prints '$out'"
    else
      fail "FROM scratch image: inject --version printed '$out', not 'inject $version'"
    fi
  else
    images+=("$static")
    tail -5 "$work/static.log"
    fail "podman build of packaging/Containerfile with $dist as the context"
  fi
  if [[ -z $busybox ]]; then
    unavailable "busybox-static (apt-get install busybox-static)"
  elif "${podman[@]}" image exists "$static"; then
    if ! "${podman[@]}" image exists "$bbox"; then
      mkdir -p "$work/bbox/bin"
      cp "$busybox" "$work/bbox/bin/busybox"
      for a in $("$busybox" --list); do [[ $a == busybox ]] || ln -s busybox "$work/bbox/bin/$a"; done
      tar -C "$work/bbox" -c . | "${podman[@]}" import -q \
        --change 'ENV PATH=/usr/local/bin:/bin' --change 'CMD ["sh"]' - "$bbox" >/dev/null
      remove "$work/bbox"
    fi
    mkdir -p "$work/empty-context"
    if "${podman[@]}" build -q --layers=false "${limits[@]}" -f "$root/examples/docker/Dockerfile.static" -t "$consumer" \
      --build-arg INJECT_IMAGE="$static" --build-arg BASE="$bbox" \
      "$work/empty-context" >"$work/consumer.log" 2>&1; then
      images+=("$consumer")
      pass "built examples/docker/Dockerfile.static: inject copied from the FROM scratch image into $bbox"
      "${podman[@]}" run --rm "${limits[@]}" -v "$work/secrets.toml:/s.toml:ro" -e INJECT_FILE=/s.toml \
        "$consumer" >"$work/consumer.env" 2>&1 || true
      check_env contains "$work/consumer.env" \
        "busybox image: inject (PID 1) -- env shows every flattened variable of secrets.toml with its value"
      rm -f "$work/consumer.env"
      out=$("${podman[@]}" run --rm "${limits[@]}" "$consumer" cat /proc/1/comm 2>&1 || true)
      if [[ $out == inject ]]; then pass "busybox image: PID 1 is inject"; else fail "busybox image: PID 1 is '$out'"; fi
      # Init mode on musl: SIGTERM reaches the child, which dies of it; inject reports 128+15.
      name=inject-consumer-$tag
      containers+=("$name")
      "${podman[@]}" run -d --name "$name" "${limits[@]}" "$consumer" sleep 60 >/dev/null
      sleep 0.5
      t0=$(now)
      "${podman[@]}" stop -t 10 "$name" >/dev/null
      took=$(since "$t0")
      code=$("${podman[@]}" inspect -f '{{.State.ExitCode}}' "$name")
      if [[ $code == 143 ]] && python3 -c 'import sys; sys.exit(float(sys.argv[1]) >= 2)' "$took"; then
        pass "busybox image: podman stop of inject -- sleep 60 took $took s, exit status 143 (sleep died of SIGTERM)"
      else
        fail "busybox image: podman stop of inject -- sleep 60 took $took s, exit status $code (want < 2 s, 143)"
      fi
    else
      images+=("$consumer")
      tail -5 "$work/consumer.log"
      fail "podman build of examples/docker/Dockerfile.static"
    fi
  fi
fi

echo "== 3. an empty root: only the static binary and a static busybox"
if [[ -z $busybox ]]; then
  unavailable "busybox-static (apt-get install busybox-static)"
else
  er=$work/empty-root
  chroot=$(command -v chroot) # env -i leaves no PATH, and chroot lives in /usr/sbin
  mkdir "$er"
  cp "$work/inject" "$er/inject"
  cp "$busybox" "$er/busybox"
  install -m 600 "$here/secrets.toml" "$er/s.toml"
  listing=$(cd "$er" && echo *)
  if [[ $listing == "busybox inject s.toml" ]]; then
    pass "the root holds only: $listing (no libc, no loader, no /etc, /proc or /dev)"
  else
    fail "the root holds: $listing"
  fi
  out=$(env -i "$chroot" "$er" /inject --version 2>&1 || true)
  if [[ $out == "inject $version" ]]; then
    pass "empty root: /inject --version prints '$out'"
  else
    fail "empty root: /inject --version printed '$out', not 'inject $version'"
  fi
  env -i "$chroot" "$er" /inject -f /s.toml -- /busybox env >"$work/root.env" 2>&1 || true
  check_env exact "$work/root.env" \
    "empty root: /inject -f /s.toml -- /busybox env prints exactly the flattened variables, nothing else"
  rm -f "$work/root.env"
  # Arguments after -- arrive byte for byte: spaces, an empty one, UTF-8, no expansion.
  # shellcheck disable=SC2016 # '$HOME' is meant literally
  args=('a b' '' 'héllo wörld' '$HOME' '*' '--' '-f')
  out=$(env -i "$chroot" "$er" /inject -- /busybox printf '[%s]' "${args[@]}" 2>&1 || true)
  if [[ $out == "$(printf '[%s]' "${args[@]}")" ]]; then
    pass "empty root: arguments after -- reach the program byte for byte"
  else
    fail "empty root: arguments arrived as '$out'"
  fi
  status=0
  env -i "$chroot" "$er" /inject -- /busybox sh -c 'exit 7' 2>/dev/null || status=$?
  if [[ $status == 7 ]]; then pass "empty root: the program's exit status (7) is inject's"; else fail "empty root: exit status $status, not 7"; fi
  # 127 from inject itself (chroot also says 127 when it cannot run /inject at all).
  status=0
  out=$(env -i "$chroot" "$er" /inject -- /nonexistent 2>&1) || status=$?
  if [[ $status == 127 && $out == "inject: "*"/nonexistent"* ]]; then
    pass "empty root: a missing program gives 127 and inject's message"
  else
    fail "empty root: a missing program gives $status, '$out' (want 127 from inject)"
  fi
fi

finish
