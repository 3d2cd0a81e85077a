#!/usr/bin/env bash
# The launcher's budgets (SPEC §9, issues 2 and 16), measured side by side with hyperfine,
# and the instructions inject runs before it execs the program (callgrind).
#   bench/launcher.sh [INJECT...]      (default: target/release/inject)
# Several binaries (say, main's build and a branch's) are timed in the same hyperfine runs.
# Needs hyperfine; the instruction counts need valgrind (skipped, and said so, without it).
# RUNS_SMALL / RUNS_BIG set the number of runs per command (default 2000 / 400), spread over
# ROUNDS rounds (default 4).
set -euo pipefail
if [ $# -eq 0 ]; then set -- target/release/inject; fi
bins=()
for b in "$@"; do bins+=("$(realpath "$b")"); done
runs_small=${RUNS_SMALL:-2000}
runs_big=${RUNS_BIG:-400}
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

# hyperfine runs one command's runs after the other's, so a change in the machine's load
# between them shows as a difference. Each case is therefore measured in ROUNDS rounds, the
# commands' order reversed every other round, and a command's median is the median of its
# rounds' medians. CPU time (user + system) is shown too: it moves less with the load.
rounds=${ROUNDS:-4}
per_small=$(( (runs_small + rounds - 1) / rounds ))
per_big=$(( (runs_big + rounds - 1) / rounds ))
ordered() { # the arguments, reversed in odd rounds
  local round=$1; shift
  if (( round % 2 )); then
    local reversed=()
    for ((i = $#; i > 0; i--)); do reversed+=("${!i}"); done
    printf '%s\n' "${reversed[@]}"
  else
    printf '%s\n' "$@"
  fi
}

echo "## (a) 3 secrets: inject -- true beside env FOO=bar true"
for ((r = 0; r < rounds; r++)); do
  mapfile -t cmds < <(ordered "$r" "env FOO=bar true" "${three[@]}")
  hyperfine -N --warmup 50 --runs "$per_small" --export-json "a-$r.json" "${cmds[@]}" >/dev/null
done

echo "## (b) 10,000 secrets, and true with the 10,000 variables already in its environment"
# hyperfine gives every command the same environment, so the two sides of (b) cannot share a
# run: they alternate, one run each per round.
for ((r = 0; r < rounds; r++)); do
  hyperfine -N --warmup 10 --runs "$per_big" --export-json "b-inject-$r.json" "${big[@]}" >/dev/null
  with_big_env hyperfine -N --warmup 10 --runs "$per_big" --export-json "b-true-$r.json" true >/dev/null
done

echo "## (c) 10,000 inherited variables and 3 secrets, beside true with that environment"
# `env FOO=bar true` is the floor of any launcher that execs: two execs of the environment.
for ((r = 0; r < rounds; r++)); do
  mapfile -t cmds < <(ordered "$r" true "env FOO=bar true" "${three[@]}")
  with_big_env hyperfine -N --warmup 10 --runs "$per_big" --export-json "c-$r.json" "${cmds[@]}" >/dev/null
done

python3 - "$rounds" <<'PY'
import json, statistics, sys
rounds = int(sys.argv[1])
def collect(pattern, rename=None):
    """command -> (median of the rounds' medians, mean CPU time, runs) in ms"""
    seen = {}
    for r in range(rounds):
        for res in json.load(open(pattern.format(r)))["results"]:
            name = rename or res["command"]
            seen.setdefault(name, []).append(res)
    return {
        name: (
            statistics.median(x["median"] for x in rs) * 1000,
            statistics.mean(x["user"] + x["system"] for x in rs) * 1000,
            sum(len(x["times"]) for x in rs),
        )
        for name, rs in seen.items()
    }
def table(title, rows, base, budget):
    print(f"\n{title}\n")
    print("| command | median (ms) | ratio | CPU, user + sys (ms) | runs | budget |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for command, (median, cpu, runs) in rows.items():
        mark = budget if command.endswith(" -- true") else ""
        print(f"| `{command}` | {median:.2f} | {median / base:.2f}× | {cpu:.2f} | {runs} | {mark} |")
a = collect("a-{}.json")
table(f"(a) 3 secrets ({rounds} rounds)", a, a["env FOO=bar true"][0], "≤ 1.2×")
b = collect("b-true-{}.json", "true, with the 10,000 variables")
b.update(collect("b-inject-{}.json"))
table(f"(b) 10,000 secrets ({rounds} rounds)", b, b["true, with the 10,000 variables"][0], "≤ 2×")
c = collect("c-{}.json")
table(f"(c) 10,000 inherited variables + 3 secrets ({rounds} rounds)", c, c["true"][0], "≤ 1.3×")
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
  # The backticks are Markdown's.
  # shellcheck disable=SC2016
  for b in "${bins[@]}"; do
    printf '| `%s` | %s | %s | %s |\n' "$b" \
      "$(count "${cg[@]}" "$b" -f three.toml -- true)" \
      "$(count "${cg[@]}" "$b" -f big.toml -- true)" \
      "$(count with_big_env "${cg[@]}" "$b" -f three.toml -- true)"
  done
  # shellcheck disable=SC2016
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
