#!/usr/bin/env bash
# tests/oclgrind.sh BUILD_DIR: every lstmcl kernel family under Oclgrind, the
# OpenCL device simulator that checks each access of each work-item.
#
# Each run is lstmcl-demo (BUILD_DIR/lstmcl-demo) on Oclgrind's device with
# one algorithm forced (lstmcl_model_options through the demo's flags) on
# small odd shapes, its result checked against the CPU reference by the demo
# itself, and Oclgrind's log read: out-of-bounds accesses, data races,
# barrier divergence, uninitialized values and API misuse. A finding fails
# the run unless tests/oclgrind_known_issues.txt lists it (kernel, message,
# source line, groups), and a demo that exits non-zero (wrong numbers, the
# wrong algorithm) fails it too.
#
# Oclgrind's device reports itself as CPU, GPU and accelerator at once, so
# lstmcl treats it as a CPU: the automatic choice is the persistent kernel,
# the fused layout defaults to rows, and fused-rows/persistent-rows run the
# input projection with the project's own GEMM (gemm_nt) instead of
# CLBlast's. Batch picks the fused step's kernel: N = 1 lstm_step, N = 2
# lstm_step2, N >= 3 lstm_step4 (rows layout, when four sequences' staging
# fits local memory; the cols layout always runs lstm_step).
#
# Also item 4 of the portability issue: on Oclgrind with 4 compute units and
# one simulator thread the persistent kernel's groups run one after another,
# so its device-wide barrier cannot complete; and on PoCL (natively) with
# four times as many groups as compute units. Each time the bounded wait
# must give up, the pass must finish right on the fused step, and
# lstmcl_model_algorithm must then say so; the give-up is timed.
#
# Prints one line per run (result, what, limits, checks, seconds); exits 0
# when every run is clean, 1 otherwise, 77 when Oclgrind is not installed
# (it installs nothing: ./build.sh installs the package), 2 for bad usage.
# A SKIP, a run that Oclgrind itself cannot do (printed with the reason
# and followed by the run that replaces it), does not fail the script.
# The kernels come from LSTMCL_KERNEL_DIR when it is set (say, a copy being
# edited), else from the library.
# Each run's demo output, Oclgrind log and findings stay in
# BUILD_DIR/oclgrind/. OCLGRIND_SH_TIMEOUT (seconds, default 600) bounds
# each run.
set -u -o pipefail

