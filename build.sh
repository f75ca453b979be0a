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
#   ./build.sh python     the Python package built and installed into
#                         $BUILD_DIR/pyenv (pip install . there), then one
#                         nn.LSTM run through it
#   ./build.sh serve      the Python package and PyTriton in $BUILD_DIR/serve-venv,
#                         then python/serving/loadgen.py's serving run into
#                         $BUILD_DIR/serve.json (up to 30 minutes)
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
  python3 python3-numpy ca-certificates
)
# For the fuzz targets and the bench's oneDNN column; installed when the
# distribution has them.
optional_packages=(clang libclang-rt-dev libdnnl-dev)
# The full tier's simulated OpenCL device (tests/oclgrind.sh).
full_packages=(oclgrind)
# The Python package's build and tests (./build.sh python, test, test-full):
# headers for its extension module, a venv, and the frameworks its tests
# compare with.
python_packages=(python3-dev python3-venv python3-torch python3-onnx)
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
  case "$mode" in
    test | test-full | python)
      for p in "${python_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
      done
      ;;
  esac
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

# Intel's OpenCL CPU runtime, a second OpenCL implementation beside PoCL:
# its PyPI wheels, pinned by version and SHA-256, unpacked into a prefix of
# the project's own (LSTMCL_DEPS_DIR, default .deps) and registered with the
# ICD loader by one file in /etc/OpenCL/vendors naming its library by full
# path (libintelocl.so finds the rest through its RUNPATH, $ORIGIN).
# LSTMCL_INTEL_OCL=0 skips it; without network access to PyPI the build goes
# on without it and says so.
intel_ocl_version=2026.2.0
intel_ocl_wheels=(
  "intel_opencl_rt-2026.2.0-py2.py3-none-manylinux_2_28_x86_64.whl 6b6215a420598b4999ee01caca6d5cbe106aa4155c46c52377619c5aafce9f67 https://files.pythonhosted.org/packages/b9/ae/f011c86c610c631624d7caec75020d307080ddb0815d286b597b17e4e6e2/intel_opencl_rt-2026.2.0-py2.py3-none-manylinux_2_28_x86_64.whl"
  "intel_cmplr_lib_rt-2026.2.0-py2.py3-none-manylinux_2_28_x86_64.whl 9f713083073a820d2496a6da8e8d4f3482aba6640f74521d25ea48dcebe72748 https://files.pythonhosted.org/packages/7a/60/c9232e85f37a7f9e40d800679341b27eae240e4992221b861e0f3882d109/intel_cmplr_lib_rt-2026.2.0-py2.py3-none-manylinux_2_28_x86_64.whl"
  "tbb-2023.2.0-py2.py3-none-manylinux_2_28_x86_64.whl 7d80615b6e970f11671fa05b6eaa9483ac864fbfe525ac280271a78b37870b7c https://files.pythonhosted.org/packages/59/fd/8ca476c7b2513b1e64e08d3f5404c8ed19b34d0213000b5e23b3a91676c2/tbb-2023.2.0-py2.py3-none-manylinux_2_28_x86_64.whl"
)
intel_ocl_icd=/etc/OpenCL/vendors/lstmcl-intel-cpu.icd

