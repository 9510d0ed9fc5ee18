"""Contact sheets: rows of photos side by side under column labels, as one PIL image.

The project's one grid maker (evaluation grids; training sample grids can use it too).
"""
from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageDraw

THUMB_HEIGHT = 192


def thumb(image: Image.Image, height: int = THUMB_HEIGHT, max_ratio: float = 3.0) -> Image.Image:
    """image resized to the given height, aspect kept (width capped at max_ratio x height)."""
    width = max(1, min(round(max_ratio * height), round(image.width * height / image.height)))
    return image.convert("RGB").resize((width, height), Image.LANCZOS)


def make_grid(rows: Sequence[Sequence[Image.Image]], labels: Sequence[str], pad: int = 6,
              header: int = 18) -> Image.Image:
    """Rows of images (one per label, e.g. thumbs of equal height) -> one white sheet: columns
    aligned and centred, each column as wide as its widest image or label, its label on top."""
    if not rows or any(len(row) != len(labels) for row in rows):
        raise ValueError(f"every row needs one image per label ({len(labels)})")
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    col_w = [max(max(row[i].width for row in rows), round(draw.textlength(label)))
             for i, label in enumerate(labels)]
    row_h = [max(im.height for im in row) for row in rows]
    sheet = Image.new("RGB", (sum(col_w) + pad * (len(col_w) + 1), header + sum(row_h) + pad * len(rows)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    x = pad
    for i, (label, w) in enumerate(zip(labels, col_w)):
        draw.text((x + (w - draw.textlength(label)) // 2, 3), label, fill="black")
        y = header
        for row, h in zip(rows, row_h):
            im = row[i]
            sheet.paste(im.convert("RGB"), (x + (w - im.width) // 2, y + (h - im.height) // 2))
            y += h + pad
        x += w + pad
    return sheet
