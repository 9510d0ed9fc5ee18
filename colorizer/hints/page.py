"""Color hints on the page: what a click on the shown photo means, the palette offered for it, the
hints drawn as dots on the photo, and the photo colorized with them. No Streamlit here (the page,
colorizer/page/hint_panel.py, lays it out), so all of it is tested without a browser.

A click comes from streamlit-image-coordinates as {x, y, width, height, unix_time} in the shown
image's pixels; hints are kept in the photo's own pixels (hints.UserHint), as the CLI and the API take them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from . import UserHint, parse_color
from ..limits import MAX_HINTS

# A few colors people often know, after the model's own guesses near the point.
COMMON_COLORS = ("#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2e86c1", "#8e44ad", "#f2c7a5", "#8d5524",
                 "#6d4c41", "#7f8c8d")
DEFAULT_COLOR = COMMON_COLORS[0]
SWATCH = 40          # palette squares, px
PER_ROW = 5          # palette squares in a row: 5 x 40 px fit the page's narrow right-hand column
PREDICTED = 3        # colors taken from the model's result near the point
NEAR = 0.04          # "near the point": a square of this share of the photo's short side on each side (at least 4 px)
DOT = 0.012          # a hint's dot on the shown photo: radius as a share of its short side (at least 4 px)


@dataclass(frozen=True)
class Click:
    """A click on an image shown at (width, height) px, at (x, y) there; `at` tells clicks apart."""
    x: float
    y: float
    width: float
    height: float
    at: int = 0

    @classmethod
    def from_component(cls, value: dict | None) -> "Click | None":
        """streamlit-image-coordinates' value (None before the first click)."""
        if not value or not {"x", "y", "width", "height"} <= set(value):
            return None
        return cls(float(value["x"]), float(value["y"]), float(value["width"]), float(value["height"]),
                   int(value.get("unix_time") or 0))

    def on(self, size: tuple[int, int]) -> tuple[float, float]:
        """The point in the pixels of an image of size (width, height), inside it."""
        w, h = size
        x = self.x * w / max(self.width, 1.0)
        y = self.y * h / max(self.height, 1.0)
        return min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)


def add_hint(hints: list[UserHint], click: Click, size: tuple[int, int], color: str) -> list[UserHint]:
    """hints with one more at the click (on a photo of size), in color (#rrggbb); at most MAX_HINTS."""
    if len(hints) >= MAX_HINTS:
        return list(hints)
    x, y = click.on(size)
    return [*hints, UserHint(round(x, 1), round(y, 1), parse_color(color))]


def recolor_last(hints: list[UserHint], color: str) -> list[UserHint]:
    """hints with the last one given color (#rrggbb): what picking a color does after a click."""
    if not hints:
        return list(hints)
    last = hints[-1]
    return [*hints[:-1], UserHint(last.x, last.y, parse_color(color))]


def as_json(hints: list[UserHint]) -> list[dict]:
    """The hints as the CLI's --hints file and the API's field take them."""
    return [{"x": h.x, "y": h.y, "color": h.hex} for h in hints]


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in rgb)


def predicted_colors(result: Image.Image, point: tuple[float, float], count: int = PREDICTED,
                     near: float = NEAR) -> list[str]:
    """The model's own colors near point in its result: the `count` main colors (a small k-means on
    the pixels of a square around it, biggest group first), as #rrggbb, distinct."""
    from ..metrics import lab_ab

    rgb = np.asarray(result.convert("RGB"))
    h, w = rgb.shape[:2]
    r = max(4, round(near * min(h, w)))
    x, y = int(point[0]), int(point[1])
    patch = rgb[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].reshape(-1, 3).astype(np.float32)
    ab = lab_ab(patch.astype(np.uint8)[None])[0]
    centres = ab[np.linspace(0, len(ab) - 1, count).astype(int)]
    for _ in range(8):  # k-means on ab; each group's color is its pixels' mean RGB
        group = np.argmin(((ab[:, None] - centres[None]) ** 2).sum(-1), 1)
        centres = np.stack([ab[group == k].mean(0) if (group == k).any() else centres[k] for k in range(count)])
    sizes = np.bincount(group, minlength=count)
    out = []
    for k in np.argsort(-sizes):
        if sizes[k]:
            color = _hex(np.clip(patch[group == k].mean(0).round(), 0, 255))
            if color not in out:
                out.append(color)
    return out


def palette(result: Image.Image | None = None, point: tuple[float, float] | None = None) -> list[str]:
    """What the page offers after a click: the model's colors near it, then COMMON_COLORS."""
    near = predicted_colors(result, point) if result is not None and point is not None else []
    return near + [c for c in COMMON_COLORS if c not in near]


def palette_grid(count: int, per_row: int = PER_ROW) -> tuple[int, int]:
    """(columns, rows) of the palette's squares: rows of at most per_row, so it fits the page's narrow column."""
    columns = max(1, min(per_row, count))
    return columns, max(1, -(-count // columns))


def palette_image(colors: list[str], swatch: int = SWATCH, chosen: str | None = None,
                  per_row: int = PER_ROW) -> Image.Image:
    """Rows of squares (palette_grid), one per color, left to right then down; the chosen one framed."""
    columns, rows = palette_grid(len(colors), per_row)
    img = Image.new("RGB", (swatch * columns, swatch * rows), "white")
    draw = ImageDraw.Draw(img)
    for i, color in enumerate(colors):
        x, y = (i % columns) * swatch, (i // columns) * swatch
        box = (x + 2, y + 2, x + swatch - 3, y + swatch - 3)
        draw.rectangle(box, fill=color)
        if color == chosen:
            draw.rectangle(box, outline="black", width=3)
            draw.rectangle((box[0] + 3, box[1] + 3, box[2] - 3, box[3] - 3), outline="white", width=1)
    return img


def swatch_at(click: Click, colors: list[str], per_row: int = PER_ROW) -> str | None:
    """The color of the palette square clicked (palette_image of colors, at any shown size), None off the squares."""
    columns, rows = palette_grid(len(colors), per_row)
    col = int(click.x * columns / max(click.width, 1.0))
    row = int(click.y * rows / max(click.height, 1.0))
    i = row * columns + col
    return colors[i] if 0 <= col < columns and 0 <= row < rows and i < len(colors) else None


def with_dots(image: Image.Image, hints: list[UserHint], dot: float = DOT) -> Image.Image:
    """image with each hint as a dot of its color, ringed black and white so it shows on any photo."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    r = max(4, round(dot * min(out.size)))
    for h in hints:
        box = (h.x - r, h.y - r, h.x + r, h.y + r)
        draw.ellipse(box, fill=h.rgb, outline="white", width=max(1, r // 4))
        draw.ellipse((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), outline="black", width=1)
    return out



def hints_weights(chosen, choices: list):
    """The weights the page colorizes with hints (app_logic.WeightsInfo): the chosen ones when they take
    hints, else the best hints weights in the folder (choices are ranked); None when there are none."""
    from ..checkpoint import HINTS

    if chosen.card.task == HINTS:
        return chosen
    return next((c for c in choices if c.card.task == HINTS), None)


def scaled(hints: list[UserHint], size: tuple[int, int], shown: tuple[int, int]) -> list[UserHint]:
    """hints on a photo of size, moved onto the same photo shown at size `shown` (the page's preview)."""
    fx, fy = shown[0] / size[0], shown[1] / size[1]
    return [UserHint(h.x * fx, h.y * fy, h.rgb) for h in hints]
