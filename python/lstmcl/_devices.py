"""OpenCL devices, and the contexts models run in."""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Union

from ._errors import check
from ._locks import SharedLock
from ._native import ffi, lib


@dataclasses.dataclass(frozen=True)
class Device:
    """An OpenCL device as lstmcl numbers it (``lstmcl devices`` lists the
    same). Pass one, or its ``index``, as the ``device`` argument."""

    index: int
    name: str
    vendor: str
    platform: str
    type: str  # "GPU", "CPU", "accelerator" or "other"
    compute_units: int
    global_mem_bytes: int
    local_mem_bytes: int
    max_alloc_bytes: int
    max_work_group_size: int
    device_version: str
    driver_version: str
    opencl_c_version: str
    has_fp16: bool
    has_fp64: bool


def _device(info) -> Device:
    t = info.type
    kind = ("GPU" if t & lib.CL_DEVICE_TYPE_GPU else
            "CPU" if t & lib.CL_DEVICE_TYPE_CPU else
            "accelerator" if t & lib.CL_DEVICE_TYPE_ACCELERATOR else "other")

    def text(field) -> str:
        return ffi.string(field).decode("utf-8", "replace")

    return Device(index=int(info.index), name=text(info.name), vendor=text(info.vendor),
                  platform=text(info.platform), type=kind,
                  compute_units=int(info.compute_units),
                  global_mem_bytes=int(info.global_mem_bytes),
                  local_mem_bytes=int(info.local_mem_bytes),
                  max_alloc_bytes=int(info.max_alloc_bytes),
                  max_work_group_size=int(info.max_work_group_size),
                  device_version=text(info.device_version),
                  driver_version=text(info.driver_version),
                  opencl_c_version=text(info.opencl_c_version),
                  has_fp16=bool(info.has_fp16), has_fp64=bool(info.has_fp64))


def devices() -> List[Device]:
    """Every OpenCL device on every platform, in lstmcl's numbering (an
    empty list when no OpenCL platform is installed)."""
    count = ffi.new("size_t *")
    check(lib.lstmcl_device_count(count))
    info = ffi.new("lstmcl_device_info *")
    out = []
    for k in range(count[0]):
        check(lib.lstmcl_device_get_info(k, info))
        out.append(_device(info))
    return out


DeviceSpec = Union[None, int, str, Device]


def device_spec(device: DeviceSpec) -> Optional[bytes]:
    """The C API's device_spec for a ``device`` argument (None: NULL)."""
    if device is None:
        return None
    if isinstance(device, Device):
        return str(device.index).encode()
    if isinstance(device, bool) or not isinstance(device, (int, str)):
        raise TypeError("device must be None, a device index, a name, 'cpu' or an "
                        "lstmcl.Device, not %s" % type(device).__name__)
    if isinstance(device, int):
        if device < 0:
            raise ValueError("device index %d is negative (lstmcl.devices() lists them)" % device)
        return str(device).encode()
    return device.encode()


class Context:
    """One lstmcl_context and the lock its users share (see _locks.py)."""

    def __init__(self, device: DeviceSpec) -> None:
        spec = device_spec(device)
        out = ffi.new("lstmcl_context **")
        check(lib.lstmcl_context_create(spec if spec is not None else ffi.NULL, out))
        self.ptr = out[0]
        self.lock = SharedLock()
        self.is_reference = bool(lib.lstmcl_context_is_reference(self.ptr))
        self.device: Optional[Device] = None
        if not self.is_reference:
            info = ffi.new("lstmcl_device_info *")
            check(lib.lstmcl_context_device_info(self.ptr, info))
            self.device = _device(info)

    def close(self) -> None:
        if self.ptr is not None:
            lib.lstmcl_context_destroy(self.ptr)
            self.ptr = None

    def describe(self) -> str:
        return "the CPU reference path" if self.is_reference else \
            "device %d (%s)" % (self.device.index, self.device.name)
