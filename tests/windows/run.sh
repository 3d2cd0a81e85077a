#!/usr/bin/env bash
# inject for Windows (SPEC §18, issue 18) built with mingw-w64 and run under wine:
#   * `--version`, `list` and `export --format json` of the bundled example, and `check`, give
#     byte for byte the stdout, stderr and exit status of the Linux build of the same tree;
#   * Streamlit's global folder is `%USERPROFILE%\.streamlit`;
#   * the launcher: `cmd /c set` sees the flattened variables; a `.cmd` shim found through PATH
#     and PATHEXT hands its arguments (spaces, quotes, backslashes) on exactly; the program's
#     exit code passes through; a program not found is 127, one that cannot run 126.
#   * killing inject (SIGKILL to its wine process) ends the program: the job object;
#   * encrypt, rotate and decrypt in place (SPEC §15), the files read by the Linux build;
#   * Ctrl+C pressed on the console reaches the program while inject waits, and inject exits
#     with the program's code;
#   * names ignore case as on Windows: a secret `Path` is PATH (refused without `--allow PATH`;
#     with it, the program is looked up in that PATH and the child sees one PATH; `--keep path`
#     and `--require path` find the inherited PATH);
#   * `--mask` through pipes masks stdout and stderr, keeps their order under `2>&1`, and
#     passes the exit code on; `--mask=always` on a console (no pseudo-terminal there) and
#     `--init` are clear errors;
#   * `--watch`: a changed secret restarts the program with its new value and one
#     `restarting` line; an edit that keeps the environment restarts nothing; a broken file is
#     one error line and the program runs on; the program ending by itself ends inject with
#     its code (with `--mask` too); each restart under `--mask` masks with its own relay;
#     Ctrl+C reaches the program under `--watch` too;
#   * the win_amd64 wheel of packaging/build.sh: its tag and size, pip installs it for
#     win_amd64, and the inject.exe it carries runs (`--version`, `list` of the example).
# Not proved here: Ctrl+Break. wine 8.0 cannot send it (GenerateConsoleCtrlEvent with
# CTRL_BREAK_EVENT fails with error 6); the check says so on each run, and turns into a real
# check when a wine can send it.
# Harness only, never shipped: Rust's std imports ProcessPrng from bcryptprimitives.dll, which
# wine 8.0 lacks; processprng.c is a stand-in put beside inject.exe. printargs.c prints the
# arguments a program received, behind the .cmd shim; ctrlc.c is the console user who presses
# Ctrl+C and the program that receives it; printvar.c prints a variable and waits.
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
x86_64-w64-mingw32-gcc -O2 -o "$work/path/ctrlc.exe" "$here/ctrlc.c"
x86_64-w64-mingw32-gcc -O2 -o "$work/path/printvar.exe" "$here/printvar.c"
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
# Run a command in a folder, in this shell (a subshell would lose its pass and fail counts).
in_dir() {
  local back=$PWD
  cd "$1"
  shift
  "$@"
  cd "$back"
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

# The wheel of packaging/build.sh, installed by pip for win_amd64 (into a folder: pip puts
# a wheel's scripts in bin/ there, in Scripts\ of a Windows environment).
wheel=$root/target/dist/streamlit_inject-$version-py3-none-win_amd64.whl
release=$root/target/dist/inject-x86_64-pc-windows-gnu.exe
if [[ ! -f $wheel || ! -f $release ]]; then
  unavailable "the Windows wheel and inject-x86_64-pc-windows-gnu.exe in target/dist (bash packaging/build.sh --platform windows)"
else
  size=$(stat -c %s "$wheel")
  tag=$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())' \
    "$wheel" "streamlit_inject-$version.dist-info/WHEEL" | sed -n 's/^Tag: //p')
  if [[ $tag == py3-none-win_amd64 ]] && ((size < 5000000)); then
    pass "the wheel is tagged $tag and has $size bytes (under 5 MB)"
  else
    fail "the wheel: tag '$tag', $size bytes"
  fi
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
    --no-deps --platform win_amd64 --only-binary=:all: --target "$work/wheel" "$wheel"
  installed=$work/wheel/bin/inject.exe
  if [[ -f $installed ]] && cmp -s "$installed" "$release"; then
    pass "pip installs the wheel for win_amd64: its inject.exe is inject-x86_64-pc-windows-gnu.exe"
  else
    fail "pip install of the wheel for win_amd64: no bin/inject.exe equal to the release binary"
  fi
  cp "$work/bin/bcryptprimitives.dll" "$work/wheel/bin/"
  debug=$inject
  inject=$installed
  capture windows "$wine" "$inject" --version
  expect "the wheel's inject.exe: --version" "inject $version" "" 0
  same_as_linux "the wheel's inject.exe: list of the example" -f examples/secrets.toml list
  inject=$debug
