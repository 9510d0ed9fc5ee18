"""Color hints: a sparse map of known colors the generator sees beside L (Zhang et al. 2017,
"Real-Time User-Guided Image Colorization").

The map has three channels at the render size: the hinted a and b (normalised as color.py's ab)
and a mask that is 1 where a hint is. All zeros is "no hints": a hints model then colorizes on its
own. Training simulates users: per photo, no hints often, else a geometric number of small square
patches (1-9 px) each holding the truth's mean ab there, placed at random or where the color varies.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

CHANNELS = 3           # hinted a, hinted b, mask
P_NONE = 0.25          # share of training photos given no hints at all
P_GEOMETRIC = 1 / 8    # the count's geometric distribution (mean 8 when there are hints), as the paper
MAX_HINTS = 64         # sampled per photo at most in training
MAX_PATCH = 9          # side of a hint's square at most, in render-size pixels (1..9)
P_WHERE_COLOR_VARIES = 0.5  # share of hints placed where the truth's color changes, the rest uniformly


@dataclass(frozen=True)
class Hint:
    """One hint at the render size: the square [y, y+size) x [x, x+size), its normalised ab."""
    y: int
    x: int
    size: int
    a: float
    b: float


def hint_map(hints_per_photo: list[list[Hint]], height: int, width: int,
             device: torch.device | str = "cpu") -> torch.Tensor:
    """Lists of hints, one list per photo -> (B, 3, height, width) float32: a, b and the mask."""
    out = torch.zeros(len(hints_per_photo), CHANNELS, height, width, device=device)
    for i, hints in enumerate(hints_per_photo):
        for h in hints:
            y1, x1 = min(h.y + h.size, height), min(h.x + h.size, width)
            out[i, 0, h.y:y1, h.x:x1] = h.a
            out[i, 1, h.y:y1, h.x:x1] = h.b
            out[i, 2, h.y:y1, h.x:x1] = 1.0
    return out


def _where_color_varies(ab: torch.Tensor) -> torch.Tensor:
    """(2, H, W) -> (H*W,) sampling weights: how far each pixel's ab is from its 7x7 neighbourhood's mean,
    plus a floor so that flat photos still get hints."""
    local = F.avg_pool2d(ab[None], 7, stride=1, padding=3, count_include_pad=False)[0]
    edge = (ab - local).norm(dim=0).flatten()
    return edge + 0.05 * edge.mean() + 1e-6


def sample_hints(ab: torch.Tensor, count: int, generator: torch.Generator,
                 max_patch: int = MAX_PATCH, where_varies: float = P_WHERE_COLOR_VARIES) -> list[Hint]:
    """`count` hints from one photo's true ab (2, H, W), normalised: squares of 1..max_patch px holding
    the truth's mean there, placed uniformly or (with probability where_varies) where its color changes."""
    ab = ab.float().cpu()
    _, h, w = ab.shape
    if count <= 0:
        return []
    sizes = torch.randint(1, max_patch + 1, (count,), generator=generator).tolist()
    varies = (torch.rand(count, generator=generator) < where_varies).tolist()
    weights = _where_color_varies(ab) if any(varies) else None
    out = []
    for size, vary in zip(sizes, varies):
        size = min(size, h, w)
        if vary:
            centre = int(torch.multinomial(weights, 1, generator=generator))
            cy, cx = divmod(centre, w)
            y, x = min(max(cy - size // 2, 0), h - size), min(max(cx - size // 2, 0), w - size)
        else:
            y = int(torch.randint(0, h - size + 1, (1,), generator=generator))
            x = int(torch.randint(0, w - size + 1, (1,), generator=generator))
        a, b = ab[:, y:y + size, x:x + size].mean((1, 2)).tolist()
        out.append(Hint(y, x, size, a, b))
    return out


def training_count(generator: torch.Generator, p_none: float = P_NONE, p: float = P_GEOMETRIC,
                   most: int = MAX_HINTS) -> int:
    """How many hints one training photo gets: none with probability p_none, else 1 + Geometric(p), capped."""
    if float(torch.rand(1, generator=generator)) < p_none:
        return 0
    u = float(torch.rand(1, generator=generator))
    count = 1 + int(torch.log(torch.tensor(1.0 - u)) / torch.log(torch.tensor(1.0 - p)))
    return min(count, most)


def simulate(ab: torch.Tensor, generator: torch.Generator, count: int | None = None) -> torch.Tensor:
    """A batch's true ab (B, 2, H, W) -> its hint map (B, 3, H, W) on ab's device: `count` hints per
    photo (evaluation), or as training draws them (training_count) when count is None."""
    b, _, h, w = ab.shape
    hints = [sample_hints(ab[i], training_count(generator) if count is None else count, generator)
             for i in range(b)]
    return hint_map(hints, h, w, ab.device)
