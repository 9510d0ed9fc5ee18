"""What a colorized photo is scored by, written once for evaluation and for training validation.

Every metric takes either one image as a channel-last numpy array (or PIL image), and returns
a float, or a batch of tensors (B, C, H, W), and returns a tensor (B,) with one value per image.
Numpy images are turned into a one-image float64 batch first, so both go through the same code:

  - RGB: uint8 in 0-255, or float already in [0, 1] (tensors: float in [0, 1], bf16 too).
  - ab: CIELAB units (about -110 to 110), numpy (H, W, 2) or tensors (B, 2, H, W); `lab_ab`
    gives them from RGB (kornia; in float64 it matches scikit-image's rgb2lab to ~1e-13).

Metrics:
  psnr             on RGB, in dB (inf for identical images)
  ssim             on RGB, scikit-image's, per image (tensors are moved to the CPU for it)
  colorfulness     Hasler & Suesstrunk (2003) on the 0-255 scale; 0 for a gray image
  false_color_rate share of pixels that are saturated and wrong: predicted chroma
                   sqrt(a^2 + b^2) >= 15 while the predicted ab lies >= 25 from the truth's
  neutral_kept     of the pixels gray in the truth (chroma < 8), the share the prediction keeps gray
                   (chroma < 8): low when one cast (sepia) is laid over everything
  right_hue        of the pixels with color in the truth (chroma >= 15), the share given that color's
                   hue: predicted chroma >= 8 and hue within 30 degrees of the truth's
This module depends on torch, kornia and scikit-image only: never on inference or training.
"""
from __future__ import annotations

import numpy as np
import torch
from kornia.color import rgb_to_lab
from skimage.metrics import structural_similarity

CHROMA_MIN = 15.0     # false color: predicted chroma at least this (CIELAB units)...
AB_ERROR_MIN = 25.0   # ...and predicted ab at least this far from the truth's ab
GRAY_CHROMA = 8.0     # neutral_kept, right_hue: below this chroma a pixel reads as gray
HUE_TOLERANCE = 30.0  # right_hue: degrees of hue angle within which a color counts as the truth's


def _batch(x) -> tuple[torch.Tensor, bool]:
    """A (B, C, H, W) tensor as it is (as float), or one channel-last image -> a (1, C, H, W) float64
    tensor; uint8 either way is scaled to [0, 1]. The flag says the input was one image."""
    if isinstance(x, torch.Tensor):
        if x.dim() != 4:
            raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
        if x.dtype == torch.uint8:
            return x.double() / 255.0, False
        return (x if x.dtype in (torch.float32, torch.float64) else x.float()), False
    arr = np.asarray(x)
    if arr.ndim != 3:
        raise ValueError(f"expected one (H, W, C) image, got shape {arr.shape}")
    t = torch.from_numpy(np.array(arr, dtype=np.float64)).permute(2, 0, 1)[None]
    return (t / 255.0 if arr.dtype == np.uint8 else t), True


def _pair(pred, true) -> tuple[torch.Tensor, torch.Tensor, bool]:
    p, single = _batch(pred)
    t, _ = _batch(true)
    if p.shape != t.shape:
        raise ValueError(f"prediction {tuple(p.shape)} and truth {tuple(t.shape)} differ in shape")
    return p, t.to(p.device, p.dtype), single


def _result(values: torch.Tensor, single: bool):
    return float(values[0]) if single else values


def lab_ab(rgb):
    """RGB -> its CIELAB ab channels: numpy (H, W, 3) -> (H, W, 2) float64, tensor (B, 3, H, W) -> (B, 2, H, W)."""
    x, single = _batch(rgb)
    ab = rgb_to_lab(x.clamp(0, 1))[:, 1:]
    return ab[0].permute(1, 2, 0).numpy() if single else ab


def psnr(pred, true):
    """Peak signal-to-noise ratio in dB of pred against true (RGB, range 1 after scaling), per image."""
    p, t, single = _pair(pred, true)
    mse = (p - t).pow(2).flatten(1).mean(1)
    return _result(10.0 * torch.log10(1.0 / mse), single)


def ssim(pred, true):
    """Structural similarity (scikit-image, window 7 or the photo's odd short side if smaller), per image."""
    p, t, single = _pair(pred, true)
    short = min(p.shape[-2:])
    win = min(7, short if short % 2 else short - 1)
    values = [structural_similarity(b.permute(1, 2, 0).double().cpu().numpy(),
                                    a.permute(1, 2, 0).double().cpu().numpy(),
                                    channel_axis=-1, data_range=1.0, win_size=win) for a, b in zip(p, t)]
    return _result(torch.tensor(values, dtype=torch.float64), single)


def colorfulness(rgb):
    """Hasler & Suesstrunk (2003) colorfulness on the 0-255 scale, per image; 0 for a gray image."""
    x, single = _batch(rgb)
    x = x * 255.0
    rg = (x[:, 0] - x[:, 1]).flatten(1)
    yb = (0.5 * (x[:, 0] + x[:, 1]) - x[:, 2]).flatten(1)
    std = torch.hypot(rg.std(1, unbiased=False), yb.std(1, unbiased=False))
    mean = torch.hypot(rg.mean(1), yb.mean(1))
    return _result(std + 0.3 * mean, single)


def false_color_rate(ab_pred, ab_true, chroma_min: float = CHROMA_MIN, error_min: float = AB_ERROR_MIN):
    """Share of pixels whose predicted ab is saturated (chroma >= chroma_min) and wrong (>= error_min
    from the truth's ab), per image; ab in CIELAB units (see lab_ab). 0 for a gray prediction."""
    p, t, single = _pair(ab_pred, ab_true)
    saturated = torch.hypot(p[:, 0], p[:, 1]) >= chroma_min
    wrong = torch.hypot(p[:, 0] - t[:, 0], p[:, 1] - t[:, 1]) >= error_min
    return _result((saturated & wrong).flatten(1).double().mean(1), single)


def _chroma_hue(ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.hypot(ab[:, 0], ab[:, 1]), torch.atan2(ab[:, 1], ab[:, 0])


def _share(hit: torch.Tensor, among: torch.Tensor) -> torch.Tensor:
    """Per image: the share of `among` pixels that `hit`; NaN where there are none (leave them out of means)."""
    n = among.flatten(1).double().sum(1)
    return torch.where(n > 0, (hit & among).flatten(1).double().sum(1) / n.clamp(min=1), torch.nan)


def neutral_kept(ab_pred, ab_true, gray: float = GRAY_CHROMA):
    """Of the pixels gray in the truth, the share the prediction keeps gray, per image (NaN: no gray pixels)."""
    p, t, single = _pair(ab_pred, ab_true)
    return _result(_share(_chroma_hue(p)[0] < gray, _chroma_hue(t)[0] < gray), single)


def right_hue(ab_pred, ab_true, colored: float = CHROMA_MIN, gray: float = GRAY_CHROMA,
              tolerance: float = HUE_TOLERANCE):
    """Of the pixels with color in the truth, the share given a color of that hue (not gray, within
    `tolerance` degrees), per image (NaN: no colored pixels)."""
    p, t, single = _pair(ab_pred, ab_true)
    (cp, hp), (ct, ht) = _chroma_hue(p), _chroma_hue(t)
    off = torch.rad2deg(torch.remainder(hp - ht + torch.pi, 2 * torch.pi) - torch.pi).abs()
    return _result(_share((cp >= gray) & (off <= tolerance), ct >= colored), single)
