#!/bin/sh
# each_device.sh LIST_DEVICES PROGRAM [ARGS...]
#
# Runs a test program once on every OpenCL device that LIST_DEVICES (the
# list_devices test helper) prints, with LSTMCL_DEVICE set to the device's
# index, so that one CTest test covers each OpenCL implementation installed
# (PoCL, Intel's CPU runtime, a GPU driver). Fails when any run fails. With
# LSTMCL_DEVICE already set, or with no device at all, the program runs once
# as it is (with no device, its device tests skip themselves).
#
# each_device.sh --slot K LIST_DEVICES PROGRAM [ARGS...]
#
# Only the K-th device listed (0-based), so that CTest can run the devices'
# long runs side by side, each under its own time limit; exit 77 (CTest's
# skip) when there are fewer devices, or when LSTMCL_DEVICE is set and K is
# not 0.
set -u
slot=
if [ "${1:-}" = --slot ]; then
  slot=$2
  shift 2
fi
list=$1
shift
if [ -n "${LSTMCL_DEVICE:-}" ]; then
  if [ -n "$slot" ] && [ "$slot" != 0 ]; then
    echo "LSTMCL_DEVICE is set: slot $slot skipped"
    exit 77
  fi
  exec "$@"
fi
devices=$("$list") || exit 1
if [ -n "$slot" ]; then
  line=$(printf '%s\n' "$devices" | sed -n "$((slot + 1))p")
  if [ -z "$line" ]; then
    echo "no device $slot: skipped"
    exit 77
  fi
  tab=$(printf '\t')
  echo "=== device ${line%%"$tab"*}: ${line#*"$tab"}"
  LSTMCL_DEVICE=${line%%"$tab"*} exec "$@" </dev/null
fi
if [ -z "$devices" ]; then
  exec "$@"
fi
failed=
tab=$(printf '\t')
while IFS="$tab" read -r index name; do
  echo "=== device $index: $name"
  LSTMCL_DEVICE=$index "$@" </dev/null || failed="$failed $index"
done <<EOT
$devices
EOT
if [ -n "$failed" ]; then
  echo "=== failed on device(s):$failed"
  exit 1
fi
exit 0
