"""Paired weights on held-out A|B pairs, laid out input | output | target: one sheet (sheets.make_grid).

    python -m tools.paired_grid PAIRS --weights sketch2photo.pt --out docs/paired_sketch2photo_grid.jpg

PAIRS: a folder of A|B files (`python -m colorizer make-sketches` of photos never trained on); the
weights' direction says which half is the input. --per-prefix N takes the first N files of each name
prefix (intel_scenes' classes: buildings_..., forest_...), so every kind of scene shows.
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from colorizer.images import list_photos, open_photo
from colorizer.sheets import make_grid, thumb
from colorizer.paired.translate import Translator


def pick(files: list[Path], per_prefix: int | None, limit: int | None) -> list[Path]:
    if per_prefix:
        groups: dict[str, list[Path]] = defaultdict(list)
        for f in files:
            groups[f.name.split("_")[0]].append(f)
        files = [f for g in groups.values() for f in g[:per_prefix]]
    return files[:limit]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.paired_grid", description=__doc__.split("\n\n")[0])
    p.add_argument("pairs", nargs="+", help="folders of A|B pair files")
    p.add_argument("--weights", required=True, help="paired weights")
    p.add_argument("--out", default="paired_grid.jpg")
    p.add_argument("--per-prefix", type=int, default=None, help="the first N files of each name prefix")
    p.add_argument("--limit", type=int, default=None, help="at most N rows in all")
    p.add_argument("--height", type=int, default=160, help="height of each thumbnail in pixels")
    p.add_argument("--quality", type=int, default=85)
    args = p.parse_args(argv)

    model = Translator.load(args.weights, device="cpu")
    files = [f for folder in args.pairs for f in pick(list_photos(folder), args.per_prefix, None)][: args.limit]
    rows = []
    for path in files:
        ab = open_photo(path)
        half = ab.width // 2
        a, b = ab.crop((0, 0, half, ab.height)), ab.crop((half, 0, 2 * half, ab.height))
        source, target = (a, b) if model.meta.get("direction", "AtoB") == "AtoB" else (b, a)
        rows.append([thumb(im, args.height) for im in (source, model.translate(source), target)])
    make_grid(rows, ["input", f"output ({Path(args.weights).name})", "target"]).save(args.out, quality=args.quality)
    print(f"Wrote {args.out}: {len(rows)} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
