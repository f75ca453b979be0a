#!/usr/bin/env bash
# lstmcl: install what is missing, build, and run the demo or the tests.
#
#   ./build.sh demo       Debian packages if missing, build, run lstmcl-demo on
#                         the default OpenCL device against the CPU reference
#   ./build.sh test       the fast tier, run before every commit: the same, then
#                         every CTest test not labelled "full" (every test
#                         program's own tests, the lstmcl command's tests and
#                         the fuzz regressions replayed, the bench smoke tests,
#                         and on the device a subset of the matrix that covers
#                         every algorithm and every feature)
#   ./build.sh test-full  the full tier, the rest: the same build, then the
#                         tests labelled "full" (the whole device matrix once
#                         per algorithm), then the error-path and file-loading
#                         tests again under ASan+UBSan, then each file parser's
#                         libFuzzer target for a short run (LSTMCL_FUZZ_SECONDS,
#                         default 20) when clang is there. CI (.ci/run) runs
#                         test, then test-full.
#   ./build.sh bench      the same build plus the baselines (oneDNN, PyTorch,
#                         onnxruntime, matplotlib), then lstmcl-bench's DeepBench
#                         suite on every device with its charts, into
#                         $BUILD_DIR/bench-out
#   ./build.sh build      install and build only
#
# Environment: BUILD_DIR (default build), LSTMCL_DEVICE (device to use),
# JOBS (parallel build and test jobs, default: number of cores).
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
# For the fuzz targets and the bench's oneDNN column; installed when the
# distribution has them.
optional_packages=(clang libclang-rt-dev libdnnl-dev)
# The full tier's simulated OpenCL device (tests/oclgrind.sh).
full_packages=(oclgrind)
# The bench's baselines and charts (./build.sh bench).
bench_packages=(libdnnl-dev python3-torch python3-onnx python3-matplotlib python3-venv
  libopenblas0-pthread)

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
  if [ "$mode" = bench ]; then
    for p in "${bench_packages[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
  fi
  if [ "$mode" = test-full ]; then
    for p in "${full_packages[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
  fi
  local testing=0
  case "$mode" in test | test-full) testing=1 ;; esac
  if [ ${#missing[@]} -eq 0 ] && { [ $testing -eq 0 ] || [ ${#optional[@]} -eq 0 ]; }; then
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
  if [ "$mode" = bench ]; then
    log "installing the bench baselines: ${bench_packages[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${bench_packages[@]}"
  fi
  if [ $testing -eq 1 ]; then
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

# ctest in build tree $1 with the options that follow. Every test of a run
# shares the main build's kernel cache (the sanitizer build's tests are
# pointed there at configure time; the variable covers the tests whose
# CMake file sets no cache of their own, the bench's).
run_ctest() {
  local dir=$1
  shift
  (cd "$dir" && LSTMCL_CACHE_DIR="$cache_dir" ctest --output-on-failure --timeout 900 --no-tests=error "$@")
}

case "$build_dir" in
  /*) cache_dir=$build_dir/kernel-cache ;;
  *) cache_dir=$here/$build_dir/kernel-cache ;;
esac

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
    run_ctest "$build_dir" -j "$jobs" -LE full
    ;;
  test-full)
    build "$build_dir" -DLSTMCL_WERROR=ON
    log "full tier: the device matrix once per algorithm"
    run_ctest "$build_dir" -j "$jobs" -L full
    log "error paths under AddressSanitizer + UndefinedBehaviorSanitizer"
    build "$build_dir-asan" -DLSTMCL_SANITIZE=ON -DLSTMCL_WERROR=ON -DLSTMCL_BUILD_BENCH=OFF \
      -DLSTMCL_TEST_CACHE_DIR="$cache_dir"
    # One test at a time here: LeakSanitizer's exit-time check (it stops
    # every thread, PoCL's workers included) crashed once in test_errors
    # ("Tracer caught signal 11") in a run with two tests at a time.
    # The same crash hits a few processes of every run whose processes
    # compile kernels themselves (cold caches), one at a time or not: the
    # sanitizer runtime of GCC <= 13 and LLVM <= 16 can take a block of
    # dynamic TLS (of a library loaded with dlopen, as the ICD loader loads
    # PoCL) for one with glibc 2.19's header and scan a bogus range
    # (google/sanitizers#1322). intercept_tls_get_addr=0 avoids it.
    ASAN_OPTIONS=intercept_tls_get_addr=0${ASAN_OPTIONS:+:$ASAN_OPTIONS} \
      run_ctest "$build_dir-asan" -R '^(test_(api|errors|golden|cache|tuning|session)|cli_.*)$'
    if have_libfuzzer; then
      log "fuzzing the file parsers (libFuzzer, ${LSTMCL_FUZZ_SECONDS:-20} s each)"
      CC=clang build "$build_dir-fuzz" -DLSTMCL_FUZZ=ON -DLSTMCL_BUILD_BENCH=OFF \
        -DLSTMCL_FUZZ_SECONDS="${LSTMCL_FUZZ_SECONDS:-20}"
      run_ctest "$build_dir-fuzz" -j "$jobs" -R '^cli_fuzz_'
    else
      log "fuzz targets skipped: clang with libFuzzer is not available"
    fi
    log "threads under ThreadSanitizer (sessions and contexts), on the device and the reference"
    build "$build_dir-tsan" -DLSTMCL_TSAN=ON -DLSTMCL_WERROR=ON -DLSTMCL_BUILD_BENCH=OFF \
      -DLSTMCL_TEST_CACHE_DIR="$cache_dir"
    TSAN_OPTIONS=halt_on_error=1 run_ctest "$build_dir-tsan" -R '^test_(session|threads)$'
    LSTMCL_DEVICE=cpu TSAN_OPTIONS=halt_on_error=1 run_ctest "$build_dir-tsan" \
      -R '^test_(session|threads)$'
    ;;
  bench)
    build "$build_dir"
    # onnxruntime comes from PyPI, into a venv that sees Debian's torch.
    if [ ! -x "$build_dir/pyenv/bin/python" ]; then
      /usr/bin/python3 -m venv --system-site-packages "$build_dir/pyenv"
    fi
    "$build_dir/pyenv/bin/python" -c 'import onnxruntime' 2>/dev/null ||
      "$build_dir/pyenv/bin/pip" install -q onnxruntime ||
      log "onnxruntime not installed: its column stays empty"
    out="$build_dir/bench-out"
    mkdir -p "$out"
    # PyTorch's LSTM on the threaded OpenBLAS rather than whichever BLAS the
    # system selects.
    openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
    LD_LIBRARY_PATH="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      "$build_dir/bench/lstmcl-bench" --suite deepbench --devices all \
      --python "$build_dir/pyenv/bin/python" --json "$out/deepbench.json" --csv "$out/deepbench.csv"
    /usr/bin/python3 bench/plot.py "$out/deepbench.json"
    log "results and charts in $out"
    ;;
  *)
    echo "usage: ./build.sh [demo|test|test-full|bench|build]" >&2
    exit 2
    ;;
esac
