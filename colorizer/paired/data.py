"""Paired data (pix2pix): image pairs -> datasets -> loaders.

Two layouts:
- one folder of A|B files, each holding the two images side by side (A left, B right), as the
  pix2pix datasets (facades, maps, edges2shoes) and `make-sketches` write them;
- two folders of same-named files (A/x.png beside B/x.jpg: matched by their path without the
  extension).
`direction` AtoB learns A -> B, BtoA the reverse. pix2pix preprocessing: both images resized to
load_size x load_size, one random size x size crop and one random mirror for both (training;
validation takes the center crop, unmirrored). Loaders yield uint8 batches (B, 6, S, S): input
then target, 3 channels each; scaling to [-1, 1] happens on the training device (tasks.py).
"""
from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..data import DataError, _seed_worker, skipped_line
from ..images import PhotoError, list_photos, open_image, readable_extensions, to_rgb

DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True, order=True)
class Pair:
    a: Path
    b: Path | None = None  # None: `a` is one A|B file


def _match(folder_a: Path, folder_b: Path) -> tuple[list[Pair], list[tuple[Path, str]]]:
    """Files of folder_a with their same-named (extension aside) file in folder_b -> (pairs, unmatched)."""
    b_files = {p.relative_to(folder_b).with_suffix(""): p for p in list_photos(folder_b)}
    pairs, unmatched = [], []
    for a in list_photos(folder_a):
        b = b_files.get(a.relative_to(folder_a).with_suffix(""))
        if b is None:
            unmatched.append((a, f"no file of that name in {folder_b}"))
        else:
            pairs.append(Pair(a, b))
    return pairs, unmatched


def _check(path: Path, side_by_side: bool) -> str | None:
    """None when the file is a usable image (wide enough to split, for an A|B file), else why not."""
    try:
        with open_image(path) as img:
            if side_by_side and img.width < 2:
                return "too narrow to hold A|B"
            img.draft("RGB", (64, 64))  # JPEG: decode at reduced size, enough to know it decodes
            img.load()
    except PhotoError as err:
        return err.args[0].split(": ", 1)[-1]
    except (OSError, SyntaxError, ValueError) as err:
        return f"unreadable ({err.__class__.__name__})"
    return None


def _problem(pair: Pair) -> tuple[Path, str] | None:
    """(the file, what is wrong with it) for a pair that cannot be used, else None."""
    for path, side_by_side in ((pair.a, pair.b is None), (pair.b, False)):
        reason = _check(path, side_by_side) if path is not None else None
        if reason:
            return path, reason
    return None


def scan_pairs(folder: str | Path, folder_b: str | Path | None = None, workers: int = 8, log=print) -> list[Pair]:
    """Usable pairs: the A|B files under `folder`, or the same-named files of `folder` and `folder_b`.
    Files skipped (unreadable, too large, no partner) are named in one summary line."""
    folder = Path(folder)
    for f in (folder, folder_b):
        if f is not None and not Path(f).is_dir():
            raise DataError(f"{f}: no such folder. Pass a folder of A|B pair files (make one from photos with "
                            f"`python -m colorizer make-sketches PHOTOS OUT`), or --data DIR_A --data-b DIR_B.")
    if folder_b is None:
        pairs, bad = [Pair(p) for p in list_photos(folder)], []
    else:
        pairs, bad = _match(folder, Path(folder_b))
    if not pairs and not bad:
        raise DataError(f"No images ({' '.join(readable_extensions())}) found under {folder}")
    total = len(pairs) + len(bad)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = list(pool.map(_problem, pairs))
    bad += [found for found in problems if found]
    good = [p for p, found in zip(pairs, problems) if found is None]
    if bad:
        log(skipped_line(bad, total, "pairs", folder))
    if not good:
        raise DataError(f"None of the files under {folder} gives a usable image pair")
    return good


class PairDataset(Dataset):
    """Pairs -> uint8 tensors (6, size, size): input then target (by `direction`), preprocessed as pix2pix."""

    def __init__(self, pairs: list[Pair], size: int, load_size: int, direction: str = "AtoB", train: bool = True):
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be AtoB or BtoA, not {direction!r}")
        if load_size < size:
            raise ValueError(f"load size {load_size} is smaller than the crop size {size}")
        self.pairs, self.size, self.load_size = list(pairs), int(size), int(load_size)
        self.direction, self.train = direction, train

    def __len__(self) -> int:
        return len(self.pairs)

    def _open(self, path: Path, width: int) -> Image.Image:
        with open_image(path) as img:
            img.draft("RGB", (width, self.load_size))  # JPEG: decode at reduced size when large
            return to_rgb(img.copy() if img.mode == "RGB" else img)

    def images(self, pair: Pair) -> tuple[Image.Image, Image.Image]:
        """(A, B) as RGB images, each at its file's own size."""
        if pair.b is not None:
            return self._open(pair.a, self.load_size), self._open(pair.b, self.load_size)
        ab = self._open(pair.a, 2 * self.load_size)
        half = ab.width // 2
        return ab.crop((0, 0, half, ab.height)), ab.crop((half, 0, 2 * half, ab.height))

    def __getitem__(self, i: int) -> torch.Tensor:
        a, b = self.images(self.pairs[i])
        if self.direction == "BtoA":
            a, b = b, a
        load, size = self.load_size, self.size
        if self.train:
            x, y, flip = random.randint(0, load - size), random.randint(0, load - size), random.random() < 0.5
        else:
            x, y, flip = (load - size) // 2, (load - size) // 2, False
        out = []
        for img in (a, b):
            img = img.resize((load, load), Image.BICUBIC).crop((x, y, x + size, y + size))
            if flip:
                img = img.transpose(Image.FLIP_LEFT_RIGHT)
            out.append(torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1))
        return torch.cat(out)


def make_pair_loaders(train_pairs: list[Pair], val_pairs: list[Pair], size: int, load_size: int, direction: str,
                      batch_size: int, workers: int, seed: int = 42, pin_memory: bool = False, rank: int = 0,
                      world: int = 1) -> tuple[DataLoader, DataLoader]:
    """Training loader (shuffled; with world > 1, this rank's share) and validation loader, as data.make_loaders."""
    if not train_pairs:
        raise DataError("No training pairs left after the validation split")
    g = torch.Generator().manual_seed(seed)
    common = dict(num_workers=workers, pin_memory=pin_memory, worker_init_fn=_seed_worker,
                  persistent_workers=workers > 0)
    train_ds = PairDataset(train_pairs, size, load_size, direction, train=True)
    sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=True, seed=seed,
                                 drop_last=True) if world > 1 else None
    train_dl = DataLoader(train_ds, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                          drop_last=len(train_pairs) >= batch_size * world, generator=g, **common)
    val_dl = DataLoader(PairDataset(val_pairs, size, load_size, direction, train=False), batch_size=batch_size,
                        shuffle=False, **common)
    return train_dl, val_dl
