"""`python -m colorizer make-sketches PHOTOS OUT`: any folder of photos -> sketch|photo pairs.

Each photo is cropped to its central square, resized to SIZE x SIZE and drawn as a pencil-like
edge sketch (black lines on white): Canny edges (scikit-image), or difference-of-Gaussians lines,
thickened by a small dilation. The pair is written in the pix2pix layout, one file per photo,
sketch on the left (A) and photo on the right (B): `--task paired --direction AtoB` learns
sketch -> photo. Sizes scale with SIZE, so pairs at 286 (the default, pix2pix's load size for
256 px crops) and at 572 look alike.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

METHODS = ("canny", "dog")
REFERENCE_SIZE = 286  # --sigma and the line width are given for this size and scaled with --size


def sketch(photo: Image.Image, method: str = "canny", sigma: float = 2.5) -> Image.Image:
    """A photo -> its edge drawing, black lines on white, mode L, same size.

    canny: Canny edges at Gaussian scale sigma (clean outlines); dog: the dark side of a
    difference of Gaussians (sigma, 1.6 sigma), rougher, like shading strokes. `sigma` is in pixels
    of a REFERENCE_SIZE image (scaled by the photo's short side); lines are about 3 px wide there."""
    from skimage import feature, filters, morphology

    gray = np.asarray(photo.convert("L"), dtype=np.float32) / 255.0
    scale = min(photo.size) / REFERENCE_SIZE
    s = sigma * scale
    if method == "canny":
        lines = feature.canny(gray, sigma=s)
        if round(scale) >= 1:  # below half the reference size, 1 px lines are already in proportion
            lines = morphology.dilation(lines, morphology.disk(round(scale)))
    elif method == "dog":
        lines = filters.difference_of_gaussians(gray, 0.4 * s, 0.64 * s) < -0.01
    else:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    return Image.fromarray(np.where(lines, 0, 255).astype(np.uint8), mode="L")


def make_pair(photo: Image.Image, size: int = REFERENCE_SIZE, method: str = "canny", sigma: float = 2.5) -> Image.Image:
    """A photo -> one (2 size) x size RGB image: its sketch | the photo (central square, resized)."""
    square = ImageOps.fit(photo.convert("RGB"), (size, size), Image.BICUBIC)
    pair = Image.new("RGB", (2 * size, size))
    pair.paste(sketch(square, method, sigma).convert("RGB"), (0, 0))
    pair.paste(square, (size, 0))
    return pair


def make_sketches(photos: Path, out: Path, size: int = REFERENCE_SIZE, method: str = "canny", sigma: float = 2.5,
                  log=print, progress: bool = True) -> tuple[int, list[str]]:
    """Write OUT/REL.jpg for each photo under `photos` (REL: its path there) ->
    (pairs written, "name (reason)" of each file skipped)."""
    from tqdm.auto import tqdm

    from ..images import PhotoError, list_photos, open_photo

    files = list_photos(photos)
    written, skipped = 0, []
    for path in tqdm(files, unit="photo", disable=not progress or len(files) < 2):
        try:
            photo = open_photo(path)
        except PhotoError as err:
            skipped.append(str(err))
            continue
        dest = (out / path.relative_to(photos)).with_suffix(".jpg")
        dest.parent.mkdir(parents=True, exist_ok=True)
        make_pair(photo, size, method, sigma).save(dest, quality=95, subsampling=0)  # 4:4:4: no color bleed at the seam
        written += 1
    if skipped:
        more = f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
        log(f"Skipped {len(skipped)} of {len(files)} files: {'; '.join(skipped[:10])}{more}")
    return written, skipped


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m colorizer make-sketches",
        description="Turn a folder of photos (searched recursively) into sketch|photo pairs for paired "
                    "training (pix2pix layout: sketch on the left, photo on the right, one .jpg per photo, "
                    "the input folder's structure kept).",
        epilog="Example:\n  python -m colorizer make-sketches ~/photos pairs/\n"
               "  python train_gan.py --task paired --data pairs/ --direction AtoB",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photos", type=Path, help="folder of photos")
    p.add_argument("out", type=Path, help="folder the pairs are written to")
    p.add_argument("--size", type=int, default=REFERENCE_SIZE,
                   help="side of each half, in pixels (the photo's central square; default %(default)s, pix2pix's "
                        "load size for 256 px training crops)")
    p.add_argument("--method", default="canny", choices=METHODS,
                   help="canny: clean outlines; dog: difference of Gaussians, rougher strokes (default %(default)s)")
    p.add_argument("--sigma", type=float, default=2.5,
                   help=f"edge smoothing in pixels at {REFERENCE_SIZE} px (scaled with --size); lower draws more, "
                        "finer lines (default %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if not args.photos.is_dir():
        print(f"error: {args.photos}: no such folder", file=sys.stderr)
        return 2
    if args.size < 8 or args.sigma <= 0:
        print(f"error: --size must be at least 8 ({args.size}) and --sigma positive ({args.sigma})", file=sys.stderr)
        return 2
    if args.out.resolve() == args.photos.resolve() or args.photos.resolve() in args.out.resolve().parents:
        print(f"error: {args.out} is inside {args.photos}: the pairs would be read back as photos", file=sys.stderr)
        return 2
    written, _ = make_sketches(args.photos, args.out, args.size, args.method, args.sigma,
                               log=lambda s: print(s, file=sys.stderr), progress=not args.quiet)
    if not written:
        print(f"error: no readable photos under {args.photos}", file=sys.stderr)
        return 2
    print(f"Wrote {written} sketch|photo pair(s) of {2 * args.size}x{args.size} to {args.out}")
    return 0
