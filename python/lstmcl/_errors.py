"""Exceptions: the library's failures, carrying its message and status."""
from __future__ import annotations

from ._native import ffi, lib


class Error(RuntimeError):
    """A failure the lstmcl library reported.

    ``str(error)`` is the library's message (``lstmcl_thread_last_error``):
    it names the parameter, file, tensor or OpenCL call at fault.
    ``status`` is the library's status code (``lstmcl_status``: positive
    for lstmcl's own errors, OpenCL's or CLBlast's negative codes passed
    through) and ``status_text`` its description.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = int(status)

    @property
    def status_text(self) -> str:
        return ffi.string(lib.lstmcl_status_string(self.status)).decode()


class InvalidArgumentError(Error, ValueError):
    """Something given to the library is invalid: an argument, an array's
    shape or values, sizes that overflow, or a model file that cannot be
    read (LSTMCL_ERROR_INVALID_ARGUMENT, _INVALID_SHAPE, _SIZE_OVERFLOW)."""


class ConfigError(Error, ValueError):
    """A setting read from the environment is invalid (LSTMCL_DEVICE,
    LSTMCL_ALGO, ...; LSTMCL_ERROR_INVALID_CONFIG); the message quotes it."""


class NoDeviceError(Error):
    """No OpenCL device matches, or none is installed (LSTMCL_ERROR_NO_DEVICE)."""


class UnsupportedError(Error):
    """The operation is not supported here, e.g. a session of a bidirectional
    model, or device information on the CPU reference path
    (LSTMCL_ERROR_UNSUPPORTED)."""


class OutOfMemoryError(Error, MemoryError):
    """The library ran out of host memory (LSTMCL_ERROR_OUT_OF_HOST_MEMORY)."""


class DeviceError(Error):
    """The device failed: an OpenCL or CLBlast error, or a kernel that did
    not build (the message carries the build log)."""


def _error_class(status: int) -> type:
    table = {
        lib.LSTMCL_ERROR_INVALID_ARGUMENT: InvalidArgumentError,
        lib.LSTMCL_ERROR_INVALID_SHAPE: InvalidArgumentError,
        lib.LSTMCL_ERROR_SIZE_OVERFLOW: InvalidArgumentError,
        lib.LSTMCL_ERROR_INVALID_CONFIG: ConfigError,
        lib.LSTMCL_ERROR_NO_DEVICE: NoDeviceError,
        lib.LSTMCL_ERROR_UNSUPPORTED: UnsupportedError,
        lib.LSTMCL_ERROR_OUT_OF_HOST_MEMORY: OutOfMemoryError,
    }
    return table.get(status, DeviceError)


def check(status: int) -> None:
    """Raises the exception for a failed call's status. Call it right after
    the call, on the same thread: the message is the thread's last error."""
    if status == lib.LSTMCL_SUCCESS:
        return
    message = ffi.string(lib.lstmcl_thread_last_error()).decode("utf-8", "replace")
    if not message:
        message = ffi.string(lib.lstmcl_status_string(status)).decode()
    raise _error_class(status)(message, status)
