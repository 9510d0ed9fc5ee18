"""Which engine runs the colorizer's network: torch or onnxruntime (onnx_backend.py).

Decided without importing torch wherever the answer is plain (a CPU-only machine, or a device named),
since importing torch is about half of a one-photo command's time (README, Speed).
"""
from __future__ import annotations

import importlib.util
import os
import platform
import sys

BACKENDS = ("auto", "torch", "onnx")


def gpu_may_be_present() -> bool:
    """False when this machine shows no sign of a GPU torch could use: on Linux no NVIDIA, AMD (ROCm) or
    WSL GPU device node, on macOS not Apple silicon. True when it may have one (torch then decides)."""
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    if sys.platform.startswith("linux"):
        return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg"))
    return True  # Windows and others: no cheap sign


def resolve_backend(backend: str, device: str = "auto") -> str:
    """"auto" -> "onnx" on the CPU when onnxruntime is installed (faster there than torch in fp32 or bf16
    for the CLI: README, Speed), else "torch" (GPUs, Apple MPS). device: as --device gives it ("auto",
    "cpu", "cuda", ...); "auto" asks torch only when a GPU may be present."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend != "auto":
        return backend
    if importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    if device.split(":")[0] == "cpu":
        return "onnx"
    if device != "auto":
        return "torch"
    if not gpu_may_be_present():
        return "onnx"
    from .device import pick_device

    return "onnx" if pick_device("auto").type == "cpu" else "torch"
