"""Paired translation at inference (pix2pix): paired weights in, image of any size out.

The weights' metadata (task "paired", written by training: task.Paired.meta) says which generator
to build: the classic U-Net with its depth and filters, or the ResNet U-Net, at the size it was
trained. An image is prepared as training saw it: RGB scaled to [-1, 1], resized so its short side
is the trained size (a sketch's lines then have the width the model learned), its aspect kept, and
padded by reflection to what the generator takes (multiples of 2**depth for the U-Net, of 32 for the
ResNet U-Net); the output is cropped back and resized to the input's own size.

`Translator` has the colorizer's three steps, `prepare`, `predict_ab` (the network call, named as
the folder pipeline calls it) and `finish`, so `pipeline.colorize_files` runs a folder through it
as it does for a Colorizer. `load_model` loads either kind of weights by their metadata: what the
page and the API use, since one upload serves whichever model they run.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..card import read_card
from ..checkpoint import PAIRED, WeightsError, load_weights, require_task
from ..device import autocast, pick_device, prepare, resolve_precision, to_input
from ..images import to_pil, to_rgb, to_tensor
from ..infer import Colorizer, resolve_weights
from ..registry import TASKS, resolve
from ..models import build_paired_generator

RESULT_SUFFIX = "_translated.png"  # 'sketch.jpg' -> 'sketch_translated.png' (CLI, page and API)
MAX_SIDE_RATIO = 4  # the long side is at most this many times the trained size (panoramas shrink further)


def result_name(name: str | Path) -> str:
    """The file name a translated image is saved under: 'sketch.jpg' -> 'sketch_translated.png'."""
    return f"{Path(name).stem}{RESULT_SUFFIX}"


def no_paired_weights_message(folder: str | Path) -> str:
    return TASKS[PAIRED].missing.format(folder=folder)


def resolve_paired_weights(weights: str | Path | None = None, weights_dir: str | Path | None = None) -> Path:
    """The paired weights to use: registry.resolve(PAIRED). WeightsError when there are none."""
    return resolve(PAIRED, weights, weights_dir)


def multiple_of(meta: dict) -> int:
    """What the generator's input height and width must be multiples of."""
    if meta.get("generator") == "unet":
        return 2 ** int(meta["depth"])
    return 32  # the ResNet U-Net: five halvings


