"""Shrink a photo folder into a compact copy for moving it to a training machine.

Keeps the folder structure; short side resized to --short (never enlarged), JPEG --quality.
Run from the repository root, as a module (so that `colorizer` is found):
    python -m tools.make_pack ../shared/data/train .pack/train --short 128 --quality 70
"""
import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

try:
    from colorizer.images import PhotoError, list_photos, open_photo
except ModuleNotFoundError as err:  # run as a file: the repository root is not on sys.path
    if err.name != "colorizer":
        raise
    raise SystemExit("Run it from the repository root as a module: python -m tools.make_pack ...") from None


def shrink(job):
    src, dst, short, quality = job
    try:
        im = open_photo(src)
    except PhotoError as err:
        return str(err)
    w, h = im.size
    k = short / min(w, h)
    if k < 1:
        im = im.resize((round(w * k), round(h * k)), Image.BICUBIC, reducing_gap=3.0)
    dst.parent.mkdir(parents=True, exist_ok=True)
    im.save(dst, "JPEG", quality=quality)
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--short", type=int, default=128)
    p.add_argument("--quality", type=int, default=70)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    src, dst = Path(a.src), Path(a.dst)
    jobs = [(f, (dst / f.relative_to(src)).with_suffix(".jpg"), a.short, a.quality) for f in list_photos(src)]
    with ProcessPoolExecutor(a.workers) as pool:
        errors = [e for e in pool.map(shrink, jobs, chunksize=64) if e]
    total = sum(f.stat().st_size for f in dst.rglob("*.jpg"))
    print(f"{len(jobs) - len(errors)} photos, {total / 2**20:.1f} MiB in {dst}; {len(errors)} skipped: {errors[:5]}")


if __name__ == "__main__":
    main()
