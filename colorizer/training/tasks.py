"""What is learned: the seam between the training loop and a task.

A task says what differs between image-to-image problems, and nothing else:
- which photos it reads and how a loader batch becomes (input, target) tensors on the device,
- the generator's input and output channels (the discriminator sees both, concatenated),
- the reconstruction loss (the GAN loss is the same for every task, see stages.py), and how the
  generator's raw output becomes a target-like tensor (`decode`: what the discriminator sees),
- how an input and a prediction become RGB images (sample grids), its validation metrics and
  the one validation score (higher is better) that picks the weights to keep,
- which generator it trains (`build_generator`; the discriminator is built for its channels).

Colorization (L -> ab) is here; the others are plug-ins in their own packages: color hints (L + a
sparse map of known colors -> ab, hints/task.py) and paired translation (pix2pix, A -> B on RGB pairs,
paired/task.py). A new one is a class with the same methods in its package and a line in TASKS; the
loop and the stages do not change.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from .. import color_classes, metrics
from ..color import AB_SCALE, gray_rgb, lab_norm_to_rgb, rgb_to_lab_norm
from ..data import make_loaders, parse_part, part_shares, resolve_data, scan_photos, split_files, val_loader
from ..device import to_input
from ..models import build_generator
from .augment import old_print
from .config import TrainConfig
from .teachers import Teachers


@dataclass
class Loaders:
    train: DataLoader
    val: DataLoader
    source: str      # where the photos came from (recorded in the weights' metadata)
    n_train: int
    n_val: int
    # several validation folders: (name, loader) each, validated and logged on its own (loop.py)
    val_sets: list[tuple[str, DataLoader]] = field(default_factory=list)
    mix: list[dict] = field(default_factory=list)  # several --data parts: folder, photos, share each


def _names(folders: list[Path]) -> list[str]:
    """Short, distinct names for log columns: each folder's last part (with its parent if two clash)."""
    names = [f.name or str(f) for f in folders]
    if len(set(names)) < len(names):
        names = [f"{f.parent.name}_{f.name}" for f in folders]
    return [n.replace(" ", "_") for n in names]


