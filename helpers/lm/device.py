"""Where a model runs and in which precision: CUDA, Apple's MPS or the CPU."""

from __future__ import annotations

import os
import sys

DEVICE_VARIABLE = "HELPERS_DEVICE"
DTYPES = ("float32", "bfloat16", "float16")
# Device files through which torch reaches a GPU on Linux (NVIDIA, NVIDIA under WSL, AMD's ROCm): without any of them
# torch.cuda.is_available() is False, and MPS exists only on macOS.
ACCELERATOR_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/dxg", "/dev/kfd")


def without_accelerator() -> bool:
    """Whether this is a Linux machine with no GPU that torch could use (told from device files, without torch)."""
    return sys.platform.startswith("linux") and not any(os.path.exists(path) for path in ACCELERATOR_FILES)


def dtype_name(device: str | None = None, dtype: str | None = None) -> str:
    """The name of the dtype :func:`choose_device` gives (``"float32"``, say), with the same arguments.

    Where the answer is the CPU's (the device ``"cpu"``, or ``"auto"`` on a
    machine :func:`without_accelerator`) torch is not imported: a cache key
    that names the dtype, read by a chapter rebuilt from the cache, costs no
    second or two of importing torch.
    """
    name = device or os.environ.get(DEVICE_VARIABLE) or "auto"
    if name == "cpu" or (name == "auto" and without_accelerator()):
        return "float32" if dtype is None else _checked(dtype)
    return str(choose_device(device, dtype)[1]).removeprefix("torch.")


def choose_device(device: str | None = None, dtype: str | None = None):
    """The ``(torch.device, torch.dtype)`` to run a model with.

    Parameters
    ----------
    device : str, optional
        ``"auto"`` (default, or the environment variable ``HELPERS_DEVICE``):
        CUDA if available, else MPS, else the CPU. Or any torch device name
        (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
    dtype : str, optional
        ``"float32"``, ``"bfloat16"`` or ``"float16"``. Default: bfloat16 on
        CUDA (float16 if the GPU has no bfloat16), float16 on MPS, float32
        on the CPU.
    """
    import torch

    name = device or os.environ.get(DEVICE_VARIABLE) or "auto"
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    try:
        chosen = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.") from None
    usable = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not usable.get(chosen.type, False):
        raise ValueError(f"device {name!r} is not available on this machine; use 'auto' or 'cpu'.")
    if dtype is None:
        if chosen.type == "cuda":
            return chosen, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return chosen, torch.float16 if chosen.type == "mps" else torch.float32
    return chosen, getattr(torch, _checked(dtype))


def _checked(dtype: str) -> str:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be 'float32', 'bfloat16' or 'float16', got {dtype!r}.")
    return dtype


def placement(device, dtype) -> dict:
    """``from_pretrained`` arguments that put the weights on ``device`` in ``dtype``.

    On CUDA, ``device_map="auto"`` (accelerate): the whole model on the GPU
    when it fits, else its last layers on the CPU or the disk. Elsewhere
    the model is moved with ``.to(device)`` after loading.
    """
    if device.type == "cuda":
        return {"dtype": dtype, "device_map": "auto" if device.index is None else {"": device.index}}
    return {"dtype": dtype}