die() {
  echo "oclgrind.sh: $*" >&2
  exit 2
}
[ $# -eq 1 ] || die "usage: tests/oclgrind.sh BUILD_DIR"
[ -d "$1" ] || die "no build directory $1"
build=$(cd "$1" && pwd)
tests=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
demo=$build/lstmcl-demo
known=$tests/oclgrind_known_issues.txt
limit_s=${OCLGRIND_SH_TIMEOUT:-600}

if ! command -v oclgrind >/dev/null 2>&1; then
  echo "oclgrind.sh: SKIP: oclgrind is not installed (Debian/Ubuntu package oclgrind)"
  exit 77
fi
[ -x "$demo" ] || die "$demo not found (build the lstmcl_demo target)"
[ -r "$known" ] || die "$known not found"
version=$(oclgrind --version 2>&1 | awk '$1 == "Oclgrind" { print $2; exit }')
# The runs choose their device, algorithm and caches themselves; only
# LSTMCL_KERNEL_DIR (kernel sources from disk) is left to the caller.
unset LSTMCL_DEVICE LSTMCL_ALGO LSTMCL_PERSIST_GROUPS LSTMCL_CACHE_DIR LSTMCL_TUNING_FILE
work=$build/oclgrind
rm -rf "$work"
mkdir -p "$work"
t_start=$(date +%s.%N)

# ---------------------------------------------------------------------------
# Shapes and simulated device limits.

one=(-H 17 -N 1 -T 4)
two=(-H 17 -N 2 -T 4)
three=(-H 17 -N 3 -T 4)
stack=(-H 17 -N 3 -T 4 -L 2 --bidirectional --proj 7) # layer 1 reads 14 = 2 x 7 inputs
odd_m=(-H 17 -I 13 -N 3 -T 3)                          # gemm_nt: M = 9 rows, K = 13
# lengths 8, 7, 5, 4, 2: groups of four whose trailing sequences end (four,
# two, one sequence's sums, then none), a group of one that ends, and
# gemm_nt's rows past the lengths left unwritten and never read
spread=(-H 17 -N 5 -T 8 -L 2 --bidirectional --lengths spread)

declare -A limits=(
  # Oclgrind's own device: 1 compute unit, 32 KiB local memory, 1024 items.
  [default]="--num-threads 2"
  # A GPU's: 48 KiB, 1024 items, 4 compute units. lstm_persist then starts 4
  # groups, which must all run at once: one simulator thread each.
  [gpu]="--local-mem-size 49152 --max-wgsize 1024 --compute-units 4 --num-threads 4"
  # 16-item groups: H = 17 spans two groups, the chunk loops run twice.
  # (CLBlast's kernels need 64: only the rows families run there.)
  [wg16]="--max-wgsize 16 --num-threads 2"
  # 4 KiB: no four-sequence step (lstm_step per sequence), and the
  # persistent kernel's R slice stays in global memory (R_LOCAL=0).
  [local4k]="--local-mem-size 4096 --num-threads 2"
  # 4 compute units, one thread: the persistent kernel's groups in turn.
  [serial4]="--compute-units 4 --num-threads 1"
)

# ---------------------------------------------------------------------------
# Oclgrind 21.10's --uninitialized loses track of a buffer when the host
# stores part of it: each host store (a fill stores its pattern one element
# at a time) replaces the buffer's whole shadow by one the size of that
# store, so every float past the first of a zero-filled buffer reads as
# uninitialized, and stores into it are forgotten. lstmcl fills every
# buffer it creates whole (or creates it from host data), so storing the
# buffer whole again from the host after each fill, partial write or copy
# tells Oclgrind the truth. This preload does that for the --uninitialized
# runs; local and private memory, where lstmcl's kernels could read
# something never written, are checked as they are.
shim=$work/host-store-shim.so
cat >"$work/host-store-shim.c" <<'EOF'
#define _GNU_SOURCE
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <dlfcn.h>
#include <stdlib.h>

typedef cl_int (*write_fn)(cl_command_queue, cl_mem, cl_bool, size_t, size_t, const void *,
                           cl_uint, const cl_event *, cl_event *);
typedef cl_int (*fill_fn)(cl_command_queue, cl_mem, const void *, size_t, size_t, size_t,
                          cl_uint, const cl_event *, cl_event *);
typedef cl_int (*copy_fn)(cl_command_queue, cl_mem, cl_mem, size_t, size_t, size_t, cl_uint,
                          const cl_event *, cl_event *);

static int covers_all(cl_mem b, size_t offset, size_t size)
{
    size_t all = 0;
    return offset == 0 &&
           clGetMemObjectInfo(b, CL_MEM_SIZE, sizeof all, &all, NULL) == CL_SUCCESS &&
           size == all;
}

/* Reads the buffer back and writes it again whole, in one host store. */
static void store_whole(cl_command_queue q, cl_mem b)
{
    size_t size = 0;
    if (clGetMemObjectInfo(b, CL_MEM_SIZE, sizeof size, &size, NULL) != CL_SUCCESS || !size)
        return;
    void *tmp = malloc(size);
    write_fn write = (write_fn)dlsym(RTLD_NEXT, "clEnqueueWriteBuffer");
    if (tmp && write && clEnqueueReadBuffer(q, b, CL_TRUE, 0, size, tmp, 0, NULL, NULL) == CL_SUCCESS)
        write(q, b, CL_TRUE, 0, size, tmp, 0, NULL, NULL);
    free(tmp);
}

cl_int clEnqueueWriteBuffer(cl_command_queue q, cl_mem b, cl_bool blocking, size_t offset,
                            size_t size, const void *p, cl_uint n, const cl_event *w, cl_event *e)
{
    write_fn next = (write_fn)dlsym(RTLD_NEXT, "clEnqueueWriteBuffer");
    cl_int err = next(q, b, blocking, offset, size, p, n, w, e);
    if (err == CL_SUCCESS && !covers_all(b, offset, size))
        store_whole(q, b);
    return err;
}

cl_int clEnqueueFillBuffer(cl_command_queue q, cl_mem b, const void *pattern, size_t psize,
                           size_t offset, size_t size, cl_uint n, const cl_event *w, cl_event *e)
{
    fill_fn next = (fill_fn)dlsym(RTLD_NEXT, "clEnqueueFillBuffer");
    cl_int err = next(q, b, pattern, psize, offset, size, n, w, e);
    if (err == CL_SUCCESS && (psize != size || !covers_all(b, offset, size)))
        store_whole(q, b);
    return err;
}

cl_int clEnqueueCopyBuffer(cl_command_queue q, cl_mem src, cl_mem dst, size_t src_offset,
                           size_t dst_offset, size_t size, cl_uint n, const cl_event *w,
                           cl_event *e)
{
    copy_fn next = (copy_fn)dlsym(RTLD_NEXT, "clEnqueueCopyBuffer");
    cl_int err = next(q, src, dst, src_offset, dst_offset, size, n, w, e);
    if (err == CL_SUCCESS && !covers_all(dst, dst_offset, size))
        store_whole(q, dst);
    return err;
}
EOF
if ! ${CC:-cc} -O1 -shared -fPIC -o "$shim" "$work/host-store-shim.c" -ldl \
    >"$work/host-store-shim.log" 2>&1; then
  shim=
fi

# ---------------------------------------------------------------------------
# Oclgrind's log as findings: one line per message, TAB-separated kernel,
# first line (hex numbers as ADDR), source line(s) shown (a race's two in
# sorted order) and, for two entities, whether they share a work-group.
findings() {
  awk -v OFS='\t' '
    function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
    function addr(s) { gsub(/0x[0-9A-Fa-f]+/, "ADDR", s); return s }
    function flush(   c, g, t) {
      if (head == "")
        return
      if (ncode == 2 && code[2] < code[1]) { t = code[1]; code[1] = code[2]; code[2] = t }
      c = ncode ? code[1] : (extra != "" ? extra : "-")
      if (ncode == 2)
        c = c " // " code[2]
      g = ngroup == 2 ? (group[1] == group[2] ? "same-group" : "other-groups") : "-"
      print (kernel == "" ? "-" : kernel), head, c, g
      head = kernel = extra = ""
      ncode = ngroup = want = 0
    }
    /^$/ { flush(); next } # between messages
    /^[ \t]+$/ { next }    # between the entities of a race
    head == "" { head = addr(trim($0)); next }
    !/^\t/ { head = head " // " addr(trim($0)); next }
    /^\tKernel: / { kernel = trim(substr($0, 10)); next }
    /^\t(First entity|Second entity|Entity):/ {
      if (match($0, /Group\([0-9,]+\)/))
        group[++ngroup] = substr($0, RSTART, RLENGTH)
      next
    }
    /^\tAt line [0-9]+ \(column [0-9]+\) of / { want = 1; next }
    want { code[++ncode] = trim($0); want = 0; next }
    /^\t  / { next } # the LLVM instruction
    { extra = extra == "" ? addr(trim($0)) : extra " // " addr(trim($0)) }
    END { flush() }
  ' "$1"
}

# The known issues' first four fields, one per line.
grep -v '^#' "$known" | grep -v '^[[:space:]]*$' | cut -f1-4 >"$work/known.keys"
: >"$work/known.seen"

n_pass=0 n_fail=0 n_skip=0
report() { # RESULT WHAT LIMITS CHECKS SECONDS NOTE
  printf '%-4s  %-46s %-8s %-13s %6.1f s  %s\n' "$1" "$2" "$3" "$4" "$5" "$6"
  case $1 in
    PASS) n_pass=$((n_pass + 1)) ;;
    FAIL) n_fail=$((n_fail + 1)) ;;
    SKIP) n_skip=$((n_skip + 1)) ;;
  esac
}

