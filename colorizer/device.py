"""Where and how the networks run: device choice and the fast CPU/GPU settings."""
from __future__ import annotations

import contextlib

import torch


def pick_device(name: str = "auto") -> torch.device:
    """"auto" -> CUDA, else Apple MPS, else CPU; or the device named."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> bf16 on CUDA with bf16 support and on CPUs (bf16 units make it ~3x faster), else fp32."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16"
    return "fp32"


def fastest_precision(model: torch.nn.Module, x: torch.Tensor, device: torch.device, passes: int = 2,
                      log=print) -> str:
    """"auto" for training on a CPU, decided by measurement: a few forward and backward passes of a copy
    of model on the batch x in bf16 autocast and in fp32 (after one warm-up pass of each); the faster
    wins. bf16 trains our U-Nets 1.4-1.9x faster on this project's CPU (docs/speed.md), but was
    reported 28x slower on another CPU of the same family (issue 46): only the machine knows."""
    import copy
    import time

    probe, times = copy.deepcopy(model).train(), {}
    for precision in ("bf16", "fp32"):
        for i in range(passes + 1):
            if i == 1:
                start = time.perf_counter()
            with autocast(device, precision):
                out = probe(x)
            out.float().abs().mean().backward()
            probe.zero_grad(set_to_none=True)
        times[precision] = (time.perf_counter() - start) / passes
    best = min(times, key=times.get)
    log(f"precision auto: a training pass takes {times['bf16']:.2f} s in bf16 and {times['fp32']:.2f} s in fp32 "
        f"on this CPU: {best} (--precision to choose)")
    return best


def autocast(device: torch.device, precision: str):
    """Mixed-precision context for forward passes (losses are computed in fp32 outside it)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def prepare(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move to device in channels_last layout (about 2x faster convolutions on CPU, faster on GPU)."""
    model = model.to(device)
    if device.type in ("cpu", "cuda"):
        model = model.to(memory_format=torch.channels_last)
    return model


def to_input(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if device.type in ("cpu", "cuda") and x.dim() == 4 else x


class TorchNet:
    """A torch generator as the colorizer's network call (infer.Colorizer.net, as onnx_backend.OnnxNet):
    numpy normalised L (B, 1, h, w), float32 -> the generator's output, float32 numpy."""

    backend = "torch"

    def __init__(self, generator: torch.nn.Module, device: torch.device, precision: str = "fp32"):
        self.generator, self.torch_device, self.precision = generator, device, precision
        self.device = str(device)

    @torch.inference_mode()
    def __call__(self, L) -> "np.ndarray":
        with autocast(self.torch_device, self.precision):
            out = self.generator(to_input(torch.from_numpy(L), self.torch_device))
        return out.float().cpu().numpy()
