"""Speed, in one run on one machine: the reference design against ours, training and colorizing.

Reference (the tutorial's design): fp32, NCHW, plain Adam, batch 16, Lab per image with
scikit-image in the data loader, colorizing at 256 px, PNG at Pillow's default level, one photo
at a time. Ours: what the project runs: bf16 autocast where it pays, channels_last, fused Adam
(torch.compile on CUDA), Lab on the device in batches (kornia); colorizing through the default
backend (onnxruntime on the CPU) at the weights' render size, the folder pipeline, fast PNG.

Each is timed end to end from JPEG files on disk (decoding included) and model-only (tensors
already in memory), and the colorize command is timed whole (a fresh process, start included;
ours after one untimed run that fills the ONNX cache). Prints img/s, ms per photo and ratios.

From the repository root, as a module:

    python -m tools.benchmark --quick            # CPU, a few minutes
    python -m tools.benchmark --device cuda      # GPU: 256 px training, peak memory shown
    python -m tools.benchmark --quick --train-variants              # what bf16, channels_last... give
    python -m tools.benchmark --same-colors PHOTOS/                 # our training path vs fp32: val L1
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

try:
    from colorizer.device import autocast, pick_device, prepare, resolve_precision
    from colorizer.infer import Colorizer
except ModuleNotFoundError as err:  # run as a file: the repository root is not on sys.path
    if err.name != "colorizer":
        raise
    raise SystemExit("Run it from the repository root as a module: python -m tools.benchmark ...") from None

ROOT = Path(__file__).resolve().parents[1]
REF_BATCH, REF_RENDER = 16, 256


@dataclass
class Row:
    what: str
    ref: float  # seconds per photo
    ours: float
    whole: bool = False  # a whole command once: ref and ours are its seconds, shown as such

    def line(self) -> str:
        if self.whole:
            return f"| {self.what} | - | {self.ref:.2f} s | - | {self.ours:.2f} s | **{self.ref / self.ours:.2f}x** |"
        return (f"| {self.what} | {1 / self.ref:.1f} | {self.ref * 1000:.0f} | {1 / self.ours:.1f} | "
                f"{self.ours * 1000:.0f} | **{self.ref / self.ours:.2f}x** |")


def make_photos(folder: Path, n: int, size: int = 500) -> list[Path]:
    """n JPEGs of size x size from the repo's example color photos (cropped, resized), on disk."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((ROOT / "examples" / "color").glob("*.jpg"))
    out = []
    for i in range(n):
        with Image.open(sources[i % len(sources)]) as im:
            im = im.convert("RGB")
            s = min(im.size)
            im = im.crop((0, 0, s, s)).resize((size, size), Image.BICUBIC)
            if i >= len(sources):
                im = im.transpose(Image.FLIP_LEFT_RIGHT if i // len(sources) % 2 else Image.FLIP_TOP_BOTTOM)
            out.append(folder / f"photo_{i:03d}.jpg")
            im.save(out[-1], quality=90)
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# ---- training --------------------------------------------------------------------------------

class ReferenceDataset(torch.utils.data.Dataset):
    """The tutorial's loader: decode, resize, crop, scikit-image Lab per photo, normalised (L, ab) in NCHW."""

    def __init__(self, files, size):
        self.files, self.size = files, size

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        from skimage.color import rgb2lab

        with Image.open(self.files[i]) as im:
            im = im.convert("RGB").resize((self.size, self.size), Image.BICUBIC)
        lab = rgb2lab(np.asarray(im)).astype("float32")
        lab = torch.from_numpy(lab).permute(2, 0, 1)
        return lab[:1] / 50.0 - 1.0, lab[1:] / 110.0


@dataclass
class TrainPath:
    """How a training step runs: the reference is fp32, NCHW, plain Adam; ours the defaults."""
    precision: str  # "fp32" | "bf16" | "auto" (the device's default)
    channels_last: bool = True
    fused_adam: bool = True
    compile: bool | None = None  # None: the default (CUDA only)

    def label(self, device) -> str:
        return (f"{resolve_precision(self.precision, device)}, {'channels_last' if self.channels_last else 'NCHW'}, "
                f"{'fused' if self.fused_adam else 'plain'} Adam" + (", compiled" if self.compile else ""))


REFERENCE = TrainPath("fp32", channels_last=False, fused_adam=False, compile=False)
OURS = TrainPath("auto")


def make_stage(stage_name: str, path: TrainPath, size: int, batch: int, device, seed: int = 0):
    """A training stage (colorizer.training) on a resnet18 U-Net built from seed, run the way path says."""
    from colorizer.models import build_generator
    from colorizer.training.config import TrainConfig
    from colorizer.training.stages import STAGES
    from colorizer.training.tasks import Colorization

    cfg = TrainConfig(stage=stage_name, size=size, batch_size=batch, lr=1e-4, compile=path.compile)
    task = Colorization()
    precision = resolve_precision(path.precision, device)
    torch.manual_seed(seed)
    g = build_generator("resnet18", "none", size)
    g = prepare(g, device) if path.channels_last else g.to(device)
    stage = STAGES[stage_name](cfg, task, g, device, precision, lambda m: m)
    parts = [stage.generator] + ([stage.discriminator] if stage_name == "gan" else [])
    if not path.channels_last:
        for m in parts:
            m.to(memory_format=torch.contiguous_format)
    if not path.fused_adam:  # the tutorial's per-parameter loop
        stage.opt_g = torch.optim.Adam(stage.generator.parameters(), lr=1e-4, betas=cfg.betas, foreach=False)
        if stage_name == "gan":
            stage.opt_d = torch.optim.Adam(stage.discriminator.parameters(), lr=cfg.lr_d, betas=cfg.betas,
                                           foreach=False)
    return stage, task


def to_path(x: torch.Tensor, path: TrainPath) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last if path.channels_last else torch.contiguous_format)


