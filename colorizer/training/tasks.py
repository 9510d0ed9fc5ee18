"""What is learned: the seam between the training loop and a task.

A task says what differs between image-to-image problems, and nothing else:
- which photos it reads and how a loader batch becomes (input, target) tensors on the device,
- the generator's input and output channels (the discriminator sees both, concatenated),
- the reconstruction loss (the GAN loss is the same for every task, see stages.py),
- how an input and a prediction become RGB images (sample grids), and its validation metrics.

Colorization is one task (L -> ab). Another (paired translation, color hints) is a new class
with the same methods, registered in TASKS; the loop and the stages do not change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ..color import AB_SCALE, gray_rgb, lab_norm_to_rgb, rgb_to_lab_norm
from ..data import make_loaders, resolve_data, scan_photos, split_files
from ..device import to_input
from .config import TrainConfig


@dataclass
class Loaders:
    train: DataLoader
    val: DataLoader
    source: str      # where the photos came from (recorded in the weights' metadata)
    n_train: int
    n_val: int


class Task(Protocol):
    name: str
    in_channels: int
    out_channels: int

    def loaders(self, cfg: TrainConfig, workers: int, pin_memory: bool, rank: int, world: int,
                log) -> Loaders: ...
    def split(self, batch, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]: ...
    def reconstruction_loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...
    def input_image(self, x: torch.Tensor) -> torch.Tensor: ...
    def output_image(self, x: torch.Tensor, pred: torch.Tensor) -> torch.Tensor: ...
    def val_metrics(self, x: torch.Tensor, pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]: ...


class Colorization:
    """L (1 channel) -> ab (2 channels), both normalised to about [-1, 1] (color.py)."""

    name = "colorize"
    in_channels = 1
    out_channels = 2

    def loaders(self, cfg, workers, pin_memory, rank, world, log) -> Loaders:
        folder = resolve_data(cfg.data)
        files = scan_photos(folder, log=log)
        if cfg.val_data:
            train_files, val_files = files, scan_photos(resolve_data(cfg.val_data), log=log)
        else:
            train_files, val_files = split_files(files, cfg.val_fraction, cfg.seed)
        train_dl, val_dl = make_loaders(train_files, val_files, cfg.size, cfg.batch_size, workers, cfg.seed,
                                        pin_memory=pin_memory, rank=rank, world=world)
        return Loaders(train_dl, val_dl, str(folder), len(train_files), len(val_files))

    def split(self, batch, device):
        """uint8 RGB batch (B, 3, S, S) -> (L, ab) on the device, converted there (batched, cheap)."""
        rgb = batch.to(device, non_blocking=True).float().div_(255.0)
        L, ab = rgb_to_lab_norm(rgb)
        return to_input(L, device), to_input(ab, device)

    def reconstruction_loss(self, pred, target):
        return F.l1_loss(pred.float(), target)

    def input_image(self, x):
        return gray_rgb(x)

    def output_image(self, x, pred):
        return lab_norm_to_rgb(x, pred.float().clamp(-1, 1))

    def val_metrics(self, x, pred, target):
        """Sums over the batch (the loop divides by the number of photos): L1 on normalised ab,
        PSNR on RGB, mean chroma (CIELAB units) of the prediction and of the truth."""
        pred = pred.float().clamp(-1, 1)
        mse = ((self.output_image(x, pred) - self.output_image(x, target)) ** 2).flatten(1).mean(1).clamp_min(1e-10)
        return {
            "l1": F.l1_loss(pred, target, reduction="sum").item() / target[0].numel(),
            "psnr": (10 * torch.log10(1.0 / mse)).sum().item(),
            "chroma_pred": (pred.norm(dim=1).mean((1, 2)) * AB_SCALE).sum().item(),
            "chroma_true": (target.norm(dim=1).mean((1, 2)) * AB_SCALE).sum().item(),
        }


TASKS = {"colorize": Colorization}


def make_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]()
