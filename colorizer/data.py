"""Photo folders -> datasets -> loaders: scanning, skipping bad files, splits, augmentation.

Loaders yield uint8 RGB batches (B, 3, S, S); conversion to Lab happens on the training
device (color.py), where it is cheap and batched.
"""
from __future__ import annotations

import random
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .images import check_training_photo, list_photos, readable_extensions, to_rgb


class DataError(ValueError):
    """The photo folder cannot give a training set; the message says why and what to do."""


def coco_sample(timeout: float = 5.0) -> Path:
    """fastai's COCO sample (about 20k photos): downloaded once into ~/.fastai/data.

    Offline this fails at once with a message that says to pass a folder instead.
    """
    from fastai.data.external import URLs, untar_data

    host = "s3.amazonaws.com"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        raise DataError(f"--data coco needs the internet to download fastai's COCO sample ({host} cannot "
                        f"be reached). Pass a folder of color photos instead: --data PHOTOS_DIR") from None
    return Path(untar_data(URLs.COCO_SAMPLE)) / "train_sample"


def resolve_data(data: str) -> Path:
    if data == "coco":
        return coco_sample()
    path = Path(data)
    if not path.is_dir():
        raise DataError(f"--data {data}: no such folder. Pass a folder of color photos (searched "
                        f"recursively for {' '.join(readable_extensions())}), or 'coco'.")
    return path


def skipped_line(bad: list[tuple[Path, str]], total: int, what: str, folder) -> str:
    """The one summary line for files skipped while scanning a folder: the first ten named with why."""
    shown = ", ".join(f"{f.name} ({r})" for f, r in bad[:10])
    more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
    return f"Skipped {len(bad)} of {total} {what} under {folder}: {shown}{more}"


def scan_photos(folder: str | Path, workers: int = 8, log=print) -> list[Path]:
    """Usable color photos under folder; skipped ones are reported in one summary line."""
    files = list_photos(folder)
    if not files:
        raise DataError(f"No photos ({' '.join(readable_extensions())}) found under {folder}")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        reasons = list(pool.map(check_training_photo, files))
    good = [f for f, r in zip(files, reasons) if r is None]
    bad = [(f, r) for f, r in zip(files, reasons) if r is not None]
    if bad:
        log(skipped_line(bad, len(files), "files", folder))
    if not good:
        raise DataError(f"None of the {len(files)} files under {folder} is a readable color photo")
    return good


def split_files(files: list[Path], val_fraction: float, seed: int = 42) -> tuple[list[Path], list[Path]]:
    """Fixed-seed split: the same folder always gives the same validation photos."""
    files = sorted(files)
    order = list(range(len(files)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(files) * val_fraction)) if len(files) > 1 else 0
    val = sorted(files[i] for i in order[:n_val])
    train = sorted(files[i] for i in order[n_val:])
    return train, val


class PhotoDataset(Dataset):
    """Photos resized (short side = size * scale), cropped to size x size, optionally flipped.

    Training: random crop and horizontal flip. Validation: center crop, no flip.
    """

    def __init__(self, files: list[Path], size: int, train: bool = True, scale: float = 1.0):
        self.files, self.size, self.train, self.scale = list(files), int(size), train, scale

    def __len__(self) -> int:
        return len(self.files)

    def load(self, path: Path) -> Image.Image:
        """The photo as RGB; PhotoTooLarge (naming it) above the pixel cap, checked before decoding."""
        from .images import open_image

        with open_image(path) as img:
            target = round(self.size * self.scale)
            img.draft("RGB", (target, target))  # JPEG: decode at reduced size when large
            return to_rgb(img.copy() if img.mode == "RGB" else img)

    def __getitem__(self, i: int) -> torch.Tensor:
        img = self.load(self.files[i])
        w, h = img.size
        short = round(self.size * self.scale)
        k = short / min(w, h)
        nw, nh = max(self.size, round(w * k)), max(self.size, round(h * k))
        img = img.resize((nw, nh), Image.BICUBIC, reducing_gap=2.0)
        if self.train:
            x, y = random.randint(0, nw - self.size), random.randint(0, nh - self.size)
        else:
            x, y = (nw - self.size) // 2, (nh - self.size) // 2
        img = img.crop((x, y, x + self.size, y + self.size))
        if self.train and random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def make_loaders(train_files, val_files, size: int, batch_size: int, workers: int, seed: int = 42,
                 pin_memory: bool = False, rank: int = 0, world: int = 1,
                 parts: tuple[list[int], list[float]] | None = None) -> tuple[DataLoader, DataLoader]:
    """Training loader (shuffled; with world > 1, this rank's share of each epoch) and validation loader.

    parts: (sizes, shares) when train_files are several folders' files one after the other: each
    epoch then draws them by share (ShareSampler). batch_size is per process; call
    train_dl.sampler.set_epoch(epoch) each epoch when world > 1 or with parts.
    """
    if len(train_files) < 1:
        raise DataError("No training photos left after the validation split")
    g = torch.Generator().manual_seed(seed)
    common = dict(num_workers=workers, pin_memory=pin_memory, worker_init_fn=_seed_worker,
                  persistent_workers=workers > 0)
    train_ds = PhotoDataset(train_files, size, train=True, scale=1.125)
    if parts is not None and len(parts[0]) > 1:
        sampler = ShareSampler(parts[0], parts[1], seed, rank, world)
    else:
        sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=True, seed=seed,
                                     drop_last=True) if world > 1 else None
    train_dl = DataLoader(train_ds, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                          drop_last=len(train_files) >= batch_size * world, generator=g, **common)
    return train_dl, val_loader(val_files, size, batch_size, workers, pin_memory)