def train_speed(stage_name: str, reference: bool, files, a, device) -> tuple[float, float, float]:
    """-> (seconds per photo end to end from JPEGs, seconds per photo model-only, peak GPU GiB)."""
    from colorizer.data import PhotoDataset

    stage, task = make_stage(stage_name, REFERENCE if reference else OURS, a.train_size, a.batch, device)
    data = ReferenceDataset(files, a.train_size) if reference else PhotoDataset(files, a.train_size, train=True)
    loader = torch.utils.data.DataLoader(data, batch_size=a.batch, shuffle=True, num_workers=a.workers,
                                         drop_last=True, persistent_workers=a.workers > 0,
                                         pin_memory=device.type == "cuda")
    stage.train()

    def batches():
        while True:
            for batch in loader:
                if reference:
                    L, ab = batch
                    yield L.to(device), ab.to(device)
                else:
                    yield task.split(batch, device, train=True)

    stream = batches()
    x0, y0 = next(stream)
    for _ in range(a.warmup):
        stage.step(x0, y0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    t = time.perf_counter()
    for _ in range(a.steps):
        stage.step(x0, y0)
    sync(device)
    model_only = (time.perf_counter() - t) / (a.steps * a.batch)
    t = time.perf_counter()
    for _ in range(a.steps):
        x, y = next(stream)
        stage.step(x, y)
    sync(device)
    e2e = (time.perf_counter() - t) / (a.steps * a.batch)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
    return e2e, model_only, peak


def model_only_speed(stage_name: str, path: TrainPath, a, device) -> float:
    """Photos per second of training steps on one batch already on the device (no loading)."""
    stage, task = make_stage(stage_name, path, a.train_size, a.batch, device)
    stage.train()
    x = to_path(torch.rand(a.batch, 1, a.train_size, a.train_size, device=device) * 2 - 1, path)
    y = to_path((torch.rand(a.batch, 2, a.train_size, a.train_size, device=device) - 0.5) * 0.4, path)
    for _ in range(a.warmup):
        stage.step(x, y)
    sync(device)
    t = time.perf_counter()
    for _ in range(a.steps):
        stage.step(x, y)
    sync(device)
    return a.steps * a.batch / (time.perf_counter() - t)


TRAIN_VARIANTS = [REFERENCE, TrainPath("fp32", False), TrainPath("fp32"), TrainPath("bf16", False),
                  TrainPath("bf16"), TrainPath("bf16", compile=True)]


def train_variants(a, device) -> None:
    """Stage 1, model only: what precision, layout, Adam and compile each give, against the reference."""
    print(f"\n| stage 1 at {a.train_size} px, batch {a.batch}, model only | img/s | vs reference |")
    print("|---|---|---|")
    ref = None
    for path in TRAIN_VARIANTS:
        speed = model_only_speed("pretrain", path, a, device)
        ref = ref or speed
        print(f"| {path.label(device)} | {speed:.2f} | **{speed / ref:.2f}x** |", flush=True)


def same_colors(folder: Path, a, device, steps: int = 30, size: int = 64, n_train: int = 480,
                n_val: int = 64) -> tuple[float, float]:
    """Validation L1 (normalised ab) after `steps` stage-1 steps, reference path and ours, from the same
    initial weights and the same batches: -> (reference L1, ours L1)."""
    from colorizer.data import PhotoDataset, split_files
    from colorizer.images import list_photos

    train, val = split_files(list_photos(folder), 0.2)
    torch.manual_seed(0)
    order = torch.randperm(len(train))[:min(n_train, steps * a.batch)].tolist()
    train = PhotoDataset([train[i] for i in order], size, train=False)  # center crops: the same pixels twice
    val = PhotoDataset(val[:n_val], size, train=False)
    batches = [torch.stack([train[j] for j in range(i, i + a.batch)])
               for i in range(0, len(train) - a.batch + 1, a.batch)]
    val_batch = torch.stack([val[j] for j in range(len(val))])
    out = []
    for path in (REFERENCE, OURS):
        stage, task = make_stage("pretrain", path, size, a.batch, device)
        stage.train()
        for i in range(steps):
            x, y = task.split(batches[i % len(batches)], device, train=True)
            stage.step(to_path(x, path), to_path(y, path))
        stage.generator.eval()
        with torch.no_grad():
            x, y = task.split(val_batch, device)
            pred = task.decode(stage.forward(to_path(x, path))).float().clamp(-1, 1)
        out.append(torch.nn.functional.l1_loss(pred, y).item())
        print(f"same colors: {path.label(device)}: validation L1 {out[-1]:.5f} after {steps} steps at {size} px "
              f"({len(val)} photos)", flush=True)
    print(f"same colors: ours vs reference {100 * (out[1] / out[0] - 1):+.2f}% (target within 2%)")
    return out[0], out[1]


# ---- colorizing ------------------------------------------------------------------------------

def reference_colorize(model: Colorizer, files, out: Path) -> None:
    """The tutorial's loop: one photo at a time, scikit-image Lab at full size, fp32 NCHW model at 256 px."""
    import torch.nn.functional as F
    from skimage.color import lab2rgb, rgb2lab

    from colorizer.infer import render_shape

    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        with Image.open(f) as im:
            rgb = np.asarray(im.convert("RGB"))
        lab = rgb2lab(rgb)
        L = torch.from_numpy(lab[..., 0]).float()[None, None] / 50.0 - 1.0
        h, w = L.shape[-2:]
        small = F.interpolate(L, size=render_shape(h, w, REF_RENDER), mode="bilinear", align_corners=False)
        with torch.no_grad():
            ab = model.generator(small).float()
        ab = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
        lab_out = np.concatenate([lab[..., :1], ab * 110.0], axis=2)
        Image.fromarray((lab2rgb(lab_out) * 255).round().astype("uint8")).save(out / f"{f.stem}_color.png")


def reference_model(weights) -> Colorizer:
    model = Colorizer.load(weights, device="cpu", precision="fp32", color_strength=1.0, backend="torch")
    model.generator.to(memory_format=torch.contiguous_format)
    return model


def colorize_speed(files, weights, a, tmp: Path) -> list[Row]:
    from colorizer.pipeline import colorize_files

    ref = reference_model(weights)
    ours = Colorizer.load(weights, color_strength=1.0, backend="auto")
    rows = []
    # model-only: one 500x500 photo's L at the render shape
    for size_ours in sorted({ours.render_size, REF_RENDER}):
        L_ref = torch.rand(1, 1, REF_RENDER, REF_RENDER) * 2 - 1
        L_ours = np.random.default_rng(0).uniform(-1, 1, (1, 1, size_ours, size_ours)).astype(np.float32)

        def ref_fn():
            with torch.no_grad():
                ref.generator(L_ref)

        rows.append(Row(f"colorize, model only ({REF_RENDER} px vs ours at {size_ours} px, {ours.backend})",
                        timed(ref_fn, a.reps), timed(lambda: ours.predict_ab(L_ours), a.reps)))
    # end to end from the JPEGs, model loaded
    t = time.perf_counter()
    reference_colorize(ref, files, tmp / "ref_out")
    ref_e2e = (time.perf_counter() - t) / len(files)
    jobs = [(f, tmp / "ours_out" / f"{f.stem}_color.png") for f in files]
    t = time.perf_counter()
    results = list(colorize_files(ours, jobs))
    assert not any(r.error for r in results)
    rows.append(Row(f"colorize {len(files)} JPEGs 500x500, end to end (model loaded)", ref_e2e,
                    (time.perf_counter() - t) / len(files)))
    # the whole command, a fresh process each
    folder = files[0].parent
    py = [sys.executable, "-m"]
    subprocess.run(py + ["colorizer", "colorize", str(files[0]), "-o", str(tmp / "warm.png"), "--weights",
                         str(weights), "--color-strength", "1"], check=True, capture_output=True, cwd=ROOT)
    ref_cmd = timed_run(py + ["tools.benchmark", "--reference-command", str(folder), str(tmp / "ref_cmd"),
                              "--weights", str(weights)]) / len(files)
    ours_cmd = timed_run(py + ["colorizer", "colorize", str(folder), "-o", str(tmp / "ours_cmd"), "--weights",
                               str(weights), "--color-strength", "1"]) / len(files)
    rows.append(Row(f"`colorize` command on {len(files)} photos, start included, per photo", ref_cmd, ours_cmd))
    one = files[:1]
    rows.append(Row("`colorize` command on one photo, whole command",
                    timed_run(py + ["tools.benchmark", "--reference-command", str(one[0]), str(tmp / "r1"),
                                    "--weights", str(weights)]),
                    timed_run(py + ["colorizer", "colorize", str(one[0]), "-o", str(tmp / "o1.png"), "--weights",
                                    str(weights), "--color-strength", "1"]), whole=True))
    return rows


def timed(fn, reps: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def timed_run(cmd) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t


def reference_command(src: str, out: str, weights: str) -> None:
    """The tutorial's whole command: fastai.vision.all imported, the model built and loaded, a loop."""
    import fastai.vision.all  # noqa: F401 - the tutorial's start

    files = [Path(src)] if Path(src).is_file() else sorted(Path(src).glob("*.jpg"))
    reference_colorize(reference_model(weights), files, Path(out))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true", help="CPU-sized: fewer photos and steps")
    p.add_argument("--photos", type=int, default=None, help="JPEGs colorized (default 48, quick 16)")
    p.add_argument("--train-size", type=int, default=None, help="training crops (default: 128 on CPU, 256 on GPU)")
    p.add_argument("--batch", type=int, default=REF_BATCH)
    p.add_argument("--steps", type=int, default=None, help="timed training steps (default 10, quick 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed training steps first (default 3, quick 1)")
    p.add_argument("--workers", type=int, default=None, help="loader processes (default: 2 CPU, 8 GPU)")
    p.add_argument("--reps", type=int, default=None, help="model-only colorize repetitions")
    p.add_argument("--weights", default=str(ROOT / "weights" / "colorizer_gan.pt"))
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--train-variants", action="store_true",
                   help="only: stage 1 model-only img/s for each precision, layout, Adam and compile")
    p.add_argument("--same-colors", metavar="PHOTOS", type=Path,
                   help="only: validation L1 of our training path against fp32 after 30 steps at 64 px, "
                        "same init and batches, on photos from this folder")
    p.add_argument("--reference-command", nargs=2, metavar=("SRC", "OUT"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.reference_command:
        return reference_command(*a.reference_command, a.weights)
    device = pick_device(a.device)
    gpu = device.type == "cuda"
    if gpu and not torch.cuda.is_available():
        raise SystemExit(f"--device {a.device}: no CUDA GPU here")
    a.photos = a.photos or (16 if a.quick else 48)
    a.train_size = a.train_size or (256 if gpu else 128)
    a.steps = a.steps or (2 if a.quick else 10)
    a.warmup = a.warmup if a.warmup is not None else (1 if a.quick else 3)
    a.workers = a.workers if a.workers is not None else (8 if gpu else 2)
    a.reps = a.reps or (3 if a.quick else 10)
    name = torch.cuda.get_device_name(device) if gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"{name}; torch {torch.__version__}; {a.photos} photos 500x500; training {a.train_size} px batch {a.batch}, "
          f"{a.steps} timed steps; ours: {resolve_precision('auto', device)}", flush=True)
    if a.train_variants or a.same_colors:
        if a.train_variants:
            train_variants(a, device)
        if a.same_colors:
            same_colors(a.same_colors, a, device)
        return
    rows, peaks = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = make_photos(tmp / "photos", a.photos)
        for stage in ("pretrain", "gan"):
            (ref_e2e, ref_model, ref_peak), (e2e, model, peak) = (train_speed(stage, r, files, a, device)
                                                                  for r in (True, False))
            label = "stage 1 (L1)" if stage == "pretrain" else "stage 2 (GAN)"
            rows += [Row(f"train {label}, end to end from JPEGs", ref_e2e, e2e),
                     Row(f"train {label}, model only", ref_model, model)]
            peaks.append((label, ref_peak, peak))
            print(rows[-2].line(), flush=True)
            print(rows[-1].line(), flush=True)
        if not gpu:  # colorizing is timed on the CPU, where the command runs for most people
            for row in colorize_speed(files, Path(a.weights), a, tmp):
                rows.append(row)
                print(row.line(), flush=True)
    print("\n| what | ref img/s | ref ms/photo | ours img/s | ours ms/photo | ours vs ref |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.line())
    if gpu:
        for label, ref_peak, peak in peaks:
            print(f"peak GPU memory, {label}: reference {ref_peak:.2f} GiB, ours {peak:.2f} GiB")
    if a.json:
        Path(a.json).write_text(json.dumps([vars(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