# Seconds since a `date +%s.%N` time.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# The value of "LABEL: <number> ..." in a demo output.
field() { sed -n "s/^$2: \([0-9.]*\).*/\1/p" "$1" | head -n 1; }

# og NAME WHAT LIMITS CHECKS DEMO-ARGS...: one demo run under Oclgrind.
# CHECKS: races (--data-races --check-api), uninit (--uninitialized
# --check-api), uninit-O0 (the same, kernels built with -cl-opt-disable).
# Sets og_result (PASS, FAIL or SKIP) and og_out (the demo's output).
og() {
  local name=$1 what=$2 lim=$3 checks=$4
  shift 4
  local log=$work/$name.log out=$work/$name.out opts=() wrap=() note=""
  case $checks in
    races) opts=(--data-races --check-api) ;;
    uninit) opts=(--uninitialized --check-api) ;;
    uninit-O0) opts=(--uninitialized --check-api --build-options -cl-opt-disable) ;;
  esac
  if [ "${checks#uninit}" != "$checks" ]; then
    if [ -z "$shim" ]; then
      og_result=FAIL og_out=$out
      report FAIL "$what" "$lim" "$checks" 0 "the host-store shim did not build: $work/host-store-shim.log"
      return
    fi
    # After Oclgrind's own preload, so that lstmcl's calls reach it first.
    # shellcheck disable=SC2016 # expanded by that sh
    wrap=(sh -c 'LD_PRELOAD="$0${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"' "$shim")
  fi
  local t0 rc
  t0=$(date +%s.%N)
  # In a subshell, so that a crash is reported into $out, not here.
  # shellcheck disable=SC2086 # limits are word lists
  (timeout "$limit_s" oclgrind ${limits[$lim]} "${opts[@]}" --max-errors 1000000 --log "$log" \
    "${wrap[@]}" "$demo" "$@" --repeat 0 --cache-dir off; exit $?) >"$out" 2>&1
  rc=$?
  local secs
  secs=$(since "$t0")
  og_out=$out
  [ -f "$log" ] || : >"$log"
  findings "$log" | sort | uniq -c | sed 's/^ *//' >"$work/$name.findings"
  local unknown=0 known_n=0 count key line
  : >"$work/$name.unknown"
  while IFS= read -r line; do
    count=${line%% *}
    key=${line#* }
    if grep -qxF -- "$key" "$work/known.keys"; then
      known_n=$((known_n + count))
      printf '%s\n' "$key" >>"$work/known.seen"
    else
      unknown=$((unknown + count))
      printf '%s\t(x%s)\n' "$key" "$count" >>"$work/$name.unknown"
    fi
  done <"$work/$name.findings"
  [ "$known_n" -gt 0 ] && note="$known_n known (oclgrind_known_issues.txt) "

  # Oclgrind 21.10's own defects under --uninitialized: reported, not hidden.
  if [ "$checks" = uninit ] && grep -q "Unsupported instruction: freeze" "$log"; then
    og_result=SKIP
    report SKIP "$what" "$lim" "$checks" "$secs" \
      "Oclgrind $version aborts on LLVM's freeze instruction (in $(awk '/Unsupported instruction: freeze/ { getline; print $2; exit }' "$log")); rerun with -cl-opt-disable"
    return
  fi
  if [ "$checks" = uninit ] && [ "$rc" -eq 139 ] && [ "$version" = 21.10 ]; then
    og_result=SKIP
    report SKIP "$what" "$lim" "$checks" "$secs" \
      "Oclgrind $version's uninitialized-value plugin crashed (SIGSEGV; it mishandles shufflevector lanes marked undef, as hsum8 compiles to); rerun with -cl-opt-disable"
    return
  fi

  og_result=FAIL
  if [ "$rc" -eq 124 ]; then
    report FAIL "$what" "$lim" "$checks" "$secs" "timed out after $limit_s s"
  elif ! grep -q '^device: Oclgrind' "$out"; then
    report FAIL "$what" "$lim" "$checks" "$secs" "did not run on Oclgrind's device (rc $rc): $out"
  elif [ "$unknown" -gt 0 ]; then
    report FAIL "$what" "$lim" "$checks" "$secs" "$unknown finding(s), in $log:"
    head -n 8 "$work/$name.unknown" | sed 's/^/        /'
  elif [ "$rc" -ne 0 ]; then
    report FAIL "$what" "$lim" "$checks" "$secs" \
      "demo exit $rc: $(grep -m1 -E 'FAILED|lstmcl-demo:' "$out" || echo "see $out")"
  else
    og_result=PASS
    report PASS "$what" "$lim" "$checks" "$secs" \
      "${note}$(grep -m1 '^algorithm after' "$out" | sed 's/^algorithm after the runs: /fell back to /')"
  fi
}

