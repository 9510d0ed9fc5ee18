"""Color hints: a sparse map of known colors the generator sees beside L (Zhang et al. 2017,
"Real-Time User-Guided Image Colorization").

The map has three channels at the render size: the hinted a and b (normalised as color.py's ab)
and a mask that is 1 where a hint is. All zeros is "no hints": a hints model then colorizes on its
own. Training simulates users: per photo, no hints often, else a geometric number of small square
patches (1-9 px) each holding the truth's mean ab there, placed at random or where the color varies.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..limits import MAX_HINTS as MAX_USER_HINTS  # a person's hints per photo at most (CLI, page, API)

CHANNELS = 3           # hinted a, hinted b, mask
P_NONE = 0.25          # share of training photos given no hints at all
P_GEOMETRIC = 1 / 8    # the count's geometric distribution (mean 8 when there are hints), as the paper
MAX_TRAINING_HINTS = 64  # sampled per photo at most in training
MAX_PATCH = 9          # side of a hint's square at most, in render-size pixels (1..9)
P_WHERE_COLOR_VARIES = 0.5  # share of hints placed where the truth's color changes, the rest uniformly
# The map enters the network times GAIN (training and inference; the weights record it as hint_gain).
# With Adam each weight moves about lr a step whatever its input's scale, so the new input weights,
# started at zero, act GAIN times faster. Measured at gain 1: 840 steps at lr 1e-4 left them at 0.5%
# of L's weights, and 10 hints lifted cbsd68 by 0.06 dB: the network had not learned to look at them.
GAIN = 10.0


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
                   most: int = MAX_TRAINING_HINTS) -> int:
    """How many hints one training photo gets: none with probability p_none, else 1 + Geometric(p), capped."""
    if float(torch.rand(1, generator=generator)) < p_none:
        return 0
    u = float(torch.rand(1, generator=generator))
    count = 1 + int(math.log(1.0 - u) / math.log(1.0 - p))
    return min(count, most)


def simulate(ab: torch.Tensor, generator: torch.Generator, count: int | None = None) -> torch.Tensor:
    """A batch's true ab (B, 2, H, W) -> its hint map (B, 3, H, W) on ab's device: `count` hints per
    photo (evaluation), or as training draws them (training_count) when count is None."""
    b, _, h, w = ab.shape
    hints = [sample_hints(ab[i], training_count(generator) if count is None else count, generator)
             for i in range(b)]
    return hint_map(hints, h, w, ab.device)


# ---- hints a person gives: points on the photo, in its own pixels ----------------------------

USER_PATCH = 5        # side of a given hint's square at the render size, in pixels: training's mean patch (1..9)
                      # and about the dot the page draws; on cbsd68, 10 hints of the truth's colors at random
                      # points gave +2.21 dB with 3 px, +2.95 with 5, +3.09 with 7 (hints_people.pt)
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


class HintError(ValueError):
    """Hints that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class UserHint:
    """A color a person knows: at (x, y) in the photo's own pixels, the color rgb (0-255 each)."""
    x: float
    y: float
    rgb: tuple[int, int, int]

    @property
    def hex(self) -> str:
        return "#%02x%02x%02x" % self.rgb


def parse_color(text: str) -> tuple[int, int, int]:
    """'#rrggbb' (or 'rrggbb') -> (r, g, b); HintError otherwise."""
    m = _HEX.fullmatch(str(text).strip())
    if not m:
        raise HintError(f"{text!r} is not a color: give it as #rrggbb (e.g. #c0392b)")
    v = m.group(1)
    return int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16)


def parse_hint(text: str) -> UserHint:
    """'X,Y,#rrggbb' (the command line's --hint) -> UserHint."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 3:
        raise HintError(f"--hint {text!r}: give it as X,Y,#rrggbb (e.g. 120,80,#c0392b)")
    try:
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise HintError(f"--hint {text!r}: X and Y are numbers (pixels of the photo)") from None
    return UserHint(x, y, parse_color(parts[2]))


MAX_HINTS_JSON_CHARS = 256 * 1024  # a file or form field of hints: 200 hints pretty-printed fit well within
MAX_HINTS_JSON_DEPTH = 8            # a list of objects is 2 deep; checked before parsing (no RecursionError)
MAX_NUMBER_DIGITS = 15              # a pixel coordinate needs far fewer; 400 digits is an attack, not a photo
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings (skipped whole) and brackets


def _json_depth(text: str, limit: int) -> int:
    """How deep text's brackets nest (strings skipped), counted only up to limit + 1: no parser recursion."""
    depth = deepest = 0
    for token in _JSON_TOKENS.finditer(text):
        ch = token[0]
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif ch in "]}":
            depth -= 1
    return deepest


def _bounded_number(source: str):
    def parse_int(text: str) -> int:
        if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
            raise HintError(f"{source}: a number of {len(text.lstrip('-'))} digits: at most {MAX_NUMBER_DIGITS} "
                            f"(x and y are pixels of the photo)")
        return int(text)

    def parse_float(text: str) -> float:
        value = float(text)
        if not math.isfinite(value) or len(text) > 4 * MAX_NUMBER_DIGITS:
            raise HintError(f"{source}: the number {text[:40]!r} is not a pixel of a photo")
        return value

    def parse_constant(text: str):
        raise HintError(f"{source}: {text} is not a number JSON allows (x and y are pixels of the photo)")

    return parse_int, parse_float, parse_constant


