#!/usr/bin/env bash
# inject side by side with the tools people use today (issue 6), at 3, 1,000 and 10,000 secrets.
#   bench/peers.sh [path/to/inject]      (default: target/release/inject)
# One hyperfine run per size times every tool running `true`; GNU time gives peak RSS; a checker
# child says whether each tool delivered every variable. Writes target/bench-peers/*.md.
# Installs what is missing: tini, dumb-init, direnv, hyperfine, time (apt-get), dotenvx,
# dotenv-cli, env-cmd (npm) and python-dotenv[cli] (pip, in a venv), all pinned.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/target/release/inject}")
out=$root/target/bench-peers
tools=$out/tools
mkdir -p "$out" "$tools"

# --- tools -------------------------------------------------------------------------------------
missing=()
for pair in tini:tini dumb-init:dumb-init direnv:direnv hyperfine:hyperfine /usr/bin/time:time; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [[ ! -x $tools/node_modules/.bin/dotenvx ]]; then
  npm install --silent --no-audit --no-fund --prefix "$tools" \
    @dotenvx/dotenvx@2.38.2 dotenv-cli@11.0.0 env-cmd@11.0.0 >/dev/null
fi
if [[ ! -x $tools/venv/bin/dotenv ]]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check 'python-dotenv[cli]==1.2.4'
fi
node_bin=$tools/node_modules/.bin
pydotenv=$tools/venv/bin/dotenv # python-dotenv's CLI; not dotenv-cli's `dotenv`

# --- secrets: the same names and values as TOML and as .env ---------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_DATA_HOME=$work/home/.local/share
mkdir -p "$HOME"
python3 - "$work" <<'PY'
import os, sys

work = sys.argv[1]
sizes = {3: [("trello", ["api_key", "api_secret"]), ("trello.oauth", ["token"])],
         1000: [(f"section{s}", [f"key{k}" for k in range(100)]) for s in range(10)],
         10000: [(f"section{s}", [f"key{k}" for k in range(100)]) for s in range(100)]}
for size, tables in sizes.items():
    d = os.path.join(work, str(size))
    os.mkdir(d)
    with open(f"{d}/secrets.toml", "w") as toml, open(f"{d}/.env", "w") as env:
        for table, keys in tables:
            toml.write(f"[{table}]\n")
            for key in keys:
                name = f"{table}_{key}".upper().replace(".", "_")
                # Letters, digits and hyphens: every tool reads these the same way (no quoting,
                # no $ expansion), so any difference in delivery is the tool's, not the data's.
                value = f"{name.lower()}-v-" + "x" * 20
                toml.write(f'{key} = "{value}"\n')
                env.write(f"{name}={value}\n")
    with open(f"{d}/.envrc", "w") as f:
        f.write("dotenv\n")
PY

# The child for the delivery check: does its environment hold every line of .env exactly?
cat >"$work/check_env.py" <<'PY'
import os, sys
want = dict(line.rstrip("\n").split("=", 1) for line in open(sys.argv[1]))
wrong = [name for name, value in want.items() if os.environ.get(name) != value]
print(f"all {len(want)}" if not wrong else f"{len(want) - len(wrong)} of {len(want)}")
PY

# Each tool as NAME|ARGV (before the command it runs); {d} is the size's directory.
tools_list=(
  "true|"
  "env|env FOO=bar"
  "tini|tini -s --"
  "dumb-init|dumb-init"
  "direnv exec|direnv exec {d}"
  "dotenvx run|$node_bin/dotenvx run -q -f {d}/.env --"
  "dotenv-cli|$node_bin/dotenv -e {d}/.env --"
  "dotenv-cli --no-expand|$node_bin/dotenv --no-expand -e {d}/.env --"
  "env-cmd|$node_bin/env-cmd -f {d}/.env"
  "python-dotenv run|$pydotenv -f {d}/.env run --"
  "inject|$bin -f {d}/secrets.toml --"
)
reads_file() { [[ $1 != true && $1 != env && $1 != tini && $1 != dumb-init ]]; }
# A tool whose single run takes longer than this is left out of hyperfine (and said so):
# dotenv-cli's default variable expansion grows about with the cube of the number of lines.
cap=20

echo "load before: $(uptime)"
for size in 3 1000 10000; do
  d=$work/$size
  direnv allow "$d" 2>/dev/null
  args=() rows=() timed=0
  for entry in "${tools_list[@]}"; do
    name=${entry%%|*} argv=${entry#*|}
    argv=${argv//\{d\}/$d}
    # One probe run: wall time and peak RSS (KiB), or the cap.
    # shellcheck disable=SC2086 # argv is a word list without globs or spaces inside words
    if probe=$(timeout "$cap" /usr/bin/time -f '%e %M' $argv true 2>&1 >/dev/null | tail -1) &&
      [[ $probe =~ ^[0-9.]+\ [0-9]+$ ]]; then
      rss=${probe#* }
      if awk -v t="${probe%% *}" 'BEGIN { exit !(t < 5) }'; then # two more RSS samples for the quick ones; keep the largest
        for _ in 1 2; do
          # shellcheck disable=SC2086
          sample=$(/usr/bin/time -f %M $argv true 2>&1 >/dev/null | tail -1)
          ((sample > rss)) && rss=$sample
        done
      fi
      if reads_file "$name"; then
        # shellcheck disable=SC2086
        delivered=$($argv python3 "$work/check_env.py" "$d/.env" 2>/dev/null || echo failed)
      else
        delivered="n/a (reads no file)"
      fi
      args+=(--command-name "$name" "$argv${argv:+ }true")
      rows+=("$name|$delivered|$rss|$timed")
      timed=$((timed + 1))
    else
      rows+=("$name|not measured: one run took over $cap s|-|-")
    fi
  done
  hyperfine -N --warmup 1 --min-runs 3 --export-json "$out/$size.json" "${args[@]}" >"$out/$size.log" 2>&1
  {
    echo "| $size secrets | delivered all? | mean ± σ (ms) | median (ms) | peak RSS (KiB) |"
    echo "| --- | --- | --- | --- | --- |"
    python3 - "$out/$size.json" "${rows[@]}" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
for row in sys.argv[2:]:
    name, delivered, rss, index = row.split("|")
    if index == "-":
        print(f"| `{name}` | {delivered} | – | – | – |")
        continue
    r = results[int(index)]
    timing = f"{r['mean'] * 1e3:.2f} ± {r['stddev'] * 1e3:.2f} | {r['median'] * 1e3:.2f}"
    print(f"| `{name}` | {delivered} | {timing} | {rss} |")
PY
  } >"$out/$size.md"
  cat "$out/$size.md"
  echo
done
echo "load after: $(uptime)"