# Under --uninitialized, optimized first; where Oclgrind cannot run that,
# once more with -cl-opt-disable.
og_uninit() {
  local name=$1
  shift
  og "$name" "$@"
  if [ "$og_result" = SKIP ]; then
    local what=$1 lim=$2
    shift 3
    og "$name-O0" "$what" "$lim" uninit-O0 "$@"
  fi
}

echo "lstmcl under Oclgrind $version ($demo); one line per run:"
printf '%-4s  %-46s %-8s %-13s %8s  %s\n' "" "family (kernels) and shape" limits checks time note

# ---------------------------------------------------------------------------
# Every family, data races and API use, on Oclgrind's default device.
og gemm3 "gemm N=3 (lstm_cell, CLBlast)" default races --algo gemm "${three[@]}" --expect-algo gemm
og gemmS "gemm stack (lstm_cell, lstm_project)" default races --algo gemm "${stack[@]}" --expect-algo gemm
og rows1 "fused-rows N=1 (lstm_step, gemm_nt)" default races --algo fused-rows "${one[@]}" --expect-algo fused-rows
og rows2 "fused-rows N=2 (lstm_step2)" default races --algo fused-rows "${two[@]}" --expect-algo fused-rows
og rows3 "fused-rows N=3 (lstm_step4, 4th padded)" default races --algo fused-rows "${three[@]}" --expect-algo fused-rows
og rowsS "fused-rows stack (lstm_project_step)" default races --algo fused-rows "${stack[@]}" --expect-algo fused-rows
og rowsM "fused-rows I=13 T=3 (gemm_nt M=9 K=13)" default races --algo fused-rows "${odd_m[@]}" --expect-algo fused-rows
og cols3 "fused-cols N=3 (lstm_step)" default races --algo fused-cols "${three[@]}" --expect-algo fused-cols
og colsS "fused-cols stack (lstm_project_step)" default races --algo fused-cols "${stack[@]}" --expect-algo fused-cols
og prows1 "persistent-rows N=1 (lstm_persist)" default races --algo persistent-rows "${one[@]}" --expect-algo persistent
og prows2 "persistent-rows N=2" default races --algo persistent-rows "${two[@]}" --expect-algo persistent
og prows3 "persistent-rows N=3" default races --algo persistent-rows "${three[@]}" --expect-algo persistent
og prowsS "persistent-rows stack" default races --algo persistent-rows "${stack[@]}" --expect-algo persistent
og pcols3 "persistent-cols N=3" default races --algo persistent-cols "${three[@]}" --expect-algo persistent
og pcolsS "persistent-cols stack" default races --algo persistent-cols "${stack[@]}" --expect-algo persistent
og auto3 "auto N=3 (Oclgrind counts as a CPU)" default races "${three[@]}" --expect-algo persistent
og rowsL "fused-rows lengths spread (live groups)" default races --algo fused-rows "${spread[@]}" --expect-algo fused-rows
og prowsL "persistent-rows lengths spread" default races --algo persistent-rows "${spread[@]}" --expect-algo persistent
og pcolsL "persistent-cols lengths spread" default races --algo persistent-cols "${spread[@]}" --expect-algo persistent