install_intel_ocl() {
  [ "${LSTMCL_INTEL_OCL:-1}" != 0 ] || return 0
  [ "$(uname -m)" = x86_64 ] || return 0
  local deps=${LSTMCL_DEPS_DIR:-$here/.deps}
  local prefix=$deps/intel-opencl-rt-$intel_ocl_version
  local lib=$prefix/lib/libintelocl.so
  local f
  # Registered already, by this script or by an Intel installation.
  for f in /etc/OpenCL/vendors/*.icd; do
    [ -f "$f" ] || continue
    if [ "$f" = "$intel_ocl_icd" ]; then
      # this version, unpacked by this checkout or another one
      case "$(cat "$f")" in
        */intel-opencl-rt-$intel_ocl_version/lib/libintelocl.so) [ -f "$(cat "$f")" ] && return 0 ;;
      esac
    elif grep -q 'libintelocl\.so' "$f"; then
      return 0
    fi
  done
  if [ ! -f "$lib" ]; then
    log "installing Intel's OpenCL CPU runtime $intel_ocl_version (PyPI wheels, about 270 MB) into $prefix"
    local why
    if ! why=$(python3 - "$deps" "$prefix" "${intel_ocl_wheels[@]}" 2>&1 <<'PY'

import hashlib, os, shutil, sys, urllib.request, zipfile
deps, prefix, wheels = sys.argv[1], sys.argv[2], [w.split() for w in sys.argv[3:]]
down = os.path.join(deps, "downloads")
os.makedirs(down, exist_ok=True)
tmp = prefix + ".partial"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(os.path.join(tmp, "lib"))
for name, sha, url in wheels:
    path = os.path.join(down, name)
    def digest():
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    if not (os.path.isfile(path) and digest() == sha):
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(path + ".part", "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except OSError as e:
            sys.exit(f"cannot download {name}: {e}")
        os.replace(path + ".part", path)
        if digest() != sha:
            os.unlink(path)
            sys.exit(f"{name}: SHA-256 differs from the pinned {sha}")
    with zipfile.ZipFile(path) as z:
        for m in z.infolist():
            parts = m.filename.split("/")
            # Shared libraries and the compiler's runtime files under
            # *.data/data/lib, without the wheel's own ICD loader and the
            # copies of libraries stored under a second name.
            if len(parts) != 4 or parts[1:3] != ["data", "lib"] or not parts[3]:
                continue
            base = parts[3]
            if (base.startswith("libOpenCL.so") or base.endswith("-gdb.py")
                    or base.startswith("libintelocl.so.") or base == "libcommon_clang.so"):
                continue
            with z.open(m) as src, open(os.path.join(tmp, "lib", base), "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
shutil.rmtree(prefix, ignore_errors=True)
os.replace(tmp, prefix)
PY
    ); then
      rm -rf "$prefix.partial"
      log "Intel's OpenCL runtime not installed (${why##*$'\n'}); going on with the other OpenCL devices"
      return 0
    fi
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      log "Intel's OpenCL runtime not registered (writing $intel_ocl_icd needs root or sudo); OCL_ICD_VENDORS can name a directory holding a file that contains $lib"
      return 0
    fi
  fi
  "${sudo[@]}" mkdir -p /etc/OpenCL/vendors
  printf '%s\n' "$lib" | "${sudo[@]}" tee "$intel_ocl_icd" >/dev/null
  log "Intel's OpenCL CPU runtime registered: $intel_ocl_icd"
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

# The Python package (pyproject.toml, python/): pip builds it through
# scikit-build-core into a venv that sees Debian's torch and numpy
# ($build_dir/pyenv, the bench's venv too), its CMake tree kept in
# $build_dir/python so that rebuilds are incremental. numpy is pinned to
# Debian's so that no PyPI package replaces the one Debian's torch needs.
python_install() {
  local venv=$build_dir/pyenv numpy
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
  numpy=$("$venv/bin/python" -c 'import numpy; print(numpy.__version__)')
  "$venv/bin/pip" install -q "numpy==$numpy" "scikit-build-core>=0.8" "cffi>=1.15" pytest \
    onnxruntime safetensors
  CMAKE_BUILD_PARALLEL_LEVEL=$jobs "$venv/bin/pip" install -q --no-build-isolation \
    --config-settings=build-dir="$build_dir/python" .
}
# pytest over python/tests, tier $1 ("not full": the fast tier; "full"), on
# every OpenCL device (or $LSTMCL_DEVICE), kernels in the tests' cache.
python_tests() {
  LSTMCL_CACHE_DIR="$cache_dir" "$build_dir/pyenv/bin/python" -m pytest -q -p no:cacheprovider \
    -m "$1" python/tests
}

# Serving (python/serving): PyTriton (which brings Triton's server binary)
# and tritonclient, pinned, in a venv of their own made from Debian's
# Python, with the package built into it.
serve_install() {
  local venv=$build_dir/serve-venv numpy
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
  numpy=$("$venv/bin/python" -c 'import numpy; print(numpy.__version__)')
  "$venv/bin/pip" install -q "numpy==$numpy" "scikit-build-core>=0.8" "cffi>=1.15" pytest \
    nvidia-pytriton==0.7.0 "tritonclient[grpc,http]==2.73.0"
  CMAKE_BUILD_PARALLEL_LEVEL=$jobs "$venv/bin/pip" install -q --no-build-isolation \
    --config-settings=build-dir="$build_dir/python-serve" .
  # the tests skip without these: here they must be there
  "$venv/bin/python" -c 'import pytriton.triton, tritonclient.grpc, lstmcl'
}

case "$build_dir" in
  /*) cache_dir=$build_dir/kernel-cache ;;
  *) cache_dir=$here/$build_dir/kernel-cache ;;
esac

install_missing
install_intel_ocl
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
    log "the Python package: build, then its fast tier"
    python_install
    python_tests "not full"
    ;;
  python)
    python_install
    "$build_dir/pyenv/bin/python" -c "import lstmcl, torch; m = torch.nn.LSTM(40, 256, 2, bidirectional=True); print(lstmcl.Model.from_torch(m)(torch.randn(50, 3, 40))[0].shape)"
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
    # On one device (the first, unless LSTMCL_DEVICE says): the sanitizers
    # look for lstmcl's own faults, which do not depend on the runtime.
    LSTMCL_DEVICE=${LSTMCL_DEVICE:-0} ASAN_OPTIONS=intercept_tls_get_addr=0${ASAN_OPTIONS:+:$ASAN_OPTIONS} \
      run_ctest "$build_dir-asan" -R '^(test_(api|errors|golden|cache|tuning|session)|cli_.*)$'
    if have_libfuzzer; then
      log "fuzzing the file parsers (libFuzzer, ${LSTMCL_FUZZ_SECONDS:-20} s each)"
      CC=clang build "$build_dir-fuzz" -DLSTMCL_FUZZ=ON -DLSTMCL_BUILD_BENCH=OFF \
        -DLSTMCL_FUZZ_SECONDS="${LSTMCL_FUZZ_SECONDS:-20}"
      run_ctest "$build_dir-fuzz" -j "$jobs" -R '^cli_fuzz_'
    else
      log "fuzz targets skipped: clang with libFuzzer is not available"
    fi
    log "threads under ThreadSanitizer (sessions, contexts, the choice's marks of the cores), on the device and the reference"
    build "$build_dir-tsan" -DLSTMCL_TSAN=ON -DLSTMCL_WERROR=ON -DLSTMCL_BUILD_BENCH=OFF \
      -DLSTMCL_TEST_CACHE_DIR="$cache_dir"
    LSTMCL_DEVICE=${LSTMCL_DEVICE:-0} TSAN_OPTIONS=halt_on_error=1 run_ctest "$build_dir-tsan" \
      -R '^test_(session|threads|choice)$'
    LSTMCL_DEVICE=cpu TSAN_OPTIONS=halt_on_error=1 run_ctest "$build_dir-tsan" \
      -R '^test_(session|threads|choice)$'
    log "the Python package's full tier"
    python_install
    python_tests full
    log "serving: the PyTriton server and the load generator end to end"
    serve_install
    LSTMCL_CACHE_DIR="$cache_dir" "$build_dir/serve-venv/bin/python" -m pytest -q \
      -p no:cacheprovider python/serving/test_serving.py
    ;;
  serve)
    # The serving run of python/serving/README.md: H = I = 512, 2 layers,
    # sequences of 20 to 100 steps, on PoCL, the highest rate each batching
    # mode sustains with p99 under 250 ms; bounded to 30 minutes.
    build "$build_dir"
    serve_install
    LSTMCL_CACHE_DIR="$cache_dir" "$build_dir/serve-venv/bin/python" python/serving/loadgen.py \
      --lstm 512,512,2 --seed 0 --device pthread --precision fp32 --batching dynamic,off \
      --search --steps 20-100 --max-steps 100 --search-seconds 600 --time-limit 1800 \
      --json "$build_dir/serve.json"
    log "results in $build_dir/serve.json"
    ;;
  bench)
    build "$build_dir"
    # onnxruntime comes from PyPI, into a venv that sees Debian's torch.
    # Its int8 baseline (onnxruntime.quantization) imports ml_dtypes and
    # needs a newer onnx than Debian's 1.12: both pinned to what pip
    # resolves beside onnxruntime 1.32 with Debian's numpy (1.24), which
    # stays pinned so that Debian's torch keeps the numpy it was built for.
    if [ ! -x "$build_dir/pyenv/bin/python" ]; then
      /usr/bin/python3 -m venv --system-site-packages "$build_dir/pyenv"
    fi
    numpy=$("$build_dir/pyenv/bin/python" -c 'import numpy; print(numpy.__version__)')
    "$build_dir/pyenv/bin/python" -c 'import onnxruntime' 2>/dev/null ||
      "$build_dir/pyenv/bin/pip" install -q "numpy==$numpy" onnxruntime ||
      log "onnxruntime not installed: its columns stay empty"
    "$build_dir/pyenv/bin/python" -c 'import onnxruntime.quantization' 2>/dev/null ||
      "$build_dir/pyenv/bin/pip" install -q "numpy==$numpy" "onnx==1.23.2" "ml_dtypes==0.5.4" ||
      log "onnx and ml_dtypes not installed: the onnxruntime-cpu-int8 column stays empty"
    out="$build_dir/bench-out"
    mkdir -p "$out"
    # PyTorch's LSTM on the threaded OpenBLAS rather than whichever BLAS the
    # system selects. Every lstmcl row in each precision of
    # LSTMCL_BENCH_PRECISION (default all: fp32, fp16, bf16 and int8, with
    # the int8 baselines), side by side.
    openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
    LD_LIBRARY_PATH="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
      "$build_dir/bench/lstmcl-bench" --suite deepbench --devices all \
      --precision "${LSTMCL_BENCH_PRECISION:-all}" \
      --python "$build_dir/pyenv/bin/python" --json "$out/deepbench.json" --csv "$out/deepbench.csv"
    /usr/bin/python3 bench/plot.py "$out/deepbench.json"
    log "results and charts in $out"
    ;;
  *)
    echo "usage: ./build.sh [demo|test|test-full|bench|build|python|serve]" >&2
    exit 2
    ;;
esac
