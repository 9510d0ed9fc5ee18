"""fp32 against bf16 autocast on this machine, in one run: a training step (forward and backward) of the
layers the classic pix2pix U-Net is made of, and of the whole U-Net, as `--precision` would run them.

    python -m tools.precision_bench                 # 128 px, batch 4, 64 filters (train_gan.py --task paired)
    python -m tools.precision_bench --size 256 --filters 64 --batch 1

Prints seconds a step and bf16's speed-up (above 1: bf16 is faster). Issue 46 reported 28x slower in bf16
on a CPU; measure here before trusting the `auto` precision (docs/speed.md).
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn as nn

from colorizer.device import prepare, to_input
from colorizer.models import build_paired_generator


def step(model: nn.Module, x: torch.Tensor, bf16: bool) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y = model(x)
    y.float().mean().backward()


def seconds(model: nn.Module, x: torch.Tensor, bf16: bool, reps: int) -> float:
    step(model, x, bf16)  # warm-up
    start = time.perf_counter()
    for _ in range(reps):
        step(model, x, bf16)
    return (time.perf_counter() - start) / reps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    dev = torch.device("cpu")
    s = a.size
    cases = [("conv 4x4 stride 2", nn.Conv2d(a.filters, 2 * a.filters, 4, 2, 1), (a.batch, a.filters, s // 2, s // 2)),
             ("transposed conv 4x4 stride 2", nn.ConvTranspose2d(2 * a.filters, a.filters, 4, 2, 1),
              (a.batch, 2 * a.filters, s // 4, s // 4)),
             (f"U-Net, {a.filters} filters", build_paired_generator("unet", s, filters=a.filters), (a.batch, 3, s, s))]
    print(f"{s} px, batch {a.batch}, forward and backward, mean of {a.reps} after one warm-up:")
    for name, layer, shape in cases:
        model = prepare(layer, dev)
        x = to_input(torch.randn(shape), dev).requires_grad_(name.startswith(("conv", "transposed")))
        fp32, bf16 = seconds(model, x, False, a.reps), seconds(model, x, True, a.reps)
        print(f"  {name}: fp32 {fp32 * 1000:.1f} ms, bf16 {bf16 * 1000:.1f} ms, bf16 {fp32 / bf16:.2f}x as fast")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