def parse_hints_json(data, source: str = "hints") -> list[UserHint]:
    """A list of {"x": .., "y": .., "color": "#rrggbb"} (JSON text or already parsed) -> UserHints.
    Text is bounded before it is parsed: its length, how deep it nests, how many digits a number has
    (a HintError naming source, never an OverflowError or RecursionError)."""
    if isinstance(data, (str, bytes)):
        if len(data) > MAX_HINTS_JSON_CHARS:
            raise HintError(f"{source}: {len(data)} characters of hints: at most {MAX_HINTS_JSON_CHARS}")
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        if _json_depth(text, MAX_HINTS_JSON_DEPTH) > MAX_HINTS_JSON_DEPTH:
            raise HintError(f"{source}: nested more than {MAX_HINTS_JSON_DEPTH} deep: a list of "
                            f"{{\"x\", \"y\", \"color\"}} objects is expected")
        parse_int, parse_float, parse_constant = _bounded_number(source)
        try:
            data = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)
        except json.JSONDecodeError as err:
            raise HintError(f"{source}: not JSON ({err.msg} at line {err.lineno})") from None
        except RecursionError:  # not reached after the depth check; kept as the last guard
            raise HintError(f"{source}: nested too deep") from None
    if not isinstance(data, list):
        raise HintError(f"{source}: a list of {{\"x\", \"y\", \"color\"}} objects is expected")
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not {"x", "y", "color"} <= set(item):
            raise HintError(f"{source}: hint {i + 1} needs x, y and color (e.g. {{\"x\": 120, \"y\": 80, "
                            f"\"color\": \"#c0392b\"}})")
        x, y = item["x"], item["y"]
        if isinstance(x, bool) or isinstance(y, bool) or not isinstance(x, (int, float)) \
                or not isinstance(y, (int, float)):
            raise HintError(f"{source}: hint {i + 1}: x and y are numbers (pixels of the photo)")
        try:
            x, y = float(x), float(y)
        except OverflowError:  # an int too large for a float (hints given as Python objects)
            raise HintError(f"{source}: hint {i + 1}: x and y are pixels of the photo, not {str(x)[:20]}...") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise HintError(f"{source}: hint {i + 1}: x and y are pixels of the photo, not {x:g}, {y:g}")
        try:
            rgb = parse_color(item["color"])
        except HintError as err:
            raise HintError(f"{source}: hint {i + 1}: {err}") from None
        out.append(UserHint(x, y, rgb))
    return out


def check_hints(given: list[UserHint], width: int, height: int, name: str = "the photo") -> list[UserHint]:
    """The hints, if all lie on a width x height photo and there are at most MAX_USER_HINTS; else HintError."""
    if len(given) > MAX_USER_HINTS:
        raise HintError(f"{len(given)} hints for {name}: at most {MAX_USER_HINTS}")
    for h in given:
        if not (0 <= h.x < width and 0 <= h.y < height):
            raise HintError(f"hint at ({h.x:g}, {h.y:g}) lies outside {name} ({width}x{height} px; x from 0 to "
                            f"{width - 1}, y from 0 to {height - 1})")
    return given


def color_ab(rgb: tuple[int, int, int]) -> tuple[float, float]:
    """An sRGB color -> its normalised ab (CIELAB a, b over color.AB_SCALE)."""
    from ..color import AB_SCALE
    from ..metrics import lab_ab

    a, b = lab_ab(np.array([[rgb]], np.uint8))[0, 0] / AB_SCALE
    return float(a), float(b)


def user_hint_map(given: list[UserHint], size: tuple[int, int], shape: tuple[int, int],
                  patch: int = USER_PATCH) -> np.ndarray:
    """UserHints on a photo of size (width, height) -> the (1, 3, h, w) map at the render shape (h, w)."""
    (width, height), (h, w) = size, shape
    placed = []
    for u in given:
        cy, cx = int(u.y * h / height), int(u.x * w / width)
        y, x = min(max(cy - patch // 2, 0), max(h - patch, 0)), min(max(cx - patch // 2, 0), max(w - patch, 0))
        placed.append(Hint(y, x, patch, *color_ab(u.rgb)))
    return hint_map([placed], h, w).numpy()


def truth_hint_map(truth, shape: tuple[int, int], count: int, seed: int) -> np.ndarray:
    """`count` hints drawn (seeded) from a color photo's own colors, as training draws them, at the
    render shape (h, w): (1, 3, h, w). What `evaluate --hints` gives each photo."""
    from PIL import Image

    from ..color import AB_SCALE
    from ..metrics import lab_ab

    h, w = shape
    small = truth.convert("RGB").resize((w, h), Image.BILINEAR, reducing_gap=3.0)
    ab = torch.from_numpy(lab_ab(np.asarray(small)).astype(np.float32) / AB_SCALE).permute(2, 0, 1)
    found = sample_hints(ab, count, torch.Generator().manual_seed(seed))
    return hint_map([found], h, w).numpy()
