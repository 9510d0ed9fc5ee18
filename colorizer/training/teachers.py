"""Distillation: the colors of other weights as the training target (`pretrain.py --teachers`).

The mean of several colorizers' outputs scores above each of them on val/ (docs/quality.md, "An
ensemble, and one network taught by it"): their mistakes differ, so averaging cancels some. Running
four networks per photo is four times the work, so `--teachers` trains one generator towards that
mean instead of towards the photo's own colors. The target is then a function of the gray input
alone, so L1 has nothing to average and no sepia to learn; `saturation` scales it (the mean of
several models is a little duller than each).

Teachers are any colorizer weights: stage 2 at its full strength (as trained), classes heads decoded
at their own temperature. They run without gradients, in the precision Colorizer.load picks.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..color_classes import decode
from ..device import autocast, to_input


def photos_seen(paths: Sequence[str]) -> int:
    """The most photos any of the teachers was trained on (0 for none): a student counts them as its
    start's, so that checkpoint.ranked_weights ranks it with the weights that taught it."""
    from ..checkpoint import read_meta

    return max((int(read_meta(p).get("images_seen", 0)) for p in paths), default=0)


class Teachers:
    """Weights files -> a callable: normalised L (B, 1, h, w) on a device -> their mean normalised ab
    times saturation, clamped to [-1, 1]."""

    def __init__(self, paths: Sequence[str], device: torch.device, saturation: float = 1.0):
        from ..infer import Colorizer  # inference's loader: metadata, heads and errors naming the file

        if not paths:
            raise ValueError("distillation needs at least one teacher weights file")
        self.paths, self.saturation = [str(p) for p in paths], float(saturation)
        self.models = [Colorizer.load(p, device=str(device), color_strength=1.0, backend="torch") for p in self.paths]

    @torch.no_grad()
    def __call__(self, L: torch.Tensor) -> torch.Tensor:
        total = None
        for model in self.models:
            net = model.net
            with autocast(net.torch_device, net.precision):
                out = net.generator(to_input(L, net.torch_device)).float()
            if model.centers is not None:  # a classes head: its annealed mean, normalised
                out = decode(out, model.centers.to(out.device), model.temperature)
            total = out.clamp(-1, 1) if total is None else total + out.clamp(-1, 1)
        return (total / len(self.models) * self.saturation).clamp(-1, 1).to(L.device)
