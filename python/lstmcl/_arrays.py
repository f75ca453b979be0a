"""What the package accepts as arrays, and what it gives back.

Inputs are NumPy arrays (or anything numpy.asarray takes) and CPU torch
tensors. Floating-point data of any precision (float16, bfloat16, float64)
is converted to float32; integer, boolean and complex data is refused.
Any strides are accepted: an input that is not a dense float32 C-order
array is copied into one. Results are float32, as NumPy arrays for NumPy
input and as torch tensors for torch input.
"""
from __future__ import annotations

import sys
from typing import Any, Tuple

import numpy as np


def is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def kind_of(x: Any) -> str:
    return "torch" if is_torch(x) else "numpy"


def wrap(a: np.ndarray, kind: str) -> Any:
    if kind == "torch":
        import torch
        return torch.from_numpy(a)
    return a


def _torch_host(x: Any, name: str) -> Any:
    import torch
    if x.layout != torch.strided:
        raise TypeError("%s: a %s tensor; lstmcl reads dense tensors" % (name, x.layout))
    if x.device.type != "cpu":
        raise ValueError("%s: a tensor on %s; lstmcl reads CPU tensors (move it with .cpu())"
                         % (name, x.device))
    x = x.detach()
    for resolve in ("resolve_conj", "resolve_neg"):
        if hasattr(x, resolve):
            x = getattr(x, resolve)()
    return x


def float_array(x: Any, name: str) -> np.ndarray:
    """x as a dense float32 C-order array (a copy only where needed)."""
    if is_torch(x):
        import torch
        x = _torch_host(x, name)
        if not x.is_floating_point():
            raise TypeError("%s: dtype %s; lstmcl takes floating-point data (float16, bfloat16 "
                            "and float64 are converted to float32)" % (name, x.dtype))
        if x.dtype != torch.float32:
            x = x.to(torch.float32)
        a = x.numpy()
    else:
        a = np.asarray(x)
        if a.dtype.kind != "f":
            raise TypeError("%s: dtype %s; lstmcl takes floating-point data (float16 and "
                            "float64 are converted to float32)" % (name, a.dtype))
    return np.ascontiguousarray(a, dtype=np.float32)


def weight_array(x: Any, name: str) -> Tuple[np.ndarray, str]:
    """A torch parameter as the library takes a weight: (array, kind).
    float16 and bfloat16 tensors keep their bits, as a dense uint16 array
    in host order (kind "f16" or "bf16"), so that no value is rounded twice;
    every other floating dtype becomes float32 (kind "f32")."""
    import torch
    t = _torch_host(x, name)
    if t.dtype in (torch.float16, torch.bfloat16):
        kind = "f16" if t.dtype == torch.float16 else "bf16"
        return np.ascontiguousarray(t.contiguous().view(torch.int16).numpy().view(np.uint16)), kind
    return float_array(t, name), "f32"


def int_array(x: Any, name: str) -> np.ndarray:
    """x as a dense int64 C-order array; integer data only."""
    if is_torch(x):
        import torch
        x = _torch_host(x, name)
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise TypeError("%s: dtype %s; integers expected" % (name, x.dtype))
        a = x.numpy()
    else:
        a = np.asarray(x)
        if a.dtype.kind not in "iu":
            raise TypeError("%s: dtype %s; integers expected" % (name, a.dtype))
    return np.ascontiguousarray(a, dtype=np.int64)


def shape_text(shape: Tuple[int, ...]) -> str:
    return "(%s)" % ", ".join(str(d) for d in shape) if len(shape) != 1 else "(%d,)" % shape[0]
