"""RGB <-> CIELAB, and the scaling the networks see.

The networks work on normalised channels: L in [-1, 1] (L / 50 - 1) and ab divided
by 110, so that both land in about [-1, 1]. One conversion (D65, kornia's constants), in two forms:

- batched tensors, for training (`rgb_to_lab_norm`, `lab_norm_to_rgb`, `gray_rgb`): kornia, on
  whatever device the tensors live on (it matches scikit-image to ~1e-4). torch is imported when
  they are first called.
- 8-bit photos, for colorizing (`photo_lightness`, `photo_rgb`): numpy, with tables for the sRGB
  curves, so the onnxruntime path starts without importing torch (1.2 s of a one-photo command:
  README, Speed). They agree with the tensor form to within one 8-bit level (tests/test_color.py).

Full-size photos (up to 50 MP) are converted in row bands (`row_bands`), so the float
temporaries of one conversion stay a few tens of MB whatever the photo's size; chroma
predicted at render size is upsampled band by band (`widen`, then `upsample_rows`): the values
bilinear interpolation of the whole (align_corners False, as torch's) gives, so bands leave no seams.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

AB_SCALE = 110.0
BAND_PIXELS = 1 << 20  # pixels of a full-size photo converted at once (~50 MB of temporaries; smaller bands run slower)

# ---- batched tensors (training): kornia ------------------------------------------------------


def rgb_to_lab_norm(rgb: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
    """RGB in [0, 1], shape (B, 3, H, W) -> (L (B, 1, H, W) in [-1, 1], ab (B, 2, H, W) ~[-1, 1])."""
    from kornia.color import rgb_to_lab

    lab = rgb_to_lab(rgb.float().clamp(0, 1))
    L = lab[:, :1] / 50.0 - 1.0
    ab = lab[:, 1:] / AB_SCALE
    return L, ab


def lab_norm_to_rgb(L: "torch.Tensor", ab: "torch.Tensor") -> "torch.Tensor":
    """Inverse of rgb_to_lab_norm: normalised L and ab -> RGB in [0, 1], shape (B, 3, H, W)."""
    import torch
    from kornia.color import lab_to_rgb

    lab = torch.cat([(L.float() + 1.0) * 50.0, ab.float() * AB_SCALE], dim=1)
    return lab_to_rgb(lab, clip=True)


def gray_rgb(L: "torch.Tensor") -> "torch.Tensor":
    """Normalised L -> a gray RGB image in [0, 1] (ab = 0), for showing the model's input."""
    return lab_norm_to_rgb(L, L.new_zeros(L.shape[0], 2, *L.shape[2:]))


# ---- 8-bit photos (colorizing): numpy ---------------------------------------------------------

_XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],  # kornia.color.rgb_to_xyz
                          [0.212671, 0.715160, 0.072169],
                          [0.019334, 0.119193, 0.950227]])
_RGB_FROM_XYZ = np.array([[3.2404813432005266, -1.5371515162713185, -0.4985363261688878],  # kornia.color.xyz_to_rgb
                          [-0.9692549499965682, 1.8759900014898907, 0.0415559265582928],
                          [0.0556466391351772, -0.2040413383665112, 1.0573110696453443]])
_WHITE = np.array([0.95047, 1.0, 1.08883])  # D65
_EPSILON, _KAPPA = 0.008856, 7.787  # the cube root's linear toe (f(t) = 7.787 t + 4/29 below epsilon)
_ENCODE_STEPS = 1 << 16  # linear RGB in [0, 1] is looked up at this resolution (< 0.06 of an 8-bit level)


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.0031308, 1.055 * np.maximum(x, 0.0031308) ** (1 / 2.4) - 0.055, 12.92 * x)