class Task(Protocol):
    name: str
    in_channels: int
    out_channels: int

    def loaders(self, cfg: TrainConfig, workers: int, pin_memory: bool, rank: int, world: int,
                log) -> Loaders: ...
    def build_generator(self, backbone: str, backbone_weights: str, size: int) -> torch.nn.Module: ...
    def split(self, batch, device: torch.device, train: bool = False) -> tuple[torch.Tensor, torch.Tensor]: ...
    def decode(self, pred: torch.Tensor) -> torch.Tensor: ...
    def reconstruction_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...
    def meta(self) -> dict: ...
    def input_image(self, x: torch.Tensor) -> torch.Tensor: ...
    def output_image(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...
    def val_metrics(self, x: torch.Tensor, pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]: ...
    def val_summary(self, means: dict[str, float]) -> dict[str, float]: ...


class Colorization:
    """L (1 channel) -> ab (2 channels), both normalised to about [-1, 1] (color.py).

    loss "l1": the generator predicts ab. loss "classes": it predicts a distribution over ab bins
    (color_classes.py), trained with rebalanced cross-entropy and decoded by the annealed mean.
    augment "print": inputs are made to look like old scanned prints (augment.py)."""

    name = "colorize"
    in_channels = 1

    def __init__(self, loss: str = "l1", rebalance: float = 0.5, temperature: float = color_classes.TEMPERATURE,
                 augment: str = "none", teachers: tuple[str, ...] = (), teacher_saturation: float = 1.0):
        if loss not in ("l1", "classes"):
            raise ValueError(f"loss must be l1 or classes, not {loss!r}")
        self.loss, self.rebalance, self.temperature, self.augment = loss, rebalance, temperature, augment
        self.teacher_paths, self.teacher_saturation = tuple(teachers), teacher_saturation
        self.teachers = None  # teachers.Teachers, loaded on the device at the first training batch
        self.centers = color_classes.bin_centers() if loss == "classes" else None
        self.weights = None  # per-bin loss weights, from the training photos' colors (loaders)
        self.out_channels = 2 if loss == "l1" else len(self.centers)

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> "Colorization":
        return cls(cfg.loss, cfg.rebalance, cfg.temperature, cfg.augment, cfg.teachers, cfg.teacher_saturation)

    def meta(self) -> dict:
        """What inference must know to read the generator's output (kept in the weights' metadata)."""
        if self.loss == "l1":
            return {"head": "ab"}
        return {"head": "classes", "bin": color_classes.BIN, "temperature": self.temperature,
                "rebalance": self.rebalance}

    def build_generator(self, backbone, backbone_weights, size):
        return build_generator(backbone, backbone_weights, size, self.in_channels, self.out_channels)

    def loaders(self, cfg, workers, pin_memory, rank, world, log) -> Loaders:
        """One folder, or several --data parts DIR[:SHARE] whose files each epoch draws by share; the
        validation photos are --val-data (one loader per folder) or a fixed-seed split of each part."""
        parts = [parse_part(spec) for spec in cfg.several(cfg.data)]
        folders = [resolve_data(folder) for folder, _ in parts]
        scanned = [scan_photos(folder, log=log) for folder in folders]
        if cfg.val_data:
            train_parts = scanned
            val_folders = [resolve_data(v) for v in cfg.several(cfg.val_data)]
            val_parts = [scan_photos(v, log=log) for v in val_folders]
        else:
            splits = [split_files(files, cfg.val_fraction, cfg.seed) for files in scanned]
            train_parts, val_parts = [t for t, _ in splits], [v for _, v in splits]
            val_folders = folders
        train_files = [f for files in train_parts for f in files]
        val_files = [f for files in val_parts for f in files]
        sizes = [len(files) for files in train_parts]
        shares = part_shares(sizes, [share for _, share in parts])
        train_dl, val_dl = make_loaders(train_files, val_files, cfg.size, cfg.batch_size, workers, cfg.seed,
                                        pin_memory=pin_memory, rank=rank, world=world, parts=(sizes, shares))
        mix = []
        if len(parts) > 1:
            counts = train_dl.sampler.counts()
            for name, folder, n, share, drawn in zip(_names(folders), folders, sizes, shares, counts):
                mix.append(dict(name=name, folder=str(folder), photos=n, share=round(share, 4)))
                log(f"data part {name}: {n} photos, share {share:.0%}: {drawn} draws an epoch "
                    f"({drawn / n:.2f} per photo)")
        val_sets = []
        if len(val_parts) > 1:
            val_sets = [(name, val_loader(files, cfg.size, cfg.batch_size))
                        for name, files in zip(_names(val_folders), val_parts) if files]
        if self.loss == "classes":
            self.weights = self._class_weights(train_dl, log)
        if self.teacher_paths:
            log(f"distilling: the target is the mean colors of {', '.join(self.teacher_paths)}"
                + (f" x {self.teacher_saturation:g}" if self.teacher_saturation != 1.0 else ""))
        source = " + ".join(f"{f}:{m['share']:g}" for f, m in zip(folders, mix)) if mix else str(folders[0])
        return Loaders(train_dl, val_dl, source, len(train_files), len(val_files), val_sets, mix)

    def _class_weights(self, train_dl, log, batches: int = 20) -> torch.Tensor:
        """Rebalancing weights from how often each bin occurs in (up to) `batches` training batches."""
        abs_ = (rgb_to_lab_norm(b.float() / 255.0)[1] * AB_SCALE for b, _ in zip(train_dl, range(batches)))
        prior = color_classes.prior_from(abs_, self.centers)
        weights = color_classes.class_weights(prior, self.rebalance)
        log(f"classes: {len(self.centers)} ab bins of {color_classes.BIN:g}; rebalance {self.rebalance:g} gives "
            f"weights {weights.min():.2f} to {weights.max():.2f}")
        return weights

    def split(self, batch, device, train: bool = False):
        """uint8 RGB batch (B, 3, S, S) -> (L, ab) on the device, converted there (batched, cheap);
        in training with augment "print", L is made to look like an old print, and with teachers the
        target is their colors on that L (teachers.py) instead of the photo's."""
        rgb = batch.to(device, non_blocking=True).float().div_(255.0)
        L, ab = rgb_to_lab_norm(rgb)
        if train and self.augment == "print":
            L = old_print(L)
        L = to_input(L, device)
        if train and self.teacher_paths:
            if self.teachers is None:
                self.teachers = Teachers(self.teacher_paths, device, self.teacher_saturation)
            ab = self.teachers(L)
        return L, to_input(ab, device)

    def decode(self, pred):
        """The generator's output -> normalised ab."""
        if self.loss == "l1":
            return pred
        return color_classes.decode(pred, self.centers, self.temperature)

    def reconstruction_loss(self, pred, target):
        if self.loss == "l1":
            return F.l1_loss(pred.float(), target)
        centers = self.centers.to(pred.device)
        weights = self.weights.to(pred.device) if self.weights is not None else None
        return color_classes.classification_loss(pred, target * AB_SCALE, centers, weights)

    def input_image(self, x):
        return gray_rgb(x)

    def output_image(self, x, y):
        """Input and a target-like tensor (the truth, or a decoded prediction) -> RGB in [0, 1]."""
        return lab_norm_to_rgb(x, y.float().clamp(-1, 1))

    def val_metrics(self, x, pred, target):
        """Sums over the batch (the loop divides by the number of photos): L1 on normalised ab, PSNR
        on RGB (the model's and the gray photo's), mean chroma (CIELAB units), colorfulness of the
        prediction and of the truth, and the false-color rate (metrics.py)."""
        pred = self.decode(pred).float().clamp(-1, 1)
        rgb_pred, rgb_true = self.output_image(x, pred), self.output_image(x, target)
        sums = {
            "l1": F.l1_loss(pred, target, reduction="sum").item() / target[0].numel(),
            "psnr": metrics.psnr(rgb_pred, rgb_true),
            "psnr_gray": metrics.psnr(gray_rgb(x[:, :1]), rgb_true),  # L alone (hints tasks paint theirs on)
            "chroma_pred": pred.norm(dim=1).mean((1, 2)) * AB_SCALE,
            "chroma_true": target.norm(dim=1).mean((1, 2)) * AB_SCALE,
            "colorful_pred": metrics.colorfulness(rgb_pred),
            "colorful_true": metrics.colorfulness(rgb_true),
            "false_color": metrics.false_color_rate(metrics.lab_ab(rgb_pred), metrics.lab_ab(rgb_true)),
        }
        return {k: float(v.sum()) if torch.is_tensor(v) else v for k, v in sums.items()}

    def val_summary(self, means):
        """Adds the PSNR gain over gray, colorfulness as a share of the truth's, and the score that
        picks the weights to keep: gain (dB) + 2 x colorfulness share (up to 1) - 20 x false color.
        A point of false color costs 0.2 dB; the full colorfulness of the truth is worth 2 dB."""
        gain = means["psnr"] - means["psnr_gray"]
        share = means["colorful_pred"] / max(means["colorful_true"], 1e-6)
        score = gain + 2.0 * min(share, 1.0) - 20.0 * means["false_color"]
        return dict(means, psnr_gain=gain, colorful_share=share, score=score)


# The training tasks: name (--task, and "task" in the weights' metadata) -> "module:Class", imported when
# asked. A task beyond colorizing lives in its own package (which imports Colorization and Loaders from
# here, so this module never imports it); adding one is a module and a line here (and its defaults in
# config.TASK_DEFAULTS, which the torch-free command line reads).
TASKS = {
    "colorize": "colorizer.training.tasks:Colorization",
    "hints": "colorizer.hints.task:Hints",
    "paired": "colorizer.paired.task:Paired",
}


def task_class(name: str) -> type:
    """The Task class registered as name."""
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}; choose one of {', '.join(TASKS)}")
    module, cls = TASKS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_task(cfg: TrainConfig) -> Task:
    return task_class(cfg.task).from_config(cfg)