# GPU-like limits: every family again, the persistent kernel with 4 groups.
og gpu-gemmS "gemm stack" gpu races --algo gemm "${stack[@]}" --expect-algo gemm
og gpu-rows1 "fused-rows N=1 (lstm_step)" gpu races --algo fused-rows "${one[@]}" --expect-algo fused-rows
og gpu-rows2 "fused-rows N=2 (lstm_step2)" gpu races --algo fused-rows "${two[@]}" --expect-algo fused-rows
og gpu-rows3 "fused-rows N=3 (lstm_step4)" gpu races --algo fused-rows "${three[@]}" --expect-algo fused-rows
og gpu-rowsS "fused-rows stack" gpu races --algo fused-rows "${stack[@]}" --expect-algo fused-rows
og gpu-colsS "fused-cols stack" gpu races --algo fused-cols "${stack[@]}" --expect-algo fused-cols
og gpu-prows3 "persistent-rows N=3 (4 groups)" gpu races --algo persistent-rows "${three[@]}" --expect-algo persistent
og gpu-prowsS "persistent-rows stack (4 groups)" gpu races --algo persistent-rows "${stack[@]}" --expect-algo persistent
og gpu-pcolsS "persistent-cols stack (4 groups, R local)" gpu races --algo persistent-cols "${stack[@]}" --expect-algo persistent
og gpu-autoS "auto stack" gpu races "${stack[@]}" --expect-algo persistent

