"""Color hints as a training task: L plus a hint map -> ab (registered in training/tasks.py's TASKS).

It is Colorization with 4 channels in: the photos, the loss, the metrics and the score are the
colorizer's; what differs is the input (L joined to a hint map drawn from the photo's own colors),
the metadata inference needs to build that input again, and the sample grid's input (the hints
painted on the gray photo).
"""
from __future__ import annotations

import torch

from ..color import gray_rgb, lab_norm_to_rgb
from ..device import to_input
from ..training.config import TrainConfig
from ..training.tasks import Colorization
from . import CHANNELS, GAIN, simulate


class Hints(Colorization):
    """Colorization guided by color hints: L plus a hint map (hints/__init__.py: hinted a, b and a
    mask; 4 channels in) -> ab. Training draws each photo's hints from its own true colors as a user
    might give them (none often, else a geometric count of small patches); validation draws them the
    same way from a fixed seed per batch, so epochs compare. With an all-zero map it is an automatic
    colorizer: started (--init) from 1-channel weights, its widened input starts at zero
    (runs.load_start), so its output with no hints is the start's at step 0."""

    name = "hints"
    in_channels = 1 + CHANNELS

    def __init__(self, augment: str = "none", seed: int = 42):
        super().__init__("l1", augment=augment)
        self.rng = torch.Generator().manual_seed(seed)

    @classmethod
    def from_config(cls, cfg: TrainConfig) -> "Hints":
        if cfg.loss != "l1" or cfg.teachers:
            raise ValueError("--task hints trains with --loss l1 on the photos' own colors (no --teachers)")
        return cls(cfg.augment, cfg.seed)

    def meta(self) -> dict:
        return {"head": "ab", "hints": True, "in_channels": self.in_channels, "hint_gain": GAIN}

    def split(self, batch, device, train: bool = False):
        """As colorization, then the hint map from the batch's true ab joined to L."""
        L, ab = super().split(batch, device, train)
        rng = self.rng if train else torch.Generator().manual_seed(int(batch[:, :, ::7, ::7].sum()) % 2**31)
        hint_map = simulate(ab.float(), rng) * GAIN
        return to_input(torch.cat([L, hint_map.to(L.dtype)], 1), device), ab

    def input_image(self, x):
        """The gray input with the hints painted on it (their color at the photo's lightness)."""
        L, hint_map = x[:, :1], x[:, 1:].float() / GAIN
        gray = gray_rgb(L)
        hinted = lab_norm_to_rgb(L, hint_map[:, :2].clamp(-1, 1))
        mask = hint_map[:, 2:3]
        return gray * (1 - mask) + hinted * mask

    def output_image(self, x, y):
        return super().output_image(x[:, :1], y)
