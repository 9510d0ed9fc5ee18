"""RGB <-> CIELAB on batched tensors, and the scaling the networks see.

The networks work on normalised channels: L in [-1, 1] (L / 50 - 1) and ab divided
by 110, so that both land in about [-1, 1]. Conversion runs on whatever device the
tensors live on (kornia does the colour science; it matches scikit-image to ~1e-4).

Full-size photos (up to 50 MP) are converted in row bands (`row_bands`), so the float
temporaries of one conversion stay a few tens of MB whatever the photo's size; chroma
predicted at render size is upsampled band by band (`upsample_rows`), the same values
F.interpolate gives for the whole photo, so bands leave no seams.
"""
from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb, rgb_to_lab

AB_SCALE = 110.0
BAND_PIXELS = 1 << 20  # pixels of a full-size photo converted at once (~150 MB of temporaries; smaller bands run slower)


def rgb_to_lab_norm(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """RGB in [0, 1], shape (B, 3, H, W) -> (L (B, 1, H, W) in [-1, 1], ab (B, 2, H, W) ~[-1, 1])."""
    lab = rgb_to_lab(rgb.float().clamp(0, 1))
    L = lab[:, :1] / 50.0 - 1.0
    ab = lab[:, 1:] / AB_SCALE
    return L, ab


def lab_norm_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Inverse of rgb_to_lab_norm: normalised L and ab -> RGB in [0, 1], shape (B, 3, H, W)."""
    lab = torch.cat([(L.float() + 1.0) * 50.0, ab.float() * AB_SCALE], dim=1)
    return lab_to_rgb(lab, clip=True)


def gray_rgb(L: torch.Tensor) -> torch.Tensor:
    """Normalised L -> a gray RGB image in [0, 1] (ab = 0), for showing the model's input."""
    return lab_norm_to_rgb(L, torch.zeros_like(L).repeat(1, 2, 1, 1))


def row_bands(height: int, width: int, band_pixels: int = BAND_PIXELS) -> Iterator[tuple[int, int]]:
    """(start, stop) row ranges covering height rows, each about band_pixels pixels (one row at least)."""
    rows = max(1, band_pixels // max(1, width))
    for y0 in range(0, height, rows):
        yield y0, min(height, y0 + rows)


def widen(ab: torch.Tensor, width: int) -> torch.Tensor:
    """ab (B, C, h, w) at render size -> (B, C, h, width): the horizontal half of bilinear upsampling
    (align_corners False), small whatever the photo's height. upsample_rows does the vertical half."""
    return F.interpolate(ab.float(), size=(ab.shape[-2], width), mode="bilinear", align_corners=False)


def upsample_rows(wide: torch.Tensor, height: int, y0: int, y1: int) -> torch.Tensor:
    """Rows y0:y1 of wide (B, C, h, W, from widen) upsampled to height rows: equal (to float rounding)
    to F.interpolate(ab, size=(height, W), mode="bilinear", align_corners=False)[..., y0:y1, :],
    computed from the two source rows each output row needs."""
    h = wide.shape[-2]
    src = ((torch.arange(y0, y1, dtype=torch.float64) + 0.5) * (h / height) - 0.5).clamp(min=0)
    top = src.floor().long().clamp(max=h - 1)
    bottom = (top + 1).clamp(max=h - 1)
    low = (src - top).float()[:, None]  # weight of the row below
    return wide[..., top, :] * (1 - low) + wide[..., bottom, :] * low
