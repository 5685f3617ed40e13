#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and run omnisift: OpenBLAS (run-time loaded, see
# README "BLAS"), and for the fuzz targets (README "Fuzzing": libFuzzer is C++) the C++ standard library's
# development files, which Swift's own Linux prerequisites normally bring. Swift itself must already be installed
# (https://www.swift.org/install/linux/); its toolchain ships libFuzzer and AddressSanitizer.
set -euo pipefail

have_openblas() { ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'; }

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: swift is not on PATH; install Swift 6 first (https://www.swift.org/install/linux/)" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi

# libFuzzer links against libstdc++ (the unversioned libstdc++.so of libstdc++-N-dev, N = the GCC clang selects).
stdcxx=$(clang -print-file-name=libstdc++.so 2>/dev/null || true)
if [ -e "$stdcxx" ] && [ "$stdcxx" != libstdc++.so ]; then
  echo "setup: libstdc++ development files present"
else
  gcc_major=$(clang -v 2>&1 | sed -n 's|^Selected GCC installation: .*/\([0-9][0-9]*\)$|\1|p')
  pkg="libstdc++-${gcc_major:-12}-dev"
  echo "setup: installing $pkg with apt-get (libFuzzer links against libstdc++)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$pkg" >/dev/null
fi

if have_openblas; then
  echo "setup: OpenBLAS present"
else
  if [ "$(id -u)" != 0 ] && [ -z "$sudo" ]; then
    echo "setup: need root (or sudo) to apt-get install libopenblas0-pthread" >&2; exit 1
  fi
  echo "setup: installing OpenBLAS (libopenblas0-pthread) with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libopenblas0-pthread >/dev/null
  have_openblas || { echo "setup: OpenBLAS still not found after install" >&2; exit 1; }
fi