fi

# check in a project holding the example as its secrets, ignored by git: nothing to find.
mkdir -p "$work/project/.streamlit"
cp "$example" "$work/project/.streamlit/secrets.toml"
chmod 600 "$work/project/.streamlit/secrets.toml"
printf '.streamlit/secrets.toml\n' >"$work/project/.gitignore"
in_dir "$work/project" same_as_linux "check of a clean project" check
printf 'not = [toml\n' >"$work/project/.streamlit/secrets.toml"
in_dir "$work/project" same_as_linux "check of a project whose secrets do not parse" check
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
in_dir "$work/project" capture windows "$wine" "$inject" list
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

# Ctrl+C pressed on the console: the program gets it, inject keeps waiting and ends with the
# program's code (42), not with 0xC000013A as a process that Ctrl+C ended would.
winpath() { printf 'Z:%s' "${1//\//\\}"; }
ready=$(winpath "$work/ready")
rm -f "$work/ready"
capture windows "$wine" "$work/path/ctrlc.exe" send C "$ready" "$(winpath "$inject") -- ctrlc child 42 $ready"
expect "Ctrl+C reaches the program while inject waits; inject exits with the program's code" \
  "child: got CTRL_C_EVENT
send: inject exited with 42" "" 0
rm -f "$work/ready"
capture windows "$wine" "$work/path/ctrlc.exe" send C "$ready" "$(winpath "$inject") --watch -- ctrlc child 42 $ready"
expect "--watch: Ctrl+C reaches the program; inject exits with the program's code" \
  "child: got CTRL_C_EVENT
send: inject exited with 42" "" 0
rm -f "$work/ready"
capture windows "$wine" "$work/path/ctrlc.exe" send BREAK "$ready" "$(winpath "$inject") -- ctrlc child 42 $ready"
if [[ $(tr -d '\r' <"$work/windows.out") == "send: GenerateConsoleCtrlEvent failed: error 6" ]]; then
  echo "not proved: Ctrl+Break (wine 8.0 cannot send it: GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT) fails with error 6)"
else
  expect "Ctrl+Break reaches the program while inject waits; inject exits with the program's code" \
    "child: got CTRL_BREAK_EVENT
send: inject exited with 42" "" 0
fi

# Names ignore case: the secret `Path` is the PATH wine's environment spells in capitals.
mkdir -p "$work/secretpath"
printf '@echo found %%*\r\n' >"$work/secretpath/onlyhere.cmd"
secret_path="C:\\windows\\system32;$(winpath "$work/secretpath")"
printf "Path = '%s'\n" "$secret_path" >"$work/path.toml"
capture windows "$wine" "$inject" -f "$work/path.toml" -- cmd /c exit 0
if [[ $(cat "$work/windows.rc") == 125 ]] &&
  grep -q "^inject: error: \`Path\` (from .*\`--allow Path\` if you mean it$" "$work/windows.err"; then
  pass "a secret \`Path\` is PATH: refused without --allow PATH"
else
  fail "a secret \`Path\` without --allow: status $(cat "$work/windows.rc")"
  sed 's/^/    /' "$work/windows.err"
fi
capture windows "$wine" "$inject" --allow PATH -f "$work/path.toml" -- onlyhere a b
expect "the program is looked up in the child's PATH (the secret \`Path\`)" "found a b" "" 0
capture windows "$wine" "$inject" --allow PATH -f "$work/path.toml" -- cmd /c set
paths=$(tr -d '\r' <"$work/windows.out" | grep -i '^path=' || true)
if [[ ${paths,,} == "path=${secret_path,,}" ]]; then
  pass "the child sees one PATH, the secret's (the inherited PATH did not survive beside it)"
else
  fail "the child's PATH entries: $paths"
fi
capture windows "$wine" "$inject" --no-override --allow PATH -f "$work/path.toml" -- cmd /c set
paths=$(tr -d '\r' <"$work/windows.out" | grep -i '^path=' || true)
if [[ $(wc -l <<<"$paths") == 1 && ${paths,,} != *secretpath* ]]; then
  pass "--no-override: the child sees one PATH, the inherited one"
else
  fail "--no-override: the child's PATH entries: $paths"
fi

