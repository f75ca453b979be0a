#!/usr/bin/env bash
# The GPU check: everything lstmcl has to show on the lent GPU machine, in one
# command (bench/README.md, "The GPU check").
#
#   bench/gpu_check.sh prepare   here: build $BUILD_DIR (default build-gpu)
#                                without oneDNN or the lstmcl command, list its
#                                tests, pack the OpenCL stack into .device/
#                                (../shared/device/pack.sh), check with ldd that
#                                the carried binaries resolve every library,
#                                check the carried size, and print the device
#                                call to make
#   bench/gpu_check.sh run       there (or here, on the CPU devices): the
#                                device tests, the DeepBench and throughput
#                                suites against PyTorch, the bandwidth at N = 1;
#                                JSON, charts and logs under $OUT
#
# run's phases, each recorded and none stopping the others:
#   devices     the OpenCL devices the bench sees; on a machine with nvidia-smi
#               one of them must be NVIDIA's
#   tests       the CTest tests listed at prepare (test_device with the
#               automatic and each forced algorithm, test_session, test_api,
#               test_errors, test_golden), run directly (CTest's files hold this
#               machine's paths), several at a time, those marked RUN_SERIAL
#               alone; a fresh kernel cache
#   deepbench, throughput
#               lstmcl-bench's suites on every OpenCL device with the PyTorch
#               baseline (torch-cuda, TF32 off, where nvidia-smi exists, else
#               torch-cpu standing in), then bench/plot.py's charts
#   bandwidth   H = 512, 1024, 2048, I = 1, N = 1 with the persistent kernel and
#               the fused step (fused-cols) forced in turn, and PyTorch's read
#               bandwidth at R's sizes (bench/gpu_check.py membw)
#   report      bench/gpu_check.py report: gpu-check.json and bandwidth.png
#
# Exit status 0 when every phase passed, 1 otherwise (the last lines say
# what failed); what was measured is written either way.
#
# $OUT (at most 8 files come back from the device machine):
#   gpu-check.log       everything printed          gpu-check.json  the summary
#   deepbench.json      throughput.json             lstmcl-bench's results
#   deepbench-gflops.png  throughput-gflops.png     bandwidth.png
#   gpu-check.tar.gz    all of it, with the tables, CSV, rooflines and each
#                       test's output
#
# Environment (run):
#   OUT                   where the results go (default $TMPDIR/lstmcl-gpu-check)
#   BUILD_DIR             the carried build (default build-gpu)
#   GPU_CHECK_BUDGET_S    seconds the whole run may take, 0 for no limit
#                         (default 0; the device call sets 300): the tests
#                         must end by 50% of it, deepbench by 68%, throughput
#                         by 90%, the bandwidth runs by 97%; a phase that
#                         runs out is stopped and counts as failed
#   GPU_CHECK_PHASES      phases to run (default "tests deepbench throughput
#                         bandwidth")
#   GPU_CHECK_JOBS        tests at a time (default: the number of cores, at most 8)
#   GPU_CHECK_DEVICES     lstmcl-bench --devices (default: every OpenCL device)
#   GPU_CHECK_BASELINES   the python baselines (default torch-cuda where
#                         nvidia-smi exists, else torch-cpu)
#   GPU_CHECK_PYTHON      the interpreter with torch (default: python3 on PATH,
#                         else /usr/bin/python3)
#   GPU_CHECK_TARGET_MS   lstmcl-bench --target-ms (default 100)
#   GPU_CHECK_ALGO        lstmcl-bench --algo for the suites (default: the
#                         library's automatic choice)
#   GPU_CHECK_BW_T        sequence length of the bandwidth runs (default 100)
#   GPU_CHECK_PRECISION   lstmcl-bench --precision of the bandwidth runs
#                         (default fp32,fp16,int8: the bytes of R per step
#                         that reduced precisions save are what a GPU's
#                         small-batch step is bound by)
#   GPU_CHECK_SUITE_PRECISION  lstmcl-bench --precision of the suites
#                         (default fp32)
#   GPU_CHECK_CACHE_DIR   the kernel cache (default: a new, empty one)
# Environment (prepare): BUILD_DIR, JOBS (build jobs), PACK_SH (default
# ../shared/device/pack.sh), GPU_CHECK_SELECT (tests, a Python regex over CTest
# names; default in bench/gpu_check.py).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 1
build_dir=${BUILD_DIR:-build-gpu}
build_dir=${build_dir%/}
manifest=$build_dir/gpu-check-tests.tsv
carry_limit=$((64 << 20))