def val_loader(files, size: int, batch_size: int, workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """Validation photos in order, center-cropped, not flipped."""
    return DataLoader(PhotoDataset(files, size, train=False), batch_size=batch_size, shuffle=False,
                      num_workers=workers, pin_memory=pin_memory, worker_init_fn=_seed_worker,
                      persistent_workers=workers > 0)


# ---- several folders in chosen shares --------------------------------------------------------
def parse_part(spec: str) -> tuple[str, float | None]:
    """'DIR' or 'DIR:SHARE' -> (DIR, SHARE or None). SHARE is a positive number; a colon followed by
    anything else is part of the folder's name."""
    folder, sep, share = str(spec).rpartition(":")
    if sep and folder:
        try:
            value = float(share)
        except ValueError:
            return str(spec), None
        if not value > 0:
            raise DataError(f"--data {spec}: the share after ':' must be a positive number, not {share}")
        return folder, value
    return str(spec), None


def part_shares(sizes: list[int], shares: list[float | None]) -> list[float]:
    """Each part's share of an epoch's draws, summing to 1. Parts without a share split what the
    named shares leave in proportion to their photo counts (all unnamed: plain proportion)."""
    named = sum(s for s in shares if s is not None)
    free = [n for n, s in zip(sizes, shares) if s is None]
    if named > 1.0 + 1e-9 and free:
        raise DataError(f"--data shares add up to {named:g}, leaving nothing for the parts without one")
    if not free:  # all named: relative weights
        return [s / named for s in shares]
    rest = max(1.0 - named, 0.0) if named else 1.0
    return [s if s is not None else rest * n / sum(free) for n, s in zip(sizes, shares)]


class ShareSampler(torch.utils.data.Sampler):
    """Indices into the parts' concatenated files, each part drawn by its share (with replacement
    within a part, so a small part given a large share repeats). One epoch is `num_samples` draws,
    the same as one pass over every file; the draw depends only on (seed, epoch), so every rank of
    a DDP run sees the same order and takes its own slice, and --resume continues where it was."""

    def __init__(self, sizes: list[int], shares: list[float], seed: int = 42, rank: int = 0, world: int = 1):
        self.sizes, self.shares, self.seed, self.rank, self.world = list(sizes), list(shares), seed, rank, world
        self.num_samples = sum(sizes)
        self.epoch = 0
        weights = [s / n for n, s in zip(sizes, shares) for _ in range(n)]
        self.weights = torch.tensor(weights, dtype=torch.double)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def draws(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed + 1000003 * self.epoch)
        return torch.multinomial(self.weights, self.num_samples, replacement=True, generator=g)

    def __iter__(self):
        per_rank = self.num_samples // self.world
        return iter(self.draws()[self.rank * per_rank:(self.rank + 1) * per_rank].tolist())

    def __len__(self) -> int:
        return self.num_samples // self.world

    def counts(self) -> list[int]:
        """How many of this epoch's draws each part gives (all ranks together)."""
        bounds = np.cumsum([0] + self.sizes)
        picked = self.draws().numpy()
        return [int(((picked >= a) & (picked < b)).sum()) for a, b in zip(bounds[:-1], bounds[1:])]
