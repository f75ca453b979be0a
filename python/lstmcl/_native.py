"""The compiled part: cffi's module over the lstmcl library (ffi_build.py)."""
from ._lstmcl_cffi import ffi, lib  # noqa: F401
