"""Jewelry sketch|photo pairs for the sketch -> photo model (issue 32, part 2), split as the classifier splits.

    python -m tools.jewelry_pairs ../shared/data/jewelry /tmp/jewelry_pairs --size 144

writes OUT/train/TYPE/NAME.jpg and OUT/val/TYPE/NAME.jpg, one make-sketches pair each (the drawing on
the left, the photo's central square on the right). The validation files are the jewelry classifier's
own (classify.data.split, same fraction and seed), so neither model has trained on the held-out pairs.
Then: `pretrain.py --task paired --data OUT/train --val-data OUT/val ...` (docs/training.md).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from tqdm.auto import tqdm

from colorizer.classify.data import jewelry_samples, split
from colorizer.images import PhotoError, open_photo
from colorizer.paired.sketches import METHODS, make_pair


def write_pairs(jewelry: Path, out: Path, size: int = 144, method: str = "canny", sigma: float = 2.5,
                val_fraction: float = 0.15, seed: int = 0) -> dict[str, int]:
    """-> pairs written per part ("train", "val"); unreadable photos are named and skipped."""
    train, val = split(jewelry_samples(jewelry), val_fraction, seed)
    written = {"train": 0, "val": 0}
    for part, samples in (("train", train), ("val", val)):
        for s in tqdm(samples, desc=part, unit="photo"):
            try:
                photo = open_photo(s.path)
            except PhotoError as err:
                print(f"skipped: {err}")
                continue
            dest = out / part / s.group / (s.path.stem + ".jpg")
            dest.parent.mkdir(parents=True, exist_ok=True)
            make_pair(photo, size, method, sigma).save(dest, quality=95, subsampling=0)
            written[part] += 1
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("jewelry", type=Path, help="the jewelry folder (one subfolder per type)")
    p.add_argument("out", type=Path, help="where train/ and val/ pairs are written")
    p.add_argument("--size", type=int, default=144, help="side of each half (default 144: 128 px crops)")
    p.add_argument("--method", default="canny", choices=METHODS, help="drawing method (default canny)")
    p.add_argument("--sigma", type=float, default=2.5, help="edge smoothing at 286 px (default 2.5)")
    args = p.parse_args(argv)
    written = write_pairs(args.jewelry, args.out, args.size, args.method, args.sigma)
    print(f"{written['train']} training and {written['val']} validation pairs in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