capture windows "$wine" "$inject" --clean --keep path -f examples/secrets.toml -- cmd /c set
paths=$(tr -d '\r' <"$work/windows.out" | grep -ic '^path=' || true)
if [[ $(cat "$work/windows.rc") == 0 && $paths == 1 ]]; then
  pass "--clean --keep path keeps the inherited PATH (cmd is found through it)"
else
  fail "--clean --keep path: status $(cat "$work/windows.rc"), $paths PATH entries"
  sed 's/^/    /' "$work/windows.err"
fi
capture windows "$wine" "$inject" --require path -- cmd /c exit 0
expect "--require path is satisfied by the inherited PATH" "" "" 0

capture windows "$wine" "$inject" --init -- cmd /c exit 0
expect "init mode is a clear error" "" \
  "inject: error: init mode (\`--init\`) does not exist on Windows: drop \`--init\`, inject then starts the program and waits for it" 125

# --mask through pipes: each stream through its own pipe and redactor, the exit code passed
# on; with stdout and stderr one file (cmd.exe's 2>&1), one pipe keeps their order.
printf '[trello]\napi_key = "tr-0123456789abcdef"\ntoken = "tok-9876543210"\n' >"$work/mask.toml"
printf '@echo A tr-0123456789abcdef B\r\n@echo E tok-9876543210 1>&2\r\n@echo C\r\n@exit /b 5\r\n' \
  >"$work/path/both.cmd"
capture windows "$wine" "$inject" -f "$work/mask.toml" -- both
if grep -q 'tr-0123456789abcdef' "$work/windows.out" && grep -q 'tok-9876543210' "$work/windows.err"; then
  capture windows "$wine" "$inject" -f "$work/mask.toml" --mask -- both
  expect "--mask: the values are masked in stdout and stderr, the exit code passes (unmasked without it)" \
    "A [masked:TRELLO_API_KEY] B
C" "E [masked:TRELLO_TOKEN] "$'\r' 5
else
  fail "--mask: without --mask the program's output does not hold the values"
fi
capture windows "$wine" cmd /c "$(winpath "$inject") -f $(winpath "$work/mask.toml") --mask -- both 2>&1"
expect "--mask with 2>&1: one pipe, the order of stdout and stderr kept" \
  "A [masked:TRELLO_API_KEY] B
E [masked:TRELLO_TOKEN] 
C" "" 5
# --mask=always on a console would need a pseudo-terminal: a clear error. script(1) gives wine
# a terminal, and so inject a console as its stdout.
if command -v script >/dev/null; then
  script -qec "$wine $inject --mask=always -- cmd /c exit 0 2>$work/always.err; echo \$? >$work/always.rc" \
    /dev/null >/dev/null
  if [[ $(cat "$work/always.rc") == 125 && $(cat "$work/always.err") == "inject: error: \`--mask=always\` masks a console through a pseudo-terminal, which inject does not have on Windows: use \`--mask\`, which masks pipes and files and leaves the console to the program" ]]; then
    pass "--mask=always on a console is a clear error"
  else
    fail "--mask=always on a console: status $(cat "$work/always.rc")"
    sed 's/^/    /' "$work/always.err"
  fi
else
  unavailable "script (apt-get install util-linux)"
