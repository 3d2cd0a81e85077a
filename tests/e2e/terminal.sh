#!/usr/bin/env bash
# `--mask=always` in a real terminal (issue 15; SPEC §16): tmux runs an interactive bash, and
# in it `inject --mask=always -- …`; the test types into the pane and reads the screen with
# `capture-pane -e` (escape sequences included):
#   * colours around a masked value survive, and no value is on the screen;
#   * the program sees a terminal (`tty`: a pty of its own), of the pane's size, and follows
#     `resize-window`;
#   * keys reach it, Ctrl-C ends it (130), Ctrl-Z stops it and inject (bash says Stopped), `fg`
#     resumes both;
#   * `stty -a` of the pane's terminal is the same before and after every run: a normal exit,
#     Ctrl-C, the program killed by SIGKILL, inject sent SIGTERM, and after Ctrl-Z and fg.
# INJECT: the binary (default target/release/inject). Needs tmux. Ends with "N passed, N failed".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
INJECT=${INJECT:-$root/target/release/inject}

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
socket=inject-e2e-$$
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  tmux -L "$socket" kill-server 2>/dev/null || true
  # kill-server returns before the panes' processes are gone, and one may still write into
  # $work: try again briefly before a last attempt whose failure counts.
  for _ in 1 2 3 4 5; do
    rm -rf "$work" 2>/dev/null && return
    sleep 0.2
  done
  rm -rf "$work"
}
trap cleanup EXIT

command -v tmux >/dev/null || { unavailable "tmux"; finish; }
[[ -x $INJECT ]] || { fail "no inject at $INJECT (cargo build --release)"; finish; }
secret=k-Zq8wVx1L-terminal
printf '[api]\nkey = "%s"\n' "$secret" >"$work/s.toml"

t() { tmux -L "$socket" "$@"; }
# The screen now, as text; and with its escape sequences (tmux writes its own, one per
# attribute).
screen() { t capture-pane -p -t e2e; }
screen_escapes() { t capture-pane -p -e -t e2e; }
# Wait until the screen shows a line matching the extended regex $1 (at most 10 s).
wait_for() {
  local deadline=$((SECONDS + 10))
  until screen | grep -Eq -- "$1"; do
    if ((SECONDS > deadline)); then
      echo "--- the screen, waiting for $1:"
      screen
      return 1
    fi
    sleep 0.05
  done
}
# Type a command line into the pane's bash.
type_line() { t send-keys -t e2e -l -- "$1" && t send-keys -t e2e Enter; }
# Clear the screen, run a command line and wait for its `[done N]` line.
run_line() {
  t send-keys -t e2e -R \; clear-history -t e2e
  type_line "clear; $1; echo \"[done \$?]\""
}
modes() { type_line "stty -a >$work/$1"; wait_for_file "$work/$1" || fail "no stty -a for $1"; }
wait_for_file() {
  local deadline=$((SECONDS + 10))
  until [[ -s $1 ]]; do
    ((SECONDS <= deadline)) || return 1
    sleep 0.05
  done
}
same_modes() {
  if cmp -s "$work/before" "$work/$1"; then pass "$2: stty -a as before"; else
    fail "$2: stty -a changed"
    diff "$work/before" "$work/$1" || true
  fi
}
no_value() {
  if screen | grep -qF -- "$secret"; then fail "$1: the value is on the screen"; else pass "$1: no value on the screen"; fi
}

cd "$work"
t -f /dev/null new-session -d -s e2e -x 100 -y 30 \
  "env -i PATH=/usr/bin:/bin HOME=$work TERM=screen PS1='$ ' bash --norc --noprofile -i"
wait_for '^\$' || { fail "tmux did not start bash"; finish; }
type_line "cd $work"
modes before
inject="$INJECT --mask=always -f s.toml --"

