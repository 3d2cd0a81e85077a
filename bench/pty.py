#!/usr/bin/env python3
"""`--mask=always` on a terminal (issue 15): latency and throughput, side by side in one run.

    python3 bench/pty.py [path/to/inject] [megabytes]   (defaults: target/release/inject, 200)

Each case runs on a fresh pseudo-terminal that stands for the user's terminal (its slave is
the case's controlling terminal, stdin, stdout and stderr); this script reads the master as a
terminal emulator would, as fast as it can.
* latency: the program writes 200 lines, each holding CLOCK_MONOTONIC when written, 5 ms
  apart; the delay is the time the line was read from the master minus that. Median and 99th
  percentile over the lines.
* throughput: the program writes N MB of base64 text lines (a file in the page cache, `cat`);
  MB/s from start to the end of the output, median of 5 runs.
Cases: the program alone, under `script -q /dev/null -c` (the budget's baseline: 0.5x its
throughput), under `inject --mask=always` with 100 secrets to mask.
"""
import os, random, statistics, subprocess, sys, tempfile, time, fcntl, termios, struct, select

inject = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else "target/release/inject")
megabytes = int(sys.argv[2]) if len(sys.argv) > 2 else 200
work = tempfile.mkdtemp()
random.seed(5)
alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
with open(f"{work}/s.toml", "w") as f:
    for i in range(100):
        value = "".join(random.choice(alpha) for _ in range(random.randint(16, 48)))
        f.write(f'key{i} = "{value}"\n')
data = f"{work}/data"
subprocess.run(f"head -c {megabytes}M /dev/urandom | base64 -w 100 > {data}; truncate -s {megabytes}M {data}; cat {data} > /dev/null", shell=True, check=True)
LINES = "import time, sys\nfor _ in range(200):\n    sys.stdout.write(f'{time.monotonic_ns()}\\n'); sys.stdout.flush(); time.sleep(0.005)\n"
with open(f"{work}/lines.py", "w") as f:
    f.write(LINES)


def wrap(kind, command):
    if kind == "alone":
        return command
    if kind == "script":
        return ["script", "-q", "/dev/null", "-c", " ".join(command)]
    return [inject, "--mask=always", "-f", f"{work}/s.toml", "--"] + command


def run(argv, on_line=None):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.execvp(argv[0], argv)
    os.close(slave)
    total, pending = 0, b""
    while True:
        try:
            chunk = os.read(master, 1 << 20)
        except OSError:
            break
        if not chunk:
            break
        total += len(chunk)
        if on_line:
            now = time.monotonic_ns()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                digits = line.strip(b"\r")
                if digits.isdigit():
                    on_line(now - int(digits))
    end = time.monotonic()
    os.waitpid(pid, 0)
    os.close(master)
    return total, end - start


print(f"inject: {inject}; {megabytes} MB; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
print("| case | latency median | latency p99 | throughput (median of 5) |")
print("| --- | --- | --- | --- |")
for kind in ["alone", "script", "inject"]:
    delays = []
    run(wrap(kind, [sys.executable, f"{work}/lines.py"]), delays.append)
    delays.sort()
    rates = []
    for _ in range(5):
        total, seconds = run(wrap(kind, ["cat", data]))
        rates.append(total / seconds / 1e6)
    p99 = delays[int(len(delays) * 0.99) - 1]
    name = {"alone": "the program alone", "script": "`script -q /dev/null -c`", "inject": "`inject --mask=always`, 100 secrets"}[kind]
    print(f"| {name} | {statistics.median(delays) / 1e6:.3f} ms | {p99 / 1e6:.3f} ms | {statistics.median(rates):.0f} MB/s |")
subprocess.run(["rm", "-rf", work])