fi
# --watch (SPEC §12 as on Linux, through ReadDirectoryChangesW): printvar prints A, then waits.
# One run in the background: a change restarts it with the new value and one `restarting`
# line; an edit that keeps the environment restarts nothing (-v says it was seen); a broken
# file is one line and the program runs on; then a fixed file restarts it again; and when
# that program ends by itself (the stop file appears), inject ends with its code.
mkdir -p "$work/watch"
printf 'A = "one"\n' >"$work/watch/s.toml"
# Wait until FILE has LINES lines (CRs removed), at most 30 s; then print them.
lines_of() {
  local file=$1 lines=$2 _
  for _ in $(seq 150); do
    (($(tr -d '\r' <"$file" | wc -l) >= lines)) && break
    sleep 0.2
  done
  tr -d '\r' <"$file"
}
cd "$work/watch"
started=$(now)
stop=$(winpath "$work/watch/stop")
"$wine" "$inject" -v -f s.toml --watch -- printvar A 60 7 "$stop" >"$work/watch.out" 2>"$work/watch.err" &
watching=$!
watch_path="$(winpath "$work/watch/s.toml")"
notes="inject: note: watching \`$watch_path\`
inject: note: read \`s.toml\`
inject: note: setting A"
if [[ $(lines_of "$work/watch.out" 1) == "A=one" && $(lines_of "$work/watch.err" 3) == "$notes" ]]; then
  pass "--watch: the program starts with A=one, inject names what it watches ($(since "$started") s)"
else
  fail "--watch: the first start; stdout and stderr:"
  sed 's/^/    /' "$work/watch.out" "$work/watch.err"
fi
sleep 1
changed=$(now)
printf 'A = "two"\n' >s.toml
notes+="
inject: note: read \`s.toml\`
inject: note: setting A
inject: restarting: changed A"
if [[ $(lines_of "$work/watch.out" 2) == $'A=one\nA=two' && $(lines_of "$work/watch.err" 6) == "$notes" ]]; then
  pass "--watch: a changed value restarts the program with it, one \`restarting: changed A\` line ($(since "$changed") s)"
else
  fail "--watch: a changed value; stdout and stderr:"
  sed 's/^/    /' "$work/watch.out" "$work/watch.err"
fi
sleep 1
printf 'A = "two"\n# the same environment\n' >s.toml
notes+="
inject: note: read \`s.toml\`
inject: note: setting A
inject: note: the secrets changed but the environment did not: not restarting"
got_err=$(lines_of "$work/watch.err" 9)
sleep 1
if [[ $got_err == "$notes" && $(tr -d '\r' <"$work/watch.out") == $'A=one\nA=two' ]]; then
  pass "--watch: an edit that keeps the environment is seen and restarts nothing"
else
  fail "--watch: an edit that keeps the environment; stdout and stderr:"
  sed 's/^/    /' "$work/watch.out" "$work/watch.err"
fi
printf 'A = [\n' >s.toml
notes+="
inject: error: s.toml:1:6: invalid TOML: unclosed array, expected \`]\` (the line is not shown: it may hold a secret); the program keeps running with the secrets it had"
got_err=$(lines_of "$work/watch.err" 10)
sleep 1
if [[ $got_err == "$notes" && $(tr -d '\r' <"$work/watch.out") == $'A=one\nA=two' ]] && kill -0 "$watching" 2>/dev/null; then
  pass "--watch: a broken file is one error line; the program keeps running"
else
  fail "--watch: a broken file; stdout and stderr:"
  sed 's/^/    /' "$work/watch.out" "$work/watch.err"
fi
printf 'A = "three"\n' >s.toml
if [[ $(lines_of "$work/watch.out" 3) == $'A=one\nA=two\nA=three' ]] &&
  [[ $(tail -1 "$work/watch.err") == "inject: restarting: changed A" ]]; then
  pass "--watch: once fixed, the file restarts the program with its new value"
else
  fail "--watch: the fixed file; stdout and stderr:"
  sed 's/^/    /' "$work/watch.out" "$work/watch.err"
fi
touch "$work/watch/stop"
set +e
wait "$watching"
code=$?
set -e
rm "$work/watch/stop"
if [[ $code == 7 && $(tr -d '\r' <"$work/watch.out") == $'A=one\nA=two\nA=three' ]]; then
  pass "--watch: the restarted program ending by itself ends inject with its code (7)"
else
  fail "--watch: the program's own end: inject's status $code"
fi
printf 'A = "three"\nTOKEN = "tok-9876543210"\n' >s.toml
capture windows "$wine" "$inject" -f s.toml --mask --watch -- printvar TOKEN 1 9
expect "--mask --watch: the output is masked, the program's code (9) is inject's" \
  "TOKEN=[masked:TOKEN]" "" 9
# Each start gets its own relay, masking that start's values: the restarted program's new
# value is masked too (an old relay would let it through).
"$wine" "$inject" -q -f s.toml --mask --watch -- printvar TOKEN 60 0 "$stop" >"$work/watch.out" 2>"$work/watch.err" &
watching=$!
lines_of "$work/watch.out" 1 >/dev/null
sleep 1
printf 'A = "three"\nTOKEN = "tok-1111122222"\n' >s.toml
got=$(lines_of "$work/watch.out" 2)
touch "$work/watch/stop"
wait "$watching" || true
if [[ $got == $'TOKEN=[masked:TOKEN]\nTOKEN=[masked:TOKEN]' && ! -s $work/watch.err ]]; then
  pass "--mask --watch: the restarted program's new value is masked (its own relay), -q prints nothing"
else
  fail "--mask --watch restart: stdout (values hidden) and stderr:"
  sed -E 's/tok-[0-9]+/<a value>/g; s/^/    /' "$work/watch.out" "$work/watch.err"
fi
cd "$root"

finish