echo "== colours, the terminal seen, its size"
run_line "$inject sh -c 'printf \"\\033[1;31m%s\\033[0m \\033[32mok\\033[0m\\n\" \"\$API_KEY\"; tty; [ -t 1 ] && [ -t 2 ] && echo out-and-err-too; stty size'"
wait_for '\[done 0\]' || fail "the run did not end"
if screen_escapes | grep -qF $'\e[1m\e[31m[masked:API_KEY]\e[0m' &&
  screen_escapes | grep -qF $' \e[32mok'; then
  pass "the colours around the masked value survive"
else
  fail "colours or mask lost: $(screen_escapes | head -3 | od -c | head -8)"
fi
no_value "colours"
pane_tty=$(t display -p -t e2e '#{pane_tty}')
program_tty=$(screen | grep -E '^/dev/pts/[0-9]+$' | head -1 || true)
if [[ -n $program_tty && $program_tty != "$pane_tty" ]] && screen | grep -qx out-and-err-too; then
  pass "the program is on a terminal of its own ($program_tty; the pane's is $pane_tty)"
else
  fail "the program's terminal: '${program_tty:-not a tty}', the pane's: $pane_tty"
fi
size=$(t display -p -t e2e '#{pane_height} #{pane_width}')
if screen | grep -qx "$size"; then pass "stty size inside is the pane's ($size)"; else fail "stty size inside is not $size"; fi
modes after-exit
same_modes after-exit "a normal exit"

echo "== the window size follows, keys pass, Ctrl-C"
run_line "$inject sh -c 'trap \"stty size\" WINCH; echo ready; while :; do sleep 0.05; done'"
wait_for '^ready' || fail "the program did not start"
t resize-window -t e2e -x 90 -y 25
size=$(t display -p -t e2e '#{pane_height} #{pane_width}')
if wait_for "^$size\$"; then pass "resize-window: the program sees $size"; else fail "the program did not follow the resize to $size"; fi
t resize-window -t e2e -x 100 -y 30
if wait_for '^30 100$'; then pass "and back to 30 100"; else fail "the program did not follow the resize back"; fi
t send-keys -t e2e C-c
if wait_for '\[done 130\]'; then pass "Ctrl-C ends the program: status 130"; else fail "Ctrl-C"; fi
modes after-ctrl-c
same_modes after-ctrl-c "Ctrl-C"

echo "== the program killed, inject terminated"
run_line "$inject sh -c 'echo ready; sleep 0.3; kill -9 \$\$'"
if wait_for '\[done 137\]'; then pass "the program killed by SIGKILL: status 137"; else fail "SIGKILL status"; fi
modes after-kill
same_modes after-kill "the program killed"
run_line "$inject sh -c 'echo \$PPID >$work/inject.pid; exec sleep 30'"
wait_for_file "$work/inject.pid" || fail "the program did not start"
kill -TERM "$(cat "$work/inject.pid")"
if wait_for '\[done 143\]'; then pass "SIGTERM to inject ends the program: status 143"; else fail "SIGTERM status"; fi
modes after-term
same_modes after-term "inject terminated"

echo "== Ctrl-Z, jobs, fg"
run_line "$inject sh -c 'echo ready; read -r word; echo \"got \$API_KEY \$word\"'"
wait_for '^ready' || fail "the program did not start"
t send-keys -t e2e C-z
if wait_for 'Stopped'; then pass "Ctrl-Z: bash says the job stopped"; else fail "Ctrl-Z did not stop the job"; fi
modes while-stopped
same_modes while-stopped "while stopped"
type_line "fg; echo \"[fg \$?]\""
sleep 0.3
type_line "resumed"
if wait_for "got \[masked:API_KEY\] resumed" && wait_for '\[fg 0\]'; then
  pass "fg resumes the program and inject: keys reach it, its output is masked"
else
  fail "fg did not resume both"
fi
no_value "after fg"
modes after-fg
same_modes after-fg "Ctrl-Z and fg"

finish