log() { printf '[gpu_check] %s\n' "$*"; }
die() {
  printf '[gpu_check] ERROR: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------
# prepare (here)

# Debian packages the build of the carried binaries needs, and the CPU run
# here (PoCL, PyTorch standing in for CUDA, matplotlib for the charts).
prepare_packages=(cmake build-essential pkg-config ocl-icd-opencl-dev opencl-c-headers
  libclblast-dev libcmocka-dev pocl-opencl-icd clinfo python3 python3-numpy python3-torch
  python3-matplotlib)

install_missing() {
  local missing=() p
  for p in "${prepare_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages: ${missing[*]} (and no apt-get)"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing: ${missing[*]}"
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
    ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "${missing[@]}"; then
    die "apt-get install ${missing[*]} failed"
  fi
}

# Every executable of the build, with .device/env.sh sourced, must resolve
# every library, and only to .device/ or to what every Linux has.
check_ldd() {
  local bad=0 f lib path libs
  local base='^(linux-vdso|libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libgcc_s|libstdc\+\+)\.so'
  while read -r f; do
    [ "$(head -c 4 "$f")" = $'\x7fELF' ] || continue
    # "NAME PATH" per library, PATH "not" when ldd found none
    # shellcheck source=/dev/null
    libs=$(. .device/env.sh >/dev/null 2>&1 && ldd "$f" 2>&1 |
      awk '/=>/ {print $1, ($3 == "not" ? "not" : $3)}')
    while read -r lib path; do
      [ -n "$lib" ] || continue
      [[ $lib =~ $base ]] && continue
      if [ "$path" = not ]; then
        log "ldd $f: $lib not found"
        bad=1
      elif [[ $path != "$root/.device/"* ]]; then
        log "ldd $f: $lib resolves to $path, outside .device/: not on the GPU machine"
        bad=1
      fi
    done <<<"$libs"
  done < <(find "$build_dir" -type f -perm -u+x ! -name '*.sh' ! -path '*/CMakeFiles/*')
  return $bad
}

# What the device call sends: the work tree (tracked and untracked files that
# git does not ignore) plus the carried .device and build.
carried_bytes() {
  local tree dev build
  tree=$(git ls-files -z -co --exclude-standard | xargs -0 stat -c %s 2>/dev/null |
    awk '{s += $1} END {print s + 0}')
  dev=$(du -sb .device | cut -f1)
  build=$(du -sb "$build_dir" | cut -f1)
  echo "$tree $dev $build"
}

device_command() {
  local cmd="GPU_CHECK_BUDGET_S=300"
  [ "$build_dir" = build-gpu ] || cmd+=" BUILD_DIR=$build_dir"
  echo "$cmd bash bench/gpu_check.sh run"
}

prepare() {
  local jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
  install_missing
  log "building $build_dir (no oneDNN, no lstmcl command)"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSTMCL_BENCH_ONEDNN=OFF \
    -DLSTMCL_BUILD_TOOLS=OFF -DLSTMCL_SANITIZE=OFF -DLSTMCL_TSAN=OFF -DLSTMCL_FUZZ=OFF \
    >/dev/null || die "cmake configure failed"
  cmake --build "$build_dir" -j "$jobs" >/dev/null || die "build failed (cmake --build $build_dir)"
  # no kernel caches or earlier results travel
  rm -rf "$build_dir/kernel-cache" "$build_dir"/bench/*.json "$build_dir"/bench/*.csv
  /usr/bin/python3 bench/gpu_check.py manifest --build "$build_dir" \
    ${GPU_CHECK_SELECT:+--select "$GPU_CHECK_SELECT"} >"$manifest.tmp" ||
    die "cannot list the tests (ctest --show-only)"
  mv "$manifest.tmp" "$manifest"
  log "tests: $(cut -f1 "$manifest" | paste -sd' ')"
  local pack=${PACK_SH:-$root/../shared/device/pack.sh}
  [ -x "$pack" ] || [ -f "$pack" ] || die "no $pack"
  BUILD_DIR=$build_dir bash "$pack" || die "$pack failed"
  [ -f .device/env.sh ] || die "$pack wrote no .device/env.sh"
  check_ldd || die "ldd: the carried binaries lack libraries (above)"
  log "ldd: every carried binary resolves its libraries to .device/ or the C runtime"
  # the carried loader, CLBlast and CMocka, here: the bench lists devices
  # shellcheck source=/dev/null
  (. .device/env.sh >/dev/null 2>&1 && "$build_dir/bench/lstmcl-bench" --list) ||
    die "$build_dir/bench/lstmcl-bench --list fails with .device/env.sh"
  local tree dev build total
  read -r tree dev build < <(carried_bytes)
  total=$((tree + dev + build))
  log "carried: work tree $((tree >> 10)) KiB + .device $((dev >> 10)) KiB +" \
    "$build_dir $((build >> 10)) KiB = $((total >> 10)) KiB (limit $((carry_limit >> 10)) KiB)"
  [ "$total" -lt "$carry_limit" ] || die "over the 64 MiB the device call carries"
  local cmd
  cmd=$(device_command)
  [ ${#cmd} -le 2000 ] || die "the device command is longer than 2,000 characters"
  cat <<EOF

The device call (the \`run\` tool), after \`status\` shows can_start_another:
  command:   $cmd
  carry:     [".device", "$build_dir"]
  timeout_s: 330
It should end within about 300 s (GPU_CHECK_BUDGET_S); 330 leaves room for
the report and, within the session's 15 minutes, for one rerun. The results
come back under files_at; call give_back unless rerunning at once.
EOF
}

# ---------------------------------------------------------------------------
# run (there, or here)

budget=${GPU_CHECK_BUDGET_S:-0}
t_start=$SECONDS

# Seconds left until the deadline at `pct` percent of the budget, or 0 when
# there is no budget; fails when less than 5 s are left.
limit_at() {
  local pct=$1 left
  [ "$budget" -gt 0 ] || {
    echo 0
    return 0
  }
  left=$((budget * pct / 100 - (SECONDS - t_start)))
  [ "$left" -ge 5 ] || return 1
  echo "$left"
}

phase() { # name status seconds detail
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >>"$work/phases.tsv"
  log "phase $1: $2 (${3} s)${4:+: $4}"
}

status_of() { # exit code -> status word
  case $1 in
    0) echo pass ;;
    124 | 137) echo TIMEOUT ;;
    *) echo FAILED ;;
  esac
}

# The test lines of the manifest with this machine's paths.
subst() {
  local s=${1//@SRC@/$root}
  s=${s//@BUILD@/$root/$build_dir}
  echo "${s//@CACHE@/$cache}"
}

run_test() { # name env cmd
  local name=$1 envs cmd limit t0 rc ms skipped st
  envs=$(subst "$2")
  cmd=$(subst "$3")
  if ! limit=$(limit_at 50); then
    printf '%s\tNOT-RUN\t-1\t0\t0\t-\n' "$name" >>"$work/tests.tsv"
    log "test $name: not run, out of budget"
    return
  fi
  t0=$(date +%s%N)
  # shellcheck disable=SC2086 # the manifest's fields are space-separated
  (cd "$work/run" && env $envs ${LSTMCL_DEVICE:+LSTMCL_DEVICE=$LSTMCL_DEVICE} \
    timeout -k 10 "$limit" $cmd) >"$work/tests/$name.log" 2>&1
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  skipped=$(grep -c '^\[  SKIPPED \]' "$work/tests/$name.log")
  st=$(status_of "$rc")
  printf '%s\t%s\t%d\t%d.%d\t%d\t%s\n' "$name" "$st" "$rc" $((ms / 1000)) $((ms % 1000 / 100)) \
    "$skipped" "tests/$name.log" >>"$work/tests.tsv"
  if [ "$st" = pass ]; then
    log "test $name: pass$([ "$skipped" -gt 0 ] && echo ", $skipped cases skipped")"
  else
    log "test $name: $st (exit $rc); the end of its output:"
    tail -n 25 "$work/tests/$name.log" | sed 's/^/    /'
  fi
}

phase_tests() {
  local t0=$SECONDS name serial envs cmd jobs pids=() running p
  jobs=${GPU_CHECK_JOBS:-$(nproc)}
  [ "$jobs" -le 8 ] || jobs=8
  mkdir -p "$work/tests" "$work/run"
  : >"$work/tests.tsv"
  if [ ! -f "$manifest" ]; then
    phase tests FAILED 0 "no $manifest: run bench/gpu_check.sh prepare"
    return
  fi
  log "tests: $(wc -l <"$manifest") programs, $jobs at a time, kernel cache $cache"
  while IFS=$'\t' read -r name serial _ envs cmd; do
    [ "$serial" = 0 ] || continue
    # a free slot: fewer than $jobs of the tests started so far still run
    while :; do
      running=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
      [ "$running" -lt "$jobs" ] && break
      sleep 0.2
    done
    run_test "$name" "$envs" "$cmd" &
    pids+=($!)
  done <"$manifest"
  for p in "${pids[@]}"; do wait "$p"; done
  while IFS=$'\t' read -r name serial _ envs cmd; do
    [ "$serial" = 1 ] && run_test "$name" "$envs" "$cmd"
  done <"$manifest"
  local failed
  failed=$(awk -F'\t' '$2 != "pass" {print $1 " " $2}' "$work/tests.tsv" | paste -sd, -)
  phase tests "$([ -z "$failed" ] && echo pass || echo FAILED)" $((SECONDS - t0)) \
    "$(wc -l <"$work/tests.tsv") tests, $(find "$cache" -type f 2>/dev/null | wc -l) cache files${failed:+; failed: $failed}"
}

phase_suite() { # suite pct
  local s=$1 pct=$2 t0=$SECONDS limit rc st algo=()
  if ! limit=$(limit_at "$pct"); then
    phase "$s" SKIPPED 0 "out of budget"
    return
  fi
  [ -n "${GPU_CHECK_ALGO:-}" ] && algo=(--algo "$GPU_CHECK_ALGO")
  wait_server
  log "$s: lstmcl-bench --suite $s --devices $devices, baseline $baselines (limit ${limit} s)"
  LSTMCL_BASELINES=$baselines LSTMCL_BASELINES_SERVER=$sock timeout -k 10 "$limit" \
    "$bench" --suite "$s" --devices "$devices" "${algo[@]}" --no-onednn --baselines \
    --precision "${GPU_CHECK_SUITE_PRECISION:-fp32}" \
    --python "$py" --baselines-script "$root/bench/baselines.py" --target-ms "$target_ms" \
    --json "$work/$s.json" --csv "$work/$s.csv" | tee "$work/$s.txt"
  rc=${PIPESTATUS[0]}
  st=$(status_of "$rc")
  [ -f "$work/$s.json" ] && cp "$work/$s.json" "$OUT/"
  if [ -f "$work/$s.json" ] && ! "$py" bench/plot.py "$work/$s.json"; then
    st=FAILED
    log "$s: bench/plot.py failed"
  fi
  [ -f "$work/$s-gflops.png" ] && cp "$work/$s-gflops.png" "$OUT/"
  phase "$s" "$st" $((SECONDS - t0)) "$([ "$rc" -ne 0 ] && echo "lstmcl-bench exit $rc")"
}

phase_bandwidth() {
  local t0=$SECONDS limit rc=0 H st=pass why=()
  for H in 512 1024 2048; do
    if ! limit=$(limit_at 96); then
      st=SKIPPED why+=("H=$H out of budget")
      continue
    fi
    log "bandwidth: H=$H N=1 T=$bw_t, persistent and fused-cols (limit ${limit} s)"
    timeout -k 10 "$limit" "$bench" -H "$H" -I 1 -N 1 -T "$bw_t" --devices "$devices" \
      --algo persistent,fused-cols --precision "${GPU_CHECK_PRECISION:-fp32,fp16,int8}" \
      --no-baselines --no-peaks --target-ms "$target_ms" \
      --json "$work/bw-H$H.json" | tee "$work/bw-H$H.txt"
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || {
      st=$(status_of "$rc")
      why+=("H=$H: lstmcl-bench exit $rc")
    }
  done
  if limit=$(limit_at 98); then
    timeout -k 10 "$limit" "$py" bench/gpu_check.py membw \
      --out "$work/membw.json" ${membw_device:+--device "$membw_device"} ||
      why+=("PyTorch's read bandwidth: exit $?")
  else
    why+=("PyTorch's read bandwidth: out of budget")
  fi
  [ ${#why[@]} -eq 0 ] || [ "$st" != pass ] || st=FAILED
  phase bandwidth "$st" $((SECONDS - t0)) "$(
    IFS=';'
    echo "${why[*]:-}"
  )"
}

wait_server() {
  local _
  for _ in $(seq 240); do
    [ -S "$sock" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
  done
  log "the baselines server is not up: lstmcl-bench starts baselines.py per configuration"
}

# A server busy with a request ends when torch returns: 10 s, then it is killed.
stop_server() {
  local _
  [ -n "${server_pid:-}" ] || return 0
  kill "$server_pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$server_pid" 2>/dev/null
  server_pid=
}

pick_python() {
  local p
  for p in ${GPU_CHECK_PYTHON:-python3 /usr/bin/python3}; do
    p=$(command -v "$p") || continue
    "$p" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("torch") is None)' \
      2>/dev/null && {
      echo "$p"
      return
    }
  done
  command -v python3 || echo /usr/bin/python3
}

run_all() {
  log "lstmcl GPU check in $root, build $build_dir, results in $OUT, work files in $work"
  log "budget: ${budget} s (0: none)"
  if [ -f .device/env.sh ]; then
    # shellcheck disable=SC1091
    . .device/env.sh
  else
    log "no .device/env.sh: the system's OpenCL loader and libraries"
  fi
  bench=$root/$build_dir/bench/lstmcl-bench
  py=$(pick_python)
  if command -v nvidia-smi >/dev/null; then
    baselines=${GPU_CHECK_BASELINES:-torch-cuda}
    membw_device=cuda
  else
    baselines=${GPU_CHECK_BASELINES:-torch-cpu}
    membw_device=cpu
  fi
  target_ms=${GPU_CHECK_TARGET_MS:-100}
  bw_t=${GPU_CHECK_BW_T:-100}
  phases=${GPU_CHECK_PHASES:-tests deepbench throughput bandwidth}

  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -n) $(uname -srm), $(nproc) cores"
    echo "commit: $(git describe --always --dirty 2>/dev/null || echo "no git here; the build's: see the suites' JSON")"
    echo "python: $py $("$py" -c 'import sys; print(sys.version.split()[0])' 2>&1)"
    echo "baselines: $baselines"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader 2>&1 | sed 's/^/nvidia-smi: /'
    command -v clinfo >/dev/null && clinfo -l 2>&1 | sed 's/^/clinfo: /'
  } >"$work/environment.txt"
  cat "$work/environment.txt"

  # the baselines server loads torch while the tests run; started from a
  # subshell, so that it is no job of this shell (the tests' waits skip it)
  local me=$BASHPID
  (
    LSTMCL_BASELINES=$baselines "$py" bench/baselines.py serve --socket "$sock" --while-pid "$me" &
    echo $! >"$work/server.pid"
  )
  server_pid=$(cat "$work/server.pid")
  trap stop_server EXIT

  local t0=$SECONDS
  if [ -x "$bench" ]; then
    "$bench" --list >"$work/devices.txt" 2>&1
    cat "$work/devices.txt"
  else
    echo "no $bench: run bench/gpu_check.sh prepare" >"$work/devices.txt"
  fi
  devices=${GPU_CHECK_DEVICES:-$(awk '$1 ~ /^[0-9]+$/ {print $1}' "$work/devices.txt" | paste -sd, -)}
  if [ -z "$devices" ]; then
    phase devices FAILED $((SECONDS - t0)) "no OpenCL device ($(tail -n 1 "$work/devices.txt"))"
  elif command -v nvidia-smi >/dev/null && ! grep -qi nvidia "$work/devices.txt"; then
    phase devices FAILED $((SECONDS - t0)) "nvidia-smi sees a GPU, OpenCL no NVIDIA device"
  else
    phase devices pass $((SECONDS - t0)) "lstmcl-bench --devices $devices"
  fi

  local p
  for p in $phases; do
    case $p in
      tests) phase_tests ;;
      deepbench) [ -n "$devices" ] && phase_suite deepbench 68 ;;
      throughput) [ -n "$devices" ] && phase_suite throughput 90 ;;
      bandwidth) [ -n "$devices" ] && phase_bandwidth ;;
      *) phase "$p" FAILED 0 "unknown phase" ;;
    esac
  done
  stop_server

  local rc=0
  "$py" bench/gpu_check.py report --work "$work" --out "$work/gpu-check.json" \
    --chart "$work/bandwidth.png" --baselines "$baselines" || rc=1
  cp "$work/gpu-check.json" "$OUT/" 2>/dev/null
  [ -f "$work/bandwidth.png" ] && cp "$work/bandwidth.png" "$OUT/"
  log "done in $((SECONDS - t_start)) s"
  if [ $rc -eq 0 ]; then
    log "GPU CHECK PASSED"
  else
    log "GPU CHECK FAILED: see the problems above and $OUT/gpu-check.json"
  fi
  return $rc
}

run() {
  OUT=${OUT:-${TMPDIR:-/tmp}/lstmcl-gpu-check}
  mkdir -p "$OUT" || die "cannot create $OUT"
  work=$(mktemp -d "${TMPDIR:-/tmp}/lstmcl-gpu-check.XXXXXX") || die "no temporary directory"
  cache=${GPU_CHECK_CACHE_DIR:-$work/kernel-cache}
  export LSTMCL_CACHE_DIR=$cache
  sock=$work/baselines.sock
  server_pid=
  run_all 2>&1 | tee "$OUT/gpu-check.log"
  local rc=${PIPESTATUS[0]}
  cp "$OUT/gpu-check.log" "$work/"
  tar -czf "$OUT/gpu-check.tar.gz" -C "$work" --exclude=kernel-cache --exclude=baselines.sock \
    --exclude=server.pid --exclude=./run . || rc=1
  echo "[gpu_check] in $OUT: $(cd "$OUT" && find . -type f | sed 's|^\./||' | sort | paste -sd' ' -)"
  return "$rc"
}

case ${1:-} in
  prepare) prepare ;;
  run) run ;;
  *)
    sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
