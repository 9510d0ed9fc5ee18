"""Inference: weights in, photo of any size out.

Chroma (ab) is predicted on a copy resized to `render_size` (the short side) and laid,
upsampled, onto the photo's own full-resolution L channel: the output has the input's
size and sharpness. Color input is turned gray first.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from .checkpoint import WeightsError, find_weights, load_weights
from .color import lab_norm_to_rgb, rgb_to_lab_norm
from .device import autocast, pick_device, prepare, resolve_precision, to_input
from .images import to_pil, to_tensor
from .limits import DEFAULT_RENDER_SIZE, MAX_RENDER_SIZE, MIN_RENDER_SIZE
from .models import build_generator

WEIGHTS_ENV = "COLORIZER_WEIGHTS"  # one weights file, used as is
WEIGHTS_DIR_ENV = "COLORIZER_WEIGHTS_DIR"  # the folder searched for *.pt (default: weights)


def no_weights_message(folder: str | Path) -> str:
    return (f"No colorizer weights found in {folder}/. Train them with `python pretrain.py` "
            f"(stage 1) and `python train_gan.py` (stage 2), or pass --weights PATH.")


def weights_folder(weights_dir: str | Path | None = None) -> Path:
    """The folder weights are looked for in: weights_dir, else $COLORIZER_WEIGHTS_DIR, else weights/."""
    return Path(weights_dir or os.environ.get(WEIGHTS_DIR_ENV) or "weights")


def _existing(path: str | Path, why: str = "") -> Path:
    if not Path(path).is_file():
        raise WeightsError(f"{path}: no such weights file{why}")
    return Path(path)


def resolve_weights(weights: str | Path | None = None, weights_dir: str | Path | None = None,
                    ranked: list[Path] | None = None) -> Path:
    """The weights file to use, the same rule for the CLI, the page and the API:

    1. weights, when given (--weights, or an argument);
    2. else $COLORIZER_WEIGHTS, a file chosen by hand;
    3. else the best file (checkpoint.find_weights) in weights_folder(weights_dir).
    WeightsError when the file chosen does not exist, or the folder holds no weights (the message
    says what to run).

    ranked: that folder's files already ranked (the page has read them), to skip reading them again.
    """
    if weights:
        return _existing(weights)
    if os.environ.get(WEIGHTS_ENV):
        return _existing(os.environ[WEIGHTS_ENV], f" (set by {WEIGHTS_ENV})")
    folder = weights_folder(weights_dir)
    found = find_weights(folder) if ranked is None else ranked
    if not found:
        raise WeightsError(no_weights_message(folder))
    return found[0]


def default_render_size(meta: dict | None = None) -> int:
    """The size the weights were trained at (what they do best at) when within the render range,
    else DEFAULT_RENDER_SIZE."""
    trained = (meta or {}).get("size")
    ok = isinstance(trained, int) and MIN_RENDER_SIZE <= trained <= MAX_RENDER_SIZE
    return trained if ok else DEFAULT_RENDER_SIZE


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
             render_size: int | None = None, weights_dir: str | Path | None = None) -> "Colorizer":
        """weights None: resolve_weights (then $COLORIZER_WEIGHTS, then the best in weights_dir).
        render_size None: default_render_size (the size the weights were trained at)."""
        path = resolve_weights(weights, weights_dir)
        state, meta = load_weights(path)
        generator = build_generator(meta.get("backbone", "resnet18"), "none", meta.get("size", 256))
        try:
            generator.load_state_dict(state)
        except RuntimeError as err:
            raise WeightsError(f"{path}: weights do not fit a {meta.get('backbone')} generator ({err})") from None
        dev = pick_device(device)
        generator = prepare(generator, dev).eval()
        meta = dict(meta, path=str(path))
        render_size = render_size or default_render_size(meta)
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
        L_full, _ = rgb_to_lab_norm(to_tensor(image))  # color input: only its lightness is used
        h, w = L_full.shape[-2:]
        rh, rw = render_shape(h, w, render_size or self.render_size)
        L_small = F.interpolate(L_full, size=(rh, rw), mode="bilinear", align_corners=False, antialias=True)
        ab = self.predict_ab(L_small)
        ab = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False) * saturation
        return to_pil(lab_norm_to_rgb(L_full, ab.clamp(-1.2, 1.2)))


def gray_baseline(image: Image.Image) -> Image.Image:
    """The photo with its color removed (ab = 0): the baseline every colorizer must beat."""
    L, ab = rgb_to_lab_norm(to_tensor(image))
    return to_pil(lab_norm_to_rgb(L, torch.zeros_like(ab)))