# Y (relative luminance) that each 8-bit value of R, G and B contributes: (3, 256)
_Y_OF_8BIT = (_XYZ_FROM_RGB[1][:, None] * _srgb_to_linear(np.arange(256) / 255.0)[None]).astype(np.float32)
_LINEAR_OF_8BIT = _srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)  # gray: Y = its linear value
# 8-bit sRGB of linear values i / (_ENCODE_STEPS - 1), rounded as images.to_pil rounds
_SRGB8_OF_LINEAR = np.floor(_linear_to_srgb(np.arange(_ENCODE_STEPS) / (_ENCODE_STEPS - 1)) * 255 + 0.5).astype(np.uint8)


def photo_lightness(pixels: np.ndarray) -> np.ndarray:
    """8-bit RGB (H, W, 3) or gray (H, W) pixels -> normalised L (H, W), float32."""
    if pixels.ndim == 2:
        y = _LINEAR_OF_8BIT[pixels]
    else:
        y = _Y_OF_8BIT[0][pixels[..., 0]]
        y += _Y_OF_8BIT[1][pixels[..., 1]]
        y += _Y_OF_8BIT[2][pixels[..., 2]]
    f = np.where(y > _EPSILON, np.cbrt(y), _KAPPA * y + 4 / 29)
    return (f * (116 / 50) - (16 / 50 + 1)).astype(np.float32, copy=False)  # (116 f - 16) / 50 - 1


def photo_rgb(L: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Normalised L (H, W) and ab (2, H, W) -> 8-bit RGB (H, W, 3), out-of-gamut colors clipped."""
    fy = (L + 1.0) * (50 / 116) + 16 / 116
    fxyz = (fy + ab[0] * (AB_SCALE / 500), fy, np.maximum(fy - ab[1] * (AB_SCALE / 200), 0.0))
    xyz = [np.where(f > 0.2068966, f * f * f, (f - 4 / 29) / _KAPPA) * w for f, w in zip(fxyz, _WHITE)]
    out = np.empty(L.shape + (3,), np.uint8)
    for c, row in enumerate(_RGB_FROM_XYZ.astype(np.float32)):
        linear = row[0] * xyz[0] + row[1] * xyz[1] + row[2] * xyz[2]
        index = (np.clip(linear, 0.0, 1.0) * (_ENCODE_STEPS - 1) + 0.5).astype(np.int32)
        out[..., c] = _SRGB8_OF_LINEAR[index]
    return out


def row_bands(height: int, width: int, band_pixels: int = BAND_PIXELS) -> Iterator[tuple[int, int]]:
    """(start, stop) row ranges covering height rows, each about band_pixels pixels (one row at least)."""
    rows = max(1, band_pixels // max(1, width))
    for y0 in range(0, height, rows):
        yield y0, min(height, y0 + rows)


def _taps(size_in: int, size_out: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For outputs start:stop of a bilinear resize (align_corners False) from size_in to size_out:
    the two source indices each needs and the weight of the second."""
    scale = np.float32(size_in / size_out)  # in float32, as torch computes it for float32 tensors
    src = np.maximum((np.arange(start, stop, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5), 0)
    first = np.minimum(np.floor(src).astype(np.int64), size_in - 1)
    second = np.minimum(first + 1, size_in - 1)
    return first, second, (src - first).astype(np.float32)


def widen(ab: np.ndarray, width: int) -> np.ndarray:
    """ab (C, h, w) at render size -> (C, h, width): the horizontal half of bilinear upsampling
    (align_corners False), small whatever the photo's height. upsample_rows does the vertical half."""
    first, second, weight = _taps(ab.shape[-1], width, 0, width)
    ab = ab.astype(np.float32, copy=False)
    return ab[..., first] * (1 - weight) + ab[..., second] * weight


def upsample_rows(wide: np.ndarray, height: int, y0: int, y1: int) -> np.ndarray:
    """Rows y0:y1 of wide (C, h, W, from widen) upsampled to height rows: equal (to float rounding) to
    torch's F.interpolate(ab, size=(height, W), mode="bilinear", align_corners=False)[..., y0:y1, :],
    computed from the two source rows each output row needs."""
    first, second, weight = _taps(wide.shape[-2], height, y0, y1)
    weight = weight[:, None]
    return wide[..., first, :] * (1 - weight) + wide[..., second, :] * weight
