#!/bin/sh
# each_device.sh LIST_DEVICES PROGRAM [ARGS...]
#
# Runs a test program once on every OpenCL device that LIST_DEVICES (the
# list_devices test helper) prints, with LSTMCL_DEVICE set to the device's
# index, so that one CTest test covers each OpenCL implementation installed
# (PoCL, Intel's CPU runtime, a GPU driver). Fails when any run fails. With
# LSTMCL_DEVICE already set, or with no device at all, the program runs once
# as it is (with no device, its device tests skip themselves).
set -u
list=$1
shift
if [ -n "${LSTMCL_DEVICE:-}" ]; then
  exec "$@"
fi
devices=$("$list") || exit 1
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
