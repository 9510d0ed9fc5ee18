"""Colorize the same photos with several weights files and lay them side by side: one sheet,
columns input | each weights. For photos with no ground truth (real black-and-white photos),
where `python -m colorizer evaluate` has nothing to score and the eye decides.

    python -m tools.side_by_side ../shared/data/bw_historical --weights a.pt b.pt --out sheet.jpg --limit 10
    python -m tools.side_by_side ../shared/data/bw_historical --weights weights/colorizer_gan.pt --color-strength 0 0.5 1
"""
from __future__ import annotations

import argparse
from pathlib import Path

from colorizer.images import list_photos, open_photo
from colorizer.infer import Colorizer
from colorizer.sheets import make_grid, thumb


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.side_by_side", description=__doc__.split("\n\n")[0])
    p.add_argument("photos", help="folder of photos")
    p.add_argument("--weights", nargs="+", required=True, help="weights files, one column each")
    p.add_argument("--color-strength", nargs="+", type=float, default=[None],
                   help="one column per weights file and strength (stage-2 weights; default: the usual default)")
    p.add_argument("--out", default="side_by_side.jpg")
    p.add_argument("--limit", type=int, default=None, help="only the first N photos")
    p.add_argument("--height", type=int, default=256, help="height of each thumbnail in pixels")
    args = p.parse_args(argv)

    photos = list_photos(args.photos)[: args.limit]
    columns = [(w, s) for w in args.weights for s in args.color_strength]
    models = [Colorizer.load(w, color_strength=s) for w, s in columns]
    rows = []
    for path in photos:
        image = open_photo(path)
        rows.append([thumb(image.convert("L"), args.height)] + [thumb(m.colorize(image), args.height) for m in models])
    labels = ["input"] + [Path(w).stem + ("" if s is None else f" s={s:g}") for w, s in columns]
    make_grid(rows, labels).save(args.out, quality=88)
    print(f"Wrote {args.out}: {len(rows)} photos x {len(labels)} columns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
