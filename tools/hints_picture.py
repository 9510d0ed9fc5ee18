"""One photo three ways: gray, colorized automatically, and colorized with a few color hints (drawn as
dots where they are). The README's hints picture:

    python -m tools.hints_picture ../shared/data/bw_historical/1948CarsGrandma.jpg \\
        --hint 265,185,#b03a2e --hint 200,135,#2e86c1 --hint 470,215,#6e4b2a --out docs/hints_example.jpg

The automatic column uses the default weights (as `colorize` does), the hinted one the best hints
weights in weights/ (as `colorize --hint` does), unless --weights / --hints-weights say otherwise.
"""
from __future__ import annotations

import argparse

from colorizer.hints.page import with_dots
from colorizer.hints import check_hints, parse_hint
from colorizer.images import open_photo
from colorizer.infer import Colorizer
from colorizer.sheets import make_grid, thumb


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.hints_picture", description=__doc__.split("\n\n")[0])
    p.add_argument("photo")
    p.add_argument("--hint", action="append", required=True, metavar="X,Y,#RRGGBB", help="as colorize --hint")
    p.add_argument("--weights", default=None, help="automatic column (default: as colorize)")
    p.add_argument("--hints-weights", default=None, help="hinted column (default: as colorize --hint)")
    p.add_argument("--height", type=int, default=320, help="height of each picture in pixels")
    p.add_argument("--out", default="hints_example.jpg")
    args = p.parse_args(argv)

    image = open_photo(args.photo)
    given = check_hints([parse_hint(h) for h in args.hint], *image.size, name=args.photo)
    auto = Colorizer.load(args.weights)
    hinted = Colorizer.load(args.hints_weights, hints=True)
    gray = image.convert("L").convert("RGB")
    row = [thumb(gray, args.height), thumb(auto.colorize(gray), args.height),
           thumb(with_dots(hinted.colorize(gray, hints=given), given), args.height)]
    make_grid([row], ["gray", "automatic", f"with {len(given)} hints"]).save(args.out, quality=88)
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
