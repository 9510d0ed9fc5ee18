"""Inference: weights in, photo of any size out.

Chroma (ab) is predicted on a copy resized to `render_size` (the short side) and laid,
upsampled, onto the photo's own full-resolution L channel: the output has the input's
size and sharpness. Color input is turned gray first.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .checkpoint import WeightsError, find_weights, load_weights
from .color import lab_norm_to_rgb, rgb_to_lab_norm
from .device import autocast, pick_device, prepare, resolve_precision, to_input
from .models import build_generator


def no_weights_message(folder: str | Path) -> str:
    return (f"No colorizer weights found in {folder}/. Train them with `python pretrain.py` "
            f"(stage 1) and `python train_gan.py` (stage 2), or pass --weights PATH.")


def default_weights(folder: str | Path = "weights") -> Path:
    """The best weights in folder (see checkpoint.find_weights), or a WeightsError saying what to run."""
    found = find_weights(folder)
    if not found:
        raise WeightsError(no_weights_message(folder))
    return found[0]


def render_shape(h: int, w: int, render_size: int, max_ratio: float = 3.0) -> tuple[int, int]:
    """Short side = render_size, aspect kept (long side capped at max_ratio x), both multiples of 32."""
    short, long_ = min(h, w), max(h, w)
    ratio = min(long_ / short, max_ratio)
    s = max(32, round(render_size / 32) * 32)
    l = max(32, round(s * ratio / 32) * 32)
    return (s, l) if h <= w else (l, s)


@dataclass
class Colorizer:
    """A loaded generator ready to colorize PIL images of any size."""

    generator: torch.nn.Module
    meta: dict
    device: torch.device
    precision: str = "fp32"
    render_size: int = 256

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto", precision: str = "auto",
             render_size: int | None = None, weights_dir: str | Path = "weights") -> "Colorizer":
        """render_size None: the size the weights were trained at (they do best there)."""
        path = Path(weights) if weights else default_weights(weights_dir)
        state, meta = load_weights(path)
        generator = build_generator(meta.get("backbone", "resnet18"), "none", meta.get("size", 256))
        try:
            generator.load_state_dict(state)
        except RuntimeError as err:
            raise WeightsError(f"{path}: weights do not fit a {meta.get('backbone')} generator ({err})") from None
        dev = pick_device(device)
        generator = prepare(generator, dev).eval()
        meta = dict(meta, path=str(path))
        render_size = render_size or int(meta.get("size", 256))
        return cls(generator, meta, dev, resolve_precision(precision, dev), render_size)

    @torch.inference_mode()
    def predict_ab(self, L: torch.Tensor) -> torch.Tensor:
        """Normalised L (B, 1, h, w) at render size -> ab (B, 2, h, w), float32 on CPU."""
        with autocast(self.device, self.precision):
            ab = self.generator(to_input(L, self.device))
        return ab.float().clamp(-1, 1).cpu()

    @torch.inference_mode()
    def colorize(self, image: Image.Image, render_size: int | None = None, saturation: float = 1.0) -> Image.Image:
        """RGB or gray PIL image -> colorized RGB PIL image of the same size."""
        rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255.0
        L_full, _ = rgb_to_lab_norm(rgb)  # color input: only its lightness is used
        h, w = L_full.shape[-2:]
        rh, rw = render_shape(h, w, render_size or self.render_size)
        L_small = F.interpolate(L_full, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
        ab = self.predict_ab(L_small)
        ab = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False) * saturation
        out = lab_norm_to_rgb(L_full, ab.clamp(-1.2, 1.2))
        arr = (out[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr)


def gray_baseline(image: Image.Image) -> Image.Image:
    """The photo with its color removed (ab = 0): the baseline every colorizer must beat."""
    rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255.0
    L, ab = rgb_to_lab_norm(rgb)
    out = lab_norm_to_rgb(L, torch.zeros_like(ab))
    return Image.fromarray((out[0].permute(1, 2, 0).numpy() * 255.0 + 0.5).clip(0, 255).astype(np.uint8))
