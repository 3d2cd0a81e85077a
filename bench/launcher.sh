#!/usr/bin/env bash
# The launcher's budgets (SPEC §9, issues 2 and 16), measured side by side with hyperfine,
# and the instructions inject runs before it execs the program (callgrind).
#   bench/launcher.sh [INJECT...]      (default: target/release/inject)
# Several binaries (say, main's build and a branch's) are timed in the same hyperfine runs.
# Needs hyperfine; the instruction counts need valgrind (skipped, and said so, without it).
# RUNS_SMALL / RUNS_BIG set the number of runs (default 2000 / 300).
set -euo pipefail
if [ $# -eq 0 ]; then set -- target/release/inject; fi
bins=()
for b in "$@"; do bins+=("$(realpath "$b")"); done
runs_small=${RUNS_SMALL:-2000}
runs_big=${RUNS_BIG:-300}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

printf '[trello]\napi_key = "k-123"\napi_secret = "s-456"\n[trello.oauth]\ntoken = "t-789"\n' >three.toml
python3 - <<'PY'
with open("big.toml", "w") as toml, open("big.env", "w") as env:
    for s in range(100):
        toml.write(f"[section{s}]\n")
        for k in range(100):
            value = f"value-{s}-{k}-" + "x" * 20
            toml.write(f'key{k} = "{value}"\n')
            env.write(f"SECTION{s}_KEY{k}={value}\n")
PY

# Runs a command (hyperfine, valgrind) with the 10,000 variables of big.env added to its
# environment, so that every program it starts inherits them.
with_big_env() {
  python3 -c '
import os, sys
env = dict(os.environ)
env.update(line.split("=", 1) for line in open("big.env").read().splitlines())
os.execvpe(sys.argv[1], sys.argv[1:], env)
' "$@"
}

commands() { # the inject command line for each binary, with the given file
  for b in "${bins[@]}"; do printf '%s\n' "$b -f $1 -- true"; done
}
mapfile -t three < <(commands three.toml)
mapfile -t big < <(commands big.toml)

echo "## (a) 3 secrets: inject -- true vs env FOO=bar true (one run)"
hyperfine -N --warmup 100 --runs "$runs_small" --export-json a.json \
  "env FOO=bar true" "${three[@]}" >/dev/null

echo "## (b) 10,000 secrets vs true with the 10,000 variables already in its environment"
# hyperfine gives every command the same environment, so the two sides of (b) cannot share a
# run: they run back to back, twice, alternating, to show any drift in the machine's load.
for round in 1 2; do
  hyperfine -N --warmup 20 --runs "$runs_big" --export-json "b-inject-$round.json" "${big[@]}" >/dev/null
  with_big_env hyperfine -N --warmup 20 --runs "$runs_big" --export-json "b-true-$round.json" true >/dev/null
done

echo "## (c) 10,000 inherited variables and 3 secrets vs true with that environment (one run)"
# `env FOO=bar true` is the floor of any launcher that execs: two execs of the environment.
with_big_env hyperfine -N --warmup 20 --runs "$runs_big" --export-json c.json \
  true "env FOO=bar true" "${three[@]}" >/dev/null

python3 - "$runs_small" "$runs_big" <<'PY'
import json, sys
def results(f):
    return {r["command"]: r["median"] * 1000 for r in json.load(open(f))["results"]}
def table(title, rows, base, budget):
    print(f"\n{title}\n\n| command | median (ms) | ratio | budget |\n| --- | ---: | ---: | --- |")
    for command, median in rows:
        print(f"| `{command}` | {median:.2f} | {median / base:.2f}× | {budget if command.endswith(' -- true') else ''} |")
a = results("a.json")
table("(a) 3 secrets, one hyperfine run", a.items(), a["env FOO=bar true"], "≤ 1.2×")
for r in ("1", "2"):
    b, t = results(f"b-inject-{r}.json"), results(f"b-true-{r}.json")
    rows = [("true (with the 10,000 variables)", t["true"])] + list(b.items())
    table(f"(b) 10,000 secrets, round {r} (two runs back to back)", rows, t["true"], "≤ 2×")
c = results("c.json")
table("(c) 10,000 inherited variables + 3 secrets, one hyperfine run", c.items(), c["true"], "≤ 1.3×")
PY

echo
echo "## instructions before the program's exec (callgrind)"
if ! command -v valgrind >/dev/null; then
  echo "valgrind not installed: skipped (apt-get install -y valgrind)"
else
  # Callgrind writes one profile per execve (--dump-before), so the failed PATH candidates and
  # the exec that succeeds each end one; their sum is everything inject ran before the program.
  count() {
    rm -f cg.out*
    "$@" >/dev/null 2>&1
    cat cg.out.* | sed -n 's/^summary: //p' | paste -sd+ | bc
  }
  cg=(valgrind --tool=callgrind --dump-before=execve --callgrind-out-file=cg.out)
  printf '| binary | (a) 3 secrets | (b) 10,000 secrets | (c) 10,000 inherited + 3 secrets |\n| --- | ---: | ---: | ---: |\n'
  for b in "${bins[@]}"; do
    printf '| `%s` | %s | %s | %s |\n' "$b" \
      "$(count "${cg[@]}" "$b" -f three.toml -- true)" \
      "$(count "${cg[@]}" "$b" -f big.toml -- true)" \
      "$(count with_big_env "${cg[@]}" "$b" -f three.toml -- true)"
  done
  printf '| `env FOO=bar true` | %s | | %s |\n' \
    "$(count "${cg[@]}" env FOO=bar true)" "$(count with_big_env "${cg[@]}" env FOO=bar true)"
fi

echo
echo "## peak RSS, 3 secrets (GNU time, KiB)"
for b in "${bins[@]}"; do
  for _ in 1 2 3; do
    /usr/bin/time -f "%M  $b" "$b" -f three.toml -- true 2>&1 >/dev/null | tail -1
  done
done
echo "## binary size (bytes)"
for b in "${bins[@]}"; do stat -c "%s  %n" "$b"; done
