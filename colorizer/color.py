"""RGB <-> CIELAB on batched tensors, and the scaling the networks see.

The networks work on normalised channels: L in [-1, 1] (L / 50 - 1) and ab divided
by 110, so that both land in about [-1, 1]. Conversion runs on whatever device the
tensors live on (kornia does the colour science; it matches scikit-image to ~1e-4).
"""
from __future__ import annotations

import torch
from kornia.color import lab_to_rgb, rgb_to_lab

AB_SCALE = 110.0


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