# Small work-groups and little local memory.
og wg16-rows3 "fused-rows N=3 (WG_J=16)" wg16 races --algo fused-rows "${three[@]}" --expect-algo fused-rows
og wg16-prowsS "persistent-rows stack (WG_J=16)" wg16 races --algo persistent-rows "${stack[@]}" --expect-algo persistent
og l4k-rows3 "fused-rows N=3 (lstm_step per sequence)" local4k races --algo fused-rows "${three[@]}" --expect-algo fused-rows
og l4k-pcols3 "persistent-cols N=3 (R in global memory)" local4k races --algo persistent-cols "${three[@]}" --expect-algo persistent

# ---------------------------------------------------------------------------
# Uninitialized values, every family (the first is the reported case:
# fused-cols, -H 17 -N 3 -T 4, staging h(t-1) in copy_padded).
og_uninit u-cols3 "fused-cols N=3 (lstm_step)" default uninit --algo fused-cols "${three[@]}" --expect-algo fused-cols
og_uninit u-gemmS "gemm stack" default uninit --algo gemm "${stack[@]}" --expect-algo gemm
og_uninit u-rows1 "fused-rows N=1 (lstm_step, gemm_nt)" default uninit --algo fused-rows "${one[@]}" --expect-algo fused-rows
og_uninit u-rows2 "fused-rows N=2 (lstm_step2)" default uninit --algo fused-rows "${two[@]}" --expect-algo fused-rows
og_uninit u-rowsS "fused-rows stack (lstm_step4, projection)" default uninit --algo fused-rows "${stack[@]}" --expect-algo fused-rows
og_uninit u-colsS "fused-cols stack" default uninit --algo fused-cols "${stack[@]}" --expect-algo fused-cols
og_uninit u-prowsS "persistent-rows stack" default uninit --algo persistent-rows "${stack[@]}" --expect-algo persistent
og_uninit u-pcolsS "persistent-cols stack" default uninit --algo persistent-cols "${stack[@]}" --expect-algo persistent
og_uninit u-gpu-pcolsS "persistent-cols stack (4 groups)" gpu uninit --algo persistent-cols "${stack[@]}" --expect-algo persistent
og_uninit u-gpu-prowsS "persistent-rows stack (4 groups)" gpu uninit --algo persistent-rows "${stack[@]}" --expect-algo persistent
og_uninit u-rowsL "fused-rows lengths spread" default uninit --algo fused-rows "${spread[@]}" --expect-algo fused-rows
og_uninit u-prowsL "persistent-rows lengths spread" default uninit --algo persistent-rows "${spread[@]}" --expect-algo persistent

