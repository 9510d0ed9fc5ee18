"""Paired translation as a training task: RGB A -> RGB B (registered in training/tasks.py's TASKS).

What differs from colorizing: the data (A|B pairs, data.py), the generator (the classic pix2pix
U-Net or the ResNet U-Net, 3 channels in and out, tanh), [-1, 1] RGB on both sides, and the score
(PSNR against B). Its metadata is what translate.Translator needs to rebuild the generator.
"""
from __future__ import annotations

import torch.nn.functional as F

from .. import metrics
from ..data import DataError, split_files
from ..device import to_input
from ..models import build_paired_generator, unet_depth
from ..training.config import TrainConfig
from ..training.tasks import Loaders
from .data import make_pair_loaders, scan_pairs


class Paired:
    """Paired translation (pix2pix): RGB image A -> RGB image B (sketch -> photo, map -> satellite,
    labels -> facade), both scaled to [-1, 1]; the generator ends in tanh. Pairs come as A|B files or
    two folders (data.py); `direction` BtoA swaps the sides. The weights' metadata says the task,
    direction, generator kind (and the U-Net's depth) and size, which is what inference needs."""

    name = "paired"
    in_channels = out_channels = 3

    def __init__(self, generator: str = "unet", direction: str = "AtoB", size: int = 256, filters: int = 64):
        self.generator, self.direction, self.size, self.filters = generator, direction, size, filters
        self.depth = unet_depth(size) if generator == "unet" else None

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> "Paired":
        return cls(cfg.generator, cfg.direction, cfg.size, cfg.filters)

    def meta(self) -> dict:
        meta = {"generator": self.generator, "direction": self.direction, "channels": [self.in_channels,
                self.out_channels], "range": [-1, 1]}
        return dict(meta, depth=self.depth, filters=self.filters) if self.depth else meta

    def build_generator(self, backbone, backbone_weights, size):
        return build_paired_generator(self.generator, size, backbone, backbone_weights, self.in_channels,
                                      self.out_channels, self.depth, self.filters)

    def loaders(self, cfg, workers, pin_memory, rank, world, log) -> Loaders:
        if not cfg.data:
            raise DataError("--task paired needs --data: a folder of A|B pair files (make one from photos with "
                            "`python -m colorizer make-sketches PHOTOS OUT`), or --data DIR_A --data-b DIR_B")
        pairs = scan_pairs(cfg.data, cfg.data_b, log=log)
        if cfg.val_data:
            train_pairs, val_pairs = pairs, scan_pairs(cfg.val_data, log=log)
        else:
            train_pairs, val_pairs = split_files(pairs, cfg.val_fraction, cfg.seed)
        train_dl, val_dl = make_pair_loaders(train_pairs, val_pairs, cfg.size, cfg.load_size, self.direction,
                                             cfg.batch_size, workers, cfg.seed, pin_memory=pin_memory, rank=rank,
                                             world=world)
        source = f"{cfg.data} + {cfg.data_b}" if cfg.data_b else str(cfg.data)
        log(f"paired: {self.direction}, {self.generator} generator"
            + (f" ({self.depth} downsamplings)" if self.depth else "") + f", load {cfg.load_size} -> crop {cfg.size}")
        return Loaders(train_dl, val_dl, source, len(train_pairs), len(val_pairs))

    def split(self, batch, device, train: bool = False):
        """uint8 (B, 6, S, S), input then target -> both in [-1, 1] on the device."""
        x = batch.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)
        return to_input(x[:, :3], device), to_input(x[:, 3:], device)

    def decode(self, pred):
        return pred

    def reconstruction_loss(self, pred, target):
        return F.l1_loss(pred.float(), target)

    def input_image(self, x):
        return x.float().add(1).div(2).clamp(0, 1)

    def output_image(self, x, y):
        return y.float().add(1).div(2).clamp(0, 1)

    def val_metrics(self, x, pred, target):
        """Sums over the batch: L1 in [-1, 1] units, and PSNR and SSIM of the output against the target."""
        rgb_pred, rgb_true = self.output_image(x, pred), self.output_image(x, target)
        return {"l1": F.l1_loss(pred.float(), target, reduction="sum").item() / target[0].numel(),
                "psnr": float(metrics.psnr(rgb_pred, rgb_true).sum()),
                "ssim": float(metrics.ssim(rgb_pred, rgb_true).sum())}

    def val_summary(self, means):
        """The score that picks weights with --keep best: PSNR against the target (dB). It favours
        safe, blurry outputs, which is why paired stage 2 keeps the last epoch by default."""
        return dict(means, score=means["psnr"])
