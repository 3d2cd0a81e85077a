# What every e2e script shares: its tally, the closing line that CI reads ("N passed, N
# failed"), the rule for a missing tool (a FAIL under CI=true, a skip elsewhere), Python
# checkers and their venv, waiting for a server to answer, timing, and removing a folder that
# may still have something mounted in it. Sourced, not run.
# shellcheck shell=bash

passed=0 failed=0 skipped=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() {
  echo "$passed passed, $failed failed$( ((skipped)) && echo ", $skipped skipped")"
  if ((failed)); then exit 1; fi
  exit 0
}
# Something this test needs is unavailable: a failure in CI (where pip and apt-get work), a
# skip elsewhere.
unavailable() {
  if [[ ${CI:-} == true ]]; then fail "$1"; else echo "skipped: needs $1"; skipped=$((skipped + 1)); fi
}

# Run a Python checker (its stderr kept in $work/checker.err); its PASS/FAIL lines count, and
# so does dying without printing any.
checks() {
  local out status=0 script
  for script in "$@"; do [[ $script == *.py ]] && break; done
  out=$("$@" 2>"${work:?}/checker.err") || status=$?
  [[ -n $out ]] && echo "$out"
  local p f
  p=$(grep -c '^PASS: ' <<<"$out" || true)
  f=$(grep -c '^FAIL: ' <<<"$out" || true)
  passed=$((passed + p))
  failed=$((failed + f))
  if [[ $status -ne 0 && $f -eq 0 ]]; then
    fail "$(basename "$script") exited $status: $(tail -1 "${work:?}/checker.err")"
  fi
}

# A venv at DIR with the requirements file installed from PyPI; unavailable (and fails) when
# pip cannot install them.
venv_with() {
  python3 -m venv "$1"
  if ! "$1/bin/pip" install --quiet --disable-pip-version-check -r "$2" >"$1.pip.log" 2>&1; then
    tail -5 "$1.pip.log"
    unavailable "pip install -r ${2#"${root:-}"/} (PyPI)"
    return 1
  fi
}

# Build inject (release) and a venv at DIR with REQUIREMENTS installed; sets $inject and $py
# and says which versions run. Needs $root.
streamlit_setup() {
  (cd "$root" && cargo build --release --locked --quiet)
  inject=$root/target/release/inject
  venv_with "$1" "$2" || finish
  py=$1/bin/python
  echo "streamlit $("$py" -c 'import streamlit; print(streamlit.__version__)'), inject $("$inject" --version)"
}

now() { date +%s.%N; }
# Wait until URL answers an HTTP GET (at most 60 s), asked with PYTHON, while ALIVE… (a
# command) says the server still runs. Fails when it never answered.
#   answers PYTHON URL ALIVE…
answers() {
  local python=$1 url=$2 deadline=$((SECONDS + 60))
  shift 2
  while ((SECONDS < deadline)); do
    "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
      "$url" 2>/dev/null && return 0
    "$@" || return 1
    sleep 0.3
  done
  return 1
}
# Seconds since a `now`, to two decimals.
since() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f}")' "$1" "$(now)"; }

# Unmount whatever is mounted under a folder (proc, what a failed debootstrap left), deepest
# first.
unmount_under() {
  local m
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
}
# rm -rf of a folder, after unmounting what is mounted in it, never crossing into another file
# system.
remove() {
  unmount_under "$1"
  rm -rf --one-file-system "$1"
}

# The Debian mirror apt already uses (debootstrap needs one): the first URIs of a source for
# the suite bookworm; fails when there is none.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      { uri = ""; ok = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1
        }
        if (ok && uri != "") { print uri; exit } }' "$f"
  done | head -1 | grep . && return
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' |
    head -1 | grep . && return
  return 1
}
