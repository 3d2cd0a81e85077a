#!/usr/bin/env bash
# Builds every artefact of a release into target/dist/ (SPEC §13, §18):
#   streamlit_inject-VERSION-py3-none-manylinux_2_17_ARCH.manylinux2014_ARCH.musllinux_1_2_ARCH.whl
#   inject-ARCH-unknown-linux-musl      the static binary (no dynamic dependency at all)
#   streamlit_inject-VERSION-py3-none-win_amd64.whl
#   inject-x86_64-pc-windows-gnu.exe    Windows, built with mingw-w64
#   SHA256SUMS
# for ARCH in x86_64 and aarch64 (`--arch x86_64` builds one Linux architecture;
# `--platform linux` or `--platform windows` builds only that platform's artefacts; the
# default is everything).
#
# One build per architecture: a static musl binary needs no glibc symbol, so the same binary
# serves glibc 2.17+ systems (the manylinux2014 tag) and musl ones (musllinux_1_2), and one wheel
# carries both tags. zig (from PyPI, through maturin) is the C compiler and linker for the
# C parts of the `aws` feature (ring) and for cross-building aarch64.
#
# Windows: maturin builds the `win_amd64` wheel for x86_64-pc-windows-gnu, with Debian's
# mingw-w64 as the C compiler (ring) and linker, as cargo uses it for that target without any
# setting. The binary links only system DLLs (mingw's runtime is linked statically), so it
# runs on any 64-bit Windows 10 or later. It leaves out `aws` (`--features default` replaces
# pyproject.toml's list): with it the Windows build took 5.5 min more, which `.ci/run`'s
# 40 minutes cannot spare, and AWS sources on a Windows laptop are the rarest case.
#
# Needs: rustup, python3 (with venv) and PyPI; maturin and zig go into a venv this script makes;
# x86_64-w64-mingw32-gcc (gcc-mingw-w64-x86-64) for Windows.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dist=$root/target/dist
venv=$root/target/packaging-venv
archs=(x86_64 aarch64)
platforms=(linux windows)
# Pinned so that two builds of the same commit use the same tools.
maturin_version=1.16.0
zig_version=0.17.1

while (($#)); do
  case $1 in
    --arch) archs=("$2"); shift 2 ;;
    --platform) platforms=("$2"); shift 2 ;;
    *) echo "usage: packaging/build.sh [--arch x86_64|aarch64] [--platform linux|windows]" >&2; exit 2 ;;
  esac
done

if [[ ! -x $venv/bin/maturin ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "maturin==$maturin_version" "ziglang==$zig_version"
fi
# maturin finds zig through `python3 -m ziglang` of the first python3 on PATH.
export PATH=$venv/bin:$PATH

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)
mkdir -p "$dist"
built() { [[ " ${platforms[*]} " == *" $1 "* ]]; }
# What this run builds is built afresh; another platform's artefacts stay (and are summed).
rm -f "$dist/SHA256SUMS"
if built linux; then rm -f "$dist"/*linux*.whl "$dist"/inject-*-linux-musl; fi
if built windows; then rm -f "$dist"/*win_amd64.whl "$dist"/inject-*-windows-gnu.exe; fi

if built linux; then
  for arch in "${archs[@]}"; do
    target=$arch-unknown-linux-musl
    rustup target add "$target" >/dev/null
    echo "== $target"
    # --auditwheel check: maturin refuses a wheel whose binary needs a library the tags forbid.
    (cd "$root" && maturin build --release --locked --zig --target "$target" \
      --compatibility manylinux2014 musllinux_1_2 --auditwheel check --out "$dist")
    wheel=$(ls "$dist"/streamlit_inject-"$version"-py3-none-*"$arch".whl)
    python3 -m zipfile -e "$wheel" "$dist/unpacked-$arch"
    install -m 755 "$dist/unpacked-$arch/streamlit_inject-$version.data/scripts/inject" \
      "$dist/inject-$target"
    rm -rf "$dist/unpacked-$arch"
  done
fi

if built windows; then
  target=x86_64-pc-windows-gnu
  if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    echo "packaging/build.sh: Windows needs x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64)" >&2
    exit 1
  fi
  rustup target add "$target" >/dev/null
  echo "== $target"
  started=$SECONDS
  # mingw-w64 is the C compiler and linker cargo uses for this target without any setting, so
  # no --zig; maturin's auditwheel applies to Linux wheels only.
  (cd "$root" && maturin build --release --locked --target "$target" --features default --out "$dist")
  echo "built $target in $((SECONDS - started)) s"
  wheel=$dist/streamlit_inject-$version-py3-none-win_amd64.whl
  python3 -m zipfile -e "$wheel" "$dist/unpacked-windows"
  install -m 755 "$dist/unpacked-windows/streamlit_inject-$version.data/scripts/inject.exe" \
    "$dist/inject-$target.exe"
  rm -rf "$dist/unpacked-windows"
fi

# SPEC §9: each wheel under 5 MB.
for wheel in "$dist"/*.whl; do
  size=$(stat -c %s "$wheel")
  if ((size >= 5000000)); then
    echo "packaging/build.sh: $(basename "$wheel") is $size bytes, over the 5 MB budget" >&2
    exit 1
  fi
done
(cd "$dist" && sha256sum -- *.whl inject-* >SHA256SUMS)
ls -l "$dist"
