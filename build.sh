#!/usr/bin/env bash
# lstmcl: install what is missing, build, and run the demo or the tests.
#
#   ./build.sh demo    Debian packages if missing, build, run lstmcl-demo on the
#                      default OpenCL device against the CPU reference
#   ./build.sh test    the same, then the whole test suite (CTest), then the
#                      error-path and file-loading tests again under ASan+UBSan,
#                      then each file parser's libFuzzer target for a short run
#                      (LSTMCL_FUZZ_SECONDS, default 20) when clang is there
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
  python3 python3-numpy
)
# For the fuzz targets only; installed when the distribution has them.
optional_packages=(clang libclang-rt-dev)

log() { printf '[build.sh] %s\n' "$*" >&2; }

install_missing() {
  local missing=() optional=()
  for p in "${optional_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      optional+=("$p")
    fi
  done
  for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ] && { [ "$mode" != test ] || [ ${#optional[@]} -eq 0 ]; }; then
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
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  if [ "$mode" = test ]; then
    for p in "${optional[@]}"; do
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$p" ||
        log "optional package $p not installed (fuzz targets need clang with libFuzzer)"
    done
  fi
}

# 0 when clang can link a libFuzzer target here.
have_libfuzzer() {
  command -v clang >/dev/null 2>&1 || return 1
  local d
  d=$(mktemp -d)
  printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$d/f.c"
  clang -fsanitize=fuzzer "$d/f.c" -o "$d/f" >/dev/null 2>&1
  local rc=$?
  rm -rf "$d"
  return $rc
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
    (cd "$build_dir-asan" && ctest --output-on-failure --timeout 900 -R '^(test_(api|errors|golden|cache|tuning)|cli_.*)$')
    if have_libfuzzer; then
      log "fuzzing the file parsers (libFuzzer, ${LSTMCL_FUZZ_SECONDS:-20} s each)"
      CC=clang build "$build_dir-fuzz" -DLSTMCL_FUZZ=ON -DLSTMCL_BUILD_BENCH=OFF \
        -DLSTMCL_FUZZ_SECONDS="${LSTMCL_FUZZ_SECONDS:-20}"
      (cd "$build_dir-fuzz" && ctest --output-on-failure --timeout 900 -R '^cli_fuzz_')
    else
      log "fuzz targets skipped: clang with libFuzzer is not available"
    fi
    ;;
  *)
    echo "usage: ./build.sh [demo|test|build]" >&2
    exit 2
    ;;
esac