# ---------------------------------------------------------------------------
# Reduced precisions (kernels/lstm_wtype.h: half, bfloat16, int8 loads and
# scales, h rounded as stored): the kernels that read weights, each once per
# precision, with the stack's projection and lstm_step4; gemm_nt's tails.
for prec in fp16 bf16 int8; do
  og "$prec-rowsS" "fused-rows stack ($prec)" default races --precision "$prec" --algo fused-rows "${stack[@]}" --expect-algo fused-rows
  og "$prec-rowsM" "fused-rows I=13 T=3 (gemm_nt, $prec)" default races --precision "$prec" --algo fused-rows "${odd_m[@]}" --expect-algo fused-rows
  og "$prec-colsS" "fused-cols stack ($prec)" default races --precision "$prec" --algo fused-cols "${stack[@]}" --expect-algo fused-cols
  og "$prec-prowsS" "persistent-rows stack ($prec)" default races --precision "$prec" --algo persistent-rows "${stack[@]}" --expect-algo persistent
  og "$prec-gpu-pcolsS" "persistent-cols stack (4 groups, R local, $prec)" gpu races --precision "$prec" --algo persistent-cols "${stack[@]}" --expect-algo persistent
  og_uninit "u-$prec-rowsS" "fused-rows stack ($prec)" default uninit --precision "$prec" --algo fused-rows "${stack[@]}" --expect-algo fused-rows
done

# ---------------------------------------------------------------------------
# Item 4 on Oclgrind: 4 groups on one simulator thread. Group 0 spins alone
# until the spin limit, gives up and raises the flag; the others see it at
# their first barrier. The pass must finish on the fused step, right, and
# lstmcl_model_algorithm must say fused-rows (fused-cols) afterwards. The
# give-up's cost: the first pass against a fused-step pass of the same build.
og s4-prows "persistent-rows N=3, spin limit 1000" serial4 races \
  --algo persistent-rows "${three[@]}" --spin-limit 1000 --expect-algo fused-rows
giveup_1k=$(field "$og_out" "first forward (warm-up)")
og s4-prows-100k "persistent-rows N=3, spin limit 100000" serial4 races \
  --algo persistent-rows "${three[@]}" --spin-limit 100000 --expect-algo fused-rows
giveup_100k=$(field "$og_out" "first forward (warm-up)")
og s4-rows "fused-rows N=3 (the same build, no give-up)" serial4 races \
  --algo fused-rows "${three[@]}" --spin-limit 1000 --expect-algo fused-rows
fused_ref=$(field "$og_out" "first forward (warm-up)")
og s4-pcols "persistent-cols N=3, spin limit 1000" serial4 races \
  --algo persistent-cols "${three[@]}" --spin-limit 1000 --expect-algo fused-cols
if [ -n "$giveup_1k" ] && [ -n "$giveup_100k" ] && [ -n "$fused_ref" ]; then
  awk -v a="$giveup_1k" -v b="$giveup_100k" -v f="$fused_ref" 'BEGIN {
    printf "TIME  give-up on Oclgrind (4 groups in turn): first pass %.1f ms at 1000 polls, %.1f ms at 100000, fused step alone %.1f ms: the give-up (the abandoned persistent pass and its polls) costs %.1f ms at 1000 polls, %.2f us per poll\n",
      a, b, f, a - f, (b - a) * 1000 / 99000 }'
fi

