#!/usr/bin/env bash
# The launcher's budgets (SPEC §9, issue 2), measured side by side with hyperfine.
#   bench/launcher.sh [path/to/inject]      (default: target/release/inject)
# Needs hyperfine (apt-get install -y hyperfine) and GNU time (/usr/bin/time).
set -euo pipefail
bin=$(realpath "${1:-target/release/inject}")
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

echo "## 3 secrets: inject -- true vs env FOO=bar true"
hyperfine -N --warmup 100 --runs 2000 --export-markdown three.md --export-json three.json \
  "env FOO=bar true" "$bin -f three.toml -- true"
cat three.md

echo "## 10,000 secrets (100 sections x 100 keys)"
hyperfine -N --warmup 20 --runs 300 --export-markdown big.md --export-json big.json \
  "$bin -f three.toml -- true" "$bin -f big.toml -- true"
cat big.md

echo "## true with the same 10,000 variables already in its environment"
# hyperfine passes its environment on, so the baseline runs under `env` with the variables set.
# They go before hyperfine (xargs appends its arguments, which would make them commands to
# time), and all in one command line (-s: the default 128 KiB would split them over runs).
xargs -s 1048576 -d '\n' -a big.env \
  sh -c 'exec env "$@" hyperfine -N --warmup 20 --runs 300 --export-markdown base.md --export-json base.json true' sh
cat base.md

echo "## medians (ms)"
python3 - <<'PY'
import json
for f in ("three.json", "big.json", "base.json"):
    for r in json.load(open(f))["results"]:
        print(f"{r['median'] * 1000:8.2f}  {r['command']}")
PY

echo "## peak RSS, 3 secrets (GNU time, KiB)"
for _ in 1 2 3; do
  /usr/bin/time -f "%M" "$bin" -f three.toml -- true 2>&1 >/dev/null | tail -1
done
echo "## binary size (bytes)"
stat -c %s "$bin"
