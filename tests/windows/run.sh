#!/usr/bin/env bash
# inject for Windows (SPEC §18, issue 18) built with mingw-w64 and run under wine:
#   * `--version`, `list` and `export --format json` of the bundled example, and `check`, give
#     byte for byte the stdout, stderr and exit status of the Linux build of the same tree;
#   * Streamlit's global folder is `%USERPROFILE%\.streamlit`;
#   * the launcher: `cmd /c set` sees the flattened variables; a `.cmd` shim found through PATH
#     and PATHEXT hands its arguments (spaces, quotes, backslashes) on exactly; the program's
#     exit code passes through; a program not found is 127, one that cannot run 126.
#   * killing inject (SIGKILL to its wine process) ends the program: the job object;
#   * encrypt, rotate and decrypt in place (SPEC §15), the files read by the Linux build.
# Not proved here: Ctrl+C and Ctrl+Break reaching the program while inject waits (they need a
# Windows console to send them; wine run from a script has none).
# Harness only, never shipped: Rust's std imports ProcessPrng from bcryptprimitives.dll, which
# wine 8.0 lacks; processprng.c is a stand-in put beside inject.exe. printargs.c prints the
# arguments a program received, behind the .cmd shim.
# Needs cargo with the x86_64-pc-windows-gnu target, x86_64-w64-mingw32-gcc
# (gcc-mingw-w64-x86-64) and wine64 (Debian's wine, 8.0). Uses a fresh WINEPREFIX, removed at
# the end. No secret value is printed. Ends with "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/windows
example=$root/examples/secrets.toml
wine=/usr/lib/wine/wine64

# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$root/tests/e2e/lib.sh"

missing=()
command -v cargo >/dev/null || missing+=(cargo)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=("x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64)")
[[ -x $wine ]] || missing+=("$wine (apt-get install wine64)")
rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu ||
  missing+=("the Rust target x86_64-pc-windows-gnu (rustup target add x86_64-pc-windows-gnu)")