# ---------------------------------------------------------------------------
# Item 4 natively (no Oclgrind) on each CPU runtime found, PoCL's and
# Intel's: four times as many persistent groups as compute units, a short
# spin limit.
native() { # NAME WHAT ARGS...: one demo run on $ndev; sets nat_out
  local name=$1 what=$2
  shift 2
  local out=$work/$name.out t0 rc
  t0=$(date +%s.%N)
  timeout "$limit_s" "$demo" --device "$ndev" "$@" --cache-dir "$work/kernel-cache" >"$out" 2>&1
  rc=$?
  nat_out=$out
  if [ "$rc" -eq 0 ]; then
    report PASS "$what" "$nlabel" native "$(since "$t0")" \
      "$(grep -m1 '^algorithm after' "$out" | sed 's/^algorithm after the runs: /fell back to /')"
  else
    report FAIL "$what" "$nlabel" native "$(since "$t0")" \
      "demo exit $rc: $(grep -m1 -E 'FAILED|lstmcl-demo:' "$out" || echo "see $out")"
  fi
}
median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "" }'; }
native_runtime() { # LABEL DEVICE-INDEX COMPUTE-UNITS
  nlabel=$1 ndev=$2
  local cu=$3 groups spin run
  groups=$((${cu:-1} * 4))
  [ "$groups" -gt 4096 ] && groups=4096
  # The first pass of each run: the give-up and the fused rerun, against
  # the first pass of a fused-step run of the same build; medians of three
  # runs each. A runtime may compile a kernel at its first launch (PoCL
  # does, then keeps it in its own cache): a first run warms that up.
  for spin in 1000 1048576; do
    flags=(-H 17 -N 3 -T 4 --repeat 3 --persist-groups "$groups" --spin-limit "$spin")
    what="persistent-rows $groups groups on $cu CUs, spin $spin"
    native "$nlabel-$spin-warm" "$what (warm-up)" --algo persistent-rows "${flags[@]}" --expect-algo fused-rows
    : >"$work/$nlabel-$spin.p"
    : >"$work/$nlabel-$spin.f"
    for run in 1 2 3; do
      native "$nlabel-$spin-giveup-$run" "$what" --algo persistent-rows "${flags[@]}" --expect-algo fused-rows
      field "$nat_out" "first forward (warm-up)" >>"$work/$nlabel-$spin.p"
      native "$nlabel-$spin-fused-$run" "fused-rows (the same build, no give-up)" --algo fused-rows "${flags[@]}"
      field "$nat_out" "first forward (warm-up)" >>"$work/$nlabel-$spin.f"
    done
  done
  awk -v p1="$(median <"$work/$nlabel-1000.p")" -v p2="$(median <"$work/$nlabel-1048576.p")" \
    -v f="$(sort -n "$work/$nlabel-1000.f" "$work/$nlabel-1048576.f" | median)" -v g="$groups" \
    -v cu="$cu" -v rt="$nlabel" '
    BEGIN {
      if (p1 == "" || p2 == "" || f == "")
        exit
      ns = (p2 - p1) * 1e6 / (1048576 - 1000)
      printf "TIME  give-up on %s (%d groups on %d CUs; first passes, medians of 3): %.2f ms at 1000 polls, %.2f ms at 2^20, fused step alone %.2f ms: %.0f ns per poll, so %.2f ms to give up at 1000 polls (below a first pass'"'"'s run-to-run noise), %.1f ms at 2^20, ~%.1f s at the default 2^25 (forced), ~%.0f ms at 2^18 (automatic choice)\n",
        rt, g, cu, p1, p2, f, ns, ns * 1000 / 1e6, p2 - f, ns * 33554432 / 1e9, ns * 262144 / 1e6 }'
}
# The CPU runtimes, by platform: the demo's first line is
# "device: NAME (PLATFORM, N compute units)".
found_pocl='' found_intel=''
for idx in 0 1 2 3 4 5 6 7; do
  line=$("$demo" --device "$idx" -H 1 -N 1 -T 1 --repeat 0 --cache-dir off 2>/dev/null | grep -m1 '^device: ') ||
    continue
  cu=$(printf '%s\n' "$line" | sed -n 's/.*, \([0-9]*\) compute units)$/\1/p')
  case "$line" in
    *'(Portable Computing Language'*)
      [ -z "$found_pocl" ] && found_pocl=1 && native_runtime pocl "$idx" "$cu" ;;
    *'(Intel(R) OpenCL'*)
      [ -z "$found_intel" ] && found_intel=1 && native_runtime intel "$idx" "$cu" ;;
  esac
done
[ -n "$found_pocl" ] || report SKIP "item 4 on PoCL" pocl native 0 "no PoCL device found"
[ -n "$found_intel" ] ||
  report SKIP "item 4 on Intel's CPU runtime" intel native 0 "no Intel OpenCL CPU device found (./build.sh installs it)"

# ---------------------------------------------------------------------------
sort -u "$work/known.seen" >"$work/known.seen.u"
while IFS= read -r key; do
  grep -qxF -- "$key" "$work/known.seen.u" ||
    printf 'note: known issue not produced by any run: %s\n' "$key"
done <"$work/known.keys"
printf '%d passed, %d failed, %d skipped (reasons above) in %.0f s\n' \
  "$n_pass" "$n_fail" "$n_skip" "$(since "$t_start")"
[ "$n_fail" -eq 0 ]
