#!/usr/bin/env bash
# What decrypting 100 `encrypted:` values adds to a start (SPEC §15, issue 13), side by side
# with hyperfine: the same 100 values in plaintext and encrypted, the key from
# DOTENV_PRIVATE_KEY (as on Heroku) and from `.env.keys`.
#   bench/encrypted.sh [path/to/inject]      (default: target/release/inject)
# Needs hyperfine (apt-get install -y hyperfine).
set -euo pipefail
bin=$(realpath "${1:-target/release/inject}")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

python3 - <<'PY'
with open("plain.toml", "w") as toml:
    toml.write("[app]\n")
    for k in range(100):
        toml.write(f'key{k} = "value-{k}-' + "x" * 30 + '"\n')
PY
cp plain.toml encrypted.toml
"$bin" -q -f encrypted.toml encrypt
test "$(grep -c '"encrypted:' encrypted.toml)" -eq 100
key=$(sed -n 's/^DOTENV_PRIVATE_KEY=//p' .env.keys)
# The same variables either way (the encrypted file also sets DOTENV_PUBLIC_KEY).
DOTENV_PRIVATE_KEY=$key "$bin" -f encrypted.toml export --format json | grep -c '"value-' | grep -qx 100

echo "## 100 values: plaintext vs encrypted (key in DOTENV_PRIVATE_KEY) vs encrypted (.env.keys)"
DOTENV_PRIVATE_KEY=$key hyperfine -N --warmup 50 --runs 1000 \
  --export-markdown enc.md --export-json enc.json \
  "$bin -f plain.toml -- true" \
  "$bin -f encrypted.toml -- true" \
  "$bin --keys-file .env.keys -f encrypted.toml -- true"
cat enc.md
# The third command also has DOTENV_PRIVATE_KEY: time the keys-file path on its own.
hyperfine -N --warmup 50 --runs 1000 --export-json keys.json \
  "$bin -f encrypted.toml -- true" >/dev/null

echo "## medians (ms)"
python3 - <<'PY'
import json
results = json.load(open("enc.json"))["results"] + json.load(open("keys.json"))["results"]
labels = ["plaintext", "encrypted, DOTENV_PRIVATE_KEY", "(same, keys file named)", "encrypted, .env.keys only"]
base = results[0]["median"]
cpu = results[0]["user"] + results[0]["system"]
print("  median   added  min     cpu (user+sys, mean)")
for label, r in zip(labels, results):
    used = r["user"] + r["system"]
    print(f"{r['median'] * 1000:8.2f}  +{(r['median'] - base) * 1000:5.2f}  {r['min'] * 1000:5.2f}  "
          f"{used * 1000:5.2f} (+{(used - cpu) * 1000:4.2f})  {label}")
PY
echo "## binary size (bytes)"
stat -c %s "$bin"
