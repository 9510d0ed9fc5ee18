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
                 pin_memory: bool = False, rank: int = 0, world: int = 1) -> tuple[DataLoader, DataLoader]:
    """Training loader (shuffled; with world > 1, this rank's share of each epoch) and validation loader.

    batch_size is per process; call train_dl.sampler.set_epoch(epoch) each epoch when world > 1.
    """
    if len(train_files) < 1:
        raise DataError("No training photos left after the validation split")
    g = torch.Generator().manual_seed(seed)
    common = dict(num_workers=workers, pin_memory=pin_memory, worker_init_fn=_seed_worker,
                  persistent_workers=workers > 0)
    train_ds = PhotoDataset(train_files, size, train=True, scale=1.125)
    sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=True, seed=seed,
                                 drop_last=True) if world > 1 else None
    train_dl = DataLoader(train_ds, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                          drop_last=len(train_files) >= batch_size * world, generator=g, **common)
    val_dl = DataLoader(PhotoDataset(val_files, size, train=False), batch_size=batch_size, shuffle=False,
                        **common)
    return train_dl, val_dl
