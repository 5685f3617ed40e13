#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and run omnisift: OpenBLAS (run-time loaded, see
# README "BLAS"). Swift itself must already be installed (https://www.swift.org/install/linux/).
set -euo pipefail

have_openblas() { ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'; }

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: swift is not on PATH; install Swift 6 first (https://www.swift.org/install/linux/)" >&2
  exit 1
fi

if have_openblas; then
  echo "setup: OpenBLAS present"
else
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: need root (or sudo) to apt-get install libopenblas0-pthread" >&2; exit 1
    fi
  fi
  echo "setup: installing OpenBLAS (libopenblas0-pthread) with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libopenblas0-pthread >/dev/null
  have_openblas || { echo "setup: OpenBLAS still not found after install" >&2; exit 1; }
fi
