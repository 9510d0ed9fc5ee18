"""The classifier's data: folders -> labelled samples -> a seeded split per class -> batches.

Jewelry comes from one folder per type (classify.JEWELRY_FOLDERS); "not jewelry" is a seeded sample of
photo folders (objects, people, scenes), drawn evenly over them. Every sample is a photo file; a dataset
shows it either as the photo or as its edge drawing (sketches.sketch), made on the fly: in training the
choice, the drawing's method, its smoothing and its line width are random (augmentation); in validation
each file is seen once as a photo and once as a drawing, the same drawing every time.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..images import list_photos, open_photo
from ..paired.sketches import METHODS, sketch
from . import CLASSES, JEWELRY_FOLDERS, NOT_JEWELRY

# ImageNet classes that are jewelry or nearly (necklace, chain, digital watch, stopwatch, bolo tie,
# hair slide): never "not jewelry".
JEWELRY_LIKE_IMAGENET = ("n03814906", "n02999410", "n03197337", "n04328186", "n02865351", "n03476684")
SIGMAS = (1.5, 3.5)       # training drawings: Canny / DoG smoothing drawn from this range (at 286 px)
LINE_SCALES = (1, 2)      # ... drawn at the input size or twice it and reduced: thin or thicker lines


class DataError(ValueError):
    """The folders cannot give a training set; the message says why."""


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int     # index in CLASSES
    group: str     # the folder it came from: the split is made per group (each jewelry type, each negative folder)


def jewelry_samples(root: str | Path) -> list[Sample]:
    """Every photo in root/FOLDER for the folders of JEWELRY_FOLDERS that exist (at least one must)."""
    root = Path(root)
    found = [name for name in JEWELRY_FOLDERS if (root / name).is_dir()]
    if not found:
        raise DataError(f"{root}: none of the folders {', '.join(JEWELRY_FOLDERS)} is there")
    return [Sample(p, CLASSES.index(JEWELRY_FOLDERS[name]), name) for name in found for p in list_photos(root / name)]


def negative_samples(folders: list[str | Path], total: int, seed: int = 0) -> list[Sample]:
    """Up to `total` photos, as even a share of each folder as its size allows (seeded), labelled "not
    jewelry"; ImageNet files of jewelry-like classes are left out."""
    pools = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError(f"{folder}: no such folder of negative photos")
        files = [p for p in list_photos(folder) if not p.name.startswith(JEWELRY_LIKE_IMAGENET)]
        random.Random(f"{seed}:{folder.name}").shuffle(files)
        pools.append((folder.name, files))
    # even shares; what a small folder cannot give goes to the others
    shares, left = {name: 0 for name, _ in pools}, total
    while left > 0:
        open_ = [(name, files) for name, files in pools if shares[name] < len(files)]
        if not open_:
            break
        each = max(1, left // len(open_))
        for name, files in open_:
            take = min(each, len(files) - shares[name], left)
            shares[name] += take
            left -= take
    return [Sample(p, NOT_JEWELRY, name) for name, files in pools for p in sorted(files[:shares[name]])]


def split(samples: list[Sample], val_fraction: float = 0.15, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """(train, val): val_fraction of each group (at least one file where a group has two), chosen by a
    seeded shuffle of the group's sorted files: the same files for the same folders and seed."""
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.group, []).append(s)
    train, val = [], []
    for name in sorted(groups):
        files = sorted(groups[name], key=lambda s: str(s.path))
        random.Random(f"{seed}:{name}").shuffle(files)
        n_val = max(1, round(val_fraction * len(files))) if len(files) > 1 else 0
        val += files[:n_val]
        train += files[n_val:]
    return train, val


# ---- one image -> the network's input ------------------------------------------------------

def square(image: Image.Image, size: int) -> Image.Image:
    """The central square of an image, resized to size x size, RGB (what the network sees)."""
    return ImageOps.fit(image.convert("RGB"), (size, size), Image.BICUBIC)


def drawing(image: Image.Image, method: str = "canny", sigma: float = 2.5, line_scale: int = 1) -> Image.Image:
    """image (RGB, square) -> its sketch, RGB, same size; line_scale 2 draws at twice the size and reduces
    it, for lines about twice as thick."""
    size = image.size
    if line_scale != 1:
        image = image.resize((size[0] * line_scale, size[1] * line_scale), Image.BICUBIC)
    lines = sketch(image, method, sigma)
    if lines.size != size:
        lines = lines.resize(size, Image.BOX)
    return lines.convert("RGB")


def to_tensor(image: Image.Image):
    """RGB PIL image -> float (3, H, W) in [-1, 1], the scale EfficientNet-Lite's ImageNet weights saw."""
    import torch

    arr = np.asarray(image.convert("RGB"), dtype=np.float32)
    return torch.from_numpy(arr).permute(2, 0, 1).div(127.5).sub(1.0)


def random_crop(image: Image.Image, size: int, rng: random.Random, scale=(0.6, 1.0)) -> Image.Image:
    """A random square of scale (share of the short side's square) of the image, resized, maybe flipped."""
    w, h = image.size
    side = min(w, h) * rng.uniform(*scale) ** 0.5
    aspect = rng.uniform(0.8, 1.25)
    cw, ch = min(w, side * aspect ** 0.5), min(h, side / aspect ** 0.5)
    x, y = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
    out = image.convert("RGB").resize((size, size), Image.BICUBIC, box=(x, y, x + cw, y + ch))
    return out.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else out


class ClassifyDataset:
    """Samples as (input (3, S, S) in [-1, 1], label, is_sketch).

    train: each item is a random crop, shown as the photo or (with p_sketch) as a random drawing of it;
    a photo is sometimes turned gray (a black-and-white photo of jewelry is still jewelry).
    Validation (train=False): items 0..n-1 are the photos (central square), n..2n-1 their drawings, each
    drawn the same way every time (method and line width alternate over the files)."""

    def __init__(self, samples: list[Sample], size: int = 128, train: bool = True, p_sketch: float = 0.5,
                 seed: int = 0):
        if not samples:
            raise DataError("no samples")
        self.samples, self.size, self.train, self.p_sketch, self.seed = samples, size, train, p_sketch, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples) * (1 if self.train else 2)

    def __getitem__(self, i: int):
        s = self.samples[i % len(self.samples)]
        image = open_photo(s.path)
        if self.train:
            rng = random.Random(f"{self.seed}:{self.epoch}:{i}")
            image = random_crop(image, self.size, rng)
            as_sketch = rng.random() < self.p_sketch
            if as_sketch:
                image = drawing(image, rng.choice(METHODS), rng.uniform(*SIGMAS), rng.choice(LINE_SCALES))
            elif rng.random() < 0.1:
                image = image.convert("L").convert("RGB")
        else:
            image = square(image, self.size)
            as_sketch = i >= len(self.samples)
            if as_sketch:
                k = i % len(self.samples)
                image = drawing(image, METHODS[k % 2], 2.5, LINE_SCALES[(k // 2) % 2])
        return to_tensor(image), s.label, as_sketch


def counts(samples: list[Sample]) -> dict[str, int]:
    """Samples per class name, in CLASSES order (classes with none left out)."""
    out = {}
    for name in CLASSES:
        n = sum(1 for s in samples if CLASSES[s.label] == name)
        if n:
            out[name] = n
    return out
