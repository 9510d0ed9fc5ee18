"""Speed of the generator on this machine: fp32 vs channels_last vs channels_last + bf16.

Measures, in one run, training throughput (img/s, L1 step at --train-size) and colorizing
latency (ms per photo at --infer-size), and prints ratios to plain fp32. The README's speed
numbers come from this script.

From the repository root, as a module (so that `colorizer` is found):

    python -m tools.benchmark                # CPU
    python -m tools.benchmark --device cuda  # GPU
"""
import argparse
import time

import torch
import torch.nn.functional as F

try:
    from colorizer.device import autocast, pick_device
    from colorizer.models import build_generator
except ModuleNotFoundError as err:  # run as a file: the repository root is not on sys.path
    if err.name != "colorizer":
        raise
    raise SystemExit("Run it from the repository root as a module: python -m tools.benchmark ...") from None


def bench(fn, warmup: int, reps: int, sync) -> float:
    for _ in range(warmup):
        fn()
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t) / reps


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--backbone", default="resnet18")
    p.add_argument("--train-size", type=int, default=128)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--infer-size", type=int, default=256)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    dev = pick_device(a.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    variants = [("fp32", False, "fp32"), ("channels_last", True, "fp32"), ("channels_last + bf16", True, "bf16")]
    print(f"device {dev}, {torch.get_num_threads()} threads, torch {torch.__version__}, {a.backbone}")
    results = []
    for name, cl, prec in variants:
        torch.manual_seed(0)
        g = build_generator(a.backbone, "none", a.train_size).to(dev)
        fmt = torch.channels_last if cl else torch.contiguous_format
        g = g.to(memory_format=fmt)
        opt = torch.optim.Adam(g.parameters(), 1e-4)
        x = torch.randn(a.batch, 1, a.train_size, a.train_size, device=dev).contiguous(memory_format=fmt)
        y = torch.randn(a.batch, 2, a.train_size, a.train_size, device=dev).contiguous(memory_format=fmt)

        def step():
            with autocast(dev, prec):
                out = g(x)
            loss = F.l1_loss(out.float(), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        train_s = bench(step, 2, a.reps, sync)
        g.eval()
        xi = torch.randn(1, 1, a.infer_size, a.infer_size, device=dev).contiguous(memory_format=fmt)

        def infer():
            with torch.inference_mode(), autocast(dev, prec):
                g(xi)

        infer_s = bench(infer, 2, a.reps * 2, sync)
        results.append((name, a.batch / train_s, infer_s * 1000))
    base_train, base_infer = results[0][1], results[0][2]
    print(f"{'variant':24} {'train img/s':>12} {'x fp32':>7} {'colorize ms':>12} {'x fp32':>7}")
    for name, ips, ms in results:
        print(f"{name:24} {ips:12.1f} {ips / base_train:7.2f} {ms:12.0f} {base_infer / ms:7.2f}")


if __name__ == "__main__":
    main()
