#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks to build and run omnisift: OpenBLAS (run-time loaded, see
# README "BLAS"), FFmpeg's libraries with their headers and libsoxr (media input, see README "Media in"), the
# ffmpeg command line (`omnisift bench preprocess` makes its clip with it), and for the fuzz targets (README
# "Fuzzing": libFuzzer is C++) the C++ standard library's development files, which Swift's own Linux prerequisites
# normally bring. Swift itself must already be installed (https://www.swift.org/install/linux/); its toolchain ships
# libFuzzer and AddressSanitizer. curl is the server tests' HTTP client.
set -euo pipefail

have_openblas() { ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0'; }
have_media() {
  [ -f /usr/include/soxr.h ] && command -v ffmpeg >/dev/null 2>&1 &&
    for h in libavformat/avformat.h libavcodec/avcodec.h libswscale/swscale.h libswresample/swresample.h; do
      [ -f "/usr/include/$h" ] || [ -f "/usr/include/$(uname -m)-linux-gnu/$h" ] || return 1
    done
}
MEDIA_PACKAGES="libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev libsoxr-dev pkg-config ffmpeg"

if ! command -v swift >/dev/null 2>&1; then
  echo "setup: swift is not on PATH; install Swift 6 first (https://www.swift.org/install/linux/)" >&2
  exit 1
fi

# apt_install WHAT PACKAGE...: installs the packages with apt-get (through sudo when not root).
apt_install() {
  local what="$1"; shift
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: need root (or sudo) to apt-get install $*" >&2; exit 1
    fi
  fi
  echo "setup: installing $what ($*) with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# libFuzzer links against libstdc++ (the unversioned libstdc++.so of libstdc++-N-dev, N = the GCC clang selects).
stdcxx=$(clang -print-file-name=libstdc++.so 2>/dev/null || true)
if [ -e "$stdcxx" ] && [ "$stdcxx" != libstdc++.so ]; then
  echo "setup: libstdc++ development files present"
else
  gcc_major=$(clang -v 2>&1 | sed -n 's|^Selected GCC installation: .*/\([0-9][0-9]*\)$|\1|p')
  pkg="libstdc++-${gcc_major:-12}-dev"
  apt_install "the C++ standard library's development files (libFuzzer links against libstdc++)" "$pkg"
fi

if have_openblas; then
  echo "setup: OpenBLAS present"
else
  apt_install OpenBLAS libopenblas0-pthread
  have_openblas || { echo "setup: OpenBLAS still not found after install" >&2; exit 1; }
fi

if have_media; then
  echo "setup: FFmpeg libraries, libsoxr and ffmpeg present"
else
  # shellcheck disable=SC2086
  apt_install "FFmpeg's libraries, libsoxr and ffmpeg" $MEDIA_PACKAGES
  have_media || { echo "setup: FFmpeg headers / libsoxr still not found after install" >&2; exit 1; }
fi

# The server's tests (OmniServerTests) talk HTTP to `omnisift serve` on loopback with the curl command line.
if command -v curl >/dev/null 2>&1; then
  echo "setup: curl present"
else
  apt_install "curl (the server tests' HTTP client)" curl
fi
