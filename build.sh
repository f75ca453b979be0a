#!/usr/bin/env bash
# lstmcl: install what is missing, build, and run the demo or the tests.
#
#   ./build.sh demo    Debian packages if missing, build, run lstmcl-demo on the
#                      default OpenCL device against the CPU reference
#   ./build.sh test    the same, then the whole test suite (CTest), then the
#                      error-path tests again under ASan+UBSan
#   ./build.sh build   install and build only
#
# Environment: BUILD_DIR (default build), LSTMCL_DEVICE (device to use),
# JOBS (parallel build jobs, default: number of cores).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
mode=${1:-demo}
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Debian/Ubuntu packages the build and the tests need.
packages=(
  build-essential cmake pkg-config
  ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
  libclblast-dev libcmocka-dev
  libcjson-dev libprotobuf-c-dev protobuf-c-compiler
)

log() { printf '[build.sh] %s\n' "$*" >&2; }

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing packages: ${missing[*]}; this script installs them with apt-get (Debian/Ubuntu)"
    exit 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      log "missing packages: ${missing[*]}; run as root or install sudo"
      exit 1
    fi
  fi
  log "installing: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

install_missing
case "$mode" in
  build)
    build "$build_dir"
    ;;
  demo)
    build "$build_dir"
    "$build_dir/lstmcl-demo" -H 256 -N 1 -T 100
    ;;
  test)
    build "$build_dir" -DLSTMCL_WERROR=ON
    (cd "$build_dir" && ctest --output-on-failure --timeout 900)
    log "error paths under AddressSanitizer + UndefinedBehaviorSanitizer"
    build "$build_dir-asan" -DLSTMCL_SANITIZE=ON -DLSTMCL_WERROR=ON -DLSTMCL_BUILD_BENCH=OFF
    (cd "$build_dir-asan" && ctest --output-on-failure --timeout 900 -R '^test_(api|errors|golden|cache|tuning)$')
    ;;
  *)
    echo "usage: ./build.sh [demo|test|build]" >&2
    exit 2
    ;;
esac
