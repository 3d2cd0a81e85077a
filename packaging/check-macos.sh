#!/usr/bin/env bash
# macOS cannot be run here, but it can be compiled for: clippy (`-D warnings`) over every target
# of the crate for aarch64-apple-darwin and x86_64-apple-darwin, with default features and with
# `aws`. The `aws` feature has C in it (ring), so zig, from the venv packaging/build.sh makes,
# is the C compiler for the Apple targets (it ships the macOS libc headers; no SDK needed to
# compile, only to link, and clippy does not link).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/target/packaging-venv
if ! "$venv/bin/python3" -c 'import ziglang' 2>/dev/null; then
  echo "check-macos.sh: run packaging/build.sh first (it makes the venv with zig)" >&2
  exit 1
fi

wrappers=$root/target/zig-macos
mkdir -p "$wrappers"
for arch in aarch64 x86_64; do
  target=$arch-apple-darwin
  rustup target add "$target" >/dev/null
  # cc-rs passes clang's `--target=arm64-apple-macosx`, a spelling zig does not know: drop it.
  cat >"$wrappers/cc-$arch" <<WRAPPER
#!/usr/bin/env bash
args=()
for arg in "\$@"; do [[ \$arg == --target=* ]] || args+=("\$arg"); done
exec "$venv/bin/python3" -m ziglang cc -target $arch-macos "\${args[@]}"
WRAPPER
  printf '#!/bin/sh\nexec "%s" -m ziglang ar "$@"\n' "$venv/bin/python3" >"$wrappers/ar-$arch"
  chmod +x "$wrappers/cc-$arch" "$wrappers/ar-$arch"
  env_target=${target//-/_}
  for features in "" "--features=aws"; do
    echo "== clippy $target ${features:-(default features)}"
    env "CC_$env_target=$wrappers/cc-$arch" "AR_$env_target=$wrappers/ar-$arch" \
      cargo clippy --quiet --locked --target "$target" --all-targets $features -- -D warnings
  done
done