if ((${#missing[@]})); then
  for m in "${missing[@]}"; do unavailable "$m"; done
  finish
fi

work=$(mktemp -d)
export WINEARCH=win64 WINEPREFIX=$work/prefix WINEDEBUG=-all
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  /usr/lib/wine/wineserver -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building inject.exe, the Linux inject and the harness"
(cd "$root" && cargo build --locked --quiet --target x86_64-pc-windows-gnu && cargo build --locked --quiet)
linux=$root/target/debug/inject
mkdir -p "$work/bin" "$work/path"
cp "$root/target/x86_64-pc-windows-gnu/debug/inject.exe" "$work/bin/"
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bin/bcryptprimitives.dll" "$here/processprng.c" -ladvapi32
x86_64-w64-mingw32-gcc -O2 -o "$work/path/printargs.exe" "$here/printargs.c"
# The shim as npm and pip write them: the program beside it, every argument as given.
printf '@"%%~dp0printargs.exe" %%*\r\n' >"$work/path/shim.cmd"
printf 'not a program\r\n' >"$work/path/notexe.exe"
inject=$work/bin/inject.exe

echo "creating the wine prefix"
"$wine" wineboot -i >/dev/null 2>&1
/usr/lib/wine/wineserver -w
# Found through PATH (wine appends WINEPATH to it), not by a path.
export WINEPATH='Z:'"${work//\//\\}"'\path'

# Run a command, keeping its stdout, stderr and status in $work/<name>.{out,err,rc}.
capture() {
  local name=$1
  shift
  set +e
  "$@" >"$work/$name.out" 2>"$work/$name.err"
  echo $? >"$work/$name.rc"
  set -e
}
# Compare stdout, stderr and status of the same arguments to the Linux inject and to inject.exe.
same_as_linux() {
  local what=$1
  shift
  capture linux "$linux" "$@"
  capture windows "$wine" "$inject" "$@"
  local part
  for part in out err rc; do
    if ! cmp -s "$work/linux.$part" "$work/windows.$part"; then
      fail "$what: the $part of inject.exe differs from Linux's"
      diff "$work/linux.$part" "$work/windows.$part" | sed 's/^/    /' | head -10 || true
      return
    fi
  done
  pass "$what: stdout, stderr and exit status $(cat "$work/linux.rc") as on Linux"
}
# Expect exactly this stdout (CRs of Windows programs removed), stderr and status.
expect() {
  local what=$1 out=$2 err=$3 rc=$4
  local got_out got_err got_rc
  got_out=$(tr -d '\r' <"$work/windows.out")
  got_err=$(cat "$work/windows.err")
  got_rc=$(cat "$work/windows.rc")
  if [[ $got_out == "$out" && $got_err == "$err" && $got_rc == "$rc" ]]; then
    pass "$what"
  else
    fail "$what: got status $got_rc, stdout and stderr:"
    sed 's/^/    /' "$work/windows.out" "$work/windows.err" | head -20
  fi
}

cd "$root"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
capture windows "$wine" "$inject" --version
expect "--version" "inject $version" "" 0
same_as_linux "list of the example" -f examples/secrets.toml list
same_as_linux "export --format json of the example" -f examples/secrets.toml export --format json

# check in a project holding the example as its secrets, ignored by git: nothing to find.
mkdir -p "$work/project/.streamlit"
cp "$example" "$work/project/.streamlit/secrets.toml"
chmod 600 "$work/project/.streamlit/secrets.toml"
printf '.streamlit/secrets.toml\n' >"$work/project/.gitignore"
(cd "$work/project" && same_as_linux "check of a clean project" check)
printf 'not = [toml\n' >"$work/project/.streamlit/secrets.toml"
(cd "$work/project" && same_as_linux "check of a project whose secrets do not parse" check)
rm -r "$work/project/.streamlit"

# Encrypted values (SPEC §15): inject.exe encrypts the example in place, with its keys file;
# the Linux inject opens it; inject.exe rotates and decrypts it; every export is the plaintext's.
mkdir -p "$work/enc"
cp "$example" "$work/enc/s.toml"
plain=$("$linux" -f "$example" export --format json)
# Not in a subshell, so that each pass and fail counts.
cd "$work/enc"
capture windows "$wine" "$inject" -q -f s.toml encrypt
expect "encrypt in place" "" "" 0
if grep -q '"encrypted:' "$work/enc/s.toml" && grep -q '^DOTENV_PRIVATE_KEY=' "$work/enc/.env.keys"; then
  pass "the values are encrypted and the private key is in .env.keys"
else
  fail "encrypt: no encrypted value or no key in .env.keys"
fi
same_as_linux "export of the file inject.exe encrypted" -f s.toml export --format json
if [[ $(grep -v '"DOTENV_PUBLIC_KEY"' "$work/linux.out") == "$plain" ]]; then
  pass "the Linux inject opens what inject.exe encrypted: the plaintext's export"
else
  fail "the export of the encrypted file differs from the plaintext's"
fi
capture windows "$wine" "$inject" -q -f s.toml rotate
expect "rotate in place" "" "" 0
capture windows "$wine" "$inject" -q -f s.toml decrypt
expect "decrypt in place" "" "" 0
same_as_linux "export after rotate and decrypt" -f s.toml export --format json
mv "$work/enc/.env.keys" "$work/enc/keys"
"$linux" -q -f s.toml --keys-file keys encrypt
same_as_linux "a value no key opens: 125 naming key path and public key" -f s.toml list
cd "$root"

# The global folder is %USERPROFILE%\.streamlit, whatever HOME says.
profile=
for dir in "$WINEPREFIX"/drive_c/users/*/; do
  dir=${dir%/}
  [[ ${dir##*/} == Public ]] || profile=${dir##*/}
done
mkdir -p "$WINEPREFIX/drive_c/users/$profile/.streamlit"
printf '[global]\ntoken = "g-1"\n' >"$WINEPREFIX/drive_c/users/$profile/.streamlit/secrets.toml"
(cd "$work/project" && capture windows "$wine" "$inject" list)
expect "the global secrets are read from %USERPROFILE%\\.streamlit" \
  "GLOBAL_TOKEN  C:\\users\\$profile\\.streamlit\\secrets.toml:2  (hidden, 3 bytes)" "" 0

# The launcher.
capture windows "$wine" "$inject" -f examples/secrets.toml -- cmd /c set
want=$("$linux" -f examples/secrets.toml -- env | grep -E '^(db_username|port|big|debug|tags|servers|TRELLO_[A-Z_]+)=' | sort)
got=$(tr -d '\r' <"$work/windows.out" | grep -E '^(db_username|port|big|debug|tags|servers|TRELLO_[A-Z_]+)=' | sort)
if [[ -n $want && $got == "$want" && $(cat "$work/windows.rc") == 0 ]]; then
  pass "cmd /c set sees the $(wc -l <<<"$want") flattened variables with their values"
else
  fail "cmd /c set: the flattened variables differ from Linux's env (names only):"
  diff <(cut -d= -f1 <<<"$want") <(cut -d= -f1 <<<"$got") | sed 's/^/    /' || true
fi

# shellcheck disable=SC1003 # a backslash is an argument's last character
shim_args=('two words' 'say "hi"' 'back\slash\' 'a"b c' '' 'end')
capture windows "$wine" "$inject" -- shim "${shim_args[@]}"
expect "a .cmd shim found through PATHEXT gets its arguments exactly" \
  "$(printf '[%s]\n' "${shim_args[@]}")" "" 0

capture windows "$wine" "$inject" -- cmd /c exit 7
expect "the program's exit code passes through (cmd /c exit 7)" "" "" 7
capture windows "$wine" "$inject" -- cmd /c exit 0
expect "the program's exit code passes through (cmd /c exit 0)" "" "" 0

capture windows "$wine" "$inject" -- no-such-program
expect "a program not found: 127" "" \
  "inject: error: cannot run \`no-such-program\`: command not found in \`PATH\`" 127

capture windows "$wine" "$inject" -- notexe
if [[ $(cat "$work/windows.rc") == 126 && -z $(cat "$work/windows.out") ]] &&
  grep -qx "inject: error: cannot run \`notexe\`: .*" "$work/windows.err"; then
  pass "a file that is not a program: 126 ($(cat "$work/windows.err"))"
else
  fail "a file that is not a program: status $(cat "$work/windows.rc")"
  sed 's/^/    /' "$work/windows.out" "$work/windows.err"
fi

# Killing inject ends the program through the job object. The control: the same program
# under a plain cmd.exe, killed the same way, stays, so it is the job that ends it.
# Processes are found by a marker unique to this run, never by a bare name.
marker=inject-job-$$
# Prints the Linux PID of the wine process whose command line matches, once it appears.
wine_pid() {
  local _
  for _ in $(seq 50); do
    pgrep -f -- "$1" && return
    sleep 0.2
  done
  return 1
}
# Start a parent that runs `cmd /c pause MARKER`, SIGKILL the parent, and say whether the
# child is still there 3 s later.
after_parent_killed() {
  local parent_pattern=$1 child_pattern=$2 parent child
  shift 2
  (sleep 30 | "$wine" "$@" >/dev/null 2>&1 &)
  if ! parent=$(wine_pid "$parent_pattern") || ! child=$(wine_pid "$child_pattern"); then
    echo "did not start"
    return
  fi
  kill -9 "$parent"
  sleep 3
  if kill -0 "$child" 2>/dev/null; then
    echo "survived"
    kill -9 "$child"
  else
    echo "ended"
  fi
}
control=$(after_parent_killed "^C:.windows.system32.cmd.exe /c cmd /c pause $marker\$" \
  "^cmd /c pause $marker\$" cmd /c cmd /c pause "$marker")
with_inject=$(after_parent_killed "inject.exe -- cmd /c pause $marker\$" \
  "^C:.windows.system32.cmd.exe /c pause $marker\$" "$inject" -- cmd /c pause "$marker")
if [[ $control == survived && $with_inject == ended ]]; then
  pass "killing inject ends the program (job object); killed under a plain cmd.exe it survives"
else
  fail "job object: killed under inject the program $with_inject; under a plain cmd.exe it $control"
fi

capture windows "$wine" "$inject" --init -- cmd /c exit 0
expect "init mode is a clear error" "" \
  "inject: error: init mode (\`--init\`) is only available on Linux: drop \`--init\`, inject then runs the program in its place" 125
capture windows "$wine" "$inject" --mask -- cmd /c exit 0
expect "--mask is a clear error (masking is Linux-only in this slice)" "" \
  "inject: error: \`--mask\` is only available on Linux: drop \`--mask\`, inject then runs the program in its place" 125
capture windows "$wine" "$inject" --watch -- cmd /c exit 0
expect "--watch is a clear error (Linux-only in this slice)" "" \
  "inject: error: \`--watch\` is only available on Linux: run without it, and start the program again after changing the secrets" 125

finish
