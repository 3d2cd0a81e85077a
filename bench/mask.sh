#!/usr/bin/env bash
# `--mask` throughput and latency (issue 5), side by side in one run.
#   bench/mask.sh [path/to/inject] [size]     (defaults: target/release/inject, 1G)
# Needs hyperfine and python3. The data file is made in $TMPDIR (size bytes, plus 100 secrets).
set -euo pipefail
bin=$(realpath "${1:-target/release/inject}")
size=${2:-1G}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

echo "## machine"
nproc
uptime

# 100 secrets of 16 to 48 letters and digits, as a Streamlit secrets file.
python3 - <<'PY'
import random
random.seed(5)
alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
with open("s100.toml", "w") as f:
    for i in range(100):
        value = "".join(random.choice(alpha) for _ in range(random.randint(16, 48)))
        f.write(f'key{i} = "{value}"\n')
PY
printf 'x = 1\n' >s0.toml
# Base64 text in lines of 100: every byte is one the secrets use, the hard case for a filter.
head -c "$size" /dev/urandom | base64 -w 100 >data
truncate -s "$size" data
ls -l data
cat data >/dev/null # into the page cache

echo "## throughput: plain pipe vs inject --mask, output to /dev/null"
# The baseline is the same shape as inject's work: one process reads the file into a pipe,
# a second reads the pipe and writes /dev/null.
hyperfine --warmup 1 --runs 10 --export-markdown throughput.md \
  "cat data | cat >/dev/null" \
  "$bin -f s100.toml --mask -- cat data >/dev/null" \
  "$bin -f s0.toml --mask -- cat data >/dev/null" \
  "cat data >/dev/null"
cat throughput.md

echo "## secret-dense output: log lines of ~95 bytes, each with one of the secrets (256 MiB)"
python3 - <<'PY'
import random
random.seed(7)
values = [line.split('"')[1] for line in open("s100.toml")]
with open("dense", "w") as f:
    n = 0
    while n < 256 * 1024 * 1024:
        line = f"2024-05-01T12:00:00Z INFO request id={random.randint(0, 10**9)} token={random.choice(values)} ok\n"
        f.write(line)
        n += len(line)
PY
hyperfine --warmup 1 --runs 10 --export-markdown dense.md \
  "cat dense | cat >/dev/null" \
  "$bin -f s100.toml --mask -- cat dense >/dev/null"
cat dense.md

echo "## latency: a line printed by the program until it arrives on inject's stdout"
cat >latency.py <<'PY'
import os, statistics, subprocess, sys, time

# The program: 400 lines, one every 5 ms, each with its CLOCK_MONOTONIC send time and a secret.
WRITER = r"""
import os, time
secret = os.environ.get("key0", "no-secret")
for i in range(400):
    os.write(1, b"%d %d %s\n" % (time.monotonic_ns(), i, secret.encode()))
    time.sleep(0.005)
"""

def measure(argv, env):
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    fd = child.stdout.fileno()
    delays, rest = [], b""
    while True:
        chunk = os.read(fd, 65536)
        now = time.monotonic_ns()
        if not chunk:
            break
        rest += chunk
        *lines, rest = rest.split(b"\n")
        for line in lines:
            delays.append((now - int(line.split()[0])) / 1e6)
    child.wait()
    delays.sort()
    pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    return f"n={len(delays)} median={statistics.median(delays):.3f} ms p99={pick(0.99):.3f} ms max={delays[-1]:.3f} ms"

inject = sys.argv[1]
env = dict(os.environ)
print("direct pipe      ", measure(["python3", "-c", WRITER], {**env, "key0": "not-injected"}))
print("inject --mask    ", measure([inject, "-f", "s100.toml", "--mask", "--", "python3", "-c", WRITER], env))
PY
python3 latency.py "$bin"
echo "## machine, after"
uptime