def render_shape(h: int, w: int, size: int, multiple: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """-> ((height, width) the image is resized to, (height, width) it is padded to): the short side at
    `size` (the long side at most MAX_SIDE_RATIO x size), aspect kept; padded up to multiples of `multiple`."""
    scale = min(size / min(h, w), MAX_SIDE_RATIO * size / max(h, w))
    rh, rw = max(1, round(h * scale)), max(1, round(w * scale))
    up = lambda n: -(-n // multiple) * multiple  # noqa: E731
    return (rh, rw), (up(rh), up(rw))


@dataclass
class Translator:
    """A loaded paired generator ready to translate PIL images of any size (e.g. sketch -> photo)."""

    generator: torch.nn.Module
    meta: dict
    device: torch.device
    precision: str = "fp32"
    render_size: int = 256  # the short side images are run at (default: the size the weights were trained at)

    @property
    def backend(self) -> str:
        return "torch"

    @classmethod
    def load(cls, weights: str | Path | None = None, device: str = "auto", precision: str = "auto",
             weights_dir: str | Path | None = None, render_size: int | None = None) -> "Translator":
        """weights None: the best paired weights in weights_dir (resolve_paired_weights). WeightsError
        for colorizer weights (with the command that runs them), or weights that do not fit."""
        path = resolve_paired_weights(weights, weights_dir)
        state, meta = load_weights(path)
        require_task(path, meta, PAIRED)
        try:
            generator = build_paired_generator(meta["generator"], int(meta["size"]), meta.get("backbone", "resnet18"),
                                               n_in=meta["channels"][0], n_out=meta["channels"][1],
                                               depth=meta.get("depth"), filters=meta.get("filters", 64))
            generator.load_state_dict(state)
        except (KeyError, ValueError, RuntimeError) as err:
            raise WeightsError(f"{path}: paired weights that do not fit a {meta.get('generator')} generator "
                               f"({str(err).splitlines()[0][:200]})") from None
        dev = pick_device(device)
        return cls(prepare(generator, dev).eval(), dict(meta, path=str(path)), dev, resolve_precision(precision, dev),
                   int(render_size or meta["size"]))

    # ---- one image: prepare, predict, finish (the pipeline's steps) ------------------------
    @torch.inference_mode()
    def prepare(self, image: Image.Image, render_size: int | None = None) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """PIL image (any mode) -> ((width, height, h, w): the image's size and the part of the input
        inside the padding, the generator's input (1, 3, H, W) in [-1, 1]). Inputs of one shape batch
        together. render_size: the short side to run at (default: the trained size)."""
        w, h = image.size
        (rh, rw), (ph, pw) = render_shape(h, w, render_size or self.render_size, multiple_of(self.meta))
        rgb = image if image.mode in ("RGB", "L") else to_rgb(image)  # transparency on white, as a sketch's paper
        small = rgb.resize((rw, rh), Image.BICUBIC, reducing_gap=3.0).convert("RGB")  # no full-size copy
        x = to_tensor(small).mul_(2).sub_(1)
        if (ph, pw) != (rh, rw):
            x = _pad(x, ph - rh, pw - rw)
        return (w, h, rh, rw), x.numpy()

    @torch.inference_mode()
    def predict_ab(self, x: np.ndarray) -> np.ndarray:
        """Inputs (B, 3, H, W) in [-1, 1] -> outputs (B, 3, H, W) in [-1, 1], float32 numpy (named and
        typed as Colorizer's network call, so pipeline.colorize_files runs either)."""
        with autocast(self.device, self.precision):
            out = self.generator(to_input(torch.from_numpy(x), self.device))
        return out.float().clamp(-1, 1).cpu().numpy()

    def finish(self, shape: tuple[int, int, int, int], y: np.ndarray, saturation: float = 1.0) -> Image.Image:
        """The output ((1,) 3, H, W) -> RGB PIL image at the input's size (the padding cut off).
        saturation is the colorizer's knob: ignored here."""
        w, h, rh, rw = shape
        y = y.reshape(y.shape[-3:])
        top, left = (y.shape[-2] - rh) // 2, (y.shape[-1] - rw) // 2
        out = to_pil(torch.from_numpy(y[:, top:top + rh, left:left + rw]).add(1).div(2))
        return out if out.size == (w, h) else out.resize((w, h), Image.BICUBIC)

    def translate(self, image: Image.Image) -> Image.Image:
        """PIL image -> the model's translation, RGB, same size."""
        shape, x = self.prepare(image)
        return self.finish(shape, self.predict_ab(x))


def _pad(x: torch.Tensor, dh: int, dw: int) -> torch.Tensor:
    """Pad (1, C, h, w) by dh rows and dw columns, split evenly on both sides, by reflection (replication
    where the image is too small to reflect)."""
    pad = (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)
    mode = "reflect" if dh < x.shape[-2] and dw < x.shape[-1] else "replicate"
    return F.pad(x, pad, mode=mode)


def is_paired(model) -> bool:
    return isinstance(model, Translator)


def load_model(weights: str | Path | None = None, device: str = "auto", weights_dir: str | Path | None = None,
               backend: str = "torch") -> Colorizer | Translator:
    """Either kind of model, as the weights' metadata says (weights None: infer.resolve_weights, the
    default the CLI would colorize with). Colorizers take backend."""
    path = resolve_weights(weights, weights_dir)
    if read_card(path).task == PAIRED:
        return Translator.load(path, device=device, weights_dir=weights_dir)
    return Colorizer.load(path, device=device, weights_dir=weights_dir, backend=backend)
